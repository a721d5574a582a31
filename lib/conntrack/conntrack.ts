/**
 * Connection tracking over ctnetlink: list entries, filter them, and delete
 * them — what unpublishing a port needs to cut flows that would otherwise
 * keep using an old DNAT mapping (UDP flows in particular never end by
 * themselves while traffic keeps them alive).
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { NetlinkError, ValidationError } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlAttributes, nfnlType } from '../netlink/nfnetlink';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET, AF_INET6, parseCidr, parseIp, type IpFamily } from '../validate/ip';
import * as C from './constants';
import { decodeEntry, describeEntry, protoNumber, writeTuple, type ConntrackEntry, type ConntrackTuple } from './entry';

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

const ctType = (msg: number) => nfnlType(NFNL_SUBSYS_CTNETLINK, msg);

function familyNumber(f: IpFamily | undefined): number {
  if (f === undefined) return 0;
  if (f !== 4 && f !== 6) throw new ValidationError('family', f, 'must be 4 or 6');
  return f === 4 ? AF_INET : AF_INET6;
}

function addressMatches(pattern: string | undefined, addr: string, field: string): boolean {
  if (pattern === undefined) return true;
  if (!addr) return false;
  const c = parseCidr(pattern, field, { defaultFull: true });
  const a = parseIp(addr, field);
  if (a.family !== c.family) return false;
  for (let bit = 0; bit < c.prefixLength; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a.bytes[bit >> 3] & m) !== (c.bytes[bit >> 3] & m)) return false;
  }
  return true;
}

function tupleMatches(f: ConntrackFilter['original'], t: ConntrackTuple, field: string): boolean {
  if (!f) return true;
  return (
    addressMatches(f.src, t.src, `${field}.src`) &&
    addressMatches(f.dst, t.dst, `${field}.dst`) &&
    (f.sport === undefined || t.sport === f.sport) &&
    (f.dport === undefined || t.dport === f.dport)
  );
}

/** Whether an entry passes a filter. */
export function entryMatches(e: ConntrackEntry, f: ConntrackFilter): boolean {
  if (f.family !== undefined && e.family !== f.family) return false;
  if (f.protocol !== undefined && protoNumber(e.protocol) !== protoNumber(f.protocol)) return false;
  if (f.zone !== undefined && (e.zone ?? 0) !== f.zone) return false;
  if (f.mark !== undefined) {
    const mask = f.markMask ?? 0xffffffff;
    if ((((e.mark ?? 0) & mask) >>> 0) !== ((f.mark & mask) >>> 0)) return false;
  }
  if (f.status && !f.status.every((s) => e.status.includes(s))) return false;
  return tupleMatches(f.original, e.original, 'original') && tupleMatches(f.reply, e.reply, 'reply');
}

function validateFilter(f: ConntrackFilter): void {
  if (f.protocol !== undefined) protoNumber(f.protocol);
  for (const [name, t] of [['original', f.original], ['reply', f.reply]] as const) {
    if (!t) continue;
    if (t.src !== undefined) parseCidr(t.src, `${name}.src`, { defaultFull: true });
    if (t.dst !== undefined) parseCidr(t.dst, `${name}.dst`, { defaultFull: true });
    for (const p of ['sport', 'dport'] as const) {
      const v = t[p];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 65535)) throw new ValidationError(`${name}.${p}`, v, 'must be a port 0-65535');
    }
  }
}

/** The conntrack operations; bound to a handle as `handle.conntrack`. */
export const conntrackOps = {
  /**
   * Lists connection-tracking entries, optionally filtered.
   * @example
   * const udp = await h.conntrack.list({ protocol: 'udp', original: { dport: 53 } });
   */
  *list(filter: ConntrackFilter = {}): Operation<ConntrackEntry[]> {
    validateFilter(filter);
    // A dump walks every bucket of the kernel's table, shared by all namespaces
    // (262,144 buckets take ~3.5 ms here) even when this namespace has no entry.
    if ((yield* conntrackOps.count()) === 0) return [];
    const w = new NetlinkWriter();
    beginNfnl(w, ctType(C.IPCTNL_MSG_CT_GET), NLM_F_DUMP, familyNumber(filter.family));
    // The kernel filters dumps by mark itself; everything else is checked here.
    if (filter.mark !== undefined) {
      w.be32(C.CTA_MARK, filter.mark);
      w.be32(C.CTA_MARK_MASK, filter.markMask ?? 0xffffffff);
    }
    const replies = yield* dump(w.end().finish(), 'list conntrack entries');
    return replies
      .filter((m) => m.type === ctType(C.IPCTNL_MSG_CT_NEW))
      .map(decodeEntry)
      .filter((e) => entryMatches(e, filter));
  },

  /**
   * Number of connection-tracking entries in this namespace: one small
   * request, where a listing walks the kernel's whole table. Undefined when
   * the kernel does not answer it.
   * @example
   * if ((await h.conntrack.count()) === 0) console.log('no tracked connections');
   */
  *count(): Operation<number | undefined> {
    const w = new NetlinkWriter();
    beginNfnl(w, ctType(C.IPCTNL_MSG_CT_GET_STATS), 0, 0);
    let replies;
    try {
      replies = yield* call(w.end().finish(), 'count conntrack entries');
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'EOPNOTSUPP' || e.code === 'EINVAL')) return undefined;
      throw e;
    }
    for (const m of replies) {
      if (m.type === ctType(C.IPCTNL_MSG_CT_GET_STATS)) return nfnlAttributes(m).be32(C.CTA_STATS_GLOBAL_ENTRIES);
    }
    return undefined;
  },

  /**
   * Deletes the entries matching a filter; returns how many were deleted.
   * An empty filter deletes every entry.
   * @example
   * // cut stale UDP flows to a port that is no longer published
   * await h.conntrack.delete({ protocol: 'udp', original: { dport: 5353 } });
   */
  *delete(filter: ConntrackFilter): Operation<number> {
    const entries = yield* conntrackOps.list(filter);
    let n = 0;
    for (const e of entries) if (yield* conntrackOps.deleteEntry(e)) n++;
    return n;
  },

  /**
   * Deletes one entry by its original tuple (and id, zone); returns false if it was already gone.
   * @example
   * for (const e of await h.conntrack.list({ protocol: 'udp' })) await h.conntrack.deleteEntry(e);
   */
  *deleteEntry(e: Pick<ConntrackEntry, 'family' | 'protocol' | 'original'> & Partial<Pick<ConntrackEntry, 'id' | 'zone'>>): Operation<boolean> {
    const w = new NetlinkWriter();
    beginNfnl(w, ctType(C.IPCTNL_MSG_CT_DELETE), 0, familyNumber(e.family));
    writeTuple(w, C.CTA_TUPLE_ORIG, e.family, protoNumber(e.protocol), e.original);
    if (e.zone) w.be16(C.CTA_ZONE, e.zone);
    if (e.id !== undefined) w.be32(C.CTA_ID, e.id);
    try {
      yield* call(w.end().finish(), `delete conntrack entry ${describeEntry(e)}`);
      return true;
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'ENOENT') return false;
      throw err;
    }
  },

  /**
   * Deletes every entry (of one family, if given).
   * @example
   * await h.conntrack.flush(4);
   */
  *flush(family?: IpFamily): Operation<void> {
    const w = new NetlinkWriter();
    beginNfnl(w, ctType(C.IPCTNL_MSG_CT_DELETE), 0, familyNumber(family));
    yield* call(w.end().finish(), 'flush conntrack table');
  },
};
