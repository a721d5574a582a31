/**
 * nf_tables messages on top of the core's nfnetlink framing
 * (lib/netlink/nfnetlink.ts): nf_tables message types and commands, and the
 * family names nft uses ("ip", "ip6", "inet", "bridge", "netdev", "arp").
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { beginNfnl, nfgenFamily, nfnlAttributes, nfnlSubsystem, nfnlType } from '../netlink/nfnetlink';
import type { Attributes, NetlinkMessage } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
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

const FAMILY_NUMBERS = new Map<unknown, number>(FAMILIES);

/** The NFPROTO_* number of a family name; throws ValidationError on anything else. */
export function familyNumber(f: NftFamily, field = 'family'): number {
  const n = FAMILY_NUMBERS.get(f);
  if (n !== undefined) return n;
  const hit = FAMILIES.find(([name]) => name === f);
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
  return nfnlType(C.NFNL_SUBSYS_NFTABLES, msg);
}

/** Starts an nf_tables command message. */
export function beginNft(w: NetlinkWriter, msg: number, flags: number, family: number): NetlinkWriter {
  return beginNfnl(w, nftType(msg), flags, family);
}

/** The nf_tables command of a message, or -1 when it belongs to another subsystem. */
export function nftCommand(m: NetlinkMessage): number {
  return nfnlSubsystem(m) === C.NFNL_SUBSYS_NFTABLES ? m.type & 0xff : -1;
}

/** nfgenmsg.nfgen_family of a received message. */
export function messageFamily(m: NetlinkMessage): number {
  return nfgenFamily(m);
}

/** The attributes after the nfgenmsg header. */
export function messageAttributes(m: NetlinkMessage): Attributes {
  return nfnlAttributes(m);
}

/** Copies bytes out of a received buffer so decoded objects do not pin it. */
export function copyBytes(b: Buffer): Buffer {
  return Buffer.from(b);
}
