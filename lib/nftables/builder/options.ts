/**
 * What callers hand the rule builder: match values (and their negation),
 * verdicts, and the option objects of its NAT, log, limit and reject
 * statements. Types only, plus {@link not}.
 * @module
 */
import type { Verdict, VerdictCode } from '../data';
import type { Scalar } from '../datatypes';
import type { LogFlag, LogLevel } from '../expressions/log';
import type { FieldName } from './fields';

/** A negated match value; create with {@link not}. */
export class Negated<T> {
  /** Prefer {@link not}. */
  constructor(
    /** The value the match must not equal (or be in). */
    readonly value: T,
  ) {}
}

/**
 * Negates a match: `rule().oifname(not('cni0'))` is `oifname != "cni0"`.
 * @example
 * rule().ip({ saddr: not('10.0.0.0/8') }).drop()
 */
export function not<T>(value: T): Negated<T> {
  return new Negated(value);
}

/**
 * What a field can be matched against:
 * - a value: "10.0.0.1", 80, "eth0", "tcp";
 * - a prefix "10.0.0.0/24" (addresses) or a range "1000-2000" / "10.0.0.1-10.0.0.9";
 * - an interface-name wildcard "veth*";
 * - an array of those (an anonymous set), or "@name" (a named set);
 * - any of these wrapped in {@link not}.
 */
export type MatchValue = Scalar | Scalar[] | Negated<Scalar | Scalar[]>;

/** A verdict by name, or a jump/goto target. */
export type VerdictSpec =
  | Exclude<VerdictCode, 'jump' | 'goto'>
  | {
      /** Continue in this chain, then come back. */
      jump: string;
    }
  | {
      /** Continue in this chain, without coming back. */
      goto: string;
    }
  | Verdict;

/** Options of {@link RuleBuilder.snat} and {@link RuleBuilder.dnat}. */
export interface NatOptions {
  /** Address, or range "10.0.0.2-10.0.0.9". */
  to?: string;
  /** Port, or range "8000-8010". */
  port?: number | string;
  /** "ip" or "ip6"; inferred from the address. */
  family?: 'ip' | 'ip6';
  /** Randomize the source port mapping (`random`). */
  random?: boolean;
  /** Fully randomize the port mapping (`fully-random`). */
  fullyRandom?: boolean;
  /** Give a client the same address on every connection (`persistent`). */
  persistent?: boolean;
}

/** One entry of a NAT map ({@link RuleBuilder.dnatMap}). */
export interface NatMapEntry {
  /** The map key: a value, or a range "0-89" (for numgen keys). */
  key: Scalar | Scalar[];
  /** Address to translate to. */
  to: string;
  /** Port to translate to; give one for every entry or for none (the port is then kept). */
  port?: number;
}

/** Options of {@link RuleBuilder.dnatMap}: where the key comes from and what it maps to. */
export interface NatMapOptions {
  /** Key from a number generator (`numgen random mod 100`)... */
  numgen?: {
    /** Random, or round-robin ("incremental"). */
    mode: 'random' | 'incremental';
    /** Numbers are 0 to mod-1 (plus `offset`): the keys' range. */
    mod: number;
    /** Added to every number. */
    offset?: number;
  };
  /** ...or from packet fields (`ip daddr`, `ip saddr . tcp dport`). */
  fields?: FieldName | FieldName[];
  /** Inline entries (an anonymous map), or "@name" of a named map holding address . port (both need a transport match first). */
  entries: NatMapEntry[] | string;
  /** "ip" or "ip6"; inferred from the first entry's address (or the table's family for a named map). */
  family?: 'ip' | 'ip6';
}

/** One backend of {@link RuleBuilder.dnatWeighted}. */
export interface WeightedBackend {
  /** The backend's address. */
  to: string;
  /** The backend's port (the original port when absent). */
  port?: number;
  /** Relative share of new connections (integers, summed). */
  weight: number;
}

/** Options of {@link RuleBuilder.log}. */
export interface LogOptions {
  /** Text logged before the packet details. */
  prefix?: string;
  /** Syslog level (default "warn"); ignored with `group`. */
  level?: LogLevel;
  /** nflog group: log to userspace instead of the kernel log. */
  group?: number;
  /** nflog: bytes of each packet copied to userspace. */
  snaplen?: number;
  /** nflog: packets queued in the kernel before they are sent to userspace. */
  queueThreshold?: number;
  /** Extra details to log (kernel log): TCP sequence numbers, options, socket uid, ... */
  flags?: LogFlag[];
}

/** Options of {@link RuleBuilder.limit}. */
export interface LimitOptions {
  /** Packets (or bytes, with `bytes`) per `per`. */
  rate: number;
  /** Time unit of `rate` (default "second"). */
  per?: 'second' | 'minute' | 'hour' | 'day' | 'week';
  /** Packets (or bytes) allowed above the rate in a burst. */
  burst?: number;
  /** Limit bytes instead of packets (`rate` is then bytes). */
  bytes?: boolean;
  /** Match only traffic over the limit (`limit rate over`). */
  over?: boolean;
}

/** Options of {@link RuleBuilder.reject}. */
export interface RejectOptions {
  /** "icmpx" (inet default), "icmp" (ip/ip6 default), or "tcp reset". */
  with?: 'icmpx' | 'icmp' | 'tcp reset';
  /** ICMP code, or an icmpx name: "port-unreachable" (default), "admin-prohibited", ... */
  code?: number | 'no-route' | 'port-unreachable' | 'host-unreachable' | 'admin-prohibited';
}

/** Conntrack states matched by `ct({ state })`. */
export type CtStateName = 'invalid' | 'established' | 'related' | 'new' | 'untracked';
/** Conntrack status bits matched by `ct({ status })`. */
export type CtStatusName = 'expected' | 'seen-reply' | 'assured' | 'confirmed' | 'snat' | 'dnat' | 'dying';
/** Route types matched by `fib({ type })` (`fib daddr type local`). */
export type FibType = 'unspec' | 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit';
