/**
 * What a link is (the `Link` union, discriminated by `kind`) and the options
 * and filters of the link operations in link.ts. Types only.
 * @module
 */
import type { RawAttribute } from '../netlink/parser';
import type { NetnsRef } from '../netns/namespace';
import type { BridgePortInfo, BridgePortSettings } from './bridge-port';
import type {
  BondSettings,
  BridgeInfo,
  BridgeSettings,
  IpvlanChanges,
  KindInfoMap,
  KindOptions,
  MacvlanChanges,
  MacvlanInfo,
  TunInfo,
  VethInfo,
  VlanChanges,
  VxlanChanges,
  VxlanInfo,
} from './link-kinds';
import { keysOf } from '../validate/options';

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
  /** Received frames with a bad length. */
  rxLengthErrors: bigint;
  /** Receiver ring overruns. */
  rxOverErrors: bigint;
  /** Received frames with a CRC error. */
  rxCrcErrors: bigint;
  /** Received frames with an alignment error. */
  rxFrameErrors: bigint;
  /** Receiver FIFO overruns. */
  rxFifoErrors: bigint;
  /** Frames the receiver missed. */
  rxMissedErrors: bigint;
  /** Transmissions aborted. */
  txAbortedErrors: bigint;
  /** Transmit carrier errors. */
  txCarrierErrors: bigint;
  /** Transmit FIFO errors. */
  txFifoErrors: bigint;
  /** Transmit heartbeat errors. */
  txHeartbeatErrors: bigint;
  /** Late collisions. */
  txWindowErrors: bigint;
  /** Compressed packets received (CSLIP, PPP). */
  rxCompressed: bigint;
  /** Compressed packets transmitted. */
  txCompressed: bigint;
  /** Packets dropped for lack of a protocol handler. */
  rxNohandler: bigint;
  /** Packets dropped for another host's MAC (Linux 5.19 and later). */
  rxOtherhostDropped?: bigint;
}

/**
 * A network interface as the kernel reports it: one type per kind nlkit
 * decodes, told apart by `kind`, so `info` is typed once `kind` is checked
 * (`if (l.kind === 'bridge') l.info.stp`).
 */
export type Link = BridgeLink | VethLink | MacvlanLink | VxlanLink | TunLink | KindLinks | OtherLink;

/** The kinds whose links are typed by {@link KindLink}. */
export type KindLinkKind = 'vlan' | 'ipvlan' | 'dummy' | 'bond' | 'vrf' | 'geneve' | 'gre' | 'gretap' | 'ipip' | 'sit' | 'ip6tnl';

/** A link of one of the kinds in {@link KindLinkKind} (`kind: 'vlan'`, ...): `info` is that kind's. */
export interface KindLink<K extends KindLinkKind> extends LinkBase {
  /** The link kind. */
  kind: K;
  /** The kind's options as the kernel reports them. */
  info: KindInfoMap[K];
}

/** Every {@link KindLink}, one per kind, so that a `kind` check types `info`. */
export type KindLinks = { [K in KindLinkKind]: KindLink<K> }[KindLinkKind];

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
 * A link of a kind nlkit does not decode (wireguard, ...) or of
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
  /** Alternative names (IFLA_PROP_LIST), in the order they were added. */
  altNames?: string[];
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
  /** Alternative names (`ip link property add ... altname`), each 1-127 bytes; added right after the link. */
  altNames?: string[];
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
  /** The link's alternative names from now on: missing ones are added, others removed (`[]`: none). */
  altNames?: string[];
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
   * follow a `master` change in the same call; checked before anything is sent
   * (the link must be a bridge port, or get a bridge as `master` here).
   */
  port?: BridgePortSettings;
  /** Bridge settings of a bridge (`ip link set br0 type bridge ...`); refused by the kernel for another kind. */
  bridge?: BridgeSettings;
  /** What the kernel lets change on a vxlan: remote or group, ttl, tos, learning, ageing. */
  vxlan?: VxlanChanges;
  /** The mode of a macvlan. */
  macvlan?: MacvlanChanges;
  /** The flags of a vlan (reorderHeader, gvrp, mvrp, looseBinding, bridgeBinding). */
  vlan?: VlanChanges;
  /** The mode and isolation of an ipvlan. */
  ipvlan?: IpvlanChanges;
  /** Bond settings (`ip link set bond0 type bond miimon 100 ...`); the kernel says which it refuses on a live bond. */
  bond?: BondSettings;
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

export const LINK_SET_KEYS = keysOf<LinkSetOptions>()([
  'up',
  'mtu',
  'mac',
  'name',
  'master',
  'netns',
  'alias',
  'altNames',
  'txQueueLength',
  'group',
  'promisc',
  'allmulticast',
  'carrier',
  'port',
  'bridge',
  'vxlan',
  'macvlan',
  'vlan',
  'ipvlan',
  'bond',
]);

export const LINK_FILTER_KEYS = keysOf<LinkFilter>()(['kind', 'master', 'name', 'up', 'group']);

export const LINK_COMMON_KEYS = keysOf<LinkCommonOptions>()(['name', 'mtu', 'mac', 'up', 'master', 'txQueueLength', 'group', 'alias', 'altNames', 'netns']);
