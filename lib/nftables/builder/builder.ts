/**
 * The rule builder: readable matches and actions on top of raw expressions,
 * so callers never juggle registers, byte orders or protocol dependencies.
 * The expressions it produces are the ones nft itself generates (and the
 * kernel lists back), so `nft list ruleset` prints them naturally.
 *
 * This file is the fluent class only: each method records a step; the
 * lowering lives in match.ts, nat.ts and statements.ts, the option types in
 * options.ts, and what a built rule is in context.ts.
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
import { validateU32 } from '../../validate/integers';
import { hostU32 } from '../data';
import { IP_PROTOCOLS, type Scalar } from '../datatypes';
import type { FibFlag } from '../expressions/fib';
import type { Expression } from '../expressions/registry';
import type { NftFamily } from '../message';
import { BuildContext, type BuiltRule, type IdAllocator, type Step } from './context';
import { CT_STATE_BITS, CT_STATUS_BITS, NFPROTO_NAMES, fieldByName, type FieldName } from './fields';
import { matchBits, matchConcat, matchFib, matchField } from './match';
import { nat, natMap, portNat, weightedEntries } from './nat';
import { checkRawExpressions } from './raw-checks';
import {
  Negated,
  type CtStateName,
  type CtStatusName,
  type FibType,
  type LimitOptions,
  type LogOptions,
  type MatchValue,
  type NatMapOptions,
  type NatOptions,
  type RejectOptions,
  type VerdictSpec,
  type WeightedBackend,
} from './options';
import { limit, log, reject, verdictOf, vmap } from './statements';

export { Negated, not } from './options';
export type {
  CtStateName,
  CtStatusName,
  FibType,
  LimitOptions,
  LogOptions,
  MatchValue,
  NatMapEntry,
  NatMapOptions,
  NatOptions,
  RejectOptions,
  VerdictSpec,
  WeightedBackend,
} from './options';

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
    ctx.checkComplete();
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
    if (built.anonymousSets.length)
      throw new ValidationError('rule', 'inline set', 'rules with inline sets must be added through a transaction (rule: builder)');
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
    return this.add((ctx) =>
      Array.isArray(field) && field.length > 1
        ? matchConcat(ctx, field.map(fieldByName), value)
        : matchField(ctx, fieldByName(Array.isArray(field) ? field[0] : field), value),
    );
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
    const { state, status } = m;
    if (state !== undefined) this.add((ctx) => matchBits(ctx, fieldByName('ct state'), CT_STATE_BITS, state));
    if (status !== undefined) this.add((ctx) => matchBits(ctx, fieldByName('ct status'), CT_STATUS_BITS, status));
    if (m.mark !== undefined) this.match('ct mark', m.mark);
    if (m.direction !== undefined) this.match('ct direction', m.direction);
    return this;
  }

  /**
   * FIB address type of the packet's source or destination (`fib daddr type local`).
   * @example
   * rule().fib({ lookup: ['daddr'], type: 'local' }).tcp({ dport: 8080 }).dnat({ to: '10.0.0.2', port: 80 })
   */
  fib(m: { lookup: FibFlag[]; type: FibType | FibType[] | Negated<FibType | FibType[]> }): this {
    return this.add((ctx) => matchFib(ctx, m.lookup, m.type));
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
    return this.add((ctx) => log(ctx, o));
  }

  /**
   * Rate limit; matches while under the limit (or over it with `over`).
   * @example
   * rule().limit({ rate: 10, per: 'second' }).accept()
   */
  limit(o: LimitOptions): this {
    return this.add((ctx) => limit(ctx, o));
  }

  /**
   * Sets the packet mark.
   * @example
   * rule().setMark(0x2000)
   */
  setMark(v: number): this {
    const mark = validateU32(v, 'mark');
    return this.add((ctx) => ctx.push({ type: 'immediate', dreg: 1, data: hostU32(mark) }, { type: 'meta', key: 'mark', sreg: 1 }));
  }

  /**
   * Sets the connection's mark.
   * @example
   * rule().setCtMark(7)
   */
  setCtMark(v: number): this {
    const mark = validateU32(v, 'ct mark');
    return this.add((ctx) => ctx.push({ type: 'immediate', dreg: 1, data: hostU32(mark) }, { type: 'ct', key: 'mark', sreg: 1 }));
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
    return this.add((ctx) => {
      checkRawExpressions(ctx, e);
      ctx.push(...e);
    });
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
    return this.add((ctx) => vmap(ctx, fields, map));
  }

  /**
   * Rejects the packet with an ICMP error (default: port unreachable) or a TCP reset.
   * @example
   * rule().tcp({ dport: 23 }).reject({ with: 'tcp reset' })
   */
  reject(o: RejectOptions = {}): this {
    return this.add((ctx) => reject(ctx, o));
  }

  // ---- NAT -----------------------------------------------------------------

  /**
   * Source NAT to the outgoing interface's address.
   * @example
   * rule().ip({ saddr: '10.88.0.0/16' }).oifname(not('cni0')).masquerade()
   */
  masquerade(o: { port?: number | string; random?: boolean; fullyRandom?: boolean; persistent?: boolean } = {}): this {
    return this.add((ctx) => portNat(ctx, 'masq', o));
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
    const { entries, total } = weightedEntries(backends);
    return this.dnatMap({ numgen: { mode: o.mode ?? 'random', mod: total }, entries });
  }

  /**
   * Redirects to the local machine, optionally to another port.
   * @example
   * rule().tcp({ dport: 80 }).redirect({ port: 8080 })
   */
  redirect(o: { port?: number | string; random?: boolean; fullyRandom?: boolean; persistent?: boolean } = {}): this {
    return this.add((ctx) => portNat(ctx, 'redir', o));
  }
}

/**
 * Starts a rule.
 * @example
 * tx.addRule({ family: 'inet', table: 'filter', chain: 'input', rule: rule().tcp({ dport: 22 }).accept() });
 */
export function rule(): RuleBuilder {
  return new RuleBuilder();
}
