/**
 * What a route is (as listed) and the options, filters and keys of the
 * route operations in route.ts, and the key lists that hold option objects
 * to them at run time (a misspelt `tabel` must not widen a delete).
 * @module
 */
import type { RawAttribute } from '../netlink/parser';
import type { IpFamily } from '../validate/ip';
import type { LinkRef } from './link';
import { keysOf } from '../validate/options';
/** One next hop of a multipath route. */
export interface Nexthop {
  /** Gateway address of this hop, when it has one. */
  gateway?: string;
  /** Output link index. */
  link?: number;
  /** Name of the output link, resolved by nlkit (docs/api-conventions.md, "Interface names"). */
  linkName?: string;
  /** @deprecated use `link` (the same index) */
  index?: number;
  /** Weight, 1-256 (the kernel stores weight-1). */
  weight: number;
  /** The gateway is treated as directly reachable on the link (RTNH_F_ONLINK). */
  onlink?: boolean;
  /** RTNH_F_* flag names: "onlink", "dead", "linkdown", ... */
  flags: string[];
  /** The hop's realms (IPv4, RTA_FLOW in the hop): source realm in the high 16 bits, destination realm in the low 16. */
  flow?: number;
}

/** A route as the kernel reports it. */
export interface Route {
  /** 4 or 6. */
  family: IpFamily;
  /** "default" or "10.0.0.0/24" (host routes keep their /32 or /128). */
  dst: string;
  /** Prefix length of `dst` (0 for the default route). */
  dstLength: number;
  /** Source prefix of a source-specific (IPv6) route. */
  src?: string;
  /** Gateway (next hop) address, for single-path routes; an IPv4 route's may be IPv6 (`via inet6`, RTA_VIA). */
  gateway?: string;
  /** Output link index. */
  link?: number;
  /** Name of the output link, resolved by nlkit (docs/api-conventions.md, "Interface names"). */
  linkName?: string;
  /** @deprecated use `link` (the same index) */
  index?: number;
  /** Preferred source address. */
  prefsrc?: string;
  /** Table name ("main", "local") or number as a string. */
  table: string;
  /** Numeric routing table id (254 is "main"). */
  tableId: number;
  /** Route metric (`metric`/`priority`); lower wins. */
  metric?: number;
  /** Who installed it: "kernel", "boot", "static", "dhcp", ... or a number as a string. */
  protocol: string;
  /** "global", "link", "host", ... or a number as a string. */
  scope: string;
  /** "unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit", "throw", ... */
  type: string;
  /** "onlink", "linkdown", "dead", ... */
  flags: string[];
  /** The next hops of a multipath (ECMP) route. */
  multipath?: Nexthop[];
  /**
   * The nexthop object the route uses (`ip route ... nhid`); its gateway,
   * link or group members are reported in `gateway`, `link` and `multipath`.
   */
  nhid?: number;
  /** Route MTU (RTAX_MTU), when set. */
  mtu?: number;
  /**
   * The MTU is locked (`ip route ... mtu lock 1400`: the MTU's bit in RTAX_LOCK): path MTU discovery does not
   * lower it. Present (true) only when locked. The whole RTAX_LOCK bit mask is in `metrics[1]`.
   */
  mtuLocked?: boolean;
  /** Other RTA_METRICS values by RTAX number. */
  metrics?: Record<number, number>;
  /** TCP congestion control algorithm of the route (RTAX_CC_ALGO, `ip route ... congctl cubic`), when set. */
  congestionControl?: string;
  /** IPv6 router preference: "low", "medium", "high" (as `ip -j` prints it). */
  pref?: RoutePref;
  /**
   * IPv6 routes that expire (`ip route add ... expires 300`, routes learned from router advertisements): the
   * whole seconds left when listed (RTA_CACHEINFO's rta_expires), as `ip -j route` prints `expires`. Absent for
   * routes that do not expire.
   */
  expires?: number;
  /**
   * IPv4 only: the realms (`ip route ... realms 3/4`, RTA_FLOW): the source realm in the high 16 bits, the
   * destination realm in the low 16 (`realm 5` is 5), as a rule's `flow`.
   */
  flow?: number;
  /** Top-level attributes nlkit does not decode, preserved as received. */
  unknownAttributes: RawAttribute[];
}

/** IPv6 router preference of a route (RTA_PREF), as `ip` names it. */
export type RoutePref = 'low' | 'medium' | 'high';

/** One next hop of a multipath route to add. */
export interface NexthopOptions {
  /** Gateway address of this hop. */
  gateway?: string;
  /** Output link of this hop (name or index). */
  link?: LinkRef;
  /** @deprecated use `link` */
  dev?: LinkRef;
  /** 1-256, default 1. */
  weight?: number;
  /** Treat the gateway as directly reachable on `link`. */
  onlink?: boolean;
  /** IPv4 only: the hop's realms (`nexthop via ... realms 3/4`), as a route's `flow`. */
  flow?: number;
}

/** A route to add, replace or delete. */
export interface RouteOptions {
  /** "default", "10.0.0.0/24", or an address (a host route). */
  dst: string;
  /** Address family, needed only for "default" when no gateway tells it (default 4). */
  family?: IpFamily;
  /** Next-hop address; sets the family when `dst` is "default". An IPv4 route may have an IPv6 one (`via inet6`, sent as RTA_VIA). */
  gateway?: string;
  /** Output link (name or index). */
  link?: LinkRef;
  /** @deprecated use `link` */
  dev?: LinkRef;
  /** Preferred source address for packets sent along this route (`src` in `ip route`). */
  prefsrc?: string;
  /** Source prefix (IPv6 source-specific routing). */
  src?: string;
  /** "main" (default), "local", or a number. */
  table?: string | number;
  /** Route metric (`metric`/`priority`); lower wins. */
  metric?: number;
  /** "boot" (default, like `ip route add`), "static", "kernel", a number... */
  protocol?: string | number;
  /** Default: "link" for unicast routes without a gateway, else "global". */
  scope?: string | number;
  /** "unicast" (default), "local", "blackhole", "unreachable", "prohibit", "throw"... */
  type?: string;
  /** Treat the gateway as directly reachable on `link`. */
  onlink?: boolean;
  /** Next hops of a multipath (ECMP) route, instead of `gateway`/`link`. */
  multipath?: NexthopOptions[];
  /**
   * Use this nexthop object (`h.nexthops`) instead of `gateway`, `link` and
   * `multipath`. A listed route carries its nexthop's gateway, link and
   * members too: writes of a listed route send only its `nhid`.
   */
  nhid?: number;
  /** Route MTU (RTAX_MTU); a delete ignores it (no part of the key). */
  mtu?: number;
  /** Lock the MTU (`ip route add ... mtu lock 1400`): path MTU discovery does not lower it. Needs `mtu`. */
  mtuLocked?: boolean;
  /**
   * Other RTA_METRICS values by RTAX number (`advmss` 8, `initcwnd` 11, ...; 1 is the RTAX_LOCK mask), as a
   * listed route has them: written by add and replace, so a listed route keeps them; a delete ignores them.
   * The MTU is `mtu` and `mtuLocked` (they decide the MTU's lock bit), the congestion control `congestionControl`.
   */
  metrics?: Record<number, number>;
  /** TCP congestion control algorithm of the route (`congctl cubic`); a delete ignores it. */
  congestionControl?: string;
  /** IPv6 router preference. */
  pref?: RoutePref;
  /** IPv6 only: the route expires after this many seconds (0-4294967295; `ip route add ... expires 300`); a delete ignores it. */
  expires?: number;
  /**
   * IPv4 only: the realms (`ip route ... realms 3/4`, RTA_FLOW): the source realm in the high 16 bits, the
   * destination realm in the low 16 (`realm 5` is 5), as a rule's `flow`.
   */
  flow?: number;
}

/** Filters of {@link routeOps.list}. */
export interface RouteFilter {
  /** Only IPv4 (4) or IPv6 (6) routes; default both. */
  family?: IpFamily;
  /** Table name or number; default "main". Use "all" for every table. */
  table?: (string & {}) | number | 'all';
  /** Routes through this link. */
  link?: LinkRef;
  /** @deprecated use `link` */
  dev?: LinkRef;
  /** Only routes installed by this protocol ("kernel", "boot", "static", a number, ...). */
  protocol?: string | number;
  /** Only routes of this type ("unicast", "blackhole", ...). */
  type?: string;
}

/**
 * What identifies a route for {@link routeOps.get} and {@link routeOps.find}:
 * `dst` and, where several routes share it, the table, metric, link, gateway,
 * type, protocol, source prefix or nexthop object (`nhid`). A listed route is one.
 */
export type RouteKey = Pick<RouteOptions, 'dst' | 'family' | 'table' | 'metric' | 'link' | 'dev' | 'gateway' | 'type' | 'protocol' | 'src' | 'nhid'>;

/** Options of {@link routeOps.lookup}. */
export interface RouteLookupOptions {
  /** Source address of the looked-up packet. */
  from?: string;
  /** Input interface the packet arrives on (routes it as forwarded traffic). */
  iif?: LinkRef;
  /** Output interface to force. */
  oif?: LinkRef;
  /** Firewall mark of the packet (for policy routing rules). */
  mark?: number;
  /** Return the FIB entry that matched instead of the resolved route. */
  fibMatch?: boolean;
}

/** The fields of a listed route: writes and keys accept them (and ignore those only the kernel reports). */
const ROUTE_READ_KEYS = keysOf<Route>()([
  'family',
  'dst',
  'dstLength',
  'src',
  'gateway',
  'link',
  'linkName',
  'index',
  'prefsrc',
  'table',
  'tableId',
  'metric',
  'protocol',
  'scope',
  'type',
  'flags',
  'multipath',
  'nhid',
  'mtu',
  'mtuLocked',
  'metrics',
  'congestionControl',
  'pref',
  'expires',
  'flow',
  'unknownAttributes',
]);

/** Keys add, replace and delete accept: the options, or a listed route. */
export const ROUTE_WRITE_KEYS: readonly string[] = [
  ...keysOf<RouteOptions>()([
    'dst',
    'family',
    'gateway',
    'link',
    'dev',
    'prefsrc',
    'src',
    'table',
    'metric',
    'protocol',
    'scope',
    'type',
    'onlink',
    'multipath',
    'nhid',
    'mtu',
    'mtuLocked',
    'metrics',
    'congestionControl',
    'pref',
    'expires',
    'flow',
  ]),
  ...ROUTE_READ_KEYS,
];

/** Keys of one next hop in `multipath`: the options, or a listed next hop. */
export const NEXTHOP_WRITE_KEYS: readonly string[] = [
  ...keysOf<NexthopOptions>()(['gateway', 'link', 'dev', 'weight', 'onlink', 'flow']),
  ...keysOf<Nexthop>()(['gateway', 'link', 'linkName', 'index', 'weight', 'onlink', 'flags', 'flow']),
];

/** Keys get and find accept: a key, or a listed route. */
export const ROUTE_KEY_KEYS: readonly string[] = [
  ...keysOf<RouteKey>()(['dst', 'family', 'table', 'metric', 'link', 'dev', 'gateway', 'type', 'protocol', 'src', 'nhid']),
  ...ROUTE_READ_KEYS,
];

export const ROUTE_FILTER_KEYS = keysOf<RouteFilter>()(['family', 'table', 'link', 'dev', 'protocol', 'type']);

export const ROUTE_LOOKUP_KEYS = keysOf<RouteLookupOptions>()(['from', 'iif', 'oif', 'mark', 'fibMatch']);
