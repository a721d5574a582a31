/**
 * Neighbours: the ARP (IPv4) and NDP (IPv6) cache — RTM_*NEIGH with an
 * AF_INET/AF_INET6 ndmsg, what `ip neigh` shows and changes. Bridge and
 * VXLAN forwarding entries use the same messages with AF_BRIDGE: see fdb.ts.
 * @module
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants';
import { ENOENT } from '../netlink/errno';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import type { AsyncOps, SyncOps } from '../netlink/bind';
import { call, dumpCollected, type Operation } from '../netlink/operation';
import { Attributes, s32At, u16At, u8At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET, AF_INET6, afOf, formatIp, formatMac, parseIp, parseMac, type IpFamily } from '../validate/ip';
import * as C from './constants';
import { resolveLinkIndex, resolveLinkNames, type LinkRef } from './link';
import { parseProtocol, protocolName } from './names';
import { deleting, notFoundOn, type MissingCodes } from './not-found';
import { OneLinkBulkWriter } from './bulk-links';
import { runBulk } from '../netlink/bulk';
import { checkBoolean, isObject, rejectUnknownKeys } from '../validate/options';
import { EXT_FLAG_NAMES, decodeExtFlags, flagOf, listedFlags } from './ntf-flags';
import { FLAG_NAMES, NEIGHBOUR_FILTER_KEYS, NEIGHBOUR_WRITE_KEYS, STATES } from './neighbour-types';
import type { Neighbour, NeighbourFilter, NeighbourKey, NeighbourOptions, NeighbourWrite, WithLegacyDev } from './neighbour-types';

export type { Neighbour, NeighbourFilter, NeighbourKey, NeighbourOptions, NeighbourState, NeighbourWrite, WithLegacyDev } from './neighbour-types';

const KNOWN = new Set([C.NDA_DST, C.NDA_LLADDR, C.NDA_CACHEINFO, C.NDA_PROBES, C.NDA_PROTOCOL, C.NDA_FLAGS_EXT]);
/** Every flag name a listed neighbour can carry. */
const LISTED_FLAGS = [...FLAG_NAMES, ...EXT_FLAG_NAMES].map(([, n]) => n);
// Cache ages travel in USER_HZ ticks.
const USER_HZ = 100;

/** State names as `ip -j neigh` prints them (upper case, in its order). */
export function neighbourStateNames(state: number): string[] {
  if (state === C.NUD_NONE) return ['NONE'];
  return STATES.filter(([bit]) => state & bit).map(([, n]) => n.toUpperCase());
}

/**
 * The state of a write: a name ("stale"), or the array a listed entry has
 * (["STALE"]; [] for none, as proxy entries list). Undefined when not given.
 */
function parseWriteState(s: unknown): number | undefined {
  if (!Array.isArray(s)) return s === undefined ? undefined : parseNeighbourState(s);
  let state = 0;
  for (const name of s as unknown[]) {
    if (name === 'NONE') continue;
    const hit = STATES.find(([, n]) => n.toUpperCase() === name);
    if (!hit) throw new ValidationError('state', s, `a state name, or the listed array of ${STATES.map(([, n]) => n.toUpperCase()).join(', ')}, NONE`);
    state |= hit[0];
  }
  return state;
}

/** Parses a state name into its NUD_* value. */
export function parseNeighbourState(s: unknown, field = 'state'): number {
  if (s === 'none') return C.NUD_NONE;
  const hit = STATES.find(([, n]) => n === s);
  if (!hit) throw new ValidationError(field, s, `one of ${STATES.map(([, n]) => n).join(', ')}, none`);
  return hit[0];
}

/** Decodes one RTM_NEWNEIGH (or RTM_DELNEIGH) message of an IP family. */
export function decodeNeighbour(m: NetlinkMessage): Neighbour {
  const p = m.payload;
  const flags = u8At(p, 10);
  const a = new Attributes(p, C.NDMSG_LEN);
  const dst = a.get(C.NDA_DST);
  const ext = decodeExtFlags(a);
  const n: Neighbour = {
    family: u8At(p, 0) === AF_INET6 ? 6 : 4,
    link: s32At(p, 4),
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias of `link`, still filled
    index: s32At(p, 4),
    address: dst ? formatIp(dst) : '',
    // Proxy entries have no NUD state; ip prints none for them.
    state: flags & C.NTF_PROXY ? [] : neighbourStateNames(u16At(p, 8)),
    flags: [...FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name), ...ext.names],
    // NDA_FLAGS_EXT stays raw too when it has bits nlkit cannot name.
    unknownAttributes: a.list.filter((x) => !KNOWN.has(x.type) || (x.type === C.NDA_FLAGS_EXT && ext.unnamed !== 0)),
  };
  if (flags & C.NTF_PROXY) n.proxy = true;
  const ll = a.get(C.NDA_LLADDR);
  if (ll?.length) n.mac = formatMac(ll);
  const probes = a.u32(C.NDA_PROBES);
  if (probes !== undefined) n.probes = probes;
  const ci = a.get(C.NDA_CACHEINFO);
  if (ci && ci.length >= 16) {
    n.confirmed = Math.floor(ci.readUInt32LE(0) / USER_HZ);
    n.used = Math.floor(ci.readUInt32LE(4) / USER_HZ);
    n.updated = Math.floor(ci.readUInt32LE(8) / USER_HZ);
    n.refcnt = ci.readUInt32LE(12);
  }
  const proto = a.u8(C.NDA_PROTOCOL);
  if (proto !== undefined) n.protocol = protocolName(proto);
  return n;
}

/** Writes an ndmsg; shared with fdb.ts. */
export function ndmsg(w: NetlinkWriter, family: number, index: number, state: number, flags: number): void {
  const off = w.struct(C.NDMSG_LEN);
  w.view.writeUInt8(family, off);
  w.view.writeInt32LE(index, off + 4);
  w.view.writeUInt16LE(state, off + 8);
  w.view.writeUInt8(flags, off + 10);
}

/** The link of neighbour or FDB options: `link`, or the deprecated `dev` (both must agree). */
export function linkOfOptions(o: { link?: LinkRef; dev?: LinkRef }, field = 'link'): LinkRef {
  if (o.link !== undefined && o.dev !== undefined && o.link !== o.dev) {
    throw new ValidationError(field, o.dev, `dev is the old name of link; give one (link is ${JSON.stringify(o.link)})`);
  }
  const link = o.link ?? o.dev;
  if (link === undefined) throw new ValidationError(field, link, 'the link (name or index) is required');
  return link;
}

function describe(o: { address: string }, link: LinkRef): string {
  return `neighbour ${o.address} on ${typeof link === 'number' ? `#${link}` : link}`;
}

/** The kernel's "no such neighbour" (and "no such link"). */
export const NEIGHBOUR_MISSING: MissingCodes = { ENOENT: 'neighbour', ENODEV: 'link' };

export type AnyNeighbourOptions = NeighbourWrite | WithLegacyDev<NeighbourOptions>;

/** A neighbour write validated up to its link (resolved by the caller). */
export interface NeighbourPlan {
  link: LinkRef;
  family: IpFamily;
  dst: Buffer;
  state: number;
  ntf: number;
  mac: Buffer | undefined;
  /** NDA_FLAGS_EXT to send (0: none). */
  ext: number;
  protocol: number | undefined;
}

/** Validates a neighbour write (everything but whether its link exists). */
export function planNeighbour(type: number, input: Partial<AnyNeighbourOptions>): NeighbourPlan {
  if (!isObject(input)) throw new ValidationError('neighbour', input, 'must be an object with link and address');
  rejectUnknownKeys(input, NEIGHBOUR_WRITE_KEYS, 'neighbour');
  // Options or a listed entry: the fields both have differ in type (state), so read them as unknown.
  const o = input as Partial<Omit<NeighbourOptions, 'state'>> & { dev?: LinkRef; state?: unknown; flags?: unknown };
  const link = linkOfOptions(o);
  const ip = parseIp(o.address, 'address');
  for (const flag of ['proxy', 'router', 'externLearned', 'managed'] as const) checkBoolean(o[flag], flag);
  const listed = listedFlags(o.flags, LISTED_FLAGS);
  const proxy = flagOf(o.proxy, listed, 'proxy');
  const managed = flagOf(o.managed, listed, 'managed');
  const adding = type === C.RTM_NEWNEIGH;
  let ntf = 0;
  if (proxy) ntf |= C.NTF_PROXY;
  if (flagOf(o.router, listed, 'router')) ntf |= C.NTF_ROUTER;
  if (flagOf(o.externLearned, listed, 'extern_learn')) ntf |= C.NTF_EXT_LEARNED;
  let ext = 0;
  if (managed) ext |= C.NTF_EXT_MANAGED;
  if (listed.has('extern_valid')) ext |= C.NTF_EXT_EXT_VALIDATED;
  const given = parseWriteState(o.state);
  // The kernel keeps no state nor link-layer address for a proxy entry: it took them and dropped them.
  if (adding && proxy && o.state !== undefined && !(Array.isArray(o.state) && o.state.length === 0))
    throw new ValidationError('state', o.state, 'a proxy entry has no state (the kernel would drop it)');
  if (adding && proxy && o.mac !== undefined) throw new ValidationError('mac', o.mac, 'a proxy entry has no link-layer address (the kernel would drop it)');
  // A managed entry is resolved by the kernel: none by default, as `ip neigh add ... managed` sends; the kernel refuses it permanent.
  const state = adding && !proxy ? (given ?? (managed ? C.NUD_NONE : C.NUD_PERMANENT)) : 0;
  if (adding && managed && state & C.NUD_PERMANENT) throw new ValidationError('state', o.state, 'a managed neighbour cannot be permanent');
  const mac = o.mac !== undefined ? parseMac(o.mac, 'mac') : undefined;
  if (adding && !proxy && !managed && !mac && state & (C.NUD_PERMANENT | C.NUD_NOARP | C.NUD_REACHABLE | C.NUD_STALE)) {
    throw new ValidationError('mac', o.mac, `a ${neighbourStateNames(state).join(' ').toLowerCase()} neighbour needs a link-layer address`);
  }
  const protocol = o.protocol !== undefined ? parseProtocol(o.protocol) : undefined;
  return {
    link,
    family: ip.family,
    dst: ip.bytes,
    state,
    ntf,
    mac: adding ? mac : undefined,
    ext: adding ? ext : 0,
    protocol: adding ? protocol : undefined,
  };
}

/** Appends one RTM_NEWNEIGH / RTM_DELNEIGH message to `w` (a bulk call writes many into one writer). */
export function writeNeighbourMessage(w: NetlinkWriter, type: number, flags: number, plan: NeighbourPlan, index: number): NetlinkWriter {
  w.begin(type, flags);
  ndmsg(w, afOf(plan.family), index, plan.state, plan.ntf);
  w.attr(C.NDA_DST, plan.dst);
  if (plan.mac) w.attr(C.NDA_LLADDR, plan.mac);
  // Extended flags (managed) travel in NDA_FLAGS_EXT, as the kernel reads them since NTF_EXT_MANAGED came.
  if (plan.ext) w.u32(C.NDA_FLAGS_EXT, plan.ext);
  if (plan.protocol !== undefined) w.u8(C.NDA_PROTOCOL, plan.protocol);
  return w.end();
}

/** What a neighbour write is called in errors: "add neighbour 10.0.0.2 on eth0". */
export function describeNeighbourWrite(verb: string, o: { address?: unknown; link?: LinkRef; dev?: LinkRef }): string {
  return `${verb} ${describe({ address: String(o.address) }, o.link ?? o.dev ?? '?')}`;
}

/** The bulk form: many neighbours in one call (lib/netlink/bulk.ts); resolves to how many were applied. */
function writeNeighbours(
  type: number,
  flags: number,
  list: ReadonlyArray<Partial<AnyNeighbourOptions>>,
  verb: string,
  opts?: DeleteOptions,
): Operation<number> {
  const missingOk = type === C.RTM_DELNEIGH ? checkDeleteOptions(opts) : false;
  const writer = new OneLinkBulkWriter({
    plan: (o: Partial<AnyNeighbourOptions>) => planNeighbour(type, o),
    encode: (w, plan: NeighbourPlan, index) => writeNeighbourMessage(w, type, flags, plan, index),
    describe: (o) => describeNeighbourWrite(verb, o),
  });
  const missing = type === C.RTM_DELNEIGH ? NEIGHBOUR_MISSING : undefined;
  return runBulk(list, writer, { operation: `${verb} ${list.length} neighbours`, argument: 'neighbours', missing, missingOk });
}

function* writeNeighbour(type: number, flags: number, o: Partial<AnyNeighbourOptions>, verb: string): Operation<void> {
  const plan = planNeighbour(type, o);
  const index = yield* resolveLinkIndex(plan.link);
  yield* call(writeNeighbourMessage(new NetlinkWriter(), type, flags, plan, index).finish(), `${verb} ${describe({ address: String(o.address) }, plan.link)}`);
}

function deleteNeighbour(neighbour: NeighbourKey | WithLegacyDev<NeighbourKey>, opts?: DeleteOptions): Operation<boolean>;
function deleteNeighbour(neighbours: readonly NeighbourKey[], opts?: DeleteOptions): Operation<number>;
function* deleteNeighbour(neighbour: NeighbourKey | WithLegacyDev<NeighbourKey> | readonly NeighbourKey[], opts?: DeleteOptions): Operation<boolean | number> {
  if (Array.isArray(neighbour)) return yield* writeNeighbours(C.RTM_DELNEIGH, 0, neighbour, 'delete', opts);
  const missingOk = checkDeleteOptions(opts);
  return yield* deleting(NEIGHBOUR_MISSING, writeNeighbour(C.RTM_DELNEIGH, 0, neighbour as NeighbourKey, 'delete'), missingOk);
}

/**
 * `h.neighbours`: the bound operations, with `delete`'s two forms typed apart
 * (one entry → boolean; a list → how many were removed).
 */
export type NeighbourOperations = Omit<AsyncOps<typeof neighbourOps>, 'delete'> & {
  /**
   * Deletes one entry: `true`, or NotFoundError / `false` with `{ missingOk: true }`.
   * @example
   * await h.neighbours.delete({ link: 'eth0', address: '10.0.0.2' }, { missingOk: true });
   */
  delete(neighbour: NeighbourKey | WithLegacyDev<NeighbourKey>, opts?: DeleteOptions): Promise<boolean>;
  /**
   * Deletes a list of entries in one bulk call; resolves to how many were removed.
   * @example
   * const removed = await h.neighbours.delete(await h.neighbours.list({ link: 'vx0' }), { missingOk: true });
   */
  delete(neighbours: readonly NeighbourKey[], opts?: DeleteOptions): Promise<number>;
};

/** `hs.neighbours` of a SyncHandle: like {@link NeighbourOperations}, blocking. */
export type NeighbourSyncOperations = Omit<SyncOps<typeof neighbourOps>, 'delete'> & {
  /**
   * Deletes one entry: `true`, or NotFoundError / `false` with `{ missingOk: true }`.
   * @example
   * hs.neighbours.delete({ link: 'eth0', address: '10.0.0.2' }, { missingOk: true });
   */
  delete(neighbour: NeighbourKey | WithLegacyDev<NeighbourKey>, opts?: DeleteOptions): boolean;
  /**
   * Deletes a list of entries in one bulk call; returns how many were removed.
   * @example
   * const removed = hs.neighbours.delete(hs.neighbours.list({ link: 'vx0' }));
   */
  delete(neighbours: readonly NeighbourKey[], opts?: DeleteOptions): number;
};

/** The operations on neighbours; bound to a handle as `handle.neighbours`. */
export const neighbourOps = {
  /**
   * Adds a neighbour entry; EEXIST if there is one for the address. Given an
   * array, adds them all in one bulk call (validated first, failures by
   * index in a {@link BatchError}; see "Bulk writes" in docs/api-conventions.md).
   * A listed entry can be written back as it is ({@link NeighbourWrite}).
   * A proxy entry given a `state` or `mac` is a {@link ValidationError}: the
   * kernel keeps neither.
   * @example
   * await h.neighbours.add({ link: 'eth0', address: '10.0.0.2', mac: '02:00:00:00:00:02' });
   * await h.neighbours.add(peers.map((p) => ({ link: 'vx0', address: p.ip, mac: p.mac })));
   */
  *add(neighbour: NeighbourWrite | WithLegacyDev<NeighbourOptions> | readonly NeighbourWrite[]): Operation<void> {
    if (Array.isArray(neighbour)) yield* writeNeighbours(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, neighbour, 'add');
    else yield* writeNeighbour(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, neighbour as AnyNeighbourOptions, 'add');
  },

  /**
   * Adds the entry or overwrites the existing one (`ip neigh replace`); an
   * array replaces them all in one bulk call. A listed entry writes back the
   * same entry ({@link NeighbourWrite}).
   * @example
   * await h.neighbours.replace({ link: 'eth0', address: '10.0.0.2', mac: '02:00:00:00:00:22', state: 'reachable' });
   * const saved = await h.neighbours.list({ link: 'eth0', state: 'permanent' });
   * await h.neighbours.replace(saved); // later: back as they were, flags and protocol too
   */
  *replace(neighbour: NeighbourWrite | WithLegacyDev<NeighbourOptions> | readonly NeighbourWrite[]): Operation<void> {
    if (Array.isArray(neighbour)) yield* writeNeighbours(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, neighbour, 'replace');
    else yield* writeNeighbour(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, neighbour as AnyNeighbourOptions, 'replace');
  },

  /**
   * Deletes the entry for an address on a link (`proxy: true` for a proxy
   * entry; a listed entry can be passed as it is). Resolves to `true`; no
   * such entry is a {@link NotFoundError} (code ENOENT), or `false` with
   * `{ missingOk: true }`. Given an array: one bulk call resolving to how
   * many were removed.
   * @example
   * await h.neighbours.delete({ link: 'eth0', address: '10.0.0.2' });
   * await h.neighbours.delete({ link: 'eth0', address: '10.0.0.2' }, { missingOk: true }); // false: gone
   */
  delete: deleteNeighbour,

  /**
   * Gets the entry for an address on a link; {@link NotFoundError} (code ENOENT) if there is none.
   * @example
   * const n = await h.neighbours.get({ link: 'eth0', address: '10.0.0.2' }); // n.mac, n.state
   */
  *get(key: NeighbourKey | WithLegacyDev<NeighbourKey>): Operation<Neighbour> {
    if (!isObject(key)) throw new ValidationError('neighbour', key, 'must be an object with link and address');
    rejectUnknownKeys(key, NEIGHBOUR_WRITE_KEYS, 'neighbour key');
    const link = linkOfOptions(key);
    const ip = parseIp(key.address, 'address');
    checkBoolean(key.proxy, 'proxy');
    const index = yield* resolveLinkIndex(link);
    const w = new NetlinkWriter().begin(C.RTM_GETNEIGH, 0);
    ndmsg(w, afOf(ip.family), index, 0, key.proxy ? C.NTF_PROXY : 0);
    w.attr(C.NDA_DST, ip.bytes);
    const operation = `get ${describe(key, link)}`;
    const m = (yield* notFoundOn(NEIGHBOUR_MISSING, call(w.end().finish(), operation))).find((r) => r.type === C.RTM_NEWNEIGH);
    if (!m) throw new NotFoundError('neighbour', { errno: ENOENT, operation });
    return (yield* nameNeighbours([decodeNeighbour(m)]))[0];
  },

  /**
   * Like {@link neighbourOps.get}, but undefined when there is no such entry.
   * @example
   * const n = await h.neighbours.find({ link: 'eth0', address: '10.0.0.9' });
   * if (!n) console.log('not in the cache');
   */
  *find(key: NeighbourKey | WithLegacyDev<NeighbourKey>): Operation<Neighbour | undefined> {
    try {
      return yield* neighbourOps.get(key);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * Lists neighbour entries (every state, like `ip neigh show nud all`);
   * each carries its link's name (`linkName`).
   * @example
   * const arp = await h.neighbours.list({ link: 'eth0', family: 4 });
   */
  *list(filter: NeighbourFilter = {}): Operation<Neighbour[]> {
    rejectUnknownKeys(filter, NEIGHBOUR_FILTER_KEYS, 'neighbour filter');
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (filter.family !== undefined && filter.family !== 4 && filter.family !== 6) {
      throw new ValidationError('family', filter.family, 'must be 4 or 6');
    }
    checkBoolean(filter.proxy, 'proxy');
    const states = filter.state === undefined ? undefined : [filter.state].flat().map((s) => parseNeighbourState(s));
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias `dev` forwards to `link`
    const linkRef = filter.link !== undefined || filter.dev !== undefined ? linkOfOptions(filter) : undefined;
    const index = linkRef !== undefined ? yield* resolveLinkIndex(linkRef) : undefined;
    const master = filter.master !== undefined ? yield* resolveLinkIndex(filter.master) : undefined;
    const families = filter.family ? [afOf(filter.family)] : [AF_INET, AF_INET6];
    const out: Neighbour[] = [];
    // One dump per family: an AF_UNSPEC dump would also return the bridge FDB.
    for (const family of families) {
      const w = new NetlinkWriter().begin(C.RTM_GETNEIGH, NLM_F_DUMP);
      ndmsg(w, family, 0, 0, filter.proxy ? C.NTF_PROXY : 0);
      // Strict dumps filter by link and master in the kernel.
      if (index !== undefined) w.u32(C.NDA_IFINDEX, index);
      if (master !== undefined) w.u32(C.NDA_MASTER, master);
      // Decoded as the messages arrive (routes.list() explains why).
      const wanted = yield* dumpCollected(w.end().finish(), 'list neighbours', (m) => {
        if (m.type !== C.RTM_NEWNEIGH) return undefined;
        const n = decodeNeighbour(m);
        if (index !== undefined && n.link !== index) return undefined;
        if (!!filter.proxy !== n.flags.includes('proxy')) return undefined;
        if (states && !states.some((s) => (s === 0 ? u16At(m.payload, 8) === 0 : u16At(m.payload, 8) & s))) return undefined;
        return n;
      });
      for (const n of wanted) out.push(n);
    }
    return yield* nameNeighbours(out);
  },
};

/** Fills linkName (one link dump at most). */
function* nameNeighbours(entries: Neighbour[]): Operation<Neighbour[]> {
  const names = yield* resolveLinkNames(entries.map((n) => n.link));
  for (const n of entries) {
    const name = names.get(n.link);
    if (name !== undefined) n.linkName = name;
  }
  return entries;
}
