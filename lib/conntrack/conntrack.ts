/**
 * Connection tracking over ctnetlink: list entries, filter them, delete one,
 * flush many — what unpublishing a port needs to cut flows that would
 * otherwise keep using an old DNAT mapping (UDP flows in particular never end
 * by themselves while traffic keeps them alive).
 * @module
 */
import type { AsyncOps, SyncOps } from '../netlink/bind';
import { NetlinkError, NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlAttributes, nfnlType } from '../netlink/nfnetlink';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET, AF_INET6, parseCidr, parseIp, type IpFamily } from '../validate/ip';
import * as C from './constants';
import { decodeEntry, describeEntry, directionZone, protoNumber, writeTuple, zoneId, type ConntrackEntry, type ConntrackTuple } from './entry';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';
import { messageFilter, type ConntrackFilter, type ConntrackTupleFilter } from './message-filter';
import { deleteDumped } from './bulk-delete';
import { labelNumbers } from './labels';
import { dumpRequests, plainDumpRequest } from './dump-request';
import { changeMessage, type ConntrackChanges } from './changes';

export type { ConntrackFilter, ConntrackTupleFilter, ConntrackChanges };
import type { NetlinkMessage } from '../netlink/parser';
import type { ConntrackEvents, ConntrackSyncEvents } from './events';

/**
 * What identifies one entry for {@link conntrackOps.delete}: the original
 * tuple (with ports for TCP/UDP/SCTP/DCCP, identifier, type and code for
 * ICMP), and the id and zone when known. A listed {@link ConntrackEntry} is one.
 */
export type ConntrackKey = Pick<ConntrackEntry, 'family' | 'protocol' | 'original'> & Partial<Pick<ConntrackEntry, 'id' | 'zone'>>;

const ctType = (msg: number) => nfnlType(NFNL_SUBSYS_CTNETLINK, msg);

function familyNumber(f: IpFamily | undefined): number {
  if (f === undefined) return 0;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
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

function tupleMatches(f: ConntrackTupleFilter | undefined, e: ConntrackEntry, direction: 'original' | 'reply'): boolean {
  if (!f) return true;
  const t = e[direction];
  return (
    addressMatches(f.src, t.src, `${direction}.src`) &&
    addressMatches(f.dst, t.dst, `${direction}.dst`) &&
    (f.sport === undefined || t.sport === f.sport) &&
    (f.dport === undefined || t.dport === f.dport) &&
    (f.zone === undefined || directionZone(e, direction) === f.zone)
  );
}

/** Whether an entry passes a filter. */
export function entryMatches(e: ConntrackEntry, f: ConntrackFilter): boolean {
  if (f.family !== undefined && e.family !== f.family) return false;
  if (f.protocol !== undefined && protoNumber(e.protocol) !== protoNumber(f.protocol)) return false;
  if (f.zone !== undefined && zoneId(e) !== f.zone) return false;
  if (f.mark !== undefined) {
    const mask = f.markMask ?? 0xffffffff;
    if (((e.mark ?? 0) & mask) >>> 0 !== (f.mark & mask) >>> 0) return false;
  }
  if (f.status && !f.status.every((s) => e.status.includes(s))) return false;
  if (f.labels && !labelNumbers(f.labels, 'labels').every((l) => e.labels?.includes(l))) return false;
  return tupleMatches(f.original, e, 'original') && tupleMatches(f.reply, e, 'reply');
}

const FILTER_KEYS = keysOf<ConntrackFilter>()(['family', 'protocol', 'original', 'reply', 'zone', 'mark', 'markMask', 'status', 'labels']);
const TUPLE_KEYS = keysOf<ConntrackTupleFilter>()(['src', 'dst', 'sport', 'dport', 'zone']);

function checkInteger(field: string, v: number | undefined, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > max)) throw new ValidationError(field, v, `must be an integer 0-${max}`);
}

/** Refuses what a filter cannot mean: a misspelt key would widen a flush to every entry. */
function validateFilter(f: ConntrackFilter): void {
  rejectUnknownKeys(f, FILTER_KEYS, 'conntrack filter');
  familyNumber(f.family);
  if (f.protocol !== undefined) protoNumber(f.protocol);
  checkInteger('zone', f.zone, 0xffff);
  checkInteger('mark', f.mark, 0xffffffff);
  checkInteger('markMask', f.markMask, 0xffffffff);
  if (f.labels !== undefined) labelNumbers(f.labels, 'labels');
  if (f.status !== undefined) {
    if (!Array.isArray(f.status)) throw new ValidationError('status', f.status, 'must be an array of status names');
    for (const s of f.status) {
      if (!C.STATUS_BITS.some(([name]) => name === s)) throw new ValidationError('status', s, `unknown (known: ${C.STATUS_BITS.map(([n]) => n).join(', ')})`);
    }
  }
  for (const [name, t] of [
    ['original', f.original],
    ['reply', f.reply],
  ] as const) {
    rejectUnknownKeys(t, TUPLE_KEYS, name);
    if (!t) continue;
    if (t.src !== undefined) parseCidr(t.src, `${name}.src`, { defaultFull: true });
    if (t.dst !== undefined) parseCidr(t.dst, `${name}.dst`, { defaultFull: true });
    for (const p of ['sport', 'dport'] as const) {
      const v = t[p];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 65535)) throw new ValidationError(`${name}.${p}`, v, 'must be a port 0-65535');
    }
    checkInteger(`${name}.zone`, t.zone, 0xffff);
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
    const entries = yield* conntrackOps.count();
    if (entries === 0) return [];
    return (yield* listMessages(filter, entries)).map(decodeEntry);
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
   * Deletes one entry by its original tuple (and id, zone; a listed entry
   * can be passed as it is). Resolves to `true`; an entry that is gone is a
   * {@link NotFoundError} (code ENOENT), or `false` with `{ missingOk: true }`.
   *
   * Deprecated form: `delete(filter)` with a filter (anything that is not a
   * complete original tuple) still deletes every matching entry and returns
   * the count, like {@link conntrackOps.flush}; it goes away in the next
   * minor version.
   * @example
   * for (const e of await h.conntrack.list({ protocol: 'udp' })) await h.conntrack.delete(e, { missingOk: true });
   */
  *delete(target: ConntrackKey | ConntrackFilter, opts?: DeleteOptions): Operation<boolean | number> {
    if (!isObject(target)) throw new ValidationError('conntrack entry', target, 'must be an entry (family, protocol, original tuple)');
    if (!isEntryKey(target)) {
      if (opts !== undefined) throw new ValidationError('options', opts, 'the deprecated delete(filter) form takes none; use flush(filter)');
      warnDeprecatedFilterDelete();
      return yield* conntrackOps.flush(target);
    }
    const missingOk = checkDeleteOptions(opts);
    try {
      yield* call(deleteMessage(target), `delete conntrack entry ${describeEntry(target)}`);
      return true;
    } catch (err) {
      if (!(err instanceof NetlinkError && err.code === 'ENOENT')) throw err;
      if (missingOk) return false;
      throw NotFoundError.from('conntrack entry', err);
    }
  },

  /**
   * Changes an existing entry (`conntrack -U`), found by its original tuple
   * and zone (a listed entry can be passed as it is): its mark (all of it,
   * or the bits of `markMask`), its timeout, its labels (all of them or only
   * those of `labelsMask`); what is not given stays. Values that cannot be
   * sent or would not mean what they say are a ValidationError before
   * anything is sent. An entry that is gone is a {@link NotFoundError}; an
   * entry made while no rule or program used labels has no room for them,
   * which the kernel refuses (NetlinkError, code ENOSPC).
   * @example
   * for (const e of await h.conntrack.list({ protocol: 'tcp', original: { dport: 443 } })) {
   *   await h.conntrack.set(e, { labels: [7], labelsMask: [7] }); // add label 7, keep the others
   *   await h.conntrack.set(e, { mark: 0x42, markMask: 0xff, timeout: 300 }); // low byte of the mark; expires in 5 min
   * }
   */
  *set(target: ConntrackKey, changes: ConntrackChanges): Operation<void> {
    if (!isObject(target) || !isEntryKey(target))
      throw new ValidationError('conntrack entry', target, 'must be an entry (family, protocol, complete original tuple)');
    const request = changeMessage(target, changes);
    try {
      yield* call(request, `change conntrack entry ${describeEntry(target)}`);
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'ENOENT') throw NotFoundError.from('conntrack entry', err);
      throw err;
    }
  },

  /**
   * @deprecated use `delete(entry, { missingOk: true })`
   * @example
   * await h.conntrack.deleteEntry(entry); // same as h.conntrack.delete(entry, { missingOk: true })
   */
  *deleteEntry(e: ConntrackKey): Operation<boolean> {
    return (yield* conntrackOps.delete(e, { missingOk: true })) as boolean;
  },

  /**
   * Deletes every entry matching a filter (all of them without one) and
   * resolves to how many it deleted. Entries are listed, then deleted with a
   * request each, sent without waiting for acks (the kernel answers only the
   * deletes that fail); the count is exact: entries that ended meanwhile are
   * not counted. A family alone, as a number (`flush(4)`), is the
   * deprecated form of `flush({ family: 4 })`.
   * @example
   * // cut stale UDP flows to a port that is no longer published
   * const cut = await h.conntrack.flush({ protocol: 'udp', original: { dport: 5353 } });
   * await h.conntrack.flush(); // everything
   */
  *flush(filter: ConntrackFilter | IpFamily = {}): Operation<number> {
    const f = typeof filter === 'number' ? { family: filter } : filter;
    if (!isObject(f)) throw new ValidationError('filter', filter, 'must be a conntrack filter object');
    validateFilter(f);
    const entries = yield* conntrackOps.count();
    if (entries === 0) return 0;
    // The deletes copy the dumped tuples; an entry is decoded only to name it in an error.
    return yield* deleteDumped(yield* listMessages(f, entries));
  },
};

/**
 * The dumped IPCTNL_MSG_CT_NEW messages of the entries matching a validated
 * filter. The kernel filters what it can (dump-request.ts); a kernel that
 * refuses that (EINVAL, EOPNOTSUPP) is asked for everything instead.
 */
function* listMessages(filter: ConntrackFilter, entries: number | undefined): Operation<NetlinkMessage[]> {
  let replies: NetlinkMessage[] = [];
  try {
    for (const request of dumpRequests(filter, entries)) replies = concat(replies, yield* dump(request, 'list conntrack entries'));
  } catch (e) {
    if (!(e instanceof NetlinkError && (e.code === 'EINVAL' || e.code === 'EOPNOTSUPP'))) throw e;
    replies = yield* dump(plainDumpRequest(filter), 'list conntrack entries');
  }
  const matches = messageFilter(filter);
  const newType = ctType(C.IPCTNL_MSG_CT_NEW);
  return replies.filter((m) => m.type === newType && matches(m));
}

/** a.concat(b) without copying when one is empty (the usual case: one family has all the entries). */
function concat<T>(a: T[], b: T[]): T[] {
  return a.length === 0 ? b : b.length === 0 ? a : a.concat(b);
}

/** The IPCTNL_MSG_CT_DELETE request for one entry (by original tuple, zone and id). */
function deleteMessage(target: ConntrackKey): Buffer {
  const w = new NetlinkWriter();
  beginNfnl(w, ctType(C.IPCTNL_MSG_CT_DELETE), 0, familyNumber(target.family));
  writeTuple(w, C.CTA_TUPLE_ORIG, target.family, protoNumber(target.protocol), target.original);
  if (target.zone) w.be16(C.CTA_ZONE, target.zone);
  if (target.id !== undefined) w.be32(C.CTA_ID, target.id);
  return w.end().finish();
}

/** Protocols whose tuples have ports, and ICMP's, which have identifier, type and code. */
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);
const ICMP_PROTOCOLS = new Set([1, 58]);

/** Whether `x` names one entry (a complete original tuple) rather than being a filter. */
function isEntryKey(x: ConntrackKey | ConntrackFilter): x is ConntrackKey {
  const t = x.original;
  if ((x.family !== 4 && x.family !== 6) || x.protocol === undefined || !t) return false;
  if (typeof t.src !== 'string' || typeof t.dst !== 'string' || t.src.includes('/') || t.dst.includes('/')) return false;
  const proto = protoNumber(x.protocol);
  if (PORT_PROTOCOLS.has(proto)) return t.sport !== undefined && t.dport !== undefined;
  if (ICMP_PROTOCOLS.has(proto)) {
    const icmp = t as ConntrackTuple;
    return icmp.icmpType !== undefined && icmp.icmpCode !== undefined && icmp.icmpId !== undefined;
  }
  return true;
}

let warnedFilterDelete = false;
/** Once per process: delete(filter) is flush(filter)'s old name. */
function warnDeprecatedFilterDelete(): void {
  if (warnedFilterDelete) return;
  warnedFilterDelete = true;
  process.emitWarning(
    'conntrack.delete(filter) is deprecated: use conntrack.flush(filter); delete() now deletes one entry',
    'DeprecationWarning',
    'NLKIT_CONNTRACK_DELETE_FILTER',
  );
}

/**
 * `h.conntrack`: the bound operations, with `delete`'s two forms typed apart
 * (one entry → boolean; the deprecated filter form → count).
 */
export type ConntrackOperations = Omit<AsyncOps<typeof conntrackOps>, 'delete'> & {
  /** Entries created, changed and destroyed (`conntrack -E`): `h.conntrack.events.subscribe()`. */
  readonly events: ConntrackEvents;
  /**
   * Deletes one entry: `true`, or NotFoundError / `false` with `{ missingOk: true }`.
   * @example
   * await h.conntrack.delete(entry, { missingOk: true });
   */
  delete(entry: ConntrackKey, opts?: DeleteOptions): Promise<boolean>;
  /** @deprecated use `flush(filter)`, which returns the same count */
  delete(filter: ConntrackFilter): Promise<number>;
};

/** `hs.conntrack` of a SyncHandle: like {@link ConntrackOperations}, blocking. */
export type ConntrackSyncOperations = Omit<SyncOps<typeof conntrackOps>, 'delete'> & {
  /** No event streams on a blocking handle: `subscribe()` throws a ValidationError (use a handle of `open()`). */
  readonly events: ConntrackSyncEvents;
  /**
   * Deletes one entry: `true`, or NotFoundError / `false` with `{ missingOk: true }`.
   * @example
   * hs.conntrack.delete(entry, { missingOk: true });
   */
  delete(entry: ConntrackKey, opts?: DeleteOptions): boolean;
  /** @deprecated use `flush(filter)`, which returns the same count */
  delete(filter: ConntrackFilter): number;
};
