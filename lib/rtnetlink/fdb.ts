/**
 * Forwarding database entries of bridges and VXLAN devices — RTM_*NEIGH
 * with AF_BRIDGE, what `bridge fdb` shows and changes. For an overlay this is
 * where each remote host goes: `00:00:00:00:00:00 dst <host>` entries on a
 * VXLAN device flood BUM traffic to every remote, per-MAC entries steer
 * unicast.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, s32At, u16At, u8At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { formatIp, formatMac, parseIp, parseMac } from '../validate/ip';
import * as C from './constants';
import { parseFdbKey, pickFdbEntry } from './fdb-key';
import { getLink, resolveLinkIndex, resolveLinkNames, type LinkRef } from './link';
import { linkOfOptions, ndmsg, type WithLegacyDev } from './neighbour';
import { deleting, type MissingCodes } from './not-found';
import { checkBoolean, isObject, rejectUnknownKeys } from '../validate/options';
import { FDB_FILTER_KEYS, FDB_WRITE_KEYS } from './fdb-types';
import type { FdbState, FdbEntry, FdbOptions, FdbKey, FdbFilter, FdbWrite } from './fdb-types';
import { EXT_FLAG_NAMES, decodeExtFlags, flagOf, listedFlags } from './ntf-flags';

/** NTF_* flags by the names `bridge -j fdb` prints them. */
const FLAG_NAMES: Array<[number, string]> = [
  [C.NTF_SELF, 'self'],
  [C.NTF_ROUTER, 'router'],
  [C.NTF_EXT_LEARNED, 'extern_learn'],
  [C.NTF_OFFLOADED, 'offload'],
  [C.NTF_MASTER, 'master'],
  [C.NTF_STICKY, 'sticky'],
];

export type { FdbState, FdbEntry, FdbOptions, FdbKey, FdbFilter, FdbWrite } from './fdb-types';

const KNOWN = new Set([
  C.NDA_LLADDR,
  C.NDA_DST,
  C.NDA_CACHEINFO,
  C.NDA_VLAN,
  C.NDA_PORT,
  C.NDA_VNI,
  C.NDA_IFINDEX,
  C.NDA_MASTER,
  C.NDA_SRC_VNI,
  C.NDA_FLAGS_EXT,
]);
/** Every flag name a listed entry can carry. */
const LISTED_FLAGS = [...FLAG_NAMES, ...EXT_FLAG_NAMES].map(([, n]) => n);

function stateName(s: number): FdbState | (string & {}) {
  if (s & C.NUD_PERMANENT) return 'permanent';
  if (s & C.NUD_NOARP) return 'static';
  if (s & C.NUD_STALE) return 'stale';
  if (s & C.NUD_REACHABLE) return 'dynamic';
  return `0x${s.toString(16)}`;
}

// Static as `bridge fdb add ... static` sends it: NOARP with REACHABLE, which a VXLAN device needs (it refuses NOARP alone, EINVAL).
const STATE_VALUES: Record<string, number> = { permanent: C.NUD_PERMANENT, static: C.NUD_NOARP | C.NUD_REACHABLE, dynamic: C.NUD_REACHABLE };

/** The state of a write: an option's name (a listed entry's, but for "stale": no write makes an entry stale). */
function parseFdbState(s: unknown): number {
  if (typeof s === 'string' && Object.hasOwn(STATE_VALUES, s)) return STATE_VALUES[s];
  const hint = s === 'stale' ? ' (a stale entry is a dynamic one ageing out: write it as dynamic)' : '';
  throw new ValidationError('state', s, `one of permanent, static, dynamic${hint}`);
}

/** Decodes one AF_BRIDGE RTM_NEWNEIGH (or RTM_DELNEIGH) message. */
export function decodeFdbEntry(m: NetlinkMessage): FdbEntry {
  const p = m.payload;
  const a = new Attributes(p, C.NDMSG_LEN);
  const flags = u8At(p, 10);
  const ll = a.get(C.NDA_LLADDR);
  const ext = decodeExtFlags(a);
  const e: FdbEntry = {
    mac: ll ? formatMac(ll) : '',
    link: s32At(p, 4),
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias of `link`, still filled
    index: s32At(p, 4),
    state: stateName(u16At(p, 8)),
    flags: [...FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n), ...ext.names],
    // NDA_FLAGS_EXT stays raw too when it has bits nlkit cannot name.
    unknownAttributes: a.list.filter((x) => !KNOWN.has(x.type) || (x.type === C.NDA_FLAGS_EXT && ext.unnamed !== 0)),
  };
  const bridge = a.u32(C.NDA_MASTER);
  if (bridge) e.bridge = bridge;
  const vlan = a.u16(C.NDA_VLAN);
  if (vlan !== undefined) e.vlan = vlan;
  const dst = a.get(C.NDA_DST);
  if (dst) e.dst = formatIp(dst);
  const port = a.be16(C.NDA_PORT);
  if (port !== undefined) e.port = port;
  const vni = a.u32(C.NDA_VNI);
  if (vni !== undefined) e.vni = vni;
  const srcVni = a.u32(C.NDA_SRC_VNI);
  if (srcVni !== undefined) e.srcVni = srcVni;
  const via = a.u32(C.NDA_IFINDEX);
  if (via !== undefined) e.via = via;
  return e;
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

type AnyFdbOptions = FdbWrite | WithLegacyDev<FdbOptions>;

/** The kernel's "no such entry" (and "no such link"). */
const FDB_MISSING: MissingCodes = { ENOENT: 'fdb entry', ENODEV: 'link' };

function* writeFdb(type: number, flags: number, input: Partial<AnyFdbOptions> | FdbKey | WithLegacyDev<FdbKey>, verb: string): Operation<void> {
  if (!isObject(input)) throw new ValidationError('fdb entry', input, 'must be an object with mac and link');
  rejectUnknownKeys(input, FDB_WRITE_KEYS, 'fdb entry');
  // Options or a listed entry: the fields both have differ in type (state, bridge), so read those as unknown.
  const o = input as Partial<Omit<FdbOptions, 'state'>> & { dev?: LinkRef; state?: unknown; flags?: unknown };
  const link = linkOfOptions(o);
  const mac = parseMac(o.mac, 'mac');
  // The kernel takes an append for a unicast MAC and does nothing: it keeps one destination per unicast MAC.
  if (flags & NLM_F_APPEND && (mac[0] & 1) === 0 && mac.some((b) => b !== 0)) {
    throw new ValidationError('mac', o.mac, 'only the all-zero or a multicast MAC has several destinations (a unicast MAC has one: use add or replace)');
  }
  for (const flag of ['self', 'master', 'sticky', 'externLearned'] as const) checkBoolean(o[flag], flag);
  // A listed entry's table is its `bridge` (or none: the device's own), not its "self"/"master" flags.
  const listed = listedFlags(o.flags, LISTED_FLAGS);
  let ntf = 0;
  if (o.self) ntf |= C.NTF_SELF;
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias forwards to `bridge`
  if (o.master) ntf |= C.NTF_MASTER;
  if (flagOf(o.sticky, listed, 'sticky')) ntf |= C.NTF_STICKY;
  if (flagOf(o.externLearned, listed, 'extern_learn')) ntf |= C.NTF_EXT_LEARNED;
  if (listed.has('router')) ntf |= C.NTF_ROUTER;
  const state = type === C.RTM_NEWNEIGH ? parseFdbState(o.state ?? 'permanent') : 0;
  const dst = o.dst !== undefined ? parseIp(o.dst, 'dst') : undefined;
  const vlan = o.vlan !== undefined ? checkInt('vlan', o.vlan, 1, 4094) : undefined;
  const port = o.port !== undefined ? checkInt('port', o.port, 0, 65535) : undefined;
  const vni = o.vni !== undefined ? checkInt('vni', o.vni, 0, 0xffffff) : undefined;
  const srcVni = o.srcVni !== undefined ? checkInt('srcVni', o.srcVni, 0, 0xffffff) : undefined;
  const index = yield* resolveLinkIndex(link);
  let bridgeOnly = false;
  if (o.bridge !== undefined) {
    // The kernel programs the FDB of the port's actual master whatever is asked: check it is this bridge.
    const bridge = yield* resolveLinkIndex(o.bridge);
    if (bridge !== index) {
      const port = yield* getLink(index);
      if (port.master !== bridge) throw new ValidationError('bridge', o.bridge, `${describeLink(link)} is not a port of it`);
      ntf |= C.NTF_MASTER;
    } else {
      ntf |= C.NTF_SELF; // the bridge's own entries live in its own table
    }
    bridgeOnly = bridge === index || !(ntf & C.NTF_SELF);
  }
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the deprecated flag also names the bridge's table
  if (o.master && !(ntf & C.NTF_SELF)) bridgeOnly = true;
  if (bridgeOnly) {
    // A bridge's FDB has no remote: the kernel takes these and drops them, leaving a plain entry.
    for (const field of ['dst', 'port', 'vni', 'srcVni', 'via'] as const) {
      if (o[field] !== undefined)
        throw new ValidationError(field, o[field], "a bridge's FDB entry has no VXLAN remote (give it on the VXLAN device's own entry, without bridge)");
    }
  }
  if (!(ntf & (C.NTF_SELF | C.NTF_MASTER))) ntf |= C.NTF_SELF; // as `bridge fdb`
  const via = o.via !== undefined ? yield* resolveLinkIndex(o.via) : undefined;
  const w = new NetlinkWriter().begin(type, flags);
  ndmsg(w, C.AF_BRIDGE, index, state, ntf);
  w.attr(C.NDA_LLADDR, mac);
  if (dst) w.attr(C.NDA_DST, dst.bytes);
  if (vlan !== undefined) w.u16(C.NDA_VLAN, vlan);
  if (port !== undefined) w.be16(C.NDA_PORT, port);
  if (vni !== undefined) w.u32(C.NDA_VNI, vni);
  if (srcVni !== undefined) w.u32(C.NDA_SRC_VNI, srcVni);
  if (via !== undefined) w.u32(C.NDA_IFINDEX, via);
  yield* call(w.end().finish(), `${verb} fdb entry ${o.mac}${o.dst ? ' dst ' + o.dst : ''} on ${describeLink(link)}`);
}

function describeLink(link: LinkRef): string {
  return typeof link === 'number' ? `#${link}` : link;
}

/** The operations on forwarding entries; bound to a handle as `handle.fdb`. */
export const fdbOps = {
  /**
   * Adds an entry; EEXIST if one exists for the MAC (and VLAN). A listed
   * entry can be written back as it is ({@link FdbWrite}).
   * @example
   * await h.fdb.add({ mac: '02:00:00:00:00:0b', link: 'vxlan0', dst: '10.0.0.2' });
   * await h.fdb.add({ mac: '02:00:00:00:00:0c', link: 'veth1', bridge: 'br0', state: 'static' });
   */
  *add(entry: FdbWrite | WithLegacyDev<FdbOptions>): Operation<void> {
    yield* writeFdb(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, entry, 'add');
  },

  /**
   * Adds another destination for a MAC on a VXLAN device (`bridge fdb append`):
   * the all-zero MAC with one entry per remote host floods BUM traffic to all of them.
   * Only the all-zero and multicast MACs have several destinations: a unicast
   * MAC is a {@link ValidationError} (the kernel would ignore the append; use
   * `add` or `replace`).
   * @example
   * await h.fdb.append({ mac: '00:00:00:00:00:00', link: 'vxlan0', dst: '10.0.0.2' });
   */
  *append(entry: FdbWrite | WithLegacyDev<FdbOptions>): Operation<void> {
    yield* writeFdb(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, entry, 'append');
  },

  /**
   * Adds the entry or overwrites the existing one for the MAC (`bridge fdb replace`).
   * A listed entry writes back the same entry ({@link FdbWrite}).
   * @example
   * await h.fdb.replace({ mac: '02:00:00:00:00:0a', link: 'veth-c1', bridge: 'br0', state: 'static' });
   * const saved = await h.fdb.list({ bridge: 'br0' });
   * for (const e of saved) if (e.state === 'static') await h.fdb.replace(e); // back as they were, sticky too
   */
  *replace(entry: FdbWrite | WithLegacyDev<FdbOptions>): Operation<void> {
    yield* writeFdb(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, entry, 'replace');
  },

  /**
   * Deletes an entry (a listed one can be passed as it is); on a VXLAN
   * device, give `dst` to remove just that remote. Resolves to `true`; no
   * such entry is a {@link NotFoundError} (code ENOENT), or `false` with
   * `{ missingOk: true }`.
   * @example
   * await h.fdb.delete({ mac: '00:00:00:00:00:00', link: 'vxlan0', dst: '10.0.0.2' });
   * for (const e of await h.fdb.list({ bridge: 'br0' })) if (e.state === 'static') await h.fdb.delete(e);
   */
  *delete(entry: FdbKey | WithLegacyDev<FdbKey>, opts?: DeleteOptions): Operation<boolean> {
    const missingOk = checkDeleteOptions(opts);
    return yield* deleting(FDB_MISSING, writeFdb(C.RTM_DELNEIGH, 0, entry, 'delete'), missingOk);
  },

  /**
   * Gets the entry a key names: `mac` on `link`, in `vlan` (none: the entry
   * without a VLAN), and where given the VXLAN remote (`dst`, `port`, `vni`,
   * `srcVni`, `via`) and the `bridge` (a listed entry is a key). Without
   * `bridge`, the device's own entry where its bridge's FDB holds the MAC
   * too; without `dst`, a VXLAN MAC's first remote. {@link NotFoundError}
   * (code ENOENT; ENODEV for a link that does not exist) when there is none.
   * Costs one FDB dump the kernel filters by `link`, and the names of that
   * link's entries (docs/api-conventions.md, "Interface names": usually two
   * `RTM_GETLINK`, the port and its bridge).
   * @example
   * const e = await h.fdb.get({ mac: '02:00:00:00:00:0c', link: 'veth1', bridge: 'br0' }); // e.state, e.flags
   * const remote = await h.fdb.get({ mac: '00:00:00:00:00:00', link: 'vxlan0', dst: '10.0.0.2' });
   */
  *get(key: FdbKey | WithLegacyDev<FdbKey>): Operation<FdbEntry> {
    const found = yield* fdbOps.find(key);
    if (!found) {
      const operation = `get fdb entry ${key.mac}${key.dst ? ' dst ' + key.dst : ''} on ${describeLink(linkOfOptions(key))}`;
      throw new NotFoundError('fdb entry', { errno: osConstants.errno.ENOENT, operation });
    }
    return found;
  },

  /**
   * Like {@link fdbOps.get}, but undefined when there is no such entry (or
   * no such link).
   * @example
   * if (!(await h.fdb.find({ mac: '00:00:00:00:00:00', link: 'vxlan0', dst: '10.0.0.3' }))) {
   *   await h.fdb.append({ mac: '00:00:00:00:00:00', link: 'vxlan0', dst: '10.0.0.3' });
   * }
   */
  *find(key: FdbKey | WithLegacyDev<FdbKey>): Operation<FdbEntry | undefined> {
    const k = parseFdbKey(key);
    try {
      const index = yield* resolveLinkIndex(k.link);
      const via = k.via !== undefined ? yield* resolveLinkIndex(k.via) : undefined;
      const bridge = k.bridge !== undefined ? yield* resolveLinkIndex(k.bridge) : undefined;
      return pickFdbEntry(k, { via, bridge }, yield* fdbOps.list({ link: index }));
    } catch (e) {
      if (e instanceof NotFoundError) return undefined; // a link of the key does not exist
      throw e;
    }
  },

  /**
   * Lists forwarding entries, of one device/port or one bridge; each carries
   * the names of its link, bridge and `via` interface.
   * @example
   * const remotes = (await h.fdb.list({ link: 'vxlan0' })).map((e) => e.dst);
   */
  *list(filter: FdbFilter = {}): Operation<FdbEntry[]> {
    rejectUnknownKeys(filter, FDB_FILTER_KEYS, 'fdb filter');
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias `dev` forwards to `link`
    const linkRef = filter.link !== undefined || filter.dev !== undefined ? linkOfOptions(filter) : undefined;
    const index = linkRef !== undefined ? yield* resolveLinkIndex(linkRef) : undefined;
    const bridge = filter.bridge !== undefined ? yield* resolveLinkIndex(filter.bridge) : undefined;
    const w = new NetlinkWriter().begin(C.RTM_GETNEIGH, NLM_F_DUMP);
    // The kernel filters an FDB dump by port (ndm_ifindex) and by bridge (NDA_MASTER).
    ndmsg(w, C.AF_BRIDGE, index ?? 0, 0, 0);
    if (bridge !== undefined) w.u32(C.NDA_MASTER, bridge);
    const replies = yield* dump(w.end().finish(), 'list fdb entries');
    const entries = replies
      .filter((m) => m.type === C.RTM_NEWNEIGH && u8At(m.payload, 0) === C.AF_BRIDGE)
      .map(decodeFdbEntry)
      .filter((e) => index === undefined || e.link === index);
    const names = yield* resolveLinkNames(entries.flatMap((e) => [e.link, e.bridge, e.via]));
    for (const e of entries) {
      const link = names.get(e.link);
      if (link !== undefined) e.linkName = link;
      const br = e.bridge !== undefined ? names.get(e.bridge) : undefined;
      if (br !== undefined) e.bridgeName = br;
      const via = e.via !== undefined ? names.get(e.via) : undefined;
      if (via !== undefined) e.viaName = via;
    }
    return entries;
  },
};
