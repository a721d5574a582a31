/**
 * Forwarding database entries of bridges and VXLAN devices — RTM_*NEIGH
 * with AF_BRIDGE, what `bridge fdb` shows and changes. For an overlay this is
 * where each remote host goes: `00:00:00:00:00:00 dst <host>` entries on a
 * VXLAN device flood BUM traffic to every remote, per-MAC entries steer
 * unicast.
 * @module
 */
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants';
import { ValidationError } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, s32At, u16At, u8At, type NetlinkMessage, type RawAttribute } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { formatIp, formatMac, parseIp, parseMac } from '../validate/ip';
import * as C from './constants';
import { resolveLinkIndex, type LinkRef } from './link';
import { ndmsg } from './neighbour';

/** NTF_* flags by the names `bridge -j fdb` prints them. */
const FLAG_NAMES: Array<[number, string]> = [
  [C.NTF_SELF, 'self'],
  [C.NTF_ROUTER, 'router'],
  [C.NTF_EXT_LEARNED, 'extern_learn'],
  [C.NTF_OFFLOADED, 'offload'],
  [C.NTF_MASTER, 'master'],
  [C.NTF_STICKY, 'sticky'],
];

/**
 * - `permanent`: a local address of the bridge, or a fixed entry (NUD_PERMANENT)
 * - `static`: fixed, not aged (NUD_NOARP)
 * - `dynamic`: learned or added to age out (NUD_REACHABLE; `bridge` prints an empty state)
 * - `stale`: aged, about to go (NUD_STALE)
 */
export type FdbState = 'permanent' | 'static' | 'dynamic' | 'stale';

/** A forwarding entry as the kernel reports it. */
export interface FdbEntry {
  /** The MAC address ("00:00:00:00:00:00" for a VXLAN default destination). */
  mac: string;
  /** Index of the port (or VXLAN/bridge device) the entry points to. */
  index: number;
  /** Index of the bridge, for entries that live in a bridge's FDB. */
  master?: number;
  /** "permanent", "static", "dynamic", "stale", or the raw state for others. */
  state: FdbState | string;
  /** "self", "master", "extern_learn", "offload", "sticky", "router". */
  flags: string[];
  /** VLAN id of the entry, on VLAN-filtering bridges. */
  vlan?: number;
  /** VXLAN: the remote endpoint. */
  dst?: string;
  /** VXLAN: destination UDP port, when not the device's. */
  port?: number;
  /** VXLAN: VNI, when not the device's. */
  vni?: number;
  /** VXLAN: source VNI (metadata mode). */
  srcVni?: number;
  /** VXLAN: outgoing interface index for the remote (`via`). */
  via?: number;
  /** Attributes nlkit does not decode, preserved as received. */
  unknownAttributes: RawAttribute[];
}

/** An entry to add, append, replace or delete. */
export interface FdbOptions {
  /** The MAC address ("00:00:00:00:00:00" for a VXLAN default destination). */
  mac: string;
  /** The port or device the entry belongs to. */
  dev: LinkRef;
  /** Program the device's own table (`self`, default when `master` is not given). */
  self?: boolean;
  /** Program the bridge the device is a port of (`master`). */
  master?: boolean;
  /** Default "permanent", as `bridge fdb add`. */
  state?: 'permanent' | 'static' | 'dynamic';
  /** VLAN id (VLAN-filtering bridges). */
  vlan?: number;
  /** Never moves to another port (NTF_STICKY). */
  sticky?: boolean;
  /** Installed by a control plane (NTF_EXT_LEARNED). */
  externLearned?: boolean;
  /** VXLAN: the remote endpoint's address. */
  dst?: string;
  /** VXLAN: remote UDP port. */
  port?: number;
  /** VXLAN: remote VNI. */
  vni?: number;
  /** VXLAN: source VNI (metadata mode). */
  srcVni?: number;
  /** VXLAN: send through this interface. */
  via?: LinkRef;
}

/** Filters of {@link fdbOps.list}. */
export interface FdbFilter {
  /** Entries of this device or port (`bridge fdb show dev X`). */
  dev?: LinkRef;
  /** Entries of ports of this bridge, and the bridge's own (`bridge fdb show br X`). */
  bridge?: LinkRef;
}

const KNOWN = new Set([C.NDA_LLADDR, C.NDA_DST, C.NDA_CACHEINFO, C.NDA_VLAN, C.NDA_PORT, C.NDA_VNI, C.NDA_IFINDEX, C.NDA_MASTER, C.NDA_SRC_VNI]);

function stateName(s: number): FdbState | string {
  if (s & C.NUD_PERMANENT) return 'permanent';
  if (s & C.NUD_NOARP) return 'static';
  if (s & C.NUD_STALE) return 'stale';
  if (s & C.NUD_REACHABLE) return 'dynamic';
  return `0x${s.toString(16)}`;
}

const STATE_VALUES: Record<string, number> = { permanent: C.NUD_PERMANENT, static: C.NUD_NOARP, dynamic: C.NUD_REACHABLE };

/** Decodes one AF_BRIDGE RTM_NEWNEIGH (or RTM_DELNEIGH) message. */
export function decodeFdbEntry(m: NetlinkMessage): FdbEntry {
  const p = m.payload;
  const a = new Attributes(p, C.NDMSG_LEN);
  const flags = u8At(p, 10);
  const ll = a.get(C.NDA_LLADDR);
  const e: FdbEntry = {
    mac: ll ? formatMac(ll) : '',
    index: s32At(p, 4),
    state: stateName(u16At(p, 8)),
    flags: FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n),
    unknownAttributes: a.list.filter((x) => !KNOWN.has(x.type)),
  };
  const master = a.u32(C.NDA_MASTER);
  if (master) e.master = master;
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

function* writeFdb(type: number, flags: number, o: FdbOptions, verb: string): Operation<void> {
  if (!o || typeof o !== 'object') throw new ValidationError('fdb entry', o, 'must be an object with mac and dev');
  const mac = parseMac(o.mac, 'mac');
  let ntf = 0;
  if (o.self) ntf |= C.NTF_SELF;
  if (o.master) ntf |= C.NTF_MASTER;
  if (!(ntf & (C.NTF_SELF | C.NTF_MASTER))) ntf |= C.NTF_SELF; // as `bridge fdb`
  if (o.sticky) ntf |= C.NTF_STICKY;
  if (o.externLearned) ntf |= C.NTF_EXT_LEARNED;
  let state = 0;
  if (type === C.RTM_NEWNEIGH) {
    const name = o.state ?? 'permanent';
    if (!Object.hasOwn(STATE_VALUES, name)) throw new ValidationError('state', o.state, 'one of permanent, static, dynamic');
    state = STATE_VALUES[name];
  }
  const dst = o.dst !== undefined ? parseIp(o.dst, 'dst') : undefined;
  const vlan = o.vlan !== undefined ? checkInt('vlan', o.vlan, 1, 4094) : undefined;
  const port = o.port !== undefined ? checkInt('port', o.port, 0, 65535) : undefined;
  const vni = o.vni !== undefined ? checkInt('vni', o.vni, 0, 0xffffff) : undefined;
  const srcVni = o.srcVni !== undefined ? checkInt('srcVni', o.srcVni, 0, 0xffffff) : undefined;
  const index = yield* resolveLinkIndex(o.dev);
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
  const dev = typeof o.dev === 'number' ? `#${o.dev}` : o.dev;
  yield* call(w.end().finish(), `${verb} fdb entry ${o.mac}${o.dst ? ' dst ' + o.dst : ''} on ${dev}`);
}

/** The operations on forwarding entries; bound to a handle as `handle.fdb`. */
export const fdbOps = {
  /**
   * Adds an entry; EEXIST if one exists for the MAC (and VLAN).
   * @example
   * await h.fdb.add({ mac: '02:00:00:00:00:0b', dev: 'vxlan0', dst: '10.0.0.2' });
   * await h.fdb.add({ mac: '02:00:00:00:00:0c', dev: 'veth1', master: true, state: 'static' });
   */
  *add(entry: FdbOptions): Operation<void> {
    yield* writeFdb(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, entry, 'add');
  },

  /**
   * Adds another destination for a MAC on a VXLAN device (`bridge fdb append`):
   * the all-zero MAC with one entry per remote host floods BUM traffic to all of them.
   * @example
   * await h.fdb.append({ mac: '00:00:00:00:00:00', dev: 'vxlan0', dst: '10.0.0.2' });
   */
  *append(entry: FdbOptions): Operation<void> {
    yield* writeFdb(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, entry, 'append');
  },

  /**
   * Adds the entry or overwrites the existing one for the MAC (`bridge fdb replace`).
   * @example
   * await h.fdb.replace({ mac: '02:00:00:00:00:0a', dev: 'veth-c1', master: true, state: 'static' });
   */
  *replace(entry: FdbOptions): Operation<void> {
    yield* writeFdb(C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, entry, 'replace');
  },

  /**
   * Deletes an entry; on a VXLAN device, give `dst` to remove just that remote.
   * @example
   * await h.fdb.delete({ mac: '00:00:00:00:00:00', dev: 'vxlan0', dst: '10.0.0.2' });
   */
  *delete(entry: Omit<FdbOptions, 'state'>): Operation<void> {
    yield* writeFdb(C.RTM_DELNEIGH, 0, entry, 'delete');
  },

  /**
   * Lists forwarding entries, of one device/port or one bridge.
   * @example
   * const remotes = (await h.fdb.list({ dev: 'vxlan0' })).map((e) => e.dst);
   */
  *list(filter: FdbFilter = {}): Operation<FdbEntry[]> {
    const index = filter.dev !== undefined ? yield* resolveLinkIndex(filter.dev) : undefined;
    const bridge = filter.bridge !== undefined ? yield* resolveLinkIndex(filter.bridge) : undefined;
    const w = new NetlinkWriter().begin(C.RTM_GETNEIGH, NLM_F_DUMP);
    // The kernel filters an FDB dump by port (ndm_ifindex) and by bridge (NDA_MASTER).
    ndmsg(w, C.AF_BRIDGE, index ?? 0, 0, 0);
    if (bridge !== undefined) w.u32(C.NDA_MASTER, bridge);
    const replies = yield* dump(w.end().finish(), 'list fdb entries');
    return replies
      .filter((m) => m.type === C.RTM_NEWNEIGH && u8At(m.payload, 0) === C.AF_BRIDGE)
      .map(decodeFdbEntry)
      .filter((e) => index === undefined || e.index === index);
  },
};
