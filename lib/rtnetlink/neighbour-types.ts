/**
 * The types of neighbour (ARP/NDP) entries (`h.neighbours`), apart from the
 * operations (neighbour.ts): the entry as listed, the options of a write,
 * and the names of NUD states and NTF flags.
 * @module
 */
import type { RawAttribute } from '../netlink/parser';
import type { IpFamily } from '../validate/ip';
import { keysOf } from '../validate/options';
import * as C from './constants';
import type { LinkRef } from './link';

/** NUD_* states by the names `ip neigh` accepts after `nud`. */
export const STATES: Array<[number, string]> = [
  [C.NUD_INCOMPLETE, 'incomplete'],
  [C.NUD_REACHABLE, 'reachable'],
  [C.NUD_STALE, 'stale'],
  [C.NUD_DELAY, 'delay'],
  [C.NUD_PROBE, 'probe'],
  [C.NUD_FAILED, 'failed'],
  [C.NUD_NOARP, 'noarp'],
  [C.NUD_PERMANENT, 'permanent'],
];

/** A NUD state to set, by the name `ip neigh` uses after `nud`. */
export type NeighbourState = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent' | 'none';

/** NTF_* flags by the names `ip -j neigh` prints them. */
export const FLAG_NAMES: Array<[number, string]> = [
  [C.NTF_ROUTER, 'router'],
  [C.NTF_PROXY, 'proxy'],
  [C.NTF_EXT_LEARNED, 'extern_learn'],
  [C.NTF_OFFLOADED, 'offload'],
];

/** A neighbour (ARP/NDP) entry as the kernel reports it. */
export interface Neighbour {
  /** 4 (ARP) or 6 (NDP). */
  family: IpFamily;
  /** Index of the link the entry is on. */
  link: number;
  /** Name of the link, resolved by nlkit (docs/api-conventions.md, "Interface names"). */
  linkName?: string;
  /** @deprecated use `link` (the same index) */
  index: number;
  /** A proxy ARP/ND entry (`ip neigh show proxy`); absent for cache entries. */
  proxy?: boolean;
  /** The neighbour's IP address. */
  address: string;
  /** Its link-layer address, when resolved. */
  mac?: string;
  /** State names as `ip -j neigh` prints them: ["REACHABLE"], ["PERMANENT"], ["NONE"]... */
  state: string[];
  /**
   * "router", "proxy", "extern_learn", "offload" (ndm_flags); "managed",
   * "extern_valid" (NDA_FLAGS_EXT). Written back with a listed entry except
   * "offload", which only the kernel sets.
   */
  flags: string[];
  /** Unicast probes sent (NDA_PROBES). */
  probes?: number;
  /** Seconds since the entry was last used / confirmed / updated (`ip -s neigh`). */
  used?: number;
  /** Seconds since the entry was last confirmed. */
  confirmed?: number;
  /** Seconds since the entry was last updated. */
  updated?: number;
  /** Kernel reference count of the entry. */
  refcnt?: number;
  /** Who installed it (NDA_PROTOCOL), when set. */
  protocol?: string;
  /** Attributes nlkit does not decode, preserved as received. */
  unknownAttributes: RawAttribute[];
}

/** A neighbour to add or replace (a listed {@link Neighbour} is one too: see {@link NeighbourWrite}). */
export interface NeighbourOptions {
  /** The link the neighbour is on. */
  link: LinkRef;
  /** The neighbour's IP address (IPv4 for ARP, IPv6 for NDP). */
  address: string;
  /** Link-layer address (`lladdr`); needed unless `proxy`. */
  mac?: string;
  /** Default "permanent" ("none" for a `managed` entry, which cannot be permanent), as `ip neigh add`. */
  state?: NeighbourState;
  /** The neighbour is a router (IPv6, NTF_ROUTER). */
  router?: boolean;
  /** A proxy ARP/ND entry (`ip neigh add proxy`): answer for this address on `dev`. */
  proxy?: boolean;
  /** Learned externally, e.g. by a control plane (NTF_EXT_LEARNED). */
  externLearned?: boolean;
  /** Kernel keeps it resolved on behalf of user space (NTF_EXT_MANAGED; `ip neigh add ... managed`): no `mac` needed. */
  managed?: boolean;
  /** Originator (NDA_PROTOCOL): a name ("static", "bgp"...) or number. */
  protocol?: string | number;
}

/**
 * What add and replace take: options, or a listed {@link Neighbour} as it is
 * (spread with options to change it: `{ ...n, router: false }`). Of a listed
 * entry, `link`, `address`, `proxy`, `mac`, `state` (the listed array, e.g.
 * `["STALE"]`; `[]` of a proxy entry), `protocol` and `flags` ("router",
 * "proxy", "extern_learn", "managed", "extern_valid") are written, so that
 * writing it back makes the same entry; an option given (`router`,
 * `externLearned`, `managed`, `proxy`) wins over `flags`. Read-only, accepted
 * and not written: `family` (the address's), `index`, `linkName`, the "offload"
 * flag, `probes`, `used`, `confirmed`, `updated`, `refcnt`, `unknownAttributes`.
 */
export type NeighbourWrite = NeighbourOptions | Neighbour;

/** What identifies a neighbour entry (a listed {@link Neighbour} is one): link, address, and proxy for proxy entries. */
export type NeighbourKey = Pick<NeighbourOptions, 'link' | 'address' | 'proxy'>;

/** The old spelling of the link in neighbour options and keys. */
export type WithLegacyDev<T extends { link: LinkRef }> = Omit<T, 'link'> & {
  /** @deprecated use `link` */
  dev: LinkRef;
};

/** The fields of a listed neighbour: keys and writes accept them ({@link NeighbourWrite} says which are written). */
const NEIGHBOUR_READ_KEYS = keysOf<Neighbour>()([
  'family',
  'link',
  'linkName',
  'index',
  'proxy',
  'address',
  'mac',
  'state',
  'flags',
  'probes',
  'used',
  'confirmed',
  'updated',
  'refcnt',
  'protocol',
  'unknownAttributes',
]);

/** Keys add, replace, delete, get and find accept: the options (with the old `dev`), or a listed neighbour. */
export const NEIGHBOUR_WRITE_KEYS: readonly string[] = [
  ...keysOf<NeighbourOptions>()(['link', 'address', 'mac', 'state', 'router', 'proxy', 'externLearned', 'managed', 'protocol']),
  'dev',
  ...NEIGHBOUR_READ_KEYS,
];

/** Filters of {@link neighbourOps.list}. */
export interface NeighbourFilter {
  /** Only entries on this link (name or index). */
  link?: LinkRef;
  /** @deprecated use `link` */
  dev?: LinkRef;
  /** Only IPv4 (4) or IPv6 (6) entries. */
  family?: IpFamily;
  /** Entries on ports of this master (a bridge or VRF). */
  master?: LinkRef;
  /** List the proxy entries instead of the cache (`ip neigh show proxy`). */
  proxy?: boolean;
  /** Only entries in one of these states. */
  state?: NeighbourState | NeighbourState[];
}

export const NEIGHBOUR_FILTER_KEYS = keysOf<NeighbourFilter>()(['link', 'dev', 'family', 'master', 'proxy', 'state']);
