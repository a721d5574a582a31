/**
 * Filtering dumped conntrack messages without decoding them into entries:
 * flushing thousands of entries reads the bytes its filter looks at in place
 * (no attribute lists, no Buffer views, no objects per message).
 * @module
 */
import { DecodeError } from '../netlink/errors';
import { NLA_TYPE_MASK } from '../netlink/constants';
import type { NetlinkMessage } from '../netlink/parser';
import { parseCidr, type Cidr, type IpFamily } from '../validate/ip';
import * as C from './constants';
import { protoNumber } from './entry';
import { LABEL_BYTES, encodeLabels, labelNumbers } from './labels';

/**
 * Fields of one direction of an entry ({@link ConntrackFilter}'s `original`
 * and `reply`); every field narrows.
 * @example
 * const toDns: ConntrackTupleFilter = { dst: '10.0.0.0/24', dport: 53, zone: 3 };
 */
export interface ConntrackTupleFilter {
  /** Source address, or a prefix ("10.0.0.0/24"). */
  src?: string;
  /** Destination address, or a prefix. */
  dst?: string;
  /** Source port. */
  sport?: number;
  /** Destination port. */
  dport?: number;
  /**
   * The conntrack zone this direction's packets are looked up in
   * (`conntrack --orig-zone` / `--reply-zone`): the entry's zone when it
   * applies to both directions (`ct zone set`) or to this one (`ct original
   * zone set`), else 0, the default zone. Unlike conntrack-tools, which
   * compares only a zone of one direction, `original: { zone: 3 }` also
   * matches entries whose zone 3 applies to both directions.
   */
  zone?: number;
}

/** Selects entries; every field narrows, absent fields match anything. */
export interface ConntrackFilter {
  /** Only IPv4 (4) or IPv6 (6) entries. */
  family?: IpFamily;
  /** Only this protocol ("tcp", "udp", "icmp", ... or a number). */
  protocol?: string | number;
  /** Fields of the original direction; addresses may be prefixes ("10.0.0.0/24"). */
  original?: ConntrackTupleFilter;
  /** Fields of the reply direction (after NAT: the backend's address and port). */
  reply?: ConntrackTupleFilter;
  /**
   * Only entries in this conntrack zone, whether it applies to both
   * directions or to one (`ct original zone set`): the kernel's own zone
   * filter. 0 is the default zone: entries without a zone. (The zone of
   * one direction: `original: { zone }`, `reply: { zone }`.)
   */
  zone?: number;
  /** Entries whose mark & markMask (default all bits) equals this. */
  mark?: number;
  /** Mask applied to the entry's mark before comparing it with `mark`. */
  markMask?: number;
  /** Entries with all of these status flags ("dnat", "assured", ...). */
  status?: string[];
  /** Entries with all of these labels (`ct label`: numbers 0-127, or connlabel.conf names), as `conntrack -L -l`. */
  labels?: Array<number | string>;
}

type TupleFilter = ConntrackTupleFilter | undefined;

const ENTRY = 'conntrack entry';

/**
 * One tuple of a dumped message, located in the message's payload: reused
 * for every message (offsets and numbers only). Reading it throws the same
 * DecodeErrors as decoding the entry.
 */
class TupleView {
  family: IpFamily = 4;
  proto = 0;
  /** Offsets of the source and destination address bytes. */
  src = 0;
  dst = 0;
  /** Ports, -1 when absent. */
  sport = -1;
  dport = -1;
  /** CTA_TUPLE_ZONE (the zone of this direction only), -1 when absent. */
  zone = -1;

  /** Reads the tuple nest whose data is p[start, end) (start -1: the message has none). */
  read(p: Buffer, start: number, end: number, direction: string, messageType: number): void {
    if (start < 0) throw new DecodeError(ENTRY, `no ${direction} tuple`, messageType);
    let ip = -1;
    let ipEnd = 0;
    let proto = -1;
    let protoEnd = 0;
    let zone = -1;
    for (let off = start; off + 4 <= end;) {
      const len = p[off] | (p[off + 1] << 8);
      if (len < 4 || off + len > end) break;
      const type = (p[off + 2] | (p[off + 3] << 8)) & NLA_TYPE_MASK;
      if (type === C.CTA_TUPLE_IP && ip < 0) {
        ip = off + 4;
        ipEnd = off + len;
      } else if (type === C.CTA_TUPLE_PROTO && proto < 0) {
        proto = off + 4;
        protoEnd = off + len;
      } else if (type === C.CTA_TUPLE_ZONE && zone < 0 && len >= 6) zone = (p[off + 4] << 8) | p[off + 5];
      off += (len + 3) & ~3;
    }
    this.zone = zone;
    if (ip < 0) throw new DecodeError(ENTRY, `the ${direction} tuple has no addresses`, messageType);
    // An IPv4 source makes it IPv4; then the first source and destination of that family.
    let v4 = false;
    for (let off = ip; off + 4 <= ipEnd;) {
      const len = p[off] | (p[off + 1] << 8);
      if (len < 4 || off + len > ipEnd) break;
      if (((p[off + 2] | (p[off + 3] << 8)) & NLA_TYPE_MASK) === C.CTA_IP_V4_SRC) v4 = true;
      off += (len + 3) & ~3;
    }
    const family: IpFamily = v4 ? 4 : 6;
    const srcType = v4 ? C.CTA_IP_V4_SRC : C.CTA_IP_V6_SRC;
    const dstType = v4 ? C.CTA_IP_V4_DST : C.CTA_IP_V6_DST;
    let src = -1;
    let srcLen = 0;
    let dst = -1;
    let dstLen = 0;
    for (let off = ip; off + 4 <= ipEnd;) {
      const len = p[off] | (p[off + 1] << 8);
      if (len < 4 || off + len > ipEnd) break;
      const type = (p[off + 2] | (p[off + 3] << 8)) & NLA_TYPE_MASK;
      if (type === srcType && src < 0) {
        src = off + 4;
        srcLen = len - 4;
      } else if (type === dstType && dst < 0) {
        dst = off + 4;
        dstLen = len - 4;
      }
      off += (len + 3) & ~3;
    }
    if (src < 0) throw new DecodeError(ENTRY, `the ${direction} tuple has no source address`, messageType);
    if (dst < 0) throw new DecodeError(ENTRY, `the ${direction} tuple has no IPv${family} destination address`, messageType);
    const size = family === 4 ? 4 : 16;
    if (srcLen !== size || dstLen !== size) {
      throw new DecodeError(ENTRY, `the ${direction} tuple's IPv${family} addresses have ${srcLen} and ${dstLen} bytes`, messageType);
    }
    this.family = family;
    this.src = src;
    this.dst = dst;
    this.proto = -1;
    this.sport = -1;
    this.dport = -1;
    for (let off = proto; proto >= 0 && off + 4 <= protoEnd;) {
      const len = p[off] | (p[off + 1] << 8);
      if (len < 4 || off + len > protoEnd) break;
      const type = (p[off + 2] | (p[off + 3] << 8)) & NLA_TYPE_MASK;
      if (type === C.CTA_PROTO_NUM && len >= 5 && this.proto < 0) this.proto = p[off + 4];
      else if (type === C.CTA_PROTO_SRC_PORT && len >= 6 && this.sport < 0) this.sport = (p[off + 4] << 8) | p[off + 5];
      else if (type === C.CTA_PROTO_DST_PORT && len >= 6 && this.dport < 0) this.dport = (p[off + 4] << 8) | p[off + 5];
      off += (len + 3) & ~3;
    }
    if (this.proto < 0) this.proto = 0;
  }
}

/** Whether the address at p[off] lies in the prefix. */
function prefixMatches(c: Cidr, p: Buffer, off: number): boolean {
  const whole = c.prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (p[off + i] !== c.bytes[i]) return false;
  const bits = c.prefixLength & 7;
  if (bits === 0) return true;
  const mask = (0xff00 >> bits) & 0xff;
  return (p[off + whole] & mask) === (c.bytes[whole] & mask);
}

/** A tuple's test; `zone` is the entry's CTA_ZONE (the zone of both directions), -1 when absent. */
type TupleTest = (p: Buffer, t: TupleView, zone: number) => boolean;

function tupleTest(f: TupleFilter, field: string): TupleTest | undefined {
  if (!f) return undefined;
  const src = f.src === undefined ? undefined : parseCidr(f.src, `${field}.src`, { defaultFull: true });
  const dst = f.dst === undefined ? undefined : parseCidr(f.dst, `${field}.dst`, { defaultFull: true });
  const { sport, dport, zone: wanted } = f;
  return (p, t, zone) => {
    if (src && (src.family !== t.family || !prefixMatches(src, p, t.src))) return false;
    if (dst && (dst.family !== t.family || !prefixMatches(dst, p, t.dst))) return false;
    if (sport !== undefined && t.sport !== sport) return false;
    // The zone this direction is in (nf_ct_zone_id): of both directions, else of this one, else the default.
    if (wanted !== undefined && (zone >= 0 ? zone : Math.max(t.zone, 0)) !== wanted) return false;
    return dport === undefined || t.dport === dport;
  };
}

/**
 * A test of dumped IPCTNL_MSG_CT_NEW messages equivalent to `entryMatches(decodeEntry(m), f)`
 * (same DecodeError for a message without tuples), for a validated filter.
 */
export function messageFilter(f: ConntrackFilter): (m: NetlinkMessage) => boolean {
  const proto = f.protocol === undefined ? undefined : protoNumber(f.protocol);
  const original = tupleTest(f.original, 'original');
  const reply = tupleTest(f.reply, 'reply');
  const statusBits = f.status?.map((s) => C.STATUS_BITS.find(([name]) => name === s)?.[1]);
  const markMask = f.markMask ?? 0xffffffff;
  const labels = f.labels === undefined ? undefined : encodeLabels(labelNumbers(f.labels, 'labels'));
  const orig = new TupleView();
  const rep = new TupleView();
  return (m) => {
    const p = m.payload;
    let o = -1;
    let oEnd = 0;
    let r = -1;
    let rEnd = 0;
    let zone = -1;
    let mark = -1;
    let status = -1;
    let label = -1;
    let labelEnd = 0;
    for (let off = 4; off + 4 <= p.length;) {
      const len = p[off] | (p[off + 1] << 8);
      if (len < 4 || off + len > p.length) break;
      const type = (p[off + 2] | (p[off + 3] << 8)) & NLA_TYPE_MASK;
      if (type === C.CTA_TUPLE_ORIG && o < 0) {
        o = off + 4;
        oEnd = off + len;
      } else if (type === C.CTA_TUPLE_REPLY && r < 0) {
        r = off + 4;
        rEnd = off + len;
      } else if (type === C.CTA_ZONE && zone < 0) zone = len >= 6 ? (p[off + 4] << 8) | p[off + 5] : 0;
      else if (type === C.CTA_MARK && mark < 0) mark = len >= 8 ? p.readUInt32BE(off + 4) : 0;
      else if (type === C.CTA_STATUS && status < 0) status = len >= 8 ? p.readUInt32BE(off + 4) : 0;
      else if (type === C.CTA_LABELS && label < 0) {
        label = off + 4;
        labelEnd = off + len;
      }
      off += (len + 3) & ~3;
    }
    orig.read(p, o, oEnd, 'original', m.type);
    rep.read(p, r, rEnd, 'reply', m.type);
    if (f.family !== undefined && orig.family !== f.family) return false;
    if (proto !== undefined && orig.proto !== proto) return false;
    if (f.zone !== undefined && (zone >= 0 ? zone : orig.zone >= 0 ? orig.zone : Math.max(rep.zone, 0)) !== f.zone) return false;
    if (f.mark !== undefined && (Math.max(mark, 0) & markMask) >>> 0 !== (f.mark & markMask) >>> 0) return false;
    if (labels && !hasLabels(labels, p, label, labelEnd)) return false;
    if (statusBits && !statusBits.every((bit) => bit !== undefined && (Math.max(status, 0) & bit) !== 0)) return false;
    return (!original || original(p, orig, zone)) && (!reply || reply(p, rep, zone));
  };
}

/** Whether the CTA_LABELS bitmap at p[start, end) (start -1: none) has every bit of `want`. */
function hasLabels(want: Buffer, p: Buffer, start: number, end: number): boolean {
  for (let i = 0; i < LABEL_BYTES; i++) {
    if (want[i] === 0) continue;
    const have = start >= 0 && start + i < end ? p[start + i] : 0;
    if ((have & want[i]) !== want[i]) return false;
  }
  return true;
}
