/**
 * The rule builder: readable matches and actions on top of raw expressions,
 * so callers never juggle registers, byte orders or protocol dependencies.
 * The expressions it produces are the ones nft itself generates (and the
 * kernel lists back), so `nft list ruleset` prints them naturally.
 *
 * @example
 * // masquerade a container subnet leaving through anything but its bridge
 * rule().ip({ saddr: '10.88.0.0/16' }).oifname(not('cni0')).masquerade()
 * // publish host port 8080 to a container
 * rule().tcp({ dport: 8080 }).dnat({ to: '10.88.0.2', port: 80 })
 * // weighted load balancing: 90% / 10%
 * rule().tcp({ dport: 80 }).dnatWeighted([{ to: '10.0.0.2', port: 80, weight: 90 }, { to: '10.0.0.3', port: 80, weight: 10 }])
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { parseCidr, parseIp } from '../../validate/ip';
import { validateNftText } from '../../validate/names';
import { hostU32, validateVerdict, type Verdict, type VerdictCode } from '../data';
import { alignedLength, dataTypeByName, IP_PROTOCOLS, type DataTypeName, type Scalar } from '../datatypes';
import { toWireElements, type SetElement } from '../elements';
import { FIB_ADDRESS_TYPES, type FibFlag } from '../expressions/fib';
import { LIMIT_UNITS } from '../expressions/limit';
import type { LogFlag, LogLevel } from '../expressions/log';
import type { NatFlag } from '../expressions/nat-flags';
import type { Expression } from '../expressions/registry';
import { ICMPX_CODES } from '../expressions/reject';
import type { NftFamily } from '../message';
import { register32 } from '../registers';
import { shapeOf, type NftSet, type SetDataType } from '../set';
import type { AnonymousSet, BuiltRule, IdAllocator } from '../transaction';
import { CT_DIRECTIONS, CT_STATE_BITS, CT_STATUS_BITS, NFPROTO_NAMES, fieldByName, l4Dep, type Dependency, type Field, type FieldName } from './fields';

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
  /** Inline entries (an anonymous map), or "@name" of a named map. */
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

/** Accumulates expressions for one family while a builder runs. */
class BuildContext {
  readonly exprs: Expression[] = [];
  readonly sets: AnonymousSet[] = [];
  private readonly deps = new Set<string>();

  constructor(
    readonly family: NftFamily,
    private readonly ids: IdAllocator,
  ) {}

  need(deps: Dependency[]): void {
    for (const d of deps) {
      if (this.deps.has(d.key)) continue;
      this.deps.add(d.key);
      this.exprs.push(...d.expressions);
    }
  }

  /** Records that a protocol match the user wrote satisfies a dependency. */
  satisfied(key: string): void {
    this.deps.add(key);
  }

  push(...e: Expression[]): void {
    this.exprs.push(...e);
  }

  /** Creates an anonymous set/map bound to this rule; returns its lookup name and id. */
  anonymous(set: Omit<NftSet, 'family' | 'table' | 'name' | 'flags' | 'size'> & { interval: boolean }, elements: SetElement[]): { set: string; setId: number } {
    const isMap = set.dataType !== undefined;
    const def: NftSet = {
      family: this.family,
      table: '',
      name: isMap ? '__map%d' : '__set%d',
      keyType: set.keyType,
      keyLength: set.keyLength,
      dataType: set.dataType,
      dataLength: set.dataLength,
      flags: ['anonymous', 'constant', ...(set.interval ? ['interval' as const] : [])],
      userdata: set.userdata,
    };
    if (def.keyLength === undefined) delete def.keyLength;
    if (def.dataType === undefined) delete def.dataType;
    if (def.dataLength === undefined) delete def.dataLength;
    if (def.userdata === undefined) delete def.userdata;
    if (!elements.length) throw new ValidationError('set', elements, 'an inline set needs at least one element');
    def.size = toWireElements(shapeOf(def), elements).length;
    const id = this.ids.setId();
    this.sets.push({ set: def, id, elements });
    return { set: def.name, setId: id };
  }
}

type Step = (ctx: BuildContext) => void;

const NUMERIC_RANGE_TYPES = new Set(['inet_service', 'inet_proto', 'mark', 'ether_type', 'iface_index', 'uid', 'gid', 'integer', 'ipv4_addr', 'ipv6_addr', 'ct_dir', 'pkt_type', 'nf_proto']);

function isRangeString(field: Field, v: Scalar): boolean {
  return typeof v === 'string' && NUMERIC_RANGE_TYPES.has(field.type) && v.indexOf('-', 1) > 0 && !v.startsWith('@');
}

function isPrefixString(field: Field, v: Scalar): boolean {
  return typeof v === 'string' && (field.type === 'ipv4_addr' || field.type === 'ipv6_addr') && v.includes('/');
}

function parseValue(field: Field, v: Scalar): Buffer {
  // Own keys only: "constructor" is not a direction.
  if (field.type === 'ct_dir' && typeof v === 'string' && Object.hasOwn(CT_DIRECTIONS, v)) return Buffer.from([CT_DIRECTIONS[v]]);
  if (field.type === 'nf_proto' && typeof v === 'string' && Object.hasOwn(NFPROTO_NAMES, v)) return Buffer.from([NFPROTO_NAMES[v]]);
  return dataTypeByName(field.type).parse(v, field.len, field.name);
}

/** Big-endian bytes of a value of a host-order field, for range comparisons after `byteorder hton`. */
function bigEndianOf(field: Field, v: Scalar): Buffer {
  const host = parseValue(field, v);
  return field.type === 'mark' || field.type === 'iface_index' || field.type === 'uid' || field.type === 'gid' ? Buffer.from(host).reverse() : host;
}

function verdictOf(v: VerdictSpec): Verdict {
  if (typeof v === 'string') return validateVerdict({ code: v });
  if ('jump' in v) return { code: 'jump', chain: v.jump };
  if ('goto' in v) return { code: 'goto', chain: v.goto };
  return validateVerdict(v);
}

function ipFamilyOf(addr: string, field: string): 'ip' | 'ip6' {
  const first = addr.split('-')[0].trim();
  return parseIp(first, field).family === 6 ? 'ip6' : 'ip';
}

function portRange(p: number | string, field: string): [Buffer, Buffer] {
  const t = dataTypeByName('inet_service');
  if (typeof p === 'string' && p.indexOf('-', 1) > 0) {
    const [lo, hi] = p.split('-').map((x) => x.trim());
    return [t.parse(lo, 2, field), t.parse(hi, 2, field)];
  }
  const b = t.parse(p, 2, field);
  return [b, b];
}

/**
 * Builds one rule. Matches come first and are ANDed; actions and a verdict
 * follow. Every method returns the builder, so a rule reads left to right
 * like its nft source.
 */
export class RuleBuilder {
  private readonly steps: Step[] = [];
  private text?: string;

  private add(step: Step): this {
    this.steps.push(step);
    return this;
  }

  /** @internal produces the expressions (and inline sets) for a table of `family`. */
  build(family: NftFamily, ids: IdAllocator): BuiltRule {
    const ctx = new BuildContext(family, ids);
    for (const s of this.steps) s(ctx);
    const out: BuiltRule = { expressions: ctx.exprs, anonymousSets: ctx.sets };
    if (this.text !== undefined) out.comment = this.text;
    return out;
  }

  /**
   * Expressions for a family, for inspection or for `expressions:` (inline sets need a transaction).
   * @example
   * rule().tcp({ dport: 22 }).accept().toExpressions('inet')
   */
  toExpressions(family: NftFamily): Expression[] {
    let n = 1;
    const built = this.build(family, { setId: () => n++ });
    if (built.anonymousSets.length) throw new ValidationError('rule', 'inline set', 'rules with inline sets must be added through a transaction (rule: builder)');
    return built.expressions;
  }

  // ---- matches -------------------------------------------------------------

  /**
   * Matches any field against a value, prefix, range, wildcard, set or named set.
   * An array of fields matches a concatenation against a set of tuples or "@name".
   * @example
   * rule().match('tcp dport', [22, 80, '8000-8100']).accept()
   * rule().match(['ip saddr', 'tcp dport'], '@allowed').accept()
   */
  match(field: FieldName | FieldName[], value: MatchValue): this {
    return this.add((ctx) => (Array.isArray(field) && field.length > 1 ? matchConcat(ctx, field.map(fieldByName), value) : matchField(ctx, fieldByName(Array.isArray(field) ? field[0] : field), value)));
  }

  /**
   * IPv4 header fields.
   * @example
   * rule().ip({ saddr: '10.0.0.0/24', daddr: not('10.0.0.1') })
   */
  ip(m: { saddr?: MatchValue; daddr?: MatchValue; protocol?: MatchValue }): this {
    if (m.protocol !== undefined) this.match('ip protocol', m.protocol);
    if (m.saddr !== undefined) this.match('ip saddr', m.saddr);
    if (m.daddr !== undefined) this.match('ip daddr', m.daddr);
    return this;
  }

  /**
   * IPv6 header fields.
   * @example
   * rule().ip6({ daddr: 'fd00::/64' })
   */
  ip6(m: { saddr?: MatchValue; daddr?: MatchValue; nexthdr?: MatchValue }): this {
    if (m.nexthdr !== undefined) this.match('ip6 nexthdr', m.nexthdr);
    if (m.saddr !== undefined) this.match('ip6 saddr', m.saddr);
    if (m.daddr !== undefined) this.match('ip6 daddr', m.daddr);
    return this;
  }

  /**
   * TCP ports (adds `meta l4proto tcp`).
   * @example
   * rule().tcp({ dport: [80, 443] }).accept()
   */
  tcp(m: { sport?: MatchValue; dport?: MatchValue } = {}): this {
    return this.ports('tcp', m);
  }

  /**
   * UDP ports (adds `meta l4proto udp`).
   * @example
   * rule().udp({ dport: 53 }).accept()
   */
  udp(m: { sport?: MatchValue; dport?: MatchValue } = {}): this {
    return this.ports('udp', m);
  }

  /**
   * SCTP ports.
   * @example
   * rule().sctp({ dport: 3868 }).accept()
   */
  sctp(m: { sport?: MatchValue; dport?: MatchValue } = {}): this {
    return this.ports('sctp', m);
  }

  /**
   * Ports of whatever transport protocol (`th dport`); combine with {@link protocol}.
   * @example
   * rule().protocol(['tcp', 'udp']).th({ dport: 53 }).accept()
   */
  th(m: { sport?: MatchValue; dport?: MatchValue }): this {
    return this.ports('th', m);
  }

  private ports(proto: 'tcp' | 'udp' | 'sctp' | 'th', m: { sport?: MatchValue; dport?: MatchValue }): this {
    if (m.sport === undefined && m.dport === undefined && proto !== 'th') return this.protocol(proto);
    if (m.sport !== undefined) this.match(`${proto} sport` as FieldName, m.sport);
    if (m.dport !== undefined) this.match(`${proto} dport` as FieldName, m.dport);
    return this;
  }

  /**
   * The transport protocol (`meta l4proto`).
   * @example
   * rule().protocol('udp')
   */
  protocol(p: MatchValue): this {
    return this.add((ctx) => {
      matchField(ctx, fieldByName('meta l4proto'), p);
      if (!(p instanceof Negated) && !Array.isArray(p)) {
        const n = typeof p === 'string' && IP_PROTOCOLS.has(p) ? IP_PROTOCOLS.number(p) : Number(p);
        ctx.satisfied(`l4proto:${n}`);
      }
    });
  }

  /**
   * The layer-3 protocol in inet tables (`meta nfproto ipv4`).
   * @example
   * rule().nfproto('ipv6').accept()
   */
  nfproto(p: 'ipv4' | 'ipv6' | Negated<'ipv4' | 'ipv6'>): this {
    return this.add((ctx) => {
      matchField(ctx, fieldByName('meta nfproto'), p);
      if (!(p instanceof Negated)) ctx.satisfied(`nfproto:${NFPROTO_NAMES[p]}`);
    });
  }

  /**
   * Input interface by name; "veth*" matches a prefix.
   * @example
   * rule().iifname('cni0')
   */
  iifname(v: MatchValue): this {
    return this.match('meta iifname', v);
  }

  /**
   * Output interface by name.
   * @example
   * rule().oifname(not('cni0'))
   */
  oifname(v: MatchValue): this {
    return this.match('meta oifname', v);
  }

  /**
   * Input interface by index (fixed at rule creation, unlike names).
   * @example
   * rule().iif(1)
   */
  iif(v: MatchValue): this {
    return this.match('meta iif', v);
  }

  /**
   * Output interface by index.
   * @example
   * rule().oif(1)
   */
  oif(v: MatchValue): this {
    return this.match('meta oif', v);
  }

  /**
   * The packet mark (`meta mark`).
   * @example
   * rule().mark(0x10)
   */
  mark(v: MatchValue): this {
    return this.match('meta mark', v);
  }

  /**
   * Connection-tracking state, status, mark or direction. `state` and
   * `status` take one name or a list (any of them matches).
   * @example
   * rule().ct({ state: ['established', 'related'] }).accept()
   * rule().ct({ status: 'dnat' }).accept()
   */
  ct(m: {
    state?: CtStateName | CtStateName[] | Negated<CtStateName | CtStateName[]>;
    status?: CtStatusName | CtStatusName[] | Negated<CtStatusName | CtStatusName[]>;
    mark?: MatchValue;
    direction?: 'original' | 'reply' | Negated<'original' | 'reply'>;
  }): this {
    if (m.state !== undefined) this.add((ctx) => matchBits(ctx, fieldByName('ct state'), CT_STATE_BITS, m.state!));
    if (m.status !== undefined) this.add((ctx) => matchBits(ctx, fieldByName('ct status'), CT_STATUS_BITS, m.status!));
    if (m.mark !== undefined) this.match('ct mark', m.mark);
    if (m.direction !== undefined) this.match('ct direction', m.direction as MatchValue);
    return this;
  }

  /**
   * FIB address type of the packet's source or destination (`fib daddr type local`).
   * @example
   * rule().fib({ lookup: ['daddr'], type: 'local' }).tcp({ dport: 8080 }).dnat({ to: '10.0.0.2', port: 80 })
   */
  fib(m: { lookup: FibFlag[]; type: FibType | FibType[] | Negated<FibType | FibType[]> }): this {
    return this.add((ctx) => {
      const neg = m.type instanceof Negated;
      const v = m.type instanceof Negated ? m.type.value : m.type;
      const load: Expression = { type: 'fib', dreg: 1, result: 'type', flags: m.lookup };
      const encode = (t: FibType) => hostU32(FIB_ADDRESS_TYPES.number(t, 'fib type'));
      if (Array.isArray(v)) {
        ctx.push(load);
        const s = ctx.anonymous({ keyType: 'fib_addrtype' as DataTypeName, interval: false }, v.map((t) => ({ key: encode(t) })));
        ctx.push({ type: 'lookup', ...s, sreg: 1, ...(neg ? { invert: true } : {}) });
      } else {
        ctx.push(load, { type: 'cmp', sreg: 1, op: neg ? 'neq' : 'eq', data: encode(v) });
      }
    });
  }

  // ---- statements ----------------------------------------------------------

  /**
   * Counts packets and bytes.
   * @example
   * rule().tcp({ dport: 22 }).counter().accept()
   */
  counter(): this {
    return this.add((ctx) => ctx.push({ type: 'counter', packets: 0n, bytes: 0n }));
  }

  /**
   * Logs the packet (kernel log, or an nflog group).
   * @example
   * rule().log({ prefix: 'dropped: ' }).drop()
   */
  log(o: LogOptions = {}): this {
    return this.add((ctx) => {
      const e: Expression = { type: 'log' };
      if (o.prefix !== undefined) e.prefix = o.prefix;
      if (o.group !== undefined) {
        e.group = o.group;
        if (o.snaplen) e.snaplen = o.snaplen;
        if (o.queueThreshold) e.queueThreshold = o.queueThreshold;
      } else {
        e.level = o.level ?? 'warn';
        if (o.flags?.length) e.flags = o.flags;
      }
      ctx.push(e);
    });
  }

  /**
   * Rate limit; matches while under the limit (or over it with `over`).
   * @example
   * rule().limit({ rate: 10, per: 'second' }).accept()
   */
  limit(o: LimitOptions): this {
    return this.add((ctx) => {
      if (!Number.isInteger(o.rate) || o.rate <= 0) throw new ValidationError('limit rate', o.rate, 'must be a positive integer');
      const e: Expression = {
        type: 'limit',
        rate: o.rate,
        unit: LIMIT_UNITS.number(o.per ?? 'second', 'limit per'),
        burst: o.burst ?? (o.bytes ? 0 : 5),
        limitType: o.bytes ? 'bytes' : 'packets',
      };
      if (o.over) e.invert = true;
      ctx.push(e);
    });
  }

  /**
   * Sets the packet mark.
   * @example
   * rule().setMark(0x2000)
   */
  setMark(v: number): this {
    return this.add((ctx) => ctx.push({ type: 'immediate', dreg: 1, data: hostU32(v) }, { type: 'meta', key: 'mark', sreg: 1 }));
  }

  /**
   * Sets the connection's mark.
   * @example
   * rule().setCtMark(7)
   */
  setCtMark(v: number): this {
    return this.add((ctx) => ctx.push({ type: 'immediate', dreg: 1, data: hostU32(v) }, { type: 'ct', key: 'mark', sreg: 1 }));
  }

  /**
   * Exempts the packet from connection tracking (use in a raw-priority chain).
   * @example
   * rule().udp({ dport: 53 }).notrack()
   */
  notrack(): this {
    return this.add((ctx) => ctx.push({ type: 'notrack' }));
  }

  /**
   * Appends raw expressions (escape hatch).
   * @example
   * rule().expressions({ type: 'counter' })
   */
  expressions(...e: Expression[]): this {
    return this.add((ctx) => ctx.push(...e));
  }

  /**
   * The rule's comment (shown by `nft list`).
   * @example
   * rule().accept().comment('allow all')
   */
  comment(text: string): this {
    this.text = text;
    return this;
  }

  // ---- verdicts ------------------------------------------------------------

  /** Accepts the packet. @example rule().accept() */
  accept(): this {
    return this.verdict('accept');
  }

  /** Drops the packet. @example rule().drop() */
  drop(): this {
    return this.verdict('drop');
  }

  /** Returns to the calling chain. @example rule().return() */
  return(): this {
    return this.verdict('return');
  }

  /** Continues with the next rule (an explicit no-op verdict). @example rule().continue() */
  continue(): this {
    return this.verdict('continue');
  }

  /** Jumps to a chain and comes back. @example rule().jump('services') */
  jump(chain: string): this {
    return this.verdict({ jump: chain });
  }

  /** Goes to a chain without coming back. @example rule().goto('services') */
  goto(chain: string): this {
    return this.verdict({ goto: chain });
  }

  /**
   * Any verdict.
   * @example
   * rule().verdict({ jump: 'x' })
   */
  verdict(v: VerdictSpec): this {
    return this.add((ctx) => ctx.push({ type: 'immediate', dreg: 0, verdict: verdictOf(v) }));
  }

  /**
   * Verdict map: the verdict is looked up by field(s).
   * @example
   * rule().vmap('tcp dport', [{ key: 22, verdict: 'accept' }, { key: 23, verdict: 'drop' }])
   * rule().vmap(['ip saddr', 'tcp dport'], '@ports')
   */
  vmap(fields: FieldName | FieldName[], map: string | Array<{ key: Scalar | Scalar[]; verdict: VerdictSpec }>): this {
    return this.add((ctx) => {
      const fs = (Array.isArray(fields) ? fields : [fields]).map(fieldByName);
      loadFields(ctx, fs);
      const keyType = keyTypeOf(fs);
      if (typeof map === 'string') {
        ctx.push({ type: 'lookup', set: namedSet(map), sreg: 1, dreg: 0 });
        return;
      }
      const elements: SetElement[] = map.map((e) => ({ key: e.key, verdict: verdictOf(e.verdict) }));
      const s = ctx.anonymous({ keyType, dataType: 'verdict', interval: elements.some((e) => hasInterval(fs, e.key)) }, elements);
      ctx.push({ type: 'lookup', ...s, sreg: 1, dreg: 0 });
    });
  }

  /**
   * Rejects the packet with an ICMP error (default: port unreachable) or a TCP reset.
   * @example
   * rule().tcp({ dport: 23 }).reject({ with: 'tcp reset' })
   */
  reject(o: RejectOptions = {}): this {
    return this.add((ctx) => {
      const kind = o.with ?? (ctx.family === 'ip' || ctx.family === 'ip6' ? 'icmp' : 'icmpx');
      if (kind === 'tcp reset') {
        ctx.need([l4Dep(6)]);
        ctx.push({ type: 'reject', rejectType: 'tcp reset' });
        return;
      }
      let code: number;
      if (typeof o.code === 'number') code = o.code;
      else if (kind === 'icmpx') code = ICMPX_CODES.number(o.code ?? 'port-unreachable');
      else if (o.code !== undefined) throw new ValidationError('reject code', o.code, 'with icmp, give the numeric ICMP code');
      else code = ctx.family === 'ip6' ? 4 : 3; // port unreachable
      ctx.push({ type: 'reject', rejectType: kind, code });
    });
  }

  // ---- NAT -----------------------------------------------------------------

  /**
   * Source NAT to the outgoing interface's address.
   * @example
   * rule().ip({ saddr: '10.88.0.0/16' }).oifname(not('cni0')).masquerade()
   */
  masquerade(o: { port?: number | string; random?: boolean; fullyRandom?: boolean; persistent?: boolean } = {}): this {
    return this.add((ctx) => {
      const e: Expression = { type: 'masq' };
      const flags = natFlags(o, o.port !== undefined);
      if (o.port !== undefined) {
        const [lo, hi] = portRange(o.port, 'port');
        ctx.push({ type: 'immediate', dreg: 1, data: lo });
        if (!lo.equals(hi)) ctx.push({ type: 'immediate', dreg: 2, data: hi });
        e.regProtoMin = 1;
        e.regProtoMax = lo.equals(hi) ? 1 : 2;
      }
      if (flags.length) e.flags = flags;
      ctx.push(e);
    });
  }

  /**
   * Source NAT to an address (range) and optionally a port (range).
   * @example
   * rule().ip({ saddr: '10.0.0.0/24' }).snat({ to: '192.0.2.1' })
   */
  snat(o: NatOptions): this {
    return this.add((ctx) => nat(ctx, 'snat', o));
  }

  /**
   * Destination NAT to an address (range) and optionally a port (range).
   * @example
   * rule().tcp({ dport: 8080 }).dnat({ to: '10.88.0.2', port: 80 })
   */
  dnat(o: NatOptions): this {
    return this.add((ctx) => nat(ctx, 'dnat', o));
  }

  /**
   * Destination NAT through a map: the key (a number generator or packet
   * fields) selects the address (and port).
   * @example
   * rule().tcp({ dport: 80 }).dnatMap({ numgen: { mode: 'random', mod: 100 },
   *   entries: [{ key: '0-89', to: '10.0.0.2', port: 80 }, { key: '90-99', to: '10.0.0.3', port: 80 }] })
   */
  dnatMap(o: NatMapOptions): this {
    return this.add((ctx) => natMap(ctx, o));
  }

  /**
   * Weighted load balancing: each new connection goes to one backend with
   * probability weight / sum(weights) (`dnat to numgen random mod N map {...}`).
   * @example
   * rule().tcp({ dport: 80 }).dnatWeighted([{ to: '10.0.0.2', port: 80, weight: 90 }, { to: '10.0.0.3', port: 80, weight: 10 }])
   */
  dnatWeighted(backends: WeightedBackend[], o: { mode?: 'random' | 'incremental' } = {}): this {
    if (!Array.isArray(backends) || backends.length === 0) throw new ValidationError('backends', backends, 'needs at least one backend');
    let total = 0;
    const entries: NatMapEntry[] = backends.map((b) => {
      if (!Number.isInteger(b.weight) || b.weight <= 0) throw new ValidationError('weight', b.weight, 'must be a positive integer');
      const e: NatMapEntry = { key: b.weight === 1 ? total : `${total}-${total + b.weight - 1}`, to: b.to };
      if (b.port !== undefined) e.port = b.port;
      total += b.weight;
      return e;
    });
    return this.dnatMap({ numgen: { mode: o.mode ?? 'random', mod: total }, entries });
  }

  /**
   * Redirects to the local machine, optionally to another port.
   * @example
   * rule().tcp({ dport: 80 }).redirect({ port: 8080 })
   */
  redirect(o: { port?: number | string; random?: boolean; fullyRandom?: boolean; persistent?: boolean } = {}): this {
    return this.add((ctx) => {
      const e: Expression = { type: 'redir' };
      if (o.port !== undefined) {
        const [lo, hi] = portRange(o.port, 'port');
        ctx.push({ type: 'immediate', dreg: 1, data: lo });
        if (!lo.equals(hi)) ctx.push({ type: 'immediate', dreg: 2, data: hi });
        e.regProtoMin = 1;
        e.regProtoMax = lo.equals(hi) ? 1 : 2;
      }
      const flags = natFlags(o, o.port !== undefined);
      if (flags.length) e.flags = flags;
      ctx.push(e);
    });
  }
}

/** Conntrack states matched by `ct({ state })`. */
export type CtStateName = 'invalid' | 'established' | 'related' | 'new' | 'untracked';
/** Conntrack status bits matched by `ct({ status })`. */
export type CtStatusName = 'expected' | 'seen-reply' | 'assured' | 'confirmed' | 'snat' | 'dnat' | 'dying';
/** Route types matched by `fib({ type })` (`fib daddr type local`). */
export type FibType = 'unspec' | 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit';

/**
 * Starts a rule.
 * @example
 * tx.addRule({ family: 'inet', table: 'filter', chain: 'input', rule: rule().tcp({ dport: 22 }).accept() });
 */
export function rule(): RuleBuilder {
  return new RuleBuilder();
}

function namedSet(v: string): string {
  if (!v.startsWith('@') || v.length < 2) throw new ValidationError('set', v, 'a named set is written "@name"');
  return v.slice(1);
}

function natFlags(o: { random?: boolean; fullyRandom?: boolean; persistent?: boolean }, port: boolean, addr = false): NatFlag[] {
  const f: NatFlag[] = [];
  if (addr) f.push('map-ips');
  if (port) f.push('proto-specified');
  if (o.random) f.push('random');
  if (o.persistent) f.push('persistent');
  if (o.fullyRandom) f.push('fully-random');
  return f;
}

function nat(ctx: BuildContext, kind: 'snat' | 'dnat', o: NatOptions): void {
  if (!o || (o.to === undefined && o.port === undefined)) throw new ValidationError(kind, o, 'needs `to` (an address) and/or `port`');
  if (o.to === undefined) throw new ValidationError(`${kind} to`, o.to, 'an address is required (use redirect for a port only)');
  const family = o.family ?? (ctx.family === 'ip6' ? 'ip6' : ctx.family === 'ip' ? 'ip' : ipFamilyOf(o.to, `${kind} to`));
  const v = family === 'ip6' ? 6 : 4;
  let reg = 1;
  const e: Expression = { type: 'nat', nat: kind, family };
  const dash = o.to.indexOf('-', 1);
  const lo = parseIp(dash > 0 ? o.to.slice(0, dash).trim() : o.to, `${kind} to`, v).bytes;
  const hi = dash > 0 ? parseIp(o.to.slice(dash + 1).trim(), `${kind} to`, v).bytes : lo;
  ctx.push({ type: 'immediate', dreg: reg, data: lo });
  e.regAddrMin = reg++;
  if (!hi.equals(lo)) ctx.push({ type: 'immediate', dreg: reg, data: hi });
  e.regAddrMax = hi.equals(lo) ? e.regAddrMin : reg++;
  if (o.port !== undefined) {
    const [plo, phi] = portRange(o.port, `${kind} port`);
    ctx.push({ type: 'immediate', dreg: reg, data: plo });
    e.regProtoMin = reg++;
    if (!phi.equals(plo)) ctx.push({ type: 'immediate', dreg: reg, data: phi });
    e.regProtoMax = phi.equals(plo) ? e.regProtoMin : reg++;
  }
  e.flags = natFlags(o, o.port !== undefined, true);
  ctx.push(e);
}

function natMap(ctx: BuildContext, o: NatMapOptions): void {
  if ((o.numgen === undefined) === (o.fields === undefined)) throw new ValidationError('dnatMap', o, 'give exactly one of numgen or fields');
  let keyType: SetDataType;
  let keyLength: number | undefined;
  let interval = false;
  let userdata: Buffer | undefined;
  let hostKeys = false;
  const keyFields = o.fields !== undefined ? (Array.isArray(o.fields) ? o.fields : [o.fields]).map(fieldByName) : [];
  if (o.numgen) {
    const { mode, mod, offset } = o.numgen;
    if (!Number.isInteger(mod) || mod <= 0) throw new ValidationError('numgen mod', mod, 'must be a positive integer');
    ctx.push({ type: 'numgen', dreg: 1, mode, modulus: mod, offset: offset ?? 0 });
    interval = typeof o.entries !== 'string' && o.entries.some((e) => typeof e.key === 'string' && e.key.includes('-'));
    // numgen yields a host-order number. Interval maps compare big-endian keys,
    // so nft converts it first; plain maps keep host-order keys.
    if (interval) ctx.push({ type: 'byteorder', sreg: 1, dreg: 1, op: 'hton', len: 4, size: 4 });
    hostKeys = !interval;
    keyType = 'integer';
    keyLength = 4;
    // nft's own hints for this map (key: host-order integer), so `nft list` prints the keys as numbers.
    userdata = Buffer.from([0, 4, ...hostU32(1), 1, 4, 0, 0, 0, 0, 6, 4, 0, 0, 0, 0]);
  } else {
    loadFields(ctx, keyFields);
    keyType = keyTypeOf(keyFields);
    interval = typeof o.entries !== 'string' && o.entries.some((e) => hasInterval(keyFields, e.key));
  }
  const entries = o.entries;
  let family: 'ip' | 'ip6' = o.family ?? (ctx.family === 'ip6' ? 'ip6' : 'ip');
  let withPort = false;
  let lookup: { set: string; setId?: number };
  if (typeof entries === 'string') {
    lookup = { set: namedSet(entries) };
    withPort = true;
  } else {
    if (!entries.length) throw new ValidationError('entries', entries, 'needs at least one entry');
    if (o.family === undefined) family = ipFamilyOf(entries[0].to, 'to');
    withPort = entries.some((e) => e.port !== undefined);
    if (withPort && entries.some((e) => e.port === undefined)) throw new ValidationError('entries', entries, 'give a port for every entry or for none');
    const addrType: DataTypeName = family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
    const keyOf = (k: Scalar | Scalar[]) => (hostKeys && typeof k !== 'object' ? hostU32(Number(k)) : k);
    const elements: SetElement[] = entries.map((e) => ({ key: keyOf(e.key), value: withPort ? [e.to, e.port!] : e.to }));
    lookup = ctx.anonymous({ keyType, keyLength, dataType: withPort ? [addrType, 'inet_service'] : addrType, interval, userdata }, elements);
  }
  ctx.push({ type: 'lookup', ...lookup, sreg: 1, dreg: 1 });
  const e: Expression = { type: 'nat', nat: 'dnat', family, regAddrMin: 1, regAddrMax: 1 };
  if (withPort) {
    const portReg = register32(alignedLength(family === 'ip6' ? 16 : 4) / 4);
    e.regProtoMin = portReg;
    e.regProtoMax = portReg;
  }
  e.flags = natFlags({}, withPort, true);
  ctx.push(e);
}

/** Loads fields into consecutive registers (a concatenation starts at register 1). */
function loadFields(ctx: BuildContext, fields: Field[]): void {
  for (const f of fields) ctx.need(f.deps(ctx.family));
  let idx = 0;
  for (const f of fields) {
    ctx.push(f.load(register32(idx)));
    idx += alignedLength(f.len) / 4;
  }
}

function keyTypeOf(fields: Field[]): SetDataType {
  const names = fields.map((f) => f.type as DataTypeName);
  return names.length === 1 ? names[0] : names;
}

function hasInterval(fields: Field[], key: Scalar | Scalar[]): boolean {
  const parts = fields.length > 1 && Array.isArray(key) ? key : [key as Scalar];
  return parts.some((p, i) => fields[i] && (isPrefixString(fields[i], p) || isRangeString(fields[i], p)));
}

function matchConcat(ctx: BuildContext, fields: Field[], value: MatchValue): void {
  const neg = value instanceof Negated;
  const v = value instanceof Negated ? value.value : value;
  loadFields(ctx, fields);
  if (typeof v === 'string') {
    ctx.push({ type: 'lookup', set: namedSet(v), sreg: 1, ...(neg ? { invert: true } : {}) });
    return;
  }
  if (!Array.isArray(v) || !v.every((x) => Array.isArray(x))) {
    throw new ValidationError('match', v, 'a concatenation matches a set of tuples ([[a, b], ...]) or "@name"');
  }
  const tuples = v as unknown as Scalar[][];
  const s = ctx.anonymous({ keyType: keyTypeOf(fields), interval: tuples.some((t) => hasInterval(fields, t)) }, tuples.map((t) => ({ key: t })));
  ctx.push({ type: 'lookup', ...s, sreg: 1, ...(neg ? { invert: true } : {}) });
}

function matchField(ctx: BuildContext, field: Field, value: MatchValue): void {
  const neg = value instanceof Negated;
  const v = value instanceof Negated ? value.value : value;
  ctx.need(field.deps(ctx.family));
  const load = field.load(1);
  const op = neg ? 'neq' : 'eq';
  if (typeof v === 'string' && v.startsWith('@')) {
    ctx.push(load, { type: 'lookup', set: namedSet(v), sreg: 1, ...(neg ? { invert: true } : {}) });
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) throw new ValidationError(field.name, v, 'an inline set needs at least one element');
    ctx.push(load);
    const s = ctx.anonymous(
      { keyType: field.type as DataTypeName, interval: v.some((x) => isPrefixString(field, x) || isRangeString(field, x)) },
      v.map((x) => ({ key: field.type === 'ifname' ? parseValue(field, x) : x })),
    );
    ctx.push({ type: 'lookup', ...s, sreg: 1, ...(neg ? { invert: true } : {}) });
    return;
  }
  if (field.type === 'ifname' && typeof v === 'string' && v.endsWith('*')) {
    // Wildcard: compare only the prefix bytes.
    const prefix = Buffer.from(validateNftText(v, field.name).slice(0, -1), 'utf8');
    if (prefix.length === 0) throw new ValidationError(field.name, v, 'a wildcard needs at least one character before "*"');
    ctx.push(load, { type: 'cmp', sreg: 1, op, data: prefix });
    return;
  }
  if (isPrefixString(field, v)) {
    const c = parseCidr(v as string, field.name, { family: field.type === 'ipv4_addr' ? 4 : 6 });
    const net = Buffer.from(c.bytes);
    const mask = Buffer.alloc(net.length);
    for (let bit = 0; bit < c.prefixLength; bit++) mask[bit >> 3] |= 0x80 >> (bit & 7);
    for (let i = 0; i < net.length; i++) net[i] &= mask[i];
    if (c.prefixLength === 0) return; // matches every address of the family
    if (c.prefixLength % 8 === 0 && load.type === 'payload') {
      // Whole bytes: load only the prefix bytes (as nft does).
      const len = c.prefixLength / 8;
      ctx.push({ ...load, len }, { type: 'cmp', sreg: 1, op, data: net.subarray(0, len) });
    } else {
      ctx.push(load, { type: 'bitwise', sreg: 1, dreg: 1, len: net.length, op: 'mask-xor', mask, xor: Buffer.alloc(net.length) }, { type: 'cmp', sreg: 1, op, data: net });
    }
    return;
  }
  if (isRangeString(field, v)) {
    const text = v as string;
    const dash = text.indexOf('-', 1);
    const hostOrder = dataTypeByName(field.type).hostOrder;
    const lo = bigEndianOf(field, text.slice(0, dash).trim());
    const hi = bigEndianOf(field, text.slice(dash + 1).trim());
    if (Buffer.compare(lo, hi) > 0) throw new ValidationError(field.name, v, 'range start is above its end');
    ctx.push(load);
    if (hostOrder) ctx.push({ type: 'byteorder', sreg: 1, dreg: 1, op: 'hton', len: field.len, size: field.len });
    if (neg) ctx.push({ type: 'range', sreg: 1, op: 'neq', from: lo, to: hi });
    else ctx.push({ type: 'cmp', sreg: 1, op: 'gte', data: lo }, { type: 'cmp', sreg: 1, op: 'lte', data: hi });
    return;
  }
  ctx.push(load, { type: 'cmp', sreg: 1, op, data: parseValue(field, v as Scalar) });
}

function matchBits(ctx: BuildContext, field: Field, bits: Record<string, number>, value: string | string[] | Negated<string | string[]>): void {
  const neg = value instanceof Negated;
  const v = value instanceof Negated ? value.value : value;
  const names = Array.isArray(v) ? v : [v];
  if (!names.length) throw new ValidationError(field.name, v, 'needs at least one name');
  let mask = 0;
  for (const n of names) {
    if (!Object.hasOwn(bits, n)) throw new ValidationError(field.name, n, `must be one of ${Object.keys(bits).join(', ')}`);
    mask |= bits[n];
  }
  ctx.push(field.load(1));
  if (neg && names.length === 1) {
    ctx.push({ type: 'cmp', sreg: 1, op: 'neq', data: hostU32(mask) });
    return;
  }
  ctx.push(
    { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: hostU32(mask), xor: hostU32(0) },
    { type: 'cmp', sreg: 1, op: neg ? 'eq' : 'neq', data: hostU32(0) },
  );
}
