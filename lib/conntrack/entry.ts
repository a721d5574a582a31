/**
 * Connection-tracking entries: decoding ctnetlink messages into typed
 * entries (original and reply tuples, status, timeout, mark, zone, labels,
 * helper, TCP state, counters) and encoding a tuple to address one entry.
 * @module
 */
import { DecodeError, ValidationError } from '../netlink/errors';
import { nfnlAttributes } from '../netlink/nfnetlink';
import { Attributes, type NetlinkMessage } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { formatIp, parseIp, type IpFamily } from '../validate/ip';
import { IP_PROTOCOLS } from '../validate/ip-protocols';
import * as C from './constants';
import { decodeLabels } from './labels';

/** One direction of a connection. */
export interface ConntrackTuple {
  /** Source address. */
  src: string;
  /** Destination address. */
  dst: string;
  /** TCP, UDP, SCTP, DCCP ports. */
  sport?: number;
  /** Destination port. */
  dport?: number;
  /** ICMP / ICMPv6 identifier, type and code. */
  icmpId?: number;
  /** ICMP / ICMPv6 type. */
  icmpType?: number;
  /** ICMP / ICMPv6 code. */
  icmpCode?: number;
  /**
   * The zone of this direction only (`conntrack --orig-zone`/`--reply-zone`,
   * `ct original zone set`); an entry in one zone for both directions has
   * the entry's `zone` instead. Deleting a listed entry sends it back, as the
   * kernel finds such an entry only in that zone. The entry is in this zone
   * all the same: a filter's `zone` matches it.
   */
  zone?: number;
}

/** A connection-tracking entry. */
export interface ConntrackEntry {
  /** 4 or 6. */
  family: IpFamily;
  /** "tcp", "udp", "icmp", ... or the protocol number. */
  protocol: string | number;
  /** The original direction, as the first packet was seen. */
  original: ConntrackTuple;
  /** The expected reply direction (after NAT: from the translated address and port). */
  reply: ConntrackTuple;
  /** IPS_* flags: "confirmed", "seen-reply", "assured", "snat", "dnat", ... */
  status: string[];
  /** Seconds until it expires. */
  timeout?: number;
  /** Connection mark (`ct mark`). */
  mark?: number;
  /**
   * Conntrack zone, when not the default and applying to both directions
   * (a zone of one direction is that tuple's `zone`).
   */
  zone?: number;
  /** Kernel id; deleting by tuple + id never hits a newer entry with the same tuple. */
  id?: number;
  /** Kernel reference count. */
  use?: number;
  /**
   * Conntrack labels (`ct label set 5`), as label numbers 0-127, ascending;
   * absent when none is set. `nft.readConnlabels()` maps connlabel.conf
   * names to these numbers.
   */
  labels?: number[];
  /**
   * The conntrack helper following this connection ("ftp", "sip", ...:
   * `ct helper set`, `conntrack -L`'s `helper=`), when it has one.
   */
  helper?: string;
  /** TCP state ("established", "time-wait", ...). */
  tcpState?: string;
  /** Counters (when net.netfilter.nf_conntrack_acct is on). */
  counters?: {
    /** Original direction. */
    original: {
      /** Packets seen. */
      packets: bigint;
      /** Bytes seen. */
      bytes: bigint;
    };
    /** Reply direction. */
    reply: {
      /** Packets seen. */
      packets: bigint;
      /** Bytes seen. */
      bytes: bigint;
    };
  };
}

function protoName(n: number): string | number {
  return IP_PROTOCOLS.name(n);
}

/** The protocol number of a name or number. */
export function protoNumber(p: string | number): number {
  return typeof p === 'number' ? p : IP_PROTOCOLS.number(p, 'protocol');
}

const ENTRY = 'conntrack entry';

/** One direction of an entry as received: addresses as bytes, ports and ICMP fields as numbers. */
export interface RawTuple {
  family: IpFamily;
  proto: number;
  src: Buffer;
  dst: Buffer;
  /** The CTA_TUPLE_PROTO nest, when present. */
  protoAttrs?: Attributes;
  /** CTA_TUPLE_ZONE: the zone of this direction only, when the entry has one. */
  zone?: number;
}

/**
 * One direction of an entry, undecoded. The kernel always sends both tuples
 * with both addresses; a tuple without them is malformed (DecodeError), while
 * the protocol part is optional (ports and ICMP fields stay undefined).
 */
export function readTuple(buf: Buffer | undefined, direction: string, messageType: number): RawTuple {
  if (!buf) throw new DecodeError(ENTRY, `no ${direction} tuple`, messageType);
  const a = new Attributes(buf);
  const ip = a.nested(C.CTA_TUPLE_IP);
  if (!ip) throw new DecodeError(ENTRY, `the ${direction} tuple has no addresses`, messageType);
  const v4 = ip.get(C.CTA_IP_V4_SRC);
  const family: IpFamily = v4 ? 4 : 6;
  const src = v4 ?? ip.get(C.CTA_IP_V6_SRC);
  const dst = ip.get(family === 4 ? C.CTA_IP_V4_DST : C.CTA_IP_V6_DST);
  const size = family === 4 ? 4 : 16;
  if (!src) throw new DecodeError(ENTRY, `the ${direction} tuple has no source address`, messageType);
  if (!dst) throw new DecodeError(ENTRY, `the ${direction} tuple has no IPv${family} destination address`, messageType);
  if (src.length !== size || dst.length !== size) {
    throw new DecodeError(ENTRY, `the ${direction} tuple's IPv${family} addresses have ${src.length} and ${dst.length} bytes`, messageType);
  }
  const p = a.nested(C.CTA_TUPLE_PROTO);
  return { family, proto: p?.u8(C.CTA_PROTO_NUM) ?? 0, src, dst, protoAttrs: p, zone: a.be16(C.CTA_TUPLE_ZONE) };
}

function decodeTuple(buf: Buffer | undefined, direction: string, messageType: number): { tuple: ConntrackTuple; proto: number; family: IpFamily } {
  const { family, proto, src, dst, protoAttrs: p, zone } = readTuple(buf, direction, messageType);
  const tuple: ConntrackTuple = { src: formatIp(src), dst: formatIp(dst) };
  if (p) {
    const sport = p.be16(C.CTA_PROTO_SRC_PORT);
    const dport = p.be16(C.CTA_PROTO_DST_PORT);
    if (sport !== undefined) tuple.sport = sport;
    if (dport !== undefined) tuple.dport = dport;
    const id = p.be16(C.CTA_PROTO_ICMP_ID) ?? p.be16(C.CTA_PROTO_ICMPV6_ID);
    const type = p.u8(C.CTA_PROTO_ICMP_TYPE) ?? p.u8(C.CTA_PROTO_ICMPV6_TYPE);
    const code = p.u8(C.CTA_PROTO_ICMP_CODE) ?? p.u8(C.CTA_PROTO_ICMPV6_CODE);
    if (id !== undefined) tuple.icmpId = id;
    if (type !== undefined) tuple.icmpType = type;
    if (code !== undefined) tuple.icmpCode = code;
  }
  if (zone !== undefined) tuple.zone = zone;
  return { tuple, proto, family };
}

function counters(buf: Buffer | undefined): { packets: bigint; bytes: bigint } | undefined {
  if (!buf) return undefined;
  const a = new Attributes(buf);
  return { packets: a.be64(C.CTA_COUNTERS_PACKETS) ?? 0n, bytes: a.be64(C.CTA_COUNTERS_BYTES) ?? 0n };
}

/** Decodes an IPCTNL_MSG_CT_NEW message; DecodeError when a tuple or its addresses are missing. */
export function decodeEntry(m: NetlinkMessage): ConntrackEntry {
  const a = nfnlAttributes(m);
  const orig = decodeTuple(a.get(C.CTA_TUPLE_ORIG), 'original', m.type);
  const reply = decodeTuple(a.get(C.CTA_TUPLE_REPLY), 'reply', m.type);
  const status = a.be32(C.CTA_STATUS) ?? 0;
  const e: ConntrackEntry = {
    family: orig.family,
    protocol: protoName(orig.proto),
    original: orig.tuple,
    reply: reply.tuple,
    status: C.STATUS_BITS.filter(([, bit]) => status & bit).map(([n]) => n),
  };
  const timeout = a.be32(C.CTA_TIMEOUT);
  if (timeout !== undefined) e.timeout = timeout;
  const mark = a.be32(C.CTA_MARK);
  if (mark !== undefined) e.mark = mark;
  const zone = a.be16(C.CTA_ZONE);
  if (zone !== undefined) e.zone = zone;
  const id = a.be32(C.CTA_ID);
  if (id !== undefined) e.id = id;
  const use = a.be32(C.CTA_USE);
  if (use !== undefined) e.use = use;
  const labels = a.get(C.CTA_LABELS);
  if (labels) {
    const set = decodeLabels(labels);
    if (set.length > 0) e.labels = set;
  }
  const helper = a.nested(C.CTA_HELP)?.string(C.CTA_HELP_NAME);
  if (helper) e.helper = helper;
  const tcp = a.nested(C.CTA_PROTOINFO)?.nested(C.CTA_PROTOINFO_TCP);
  const state = tcp?.u8(C.CTA_PROTOINFO_TCP_STATE);
  if (state !== undefined) e.tcpState = C.TCP_STATES[state] ?? String(state);
  const co = counters(a.get(C.CTA_COUNTERS_ORIG));
  const cr = counters(a.get(C.CTA_COUNTERS_REPLY));
  if (co && cr) e.counters = { original: co, reply: cr };
  return e;
}

/**
 * The zone an entry is in, whichever directions it applies to (an entry has
 * one zone; it applies to both directions or to one): what the kernel's dump
 * filter compares (nf_ct_zone_equal_any). 0 is the default zone.
 */
export function zoneId(e: Pick<ConntrackEntry, 'zone' | 'original' | 'reply'>): number {
  return e.zone ?? e.original.zone ?? e.reply.zone ?? 0;
}

/**
 * The zone one direction's packets are looked up in (nf_ct_zone_id): the
 * entry's zone when it applies to both directions or to this one, else 0.
 */
export function directionZone(e: Pick<ConntrackEntry, 'zone' | 'original' | 'reply'>, direction: 'original' | 'reply'): number {
  return e.zone ?? e[direction].zone ?? 0;
}

/** Writes a tuple nest (the original direction addresses an entry for deletion). */
export function writeTuple(w: NetlinkWriter, type: number, family: IpFamily, protocol: number, t: ConntrackTuple): void {
  const tuple = w.nest(type);
  const ip = w.nest(C.CTA_TUPLE_IP);
  w.attr(family === 4 ? C.CTA_IP_V4_SRC : C.CTA_IP_V6_SRC, parseIp(t.src, 'src', family).bytes);
  w.attr(family === 4 ? C.CTA_IP_V4_DST : C.CTA_IP_V6_DST, parseIp(t.dst, 'dst', family).bytes);
  w.endNest(ip);
  const p = w.nest(C.CTA_TUPLE_PROTO);
  w.u8(C.CTA_PROTO_NUM, protocol);
  if (t.sport !== undefined) w.be16(C.CTA_PROTO_SRC_PORT, t.sport);
  if (t.dport !== undefined) w.be16(C.CTA_PROTO_DST_PORT, t.dport);
  const v6 = family === 6;
  if (t.icmpId !== undefined) w.be16(v6 ? C.CTA_PROTO_ICMPV6_ID : C.CTA_PROTO_ICMP_ID, t.icmpId);
  if (t.icmpType !== undefined) w.u8(v6 ? C.CTA_PROTO_ICMPV6_TYPE : C.CTA_PROTO_ICMP_TYPE, t.icmpType);
  if (t.icmpCode !== undefined) w.u8(v6 ? C.CTA_PROTO_ICMPV6_CODE : C.CTA_PROTO_ICMP_CODE, t.icmpCode);
  w.endNest(p);
  if (t.zone !== undefined) {
    if (!Number.isInteger(t.zone) || t.zone < 0 || t.zone > 0xffff) throw new ValidationError('zone', t.zone, 'must be an integer 0-65535');
    w.be16(C.CTA_TUPLE_ZONE, t.zone);
  }
  w.endNest(tuple);
}

/** "udp 10.0.0.1:5353 -> 10.0.0.2:53" */
export function describeEntry(e: Pick<ConntrackEntry, 'protocol' | 'original'>): string {
  const t = e.original;
  const port = (p?: number) => (p !== undefined ? `:${p}` : '');
  return `${e.protocol} ${t.src}${port(t.sport)} -> ${t.dst}${port(t.dport)}`;
}
