/**
 * Nexthop objects (`ip nexthop`, RTM_*NEXTHOP): what one is as listed, the
 * options and filters of the operations in nexthop.ts, and the key lists
 * that hold option objects to them at run time.
 *
 * Not to be confused with `Nexthop`, one next hop *inside* a
 * multipath route: a nexthop object lives on its own, has an id, and routes
 * refer to it (`routes.add({ dst, nhid })`).
 * @module
 */
import type { RawAttribute } from '../netlink/parser';
import type { IpFamily } from '../validate/ip';
import { keysOf } from '../validate/options';
import type { LinkRef } from './link';

/** One member of a nexthop group. */
export interface NexthopGroupMember {
  /** The id of a nexthop object (not a group). */
  id: number;
  /** 1-256; default 1. Traffic is shared in proportion to the weights. */
  weight?: number;
}

/** How a group spreads flows: "mpath" (hash-threshold, the default) or "resilient" (hash buckets that survive member changes). */
export type NexthopGroupType = 'mpath' | 'resilient';

/** The settings of a resilient group (`ip nexthop ... type resilient buckets N idle_timer S unbalanced_timer S`). */
export interface ResilientGroupSettings {
  /** Number of hash buckets, 1-65535 (kernel default 128); cannot change after creation. */
  buckets?: number;
  /** Seconds a bucket must be idle before it may move to another member (kernel default 120). */
  idleTimer?: number;
  /** Seconds the group may stay unbalanced before busy buckets move too (0, the default: never). */
  unbalancedTimer?: number;
}

/** A resilient group's settings as the kernel reports them. */
export interface ResilientGroupInfo extends Required<ResilientGroupSettings> {
  /** Seconds the group has been unbalanced (0 when balanced). */
  unbalancedTime: number;
}

/** A nexthop object as the kernel reports it (`ip -j nexthop show`). */
export interface NexthopObject {
  /** The nexthop's id (1-4294967295); routes refer to it as `nhid`. */
  id: number;
  /** 4 or 6 for a gateway or device nexthop; absent for a group (the kernel keeps groups family-less). */
  family?: IpFamily;
  /** Gateway address. */
  gateway?: string;
  /** Output link index. */
  link?: number;
  /** Name of the output link, resolved by nlkit (docs/api-conventions.md, "Interface names"). */
  linkName?: string;
  /** Drops what is routed to it. */
  blackhole?: boolean;
  /** A nexthop for bridge FDB entries (VXLAN remotes), not for routes. */
  fdb?: boolean;
  /** The gateway is treated as directly reachable on the link (RTNH_F_ONLINK). */
  onlink?: boolean;
  /** The members of a group, each with its weight (1-256). */
  group?: Array<Required<NexthopGroupMember>>;
  /** A group's type. */
  groupType?: NexthopGroupType;
  /** A resilient group's settings. */
  resilient?: ResilientGroupInfo;
  /** Who installed it: "unspec" (`ip nexthop add`'s default), "static", "zebra", ... or a number as a string. */
  protocol: string;
  /** "global", "link", "host" (what the kernel derived). */
  scope: string;
  /** RTNH_F_* flag names: "onlink", "dead", "linkdown", ... */
  flags: string[];
  /** Attributes nlkit does not decode, preserved as received. */
  unknownAttributes: RawAttribute[];
}

/**
 * A nexthop object to add or replace: a gateway and/or a link, a blackhole,
 * or a group of other nexthops (exactly one of these).
 */
export interface NexthopObjectOptions {
  /** The id (1-4294967295): routes and groups refer to the nexthop by it. */
  id: number;
  /** 4 or 6; needed only without a gateway to tell it (default 4). Groups have none. */
  family?: IpFamily;
  /** Gateway address; sets the family. */
  gateway?: string;
  /** Output link (name or index). */
  link?: LinkRef;
  /** A nexthop that drops packets (no gateway, link or group). */
  blackhole?: boolean;
  /** A nexthop for bridge FDB entries (VXLAN remotes): a gateway only, or a group of fdb nexthops. */
  fdb?: boolean;
  /** Treat the gateway as directly reachable on `link`. */
  onlink?: boolean;
  /** Members of a group (nexthop ids and weights): a group has no gateway, link or blackhole of its own. */
  group?: NexthopGroupMember[];
  /** A group's type; default "mpath". */
  groupType?: NexthopGroupType;
  /** Settings of a "resilient" group. */
  resilient?: ResilientGroupSettings;
  /** Who installs it: a name ("static", "zebra", ...) or a number; default unspec, as `ip nexthop add`. */
  protocol?: string | number;
}

/** What names a nexthop object: its id (a listed nexthop is a key). */
export interface NexthopObjectKey {
  /** The nexthop's id. */
  id: number;
}

/** Filters of {@link nexthopOps.list}; the kernel applies them to its dump. */
export interface NexthopObjectFilter {
  /** Only IPv4 (4) or IPv6 (6) nexthops (groups have no family: they are left out). */
  family?: IpFamily;
  /** Only nexthops through this link. */
  link?: LinkRef;
  /** Only nexthops whose link is enslaved to this master (a VRF). */
  master?: LinkRef;
  /** Only groups. */
  groups?: boolean;
  /** Only fdb nexthops. */
  fdb?: boolean;
}

/** The fields of a listed nexthop: writes and keys accept them (and ignore those only the kernel reports). */
const NEXTHOP_OBJECT_READ_KEYS = keysOf<NexthopObject>()([
  'id',
  'family',
  'gateway',
  'link',
  'linkName',
  'blackhole',
  'fdb',
  'onlink',
  'group',
  'groupType',
  'resilient',
  'protocol',
  'scope',
  'flags',
  'unknownAttributes',
]);

/** Keys add and replace accept: the options, or a listed nexthop. */
export const NEXTHOP_OBJECT_WRITE_KEYS: readonly string[] = [
  ...keysOf<NexthopObjectOptions>()(['id', 'family', 'gateway', 'link', 'blackhole', 'fdb', 'onlink', 'group', 'groupType', 'resilient', 'protocol']),
  ...NEXTHOP_OBJECT_READ_KEYS,
];

/** Keys of one group member: the options, or a listed member. */
export const GROUP_MEMBER_KEYS = keysOf<NexthopGroupMember>()(['id', 'weight']);

/** Keys of resilient settings: the options, or listed settings (whose `unbalancedTime` is the kernel's). */
export const RESILIENT_KEYS: readonly string[] = keysOf<ResilientGroupInfo>()(['buckets', 'idleTimer', 'unbalancedTimer', 'unbalancedTime']);

/** Keys get, find and delete accept: the id, or a listed nexthop. */
export const NEXTHOP_OBJECT_KEY_KEYS: readonly string[] = NEXTHOP_OBJECT_WRITE_KEYS;

export const NEXTHOP_OBJECT_FILTER_KEYS = keysOf<NexthopObjectFilter>()(['family', 'link', 'master', 'groups', 'fdb']);
