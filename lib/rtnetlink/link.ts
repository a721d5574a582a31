/**
 * Links (network interfaces): list, get, find, add, set, delete — RTM_*LINK.
 * @module
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from '../netlink/constants';
import { ENODEV } from '../netlink/errno';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, s32At, u16At, u32At, u8At, type NetlinkMessage, type RawAttribute } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { NetnsFdScope } from '../netns/fd-scope';
import { NetworkNamespace, type NetnsRef } from '../netns/namespace';
import { formatMac, parseMac } from '../validate/ip';
import { validateInterfaceName } from '../validate/names';
import { decodeBridgePort, encodeBridgePort, hasBridgePortSettings, type BridgePortInfo, type BridgePortSettings } from './bridge-port';
import * as C from './constants';
import { LINK_KINDS, type BridgeInfo, type KindOptions, type MacvlanInfo, type TunInfo, type VethInfo, type VxlanInfo } from './link-kinds';
import { deleting, notFoundOn, type MissingCodes } from './not-found';

/** A link by name ("veth0") or by index (7). */
export type LinkRef = string | number;

/** IF_OPER_* operational state, as `ip` prints it. */
export type OperState = 'UNKNOWN' | 'NOTPRESENT' | 'DOWN' | 'LOWERLAYERDOWN' | 'TESTING' | 'DORMANT' | 'UP';

/** 64-bit interface counters (IFLA_STATS64). */
export interface LinkStats {
  /** Packets received. */
  rxPackets: bigint;
  /** Packets transmitted. */
  txPackets: bigint;
  /** Bytes received. */
  rxBytes: bigint;
  /** Bytes transmitted. */
  txBytes: bigint;
  /** Receive errors. */
  rxErrors: bigint;
  /** Transmit errors. */
  txErrors: bigint;
  /** Received packets dropped (no buffer space, ...). */
  rxDropped: bigint;
  /** Packets dropped on transmit. */
  txDropped: bigint;
  /** Multicast packets received. */
  multicast: bigint;
  /** Collisions (half-duplex media). */
  collisions: bigint;
}

/**
 * A network interface as the kernel reports it: one type per kind nlkit
 * decodes, told apart by `kind`, so `info` is typed once `kind` is checked
 * (`if (l.kind === 'bridge') l.info.stp`).
 */
export type Link = BridgeLink | VethLink | MacvlanLink | VxlanLink | TunLink | OtherLink;

/** A bridge (`kind: 'bridge'`). */
export interface BridgeLink extends LinkBase {
  /** The link kind. */
  kind: 'bridge';
  /** The bridge's options (STP, ageing, VLAN filtering...). */
  info: BridgeInfo;
}

/** One end of a veth pair (`kind: 'veth'`); the peer is `parentIndex`. */
export interface VethLink extends LinkBase {
  /** The link kind. */
  kind: 'veth';
  /** veth reports no options. */
  info: VethInfo;
}

/** A macvlan (`kind: 'macvlan'`); its parent is `parentIndex`. */
export interface MacvlanLink extends LinkBase {
  /** The link kind. */
  kind: 'macvlan';
  /** The macvlan's mode and flags. */
  info: MacvlanInfo;
}

/** A VXLAN device (`kind: 'vxlan'`). */
export interface VxlanLink extends LinkBase {
  /** The link kind. */
  kind: 'vxlan';
  /** VNI, endpoints, port, learning... */
  info: VxlanInfo;
}

/** A tun or tap device (`kind: 'tun'`). */
export interface TunLink extends LinkBase {
  /** The link kind. */
  kind: 'tun';
  /** Mode (tun/tap), flags, owner... */
  info: TunInfo;
}

/** `info` of a link whose kind nlkit does not decode: always empty (the kind's data is in `infoRaw`). */
export type UnknownKindInfo = Readonly<Record<string, never>>;

/**
 * A link of a kind nlkit does not decode (dummy, vlan, wireguard, ...) or of
 * none (lo, physical NICs). Its kind data, if any, is in `infoRaw`.
 */
export interface OtherLink extends LinkBase {
  /** The kernel's kind name ("dummy"), or undefined for devices without one. */
  kind?: string;
  /** Empty: nlkit has no decoder for this kind (which is what lets a `kind` check type `info`). */
  info: UnknownKindInfo;
}

/** What every link reports, whatever its kind. */
export interface LinkBase {
  /** Interface index (ifindex), unique within the namespace. */
  index: number;
  /** Interface name ("eth0"). */
  name: string;
  /** Flag names as `ip` prints them: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]. */
  flags: string[];
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  /** Operational state (RFC 2863), as `ip` prints it: "UP", "DOWN", "UNKNOWN" (loopback, tun), ... */
  operState: OperState;
  /** MTU in bytes. */
  mtu: number;
  /** Link-layer address, "aa:bb:cc:dd:ee:ff" for Ethernet. */
  mac?: string;
  /** Link-layer broadcast address ("ff:ff:ff:ff:ff:ff" for Ethernet). */
  broadcast?: string;
  /** ARPHRD_* device type (1 = Ethernet, 772 = loopback). */
  linkType: number;
  /** Transmit queue length (`qlen`). */
  txQueueLength?: number;
  /** Interface group (IFLA_GROUP; 0 is "default"). */
  group: number;
  /** Promiscuous-mode reference count (0: not promiscuous). */
  promiscuity: number;
  /** Interface alias (`ip link set ... alias`), when set. */
  alias?: string;
  /** Root queueing discipline ("noqueue", "fq_codel", ...). */
  qdisc?: string;
  /** Index of the master (the bridge this port is enslaved to). */
  master?: number;
  /** Name of the master, resolved by nlkit (docs/api-conventions.md, "Interface names"). */
  masterName?: string;
  /** IFLA_LINK: the lower/peer device index (for veth: the peer's index, maybe in another namespace). */
  parentIndex?: number;
  /** Name of the parent when it is in this namespace, resolved by nlkit. */
  parentName?: string;
  /** When the peer/lower device lives in another namespace: its namespace id as seen from here. */
  linkNetnsId?: number;
  /** Smallest MTU the device accepts. */
  minMtu?: number;
  /** Largest MTU the device accepts. */
  maxMtu?: number;
  /** Number of transmit queues. */
  numTxQueues?: number;
  /** Number of receive queues. */
  numRxQueues?: number;
  /** Carrier state (IFLA_CARRIER). */
  carrier?: boolean;
  /** How often the carrier went up or down. */
  carrierChanges?: number;
  /** Raw IFLA_INFO_DATA, kept for kinds nlkit does not decode. */
  infoRaw?: RawAttribute[];
  /** Kind of the master's port data ("bridge" for bridge ports). */
  portKind?: string;
  /** Bridge port options, when the link is a bridge port (`ip -d link`'s info_slave_data). */
  port?: BridgePortInfo;
  /** Raw IFLA_INFO_SLAVE_DATA for port kinds nlkit does not decode. */
  portRaw?: RawAttribute[];
  /** 64-bit counters (IFLA_STATS64). */
  stats?: LinkStats;
  /** Top-level attributes nlkit does not decode, preserved as received. */
  unknownAttributes: RawAttribute[];
}

/** Options common to every kind when creating a link. */
export interface LinkCommonOptions {
  /** Interface name, at most 15 bytes. */
  name: string;
  /** MTU in bytes (68 to 262140). */
  mtu?: number;
  /** Link-layer address, "aa:bb:cc:dd:ee:ff". */
  mac?: string;
  /** Bring the link up as part of creation. */
  up?: boolean;
  /** Enslave to this master (a bridge) on creation. */
  master?: LinkRef;
  /** Transmit queue length (`txqueuelen`). */
  txQueueLength?: number;
  /** Interface group (IFLA_GROUP). */
  group?: number;
  /** Interface alias (IFLA_IFALIAS). */
  alias?: string;
  /** Create the link directly in this namespace. */
  netns?: NetnsRef;
}

/** Options of {@link linkOps.add}: common options plus the kind's own. */
export type LinkAddOptions = LinkCommonOptions & KindOptions;

/** Changes applied by {@link linkOps.set}; absent fields are left alone. */
export interface LinkSetOptions {
  /** Bring the link up (true) or down (false). */
  up?: boolean;
  /** New MTU in bytes (68 to 262140). */
  mtu?: number;
  /** New link-layer address, "aa:bb:cc:dd:ee:ff". */
  mac?: string;
  /** Rename (the link must be down). */
  name?: string;
  /** Enslave to a master, or `null` to release. */
  master?: LinkRef | null;
  /** Move to another namespace (by name, path, fd, open namespace, or `{ pid }` sent as IFLA_NET_NS_PID). */
  netns?: NetnsRef;
  /** Set, or `null`/'' to clear. */
  alias?: string | null;
  /** Transmit queue length (`txqueuelen`). */
  txQueueLength?: number;
  /** Interface group (IFLA_GROUP). */
  group?: number;
  /** Promiscuous mode on or off. */
  promisc?: boolean;
  /** Receive all multicast packets (IFF_ALLMULTI). */
  allmulticast?: boolean;
  /** Bring carrier down without removing the link (IFLA_CARRIER, for veth/dummy-like devices). */
  carrier?: boolean;
  /**
   * Bridge port options (hairpin, learning, isolated...), for a link that is
   * a bridge port. Applied in a second request after the others, so they may
   * follow a `master` change in the same call.
   */
  port?: BridgePortSettings;
}

/** Filters for {@link linkOps.list}, applied by the kernel where it can. */
export interface LinkFilter {
  /** Only links of this kind ("veth", "bridge", ...); filtered by the kernel. */
  kind?: string;
  /** Only ports of this master (a bridge); filtered by the kernel. */
  master?: LinkRef;
  /** Only the link with this name. */
  name?: string;
  /** Only links that are (true) or are not (false) administratively up. */
  up?: boolean;
  /** Links of this group (IFLA_GROUP). */
  group?: number;
}

// --- decoding -------------------------------------------------------------

const KNOWN = new Set([
  C.IFLA_ADDRESS, C.IFLA_BROADCAST, C.IFLA_IFNAME, C.IFLA_MTU, C.IFLA_LINK, C.IFLA_QDISC, C.IFLA_STATS,
  C.IFLA_MASTER, C.IFLA_TXQLEN, C.IFLA_OPERSTATE, C.IFLA_LINKMODE, C.IFLA_LINKINFO, C.IFLA_IFALIAS,
  C.IFLA_STATS64, C.IFLA_GROUP, C.IFLA_PROMISCUITY, C.IFLA_NUM_TX_QUEUES, C.IFLA_NUM_RX_QUEUES, C.IFLA_CARRIER,
  C.IFLA_CARRIER_CHANGES, C.IFLA_LINK_NETNSID, C.IFLA_MIN_MTU, C.IFLA_MAX_MTU,
]);

function flagNames(flags: number): string[] {
  const names = C.IFF_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  // iproute2 shows a link that is up without carrier as NO-CARRIER, first.
  if (flags & C.IFF_UP && !(flags & C.IFF_LOWER_UP)) names.unshift('NO-CARRIER');
  return names;
}

function decodeStats64(b: Buffer | undefined): LinkStats | undefined {
  if (!b || b.length < 80) return undefined;
  const q = (i: number) => b.readBigUInt64LE(i * 8);
  return {
    rxPackets: q(0), txPackets: q(1), rxBytes: q(2), txBytes: q(3), rxErrors: q(4),
    txErrors: q(5), rxDropped: q(6), txDropped: q(7), multicast: q(8), collisions: q(9),
  };
}

/** Decodes one RTM_NEWLINK message. */
export function decodeLink(m: NetlinkMessage): Link {
  const p = m.payload;
  const flags = u32At(p, 8);
  const a = new Attributes(p, C.IFINFOMSG_LEN);
  const operIdx = a.u8(C.IFLA_OPERSTATE) ?? 0;
  // Built field by field; `kind` and `info` (which must agree) are set below.
  const link = {
    index: s32At(p, 4),
    name: a.string(C.IFLA_IFNAME) ?? '',
    flags: flagNames(flags),
    up: (flags & C.IFF_UP) !== 0,
    lowerUp: (flags & C.IFF_LOWER_UP) !== 0,
    operState: (C.OPER_STATES[operIdx] ?? 'UNKNOWN') as OperState,
    mtu: a.u32(C.IFLA_MTU) ?? 0,
    linkType: u16At(p, 2),
    group: a.u32(C.IFLA_GROUP) ?? 0,
    promiscuity: a.u32(C.IFLA_PROMISCUITY) ?? 0,
    unknownAttributes: a.unknown(KNOWN),
  } as LinkBase & { kind?: string; info: object };
  const mac = a.get(C.IFLA_ADDRESS);
  if (mac) link.mac = formatMac(mac);
  const brd = a.get(C.IFLA_BROADCAST);
  if (brd) link.broadcast = formatMac(brd);
  const base: LinkBase = link;
  const set = <K extends keyof LinkBase>(k: K, v: LinkBase[K] | undefined) => {
    if (v !== undefined) base[k] = v;
  };
  set('txQueueLength', a.u32(C.IFLA_TXQLEN));
  set('alias', a.string(C.IFLA_IFALIAS) || undefined);
  set('qdisc', a.string(C.IFLA_QDISC));
  set('master', a.u32(C.IFLA_MASTER));
  const parent = a.u32(C.IFLA_LINK);
  const linkNetnsId = a.s32(C.IFLA_LINK_NETNSID);
  // iflink == ifindex means "no parent", unless the parent lives in another
  // namespace (a veth peer there may have the same index).
  if (parent !== undefined && (parent !== link.index || linkNetnsId !== undefined)) link.parentIndex = parent;
  set('linkNetnsId', linkNetnsId);
  set('minMtu', a.u32(C.IFLA_MIN_MTU));
  set('maxMtu', a.u32(C.IFLA_MAX_MTU));
  set('numTxQueues', a.u32(C.IFLA_NUM_TX_QUEUES));
  set('numRxQueues', a.u32(C.IFLA_NUM_RX_QUEUES));
  const carrier = a.u8(C.IFLA_CARRIER);
  if (carrier !== undefined) link.carrier = carrier !== 0;
  set('carrierChanges', a.u32(C.IFLA_CARRIER_CHANGES));
  set('stats', decodeStats64(a.get(C.IFLA_STATS64)));
  // AF_BRIDGE messages (bridge port notifications, `bridge link`) carry the port options in IFLA_PROTINFO.
  if (u8At(p, 0) === C.AF_BRIDGE) {
    const i = link.unknownAttributes.findIndex((x) => x.type === C.IFLA_PROTINFO);
    if (i >= 0 && link.unknownAttributes[i].nested) {
      link.port = decodeBridgePort(new Attributes(link.unknownAttributes[i].data));
      link.unknownAttributes.splice(i, 1);
    }
  }
  link.info = {};
  const li = a.nested(C.IFLA_LINKINFO);
  if (li) {
    const kind = li.string(C.IFLA_INFO_KIND);
    if (kind) link.kind = kind;
    const data = li.nested(C.IFLA_INFO_DATA);
    const codec = kind ? LINK_KINDS[kind] : undefined;
    if (codec) link.info = codec.decode(data ?? new Attributes(Buffer.alloc(0)));
    else if (data) link.infoRaw = data.list;
    const portKind = li.string(C.IFLA_INFO_SLAVE_KIND);
    if (portKind) {
      link.portKind = portKind;
      const pd = li.nested(C.IFLA_INFO_SLAVE_DATA);
      if (pd && portKind === 'bridge') link.port = decodeBridgePort(pd);
      else if (pd) link.portRaw = pd.list;
    }
  }
  return link as Link;
}

// --- requests -------------------------------------------------------------

function ifinfomsg(w: NetlinkWriter, index = 0, flags = 0, change = 0): void {
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeInt32LE(index, off + 4);
  w.view.writeUInt32LE(flags >>> 0, off + 8);
  w.view.writeUInt32LE(change >>> 0, off + 12);
}

function describeRef(ref: LinkRef): string {
  return typeof ref === 'number' ? `#${ref}` : ref;
}

function checkRef(ref: unknown, field = 'link'): LinkRef {
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref) || ref <= 0) throw new ValidationError(field, ref, 'an interface index is a positive integer');
    return ref;
  }
  return validateInterfaceName(ref, field);
}

/** Writes the target of a request: by index, or by name via IFLA_IFNAME. */
function targetLink(w: NetlinkWriter, ref: LinkRef, flags = 0, change = 0): void {
  if (typeof ref === 'number') {
    ifinfomsg(w, ref, flags, change);
  } else {
    ifinfomsg(w, 0, flags, change);
    w.string(C.IFLA_IFNAME, ref);
  }
}

function checkMtu(mtu: unknown): number {
  if (!Number.isInteger(mtu) || (mtu as number) < 68 || (mtu as number) > 65535 * 4) {
    throw new ValidationError('mtu', mtu, 'must be an integer between 68 and 262140');
  }
  return mtu as number;
}

/** Resolves a link reference to its index (one RTM_GETLINK when given a name). */
export function* resolveLinkIndex(ref: LinkRef): Operation<number> {
  if (typeof ref === 'number') return checkRef(ref) as number;
  return (yield* getLink(ref)).index;
}

/** The kernel's "no such link". */
const LINK_MISSING: MissingCodes = { ENODEV: 'link' };

/** One link by name or index, as the kernel reports it (names of master and parent not resolved). */
export function* getLink(ref: LinkRef): Operation<Link> {
  checkRef(ref);
  const w = new NetlinkWriter().begin(C.RTM_GETLINK, 0);
  targetLink(w, ref);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  const operation = `get link ${describeRef(ref)}`;
  const replies = yield* notFoundOn(LINK_MISSING, call(w.end().finish(), operation));
  const m = replies.find((r) => r.type === C.RTM_NEWLINK);
  if (!m) throw new NotFoundError('link', { errno: ENODEV, operation });
  return decodeLink(m);
}

/** Index → name of every link of the namespace: one dump, statistics skipped, only names decoded. */
function* dumpLinkNames(): Operation<Map<number, string>> {
  const w = new NetlinkWriter().begin(C.RTM_GETLINK, NLM_F_DUMP);
  ifinfomsg(w);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  const names = new Map<number, string>();
  for (const m of yield* dump(w.end().finish(), 'list link names')) {
    if (m.type !== C.RTM_NEWLINK) continue;
    const name = new Attributes(m.payload, C.IFINFOMSG_LEN).string(C.IFLA_IFNAME);
    if (name !== undefined) names.set(s32At(m.payload, 4), name);
  }
  return names;
}

/**
 * Names of interface indexes, for read objects the kernel gives indexes
 * only. Indexes in `known` cost nothing; one other index costs one
 * RTM_GETLINK, more cost one link dump. A link gone meanwhile has no name.
 */
export function* resolveLinkNames(indexes: Iterable<number | undefined>, known?: ReadonlyMap<number, string>): Operation<Map<number, string>> {
  const names = new Map(known);
  const missing = new Set<number>();
  for (const i of indexes) if (i !== undefined && i > 0 && !names.has(i)) missing.add(i);
  if (missing.size === 1) {
    const [index] = missing;
    try {
      names.set(index, (yield* getLink(index)).name);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  } else if (missing.size > 1) {
    for (const [i, n] of yield* dumpLinkNames()) if (!names.has(i)) names.set(i, n);
  }
  return names;
}

/** Fills masterName and parentName (a parent in another namespace has none here). */
function* nameLinks(links: Link[], known?: ReadonlyMap<number, string>): Operation<Link[]> {
  const local = (l: Link) => (l.linkNetnsId === undefined ? l.parentIndex : undefined);
  const names = yield* resolveLinkNames(links.flatMap((l) => [l.master, local(l)]), known);
  for (const l of links) {
    const master = l.master !== undefined ? names.get(l.master) : undefined;
    if (master !== undefined) l.masterName = master;
    const parentIndex = local(l);
    const parent = parentIndex !== undefined ? names.get(parentIndex) : undefined;
    if (parent !== undefined) l.parentName = parent;
  }
  return links;
}

/** The operations on links; bound to a handle as `handle.links`. */
export const linkOps = {
  /**
   * Lists links, optionally filtered (kind and master are filtered by the kernel).
   * @example
   * const bridges = await h.links.list({ kind: 'bridge' });
   */
  *list(filter: LinkFilter = {}): Operation<Link[]> {
    const master = filter.master !== undefined ? yield* resolveLinkIndex(checkRef(filter.master, 'master')) : undefined;
    const w = new NetlinkWriter().begin(C.RTM_GETLINK, NLM_F_DUMP);
    ifinfomsg(w);
    if (master !== undefined) w.u32(C.IFLA_MASTER, master);
    if (filter.kind !== undefined) {
      const li = w.nest(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, filter.kind);
      w.endNest(li);
    }
    const replies = yield* dump(w.end().finish(), 'list links');
    let links = replies.filter((m) => m.type === C.RTM_NEWLINK).map(decodeLink);
    // Names of masters and parents come from the same dump when it has them.
    const known = new Map(links.map((l) => [l.index, l.name]));
    if (filter.name !== undefined) links = links.filter((l) => l.name === filter.name);
    if (filter.up !== undefined) links = links.filter((l) => l.up === filter.up);
    if (filter.kind !== undefined) links = links.filter((l) => l.kind === filter.kind);
    if (filter.group !== undefined) links = links.filter((l) => l.group === filter.group);
    if (master !== undefined) links = links.filter((l) => l.master === master);
    return yield* nameLinks(links, known);
  },

  /**
   * Gets one link by name or index; {@link NotFoundError} (code ENODEV) if there is none.
   * @example
   * const lo = await h.links.get('lo');
   * const br = await h.links.get('br0');
   * if (br.kind === 'bridge') console.log(br.info.stp);
   */
  *get(ref: LinkRef): Operation<Link> {
    const [link] = yield* nameLinks([yield* getLink(ref)]);
    return link;
  },

  /**
   * Gets a link, or undefined when it does not exist.
   * @example
   * if (!(await h.links.find('br0'))) await h.links.add({ name: 'br0', kind: 'bridge' });
   */
  *find(ref: LinkRef): Operation<Link | undefined> {
    try {
      return yield* linkOps.get(ref);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * Creates a link. Fails with EEXIST if the name is taken.
   * @example
   * await h.links.add({ name: 'veth0', kind: 'veth', peer: { name: 'eth0', netns: 'c1' } });
   * await h.links.add({ name: 'br0', kind: 'bridge', up: true });
   */
  *add(opts: LinkAddOptions): Operation<void> {
    validateInterfaceName(opts.name);
    const codec = LINK_KINDS[opts.kind];
    if (!codec) throw new ValidationError('kind', opts.kind, `unsupported; nlkit creates ${Object.keys(LINK_KINDS).join(', ')}`);
    validateCommon(opts);
    if (codec.create) return yield* addCreated(opts, codec.create(opts.name, opts));
    // A dry run of the kind's encoder validates its options before any request is sent.
    codec.encode(new NetlinkWriter(), opts, { netnsFd: () => -1, indexOf: () => 0 });
    const master = opts.master !== undefined ? yield* resolveLinkIndex(checkRef(opts.master, 'master')) : undefined;
    // Links the kind's options name (a vxlan's dev, a macvlan's parent) are resolved first.
    const indexes = new Map<string | number, number>();
    for (const ref of codec.references?.(opts) ?? []) indexes.set(ref, yield* resolveLinkIndex(checkRef(ref, 'link')));
    const parent = codec.parent?.(opts);
    const fds = new NetnsFdScope();
    try {
      const w = new NetlinkWriter().begin(C.RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
      ifinfomsg(w, 0, opts.up ? C.IFF_UP : 0, opts.up ? C.IFF_UP : 0);
      w.string(C.IFLA_IFNAME, opts.name);
      writeCommon(w, opts, fds);
      if (master !== undefined) w.u32(C.IFLA_MASTER, master);
      if (parent !== undefined) w.u32(C.IFLA_LINK, indexes.get(parent)!);
      const li = w.nest(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, codec.kind);
      const data = w.nest(C.IFLA_INFO_DATA);
      codec.encode(w, opts, { netnsFd: (r) => fds.fd(r), indexOf: (r) => indexes.get(r) ?? 0 });
      w.endNest(data);
      w.endNest(li);
      yield* call(w.end().finish(), `add ${opts.kind} link ${opts.name}`);
    } finally {
      fds.close();
    }
  },

  /**
   * Changes a link: up/down, mtu, mac, name, master, namespace, alias...
   * Everything is sent in one request, so it applies together or not at all.
   * {@link NotFoundError} (code ENODEV) if the link (or the master) does not exist.
   * @example
   * await h.links.set('veth0', { up: true, master: 'br0' });
   * await h.links.set('veth1', { netns: 'c1' });
   */
  *set(ref: LinkRef, changes: LinkSetOptions): Operation<void> {
    yield* notFoundOn(LINK_MISSING, setLink(ref, changes));
  },

  /**
   * Deletes every link of a group in one request (RTM_DELLINK by IFLA_GROUP),
   * like `ip link delete group N`. Fails with EOPNOTSUPP, deleting nothing,
   * if a member cannot be deleted (a physical NIC or lo). An empty group is
   * a {@link NotFoundError} (code ENODEV), or `false` with `{ missingOk: true }`.
   * @example
   * await h.links.add({ name: 'br9', kind: 'bridge', group: 9 });
   * await h.links.deleteGroup(9);
   * await h.links.deleteGroup(9, { missingOk: true }); // false: nothing left
   */
  *deleteGroup(group: number, opts?: DeleteOptions): Operation<boolean> {
    if (!Number.isInteger(group) || group < 1 || group > 0xffffffff) {
      throw new ValidationError('group', group, 'must be 1-4294967295 (group 0 holds every link)');
    }
    const missingOk = checkDeleteOptions(opts);
    const w = new NetlinkWriter().begin(C.RTM_DELLINK, 0);
    ifinfomsg(w);
    w.u32(C.IFLA_GROUP, group);
    return yield* deleting(LINK_MISSING, call(w.end().finish(), `delete link group ${group}`), missingOk);
  },

  /**
   * Deletes a link (deleting one end of a veth pair deletes both). Resolves
   * to `true`; a missing link is a {@link NotFoundError} (code ENODEV), or
   * `false` with `{ missingOk: true }`.
   * @example
   * await h.links.delete('veth0');
   * await h.links.delete('veth0', { missingOk: true }); // false: already gone
   */
  *delete(ref: LinkRef, opts?: DeleteOptions): Operation<boolean> {
    checkRef(ref);
    const missingOk = checkDeleteOptions(opts);
    const w = new NetlinkWriter().begin(C.RTM_DELLINK, 0);
    targetLink(w, ref);
    return yield* deleting(LINK_MISSING, call(w.end().finish(), `delete link ${describeRef(ref)}`), missingOk);
  },
};

/** Body of {@link linkOps.set}, apart so that set can turn ENODEV into NotFoundError. */
function* setLink(ref: LinkRef, changes: LinkSetOptions): Operation<void> {
  checkRef(ref);
  validateCommon(changes);
  if (changes.name !== undefined) validateInterfaceName(changes.name, 'new name');
  let master: number | undefined;
  if (changes.master === null) master = 0;
  else if (changes.master !== undefined) master = yield* resolveLinkIndex(checkRef(changes.master, 'master'));
  let flags = 0;
  let change = 0;
  const flag = (bit: number, on: boolean | undefined) => {
    if (on === undefined) return;
    change |= bit;
    if (on) flags |= bit;
  };
  flag(C.IFF_UP, changes.up);
  flag(C.IFF_PROMISC, changes.promisc);
  flag(C.IFF_ALLMULTI, changes.allmulticast);
  const port = hasBridgePortSettings(changes.port) ? changes.port : undefined;
  if (port) encodeBridgePort(new NetlinkWriter(), port); // validate before anything is sent
  const onlyPort = Object.entries(changes).every(([k, v]) => k === 'port' || v === undefined);
  const fds = new NetnsFdScope();
  try {
    if (onlyPort) return yield* setBridgePort(ref, port);
    const w = new NetlinkWriter().begin(C.RTM_NEWLINK, 0);
    if (changes.name !== undefined) {
      // Renaming: the target must be named by index.
      const index = yield* resolveLinkIndex(ref);
      ifinfomsg(w, index, flags, change);
      w.string(C.IFLA_IFNAME, validateInterfaceName(changes.name, 'new name'));
    } else {
      targetLink(w, ref, flags, change);
    }
    writeCommon(w, changes, fds);
    if (master !== undefined) w.u32(C.IFLA_MASTER, master);
    if (changes.alias === null || changes.alias === '') w.attr(C.IFLA_IFALIAS, new Uint8Array(0));
    if (changes.carrier !== undefined) w.u8(C.IFLA_CARRIER, changes.carrier ? 1 : 0);
    yield* call(w.end().finish(), `set link ${describeRef(ref)}`);
    if (port) yield* setBridgePort(changes.name ?? ref, port);
  } finally {
    fds.close();
  }
}

/** Checks the common options up front, so nothing is sent when one is wrong. */
function validateCommon(o: Omit<LinkCommonOptions, 'name'> | LinkSetOptions): void {
  if (!o || typeof o !== 'object') throw new ValidationError('options', o, 'must be an object');
  if (o.master !== undefined && o.master !== null) checkRef(o.master, 'master');
  writeCommon(new NetlinkWriter(), { ...o, netns: undefined }, new NetnsFdScope());
}

function checkU32(field: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) throw new ValidationError(field, v, 'must be an integer 0-4294967295');
  return v as number;
}

function writeCommon(w: NetlinkWriter, o: Omit<LinkCommonOptions, 'name'> | LinkSetOptions, fds: NetnsFdScope): void {
  if (o.mtu !== undefined) w.u32(C.IFLA_MTU, checkMtu(o.mtu));
  if (o.mac !== undefined) w.attr(C.IFLA_ADDRESS, parseMac(o.mac, 'mac'));
  if (o.txQueueLength !== undefined) w.u32(C.IFLA_TXQLEN, checkU32('txQueueLength', o.txQueueLength));
  if (o.group !== undefined) w.u32(C.IFLA_GROUP, checkU32('group', o.group));
  if (typeof o.alias === 'string' && o.alias !== '') {
    if (Buffer.byteLength(o.alias) > 255) throw new ValidationError('alias', o.alias, 'longer than 255 bytes');
    // ip prints the alias as is: a control character would forge output lines.
    if (/[\x00-\x1f\x7f]/.test(o.alias)) throw new ValidationError('alias', o.alias, 'must not contain control characters');
    w.string(C.IFLA_IFALIAS, o.alias);
  }
  if (o.netns !== undefined) writeNetns(w, o.netns, fds);
}

/** A namespace target: a pid goes as IFLA_NET_NS_PID (no fd needed), anything else as an fd. */
function writeNetns(w: NetlinkWriter, ref: NetnsRef, fds: NetnsFdScope): void {
  if (typeof ref === 'object' && !(ref instanceof NetworkNamespace) && 'pid' in ref) {
    if (!Number.isInteger(ref.pid) || ref.pid <= 0) throw new ValidationError('pid', ref.pid, 'must be a positive integer');
    w.u32(C.IFLA_NET_NS_PID, ref.pid);
  } else {
    w.u32(C.IFLA_NET_NS_FD, fds.fd(ref));
  }
}

/** Bridge port options go to the bridge: AF_BRIDGE RTM_SETLINK with a nested IFLA_PROTINFO. */
function* setBridgePort(ref: LinkRef, port: BridgePortSettings | undefined): Operation<void> {
  if (!port) return;
  const index = yield* resolveLinkIndex(ref);
  const w = new NetlinkWriter().begin(C.RTM_SETLINK, 0);
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeUInt8(C.AF_BRIDGE, off);
  w.view.writeInt32LE(index, off + 4);
  const nest = w.nest(C.IFLA_PROTINFO);
  encodeBridgePort(w, port);
  w.endNest(nest);
  yield* call(w.end().finish(), `set bridge port ${describeRef(ref)}`);
}

/**
 * Kinds made outside rtnetlink (tun): create the device, then apply the
 * common options as one set; if that fails, delete the device again.
 */
function* addCreated(opts: LinkAddOptions, create: Operation<void>): Operation<void> {
  const { name, mtu, mac, up, master, txQueueLength, group, alias, netns } = opts;
  const rest: LinkSetOptions = { mtu, mac, up, master, txQueueLength, group, alias, netns };
  yield* create;
  if (Object.values(rest).every((v) => v === undefined)) return;
  try {
    yield* linkOps.set(name, rest);
  } catch (e) {
    try {
      yield* linkOps.delete(name);
    } catch {
      // the original error is the one worth reporting
    }
    throw e;
  }
}
