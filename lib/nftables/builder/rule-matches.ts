/**
 * The rule builder's matches: packet header fields, interfaces, marks,
 * connection tracking and FIB lookups. Each method records a step; the
 * lowering lives in match.ts and header-matches.ts.
 * @module
 */
import { IP_PROTOCOLS } from '../datatypes';
import type { FibFlag } from '../expressions/fib';
import { CT_STATE_BITS, CT_STATUS_BITS, NFPROTO_NAMES, fieldByName, type FieldName } from './fields';
import { matchBits, matchConcat, matchFib, matchField } from './match';
import { Negated, type CtStateName, type CtStatusName, type FibType, type MatchValue } from './options';
import { RuleSteps } from './rule-steps';

/** Matches of a rule (the base of RuleBuilder, which adds statements and verdicts). */
export abstract class RuleMatches extends RuleSteps {
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
}
