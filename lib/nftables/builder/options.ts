/**
 * What callers hand the rule builder: match values (and their negation),
 * verdicts, and the option objects of its NAT, log, limit and reject
 * statements. Types only, plus {@link not}.
 * @module
 */
import type { CtLabelMap } from '../../validate/connlabels';
import type { Verdict, VerdictCode } from '../data';
import type { DataTypeName, Scalar } from '../datatypes';
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

/** TCP header flags (`tcp flags syn`). */
export type TcpFlagName = 'fin' | 'syn' | 'rst' | 'psh' | 'ack' | 'urg' | 'ecn' | 'cwr';
/**
 * A TCP flags match: a flag or list (any of them set: `tcp flags syn`), or
 * the flags under a mask being exactly `equals` (`tcp flags & (syn|ack) == syn`).
 */
export type TcpFlagsMatch =
  | TcpFlagName
  | TcpFlagName[]
  | {
      /** The flags looked at. */
      mask: TcpFlagName[];
      /** Which of them must be set (the others clear). */
      equals: TcpFlagName[];
    };
/** TCP options nft names (`tcp option maxseg`). */
export type TcpOptionName = 'maxseg' | 'window' | 'sack-perm' | 'sack' | 'timestamp';
/** A TCP option match: whether it is present, or one of its fields (`{ size: 1460 }` for maxseg). */
export type TcpOptionMatch =
  | {
      /** Present (`exists`) or absent (`missing`). */
      exists: boolean;
    }
  | Partial<Record<'size' | 'count' | 'left' | 'right' | 'tsval' | 'tsecr', number>>;
/** DSCP code point names (`ip dscp ef`). */
export type DscpName =
  | 'cs0'
  | 'cs1'
  | 'cs2'
  | 'cs3'
  | 'cs4'
  | 'cs5'
  | 'cs6'
  | 'cs7'
  | 'lephb'
  | 'af11'
  | 'af12'
  | 'af13'
  | 'af21'
  | 'af22'
  | 'af23'
  | 'af31'
  | 'af32'
  | 'af33'
  | 'af41'
  | 'af42'
  | 'af43'
  | 'va'
  | 'ef';
/** Bits of a mark compared under a mask (`meta mark & 0xff00 == 0x100`). */
export interface MaskedMark {
  /** The bits looked at. */
  mask: number;
  /** Their value (no bits outside the mask). */
  value: number;
}
/**
 * A new mark: a value, or the old mark changed bitwise (`meta mark set meta
 * mark | 0x4000`), or copied from the other mark (`ct mark set meta mark`).
 */
export type MarkUpdate =
  | number
  | {
      /** Sets these bits. */
      or: number;
    }
  | {
      /** Keeps only these bits. */
      and: number;
    }
  | {
      /** Flips these bits. */
      xor: number;
    }
  | {
      /** Copies the packet's (`meta mark`) or the connection's (`ct mark`) mark. */
      from: 'meta mark' | 'ct mark';
    };

/** Options of {@link RuleBuilder.dispatch}: a number picks the verdict. */
export interface DispatchOptions {
  /**
   * Where the number comes from: a random or round-robin ("incremental")
   * generator, a symmetric hash of the flow (`symhash`, both directions
   * alike), or a jhash of packet fields (`jhash ip saddr`: one client, one chain).
   */
  by:
    | 'random'
    | 'incremental'
    | 'symhash'
    | {
        /** The fields hashed. */
        jhash: FieldName | FieldName[];
        /** Hash seed (default: one the kernel picks at random, as nft). */
        seed?: number;
      };
  /** Numbers are 0 to mod-1 (plus `offset`). */
  mod: number;
  /** Added to every number. */
  offset?: number;
  /** Number → verdict entries (an anonymous verdict map), or "@name" of a verdict map with integer keys. */
  map: Array<{ key: number; verdict: VerdictSpec }> | string;
}

/** Options of {@link RuleBuilder.updateSet} and {@link RuleBuilder.addToSet}: the element written from the packet. */
export interface SetUpdateOptions {
  /** The field(s) forming the element's key (a concatenation for several). */
  key: FieldName | FieldName[];
  /** Element timeout in milliseconds (default: the set's). */
  timeout?: number;
  /** For a map: the value stored with the key (`: 0x1`); its type is `valueType`. */
  value?: Scalar;
  /** The data type of `value` (default "mark"). */
  valueType?: DataTypeName;
}

/** Options of {@link RuleBuilder.tproxy}: where to divert the connection (a local socket). */
export interface TproxyOptions {
  /** Local address of the transparent socket; without it, the packet's destination address. */
  to?: string;
  /** Local port of the transparent socket; without it, the packet's destination port. */
  port?: number;
}

/** Options of {@link RuleBuilder.queue}: which userspace queue gets the packet. */
export interface QueueOptions {
  /** Queue number (default 0), or a range "1-3" to spread flows over. */
  num?: number | string;
  /** Accept the packet when no program listens on the queue (`bypass`). */
  bypass?: boolean;
  /** Spread over the range by CPU instead of by flow (`fanout`). */
  fanout?: boolean;
}

/** Options of {@link RuleBuilder.setCtLabel}: where label names are looked up. */
export interface CtLabelOptions {
  /** Label bits by name (`{ web: 3 }`); default: connlabel.conf, read when the builder method is called (see `nft.readConnlabels`). */
  labels?: CtLabelMap;
}

/** Options of {@link RuleBuilder.dup}: where a copy of the packet goes. */
export interface DupOptions {
  /** Gateway address the copy is sent to. */
  to?: string;
  /**
   * Interface the copy leaves through: its index, or its name (as nft takes
   * it), resolved to the index in the handle's namespace when the
   * transaction is committed (NotFoundError naming it if it is missing).
   */
  device?: number | string;
}

/** Options of {@link RuleBuilder.quota}: an inline quota, or a named quota object. */
export type QuotaOptions =
  | {
      /** Bytes allowed. */
      bytes: number | bigint;
      /** Match only once the quota is used up (`quota over`). */
      over?: boolean;
    }
  | {
      /** A quota object of the table (`quota name "x"`). */
      name: string;
    };
