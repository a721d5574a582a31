/**
 * The types of ip rules (policy routing): what `h.rules` reads back and takes.
 * Apart from the operations so the key matching (rule-key.ts) can use them
 * without an import cycle.
 * @module
 */
import type { RawAttribute } from '../netlink/parser';
import type { IpFamily } from '../validate/ip';
import { keysOf } from '../validate/options';

/**
 * What a matching rule does: look up a table (`to_tbl`), jump to another rule (`goto`), nothing (`nop`), or reject the
 * packet.
 */
export type RuleAction = 'to_tbl' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

/** An action nlkit does not name, as the kernel's number in a string ("4"); reads back and writes as is. */
export type RuleActionNumber = `${number}`;

/** A port or uid range. */
export interface Range {
  /** First value (inclusive). */
  start: number;
  /** Last value (inclusive). */
  end: number;
}

/** A rule as the kernel reports it. */
export interface Rule {
  /** 4 or 6. */
  family: IpFamily;
  /** Preference: rules are tried in increasing order. */
  priority: number;
  /** Source prefix ("10.0.0.0/8"); absent means any (`from all`). */
  src?: string;
  /** Destination prefix; absent means any. */
  dst?: string;
  /** Input interface name (`iif`). */
  iif?: string;
  /** Output interface name (`oif`). */
  oif?: string;
  /** The named interface does not exist now (the rule waits for it). */
  iifDetached?: boolean;
  /** The named output interface does not exist now. */
  oifDetached?: boolean;
  /** Firewall mark to match (`fwmark`). */
  fwmark?: number;
  /** Mask applied to the packet's mark before comparing with `fwmark`. */
  fwmask?: number;
  /** What the rule does (`to_tbl` for a table lookup), or the action number for actions nlkit does not name. */
  action: RuleAction | RuleActionNumber;
  /** Table for `to_tbl` rules, as a name ("main") or number string; absent for `l3mdev` rules (the VRF's table). */
  table?: string;
  /** Numeric id of `table`. */
  tableId?: number;
  /** Target priority of a `goto` rule. */
  goto?: number;
  /** A `goto` whose target rule does not exist (yet). */
  unresolved?: boolean;
  /** `not`: the selector is inverted. */
  invert: boolean;
  /** Type of service to match (0: any). */
  tos: number;
  /** Originator of the rule ("kernel", "boot", "static", ...) or a number as a string. */
  protocol: string;
  /** Ignore routing decisions with a prefix this short or shorter. */
  suppressPrefixLength?: number;
  /** Ignore routing decisions whose output device is in this group. */
  suppressIfgroup?: number;
  /** IP protocol number (`ipproto`). */
  ipProto?: number;
  /** Source port range to match. */
  sport?: Range;
  /** Destination port range to match. */
  dport?: Range;
  /** Socket owner uid range to match. */
  uidRange?: Range;
  /** Lookup in the table of the L3 master device (VRF). */
  l3mdev?: boolean;
  /** Realm/flow class id (IPv4). */
  flow?: number;
  /** Tunnel id to match (FRA_TUN_ID). */
  tunId?: bigint;
  /** Attributes nlkit does not decode, preserved as received. */
  unknownAttributes: RawAttribute[];
}

/** A rule to add or delete. */
export interface RuleOptions {
  /** Needed only when no prefix tells it (default 4). */
  family?: IpFamily;
  /** Preference; the kernel picks one below the previous rule's when absent. */
  priority?: number;
  /** Source prefix ("10.0.0.0/8", or an address for /32, /128). */
  src?: string;
  /** Destination prefix ("10.0.0.0/8", or an address for /32, /128). */
  dst?: string;
  /** Input interface name; the interface need not exist yet. */
  iif?: string;
  /** Output interface name (for locally generated traffic bound to a device); need not exist yet. */
  oif?: string;
  /** Firewall mark to match. */
  fwmark?: number;
  /** Mask for `fwmark` (default all bits). */
  fwmask?: number;
  /**
   * Table to look up ("main", "local", a number 1 to 2^32-1). Implies action `to_tbl`; default "main" for it, none with `l3mdev`.
   * Table 0 is refused by `add()` (a `ValidationError`): the kernel would choose an unused table for it, as
   * `ip rule add ... table 0` gets, and add() could not tell which.
   */
  table?: string | number;
  /** Default `to_tbl`, or `goto` when `goto` is given; a number in a string for actions nlkit does not name. */
  action?: RuleAction | RuleActionNumber;
  /** Priority of the rule to jump to (action `goto`). */
  goto?: number;
  /** Invert the selector (`not`). */
  invert?: boolean;
  /** Type of service to match. */
  tos?: number;
  /** Originator of the rule (`protocol`): a name ("static", "kernel", ...) or number. */
  protocol?: string | number;
  /** Ignore routing decisions with a prefix this short or shorter (`suppress_prefixlength`). */
  suppressPrefixLength?: number;
  /** Ignore routing decisions whose output device is in this group (`suppress_ifgroup`). */
  suppressIfgroup?: number;
  /** "tcp", "udp", "icmp", "ipv6-icmp", "sctp", ... or a number. */
  ipProto?: string | number;
  /** A port, or a range (1-65534: the kernel refuses 0 and 65535 here). */
  sport?: number | Range;
  /** A destination port, or a range (1-65534). */
  dport?: number | Range;
  /** Socket owner uid range to match. */
  uidRange?: Range;
  /** Look up the table of the L3 master device (VRF) the packet belongs to (`ip rule add l3mdev`); no `table` with it. */
  l3mdev?: boolean;
  /** IPv4 only: the realms to match (`realms 3/4`: source realm in the high 16 bits, destination realm in the low 16; FRA_FLOW). */
  flow?: number;
  /** Tunnel id to match (`tun_id`, FRA_TUN_ID), 0 to 2^64-1. */
  tunId?: bigint | number;
}

/** Filters of {@link ruleOps.list}. */
export interface RuleFilter {
  /** Only IPv4 (4) or IPv6 (6) rules; default both. */
  family?: IpFamily;
  /** Rules that look up this table. */
  table?: string | number;
  /** Only rules with this priority. */
  priority?: number;
}

/** Keys rule writes and keys accept: the options, or a listed rule (whose kernel-only fields are ignored). */
export const RULE_WRITE_KEYS: readonly string[] = [
  ...keysOf<RuleOptions>()([
    'family',
    'priority',
    'src',
    'dst',
    'iif',
    'oif',
    'fwmark',
    'fwmask',
    'table',
    'action',
    'goto',
    'invert',
    'tos',
    'protocol',
    'suppressPrefixLength',
    'suppressIfgroup',
    'ipProto',
    'sport',
    'dport',
    'uidRange',
    'l3mdev',
    'flow',
    'tunId',
  ]),
  ...keysOf<Rule>()([
    'family',
    'priority',
    'src',
    'dst',
    'iif',
    'oif',
    'iifDetached',
    'oifDetached',
    'fwmark',
    'fwmask',
    'action',
    'table',
    'tableId',
    'goto',
    'unresolved',
    'invert',
    'tos',
    'protocol',
    'suppressPrefixLength',
    'suppressIfgroup',
    'ipProto',
    'sport',
    'dport',
    'uidRange',
    'flow',
    'tunId',
    'l3mdev',
    'unknownAttributes',
  ]),
];

export const RULE_FILTER_KEYS = keysOf<RuleFilter>()(['family', 'table', 'priority']);
