/**
 * Filtering dumped conntrack messages without decoding them into entries:
 * flushing thousands of entries decodes only the fields its filter looks at.
 * @module
 */
import { nfnlAttributes } from '../netlink/nfnetlink';
import type { NetlinkMessage } from '../netlink/parser';
import { parseCidr, type Cidr, type IpFamily } from '../validate/ip';
import * as C from './constants';
import { protoNumber, readTuple, type ConntrackTuple, type RawTuple } from './entry';

/** Selects entries; every field narrows, absent fields match anything. */
export interface ConntrackFilter {
  /** Only IPv4 (4) or IPv6 (6) entries. */
  family?: IpFamily;
  /** Only this protocol ("tcp", "udp", "icmp", ... or a number). */
  protocol?: string | number;
  /** Fields of the original direction; addresses may be prefixes ("10.0.0.0/24"). */
  original?: Partial<Pick<ConntrackTuple, 'src' | 'dst' | 'sport' | 'dport'>>;
  /** Fields of the reply direction (after NAT: the backend's address and port). */
  reply?: Partial<Pick<ConntrackTuple, 'src' | 'dst' | 'sport' | 'dport'>>;
  /** Only entries of this conntrack zone. */
  zone?: number;
  /** Entries whose mark & markMask (default all bits) equals this. */
  mark?: number;
  /** Mask applied to the entry's mark before comparing it with `mark`. */
  markMask?: number;
  /** Entries with all of these status flags ("dnat", "assured", ...). */
  status?: string[];
}

type TupleFilter = ConntrackFilter['original'];
type TupleTest = (t: RawTuple) => boolean;

function prefixMatches(c: Cidr, addr: Buffer): boolean {
  for (let bit = 0; bit < c.prefixLength; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((addr[bit >> 3] & m) !== (c.bytes[bit >> 3] & m)) return false;
  }
  return true;
}

function tupleTest(f: TupleFilter, field: string): TupleTest | undefined {
  if (!f) return undefined;
  const src = f.src === undefined ? undefined : parseCidr(f.src, `${field}.src`, { defaultFull: true });
  const dst = f.dst === undefined ? undefined : parseCidr(f.dst, `${field}.dst`, { defaultFull: true });
  const { sport, dport } = f;
  return (t) => {
    if (src && (src.family !== t.family || !prefixMatches(src, t.src))) return false;
    if (dst && (dst.family !== t.family || !prefixMatches(dst, t.dst))) return false;
    if (sport !== undefined && t.protoAttrs?.be16(C.CTA_PROTO_SRC_PORT) !== sport) return false;
    return dport === undefined || t.protoAttrs?.be16(C.CTA_PROTO_DST_PORT) === dport;
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
  return (m) => {
    const a = nfnlAttributes(m);
    const orig = readTuple(a.get(C.CTA_TUPLE_ORIG), 'original', m.type);
    const rep = readTuple(a.get(C.CTA_TUPLE_REPLY), 'reply', m.type);
    if (f.family !== undefined && orig.family !== f.family) return false;
    if (proto !== undefined && orig.proto !== proto) return false;
    if (f.zone !== undefined && (a.be16(C.CTA_ZONE) ?? 0) !== f.zone) return false;
    if (f.mark !== undefined && ((a.be32(C.CTA_MARK) ?? 0) & markMask) >>> 0 !== (f.mark & markMask) >>> 0) return false;
    if (statusBits) {
      const status = a.be32(C.CTA_STATUS) ?? 0;
      if (!statusBits.every((bit) => bit !== undefined && (status & bit) !== 0)) return false;
    }
    return (!original || original(orig)) && (!reply || reply(rep));
  };
}
