/**
 * nfnetlink framing shared by every nf_tables message: the message type
 * (subsystem << 8 | command), the nfgenmsg header, and the family names nft
 * uses ("ip", "ip6", "inet", "bridge", "netdev", "arp").
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { Attributes, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import * as C from './constants';

/** An nftables address family, as nft spells it. */
export type NftFamily = 'ip' | 'ip6' | 'inet' | 'bridge' | 'netdev' | 'arp';

const FAMILIES: Array<[NftFamily, number]> = [
  ['ip', C.NFPROTO_IPV4],
  ['ip6', C.NFPROTO_IPV6],
  ['inet', C.NFPROTO_INET],
  ['bridge', C.NFPROTO_BRIDGE],
  ['netdev', C.NFPROTO_NETDEV],
  ['arp', C.NFPROTO_ARP],
];

/** The NFPROTO_* number of a family name; throws ValidationError on anything else. */
export function familyNumber(f: NftFamily, field = 'family'): number {
  const hit = FAMILIES.find(([n]) => n === f);
  if (!hit) throw new ValidationError(field, f, `must be one of ${FAMILIES.map(([n]) => n).join(', ')}`);
  return hit[1];
}

/** The family name of an NFPROTO_* number (unknown numbers are reported as "inet"-less strings). */
export function familyName(n: number): NftFamily {
  const hit = FAMILIES.find(([, v]) => v === n);
  return hit ? hit[0] : (`family${n}` as NftFamily);
}

/** Full netlink message type of an nf_tables command. */
export function nftType(msg: number): number {
  return (C.NFNL_SUBSYS_NFTABLES << 8) | msg;
}

/**
 * Starts an nfnetlink message: nlmsghdr plus nfgenmsg. `resId` is only
 * meaningful for batch delimiters (the subsystem the batch is for).
 */
export function beginNfnl(w: NetlinkWriter, type: number, flags: number, family: number, resId = 0): NetlinkWriter {
  w.begin(type, flags);
  const off = w.struct(C.NFGENMSG_LEN);
  w.view.writeUInt8(family, off);
  w.view.writeUInt8(C.NFNETLINK_V0, off + 1);
  w.view.writeUInt16BE(resId, off + 2);
  return w;
}

/** Starts an nf_tables command message. */
export function beginNft(w: NetlinkWriter, msg: number, flags: number, family: number): NetlinkWriter {
  return beginNfnl(w, nftType(msg), flags, family);
}

/** The nf_tables command of a message, or -1 when it belongs to another subsystem. */
export function nftCommand(m: NetlinkMessage): number {
  return m.type >> 8 === C.NFNL_SUBSYS_NFTABLES ? m.type & 0xff : -1;
}

/** nfgenmsg.nfgen_family of a received message. */
export function messageFamily(m: NetlinkMessage): number {
  return m.payload.length > 0 ? m.payload[0] : 0;
}

/** The attributes after the nfgenmsg header. */
export function messageAttributes(m: NetlinkMessage): Attributes {
  return new Attributes(m.payload, Math.min(C.NFGENMSG_LEN, m.payload.length));
}

/** Copies bytes out of a received buffer so decoded objects do not pin it. */
export function copyBytes(b: Buffer): Buffer {
  return Buffer.from(b);
}
