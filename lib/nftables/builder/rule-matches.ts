/**
 * The rule builder's matches: packet header fields, interfaces, marks,
 * connection tracking and FIB lookups. Each method records a step; the
 * lowering lives in match.ts and header-matches.ts.
 * @module
 */
import { validateU32 } from '../../validate/integers';
import { isObject } from '../../validate/options';
import type { CtLabelMap } from '../../validate/connlabels';
import { IP_PROTOCOLS } from '../datatypes';
import type { FibFlag } from '../expressions/fib';
import { CT_STATE_BITS, CT_STATUS_BITS, NFPROTO_NAMES, fieldByName, type FieldName } from './fields';
import { matchBits, matchConcat, matchFib, matchField } from './match';
import { ctLabelMatch, ctZoneMatch } from './ct';
import { matchDscp, matchTcpFlags, matchTcpOption } from './header-matches';
import { isMaskedMark, matchMaskedMark } from './marks';
import {
  Negated,
  not,
  type CtStateName,
  type CtStatusName,
  type DscpName,
  type FibType,
  type MaskedMark,
  type MatchValue,
  type TcpFlagsMatch,
  type TcpOptionMatch,
  type TcpOptionName,
} from './options';
import type { BuildContext } from './context';
import { NOT_SLOT, fieldSlotKind, matchValueShape, slotWord, type SlotKind, type SlotWord } from './rule-shape';
import { RuleSteps } from './rule-steps';

/** The port fields of each transport protocol (not built per rule: a field name is a map key). */
const PORT_FIELDS = {
  tcp: { sport: 'tcp sport', dport: 'tcp dport' },
  udp: { sport: 'udp sport', dport: 'udp dport' },
  sctp: { sport: 'sctp sport', dport: 'sctp dport' },
  th: { sport: 'th sport', dport: 'th dport' },
} as const;

/** The key part of a match of a field with a plain value in a slot, by field (the same as match() makes for it). */
const SLOT_MATCH_PARTS = new Map<string, string>();

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
    // The common case first (one field, a plain value of its slot kind: a port, an address), without
    // matchValueShape's object and with the field's key part made once: run for every rule, interpreted.
    if (typeof field === 'string' && !(value instanceof Negated)) {
      const kind = fieldSlotKind(field);
      const word = kind === undefined ? NOT_SLOT : slotWord(kind, value);
      if (word !== NOT_SLOT) return this.slotMatch(field, kind as SlotKind, value, word);
    }
    if (Array.isArray(field) && field.length > 1) return this.add((ctx) => matchConcat(ctx, field.map(fieldByName), value));
    const name = Array.isArray(field) ? field[0] : field;
    // One field and a plain value: a shaped step (its value in a slot when it varies by kind, else in the key).
    const s = typeof name === 'string' ? matchValueShape(name, value) : undefined;
    if (s === undefined) return this.add((ctx) => matchField(ctx, fieldByName(name), value));
    const part = `m${name.length}:${name}${s.part}`;
    if (s.kind === undefined) {
      // A copy of a not(): the value as the key has it, whatever is written to the Negated later.
      const own = (s.negated ? not(s.inner) : s.inner) as MatchValue;
      return this.shaped(part, (ctx) => matchField(ctx, fieldByName(name), own));
    }
    const i = this.slot(s.kind, s.inner, s.word);
    const values = this.slotValues;
    const negated = s.negated;
    return this.shaped(part, (ctx) => matchField(ctx, fieldByName(name), (negated ? not(values[i]) : values[i]) as MatchValue));
  }

  /** A shaped match of one field whose plain value is in a slot (see {@link match}). */
  private slotMatch(name: FieldName, kind: SlotKind, value: unknown, word: SlotWord): this {
    let part = SLOT_MATCH_PARTS.get(name);
    if (part === undefined) SLOT_MATCH_PARTS.set(name, (part = `m${name.length}:${name}$${kind.code}`));
    const i = this.slot(kind, value, word);
    const values = this.slotValues;
    return this.shaped(part, (ctx) => matchField(ctx, fieldByName(name), values[i] as MatchValue));
  }

  /**
   * IPv4 header fields; `dscp` by name ("ef", "af11", "cs1") or number.
   * @example
   * rule().ip({ saddr: '10.0.0.0/24', daddr: not('10.0.0.1') })
   * rule().ip({ ttl: 64, dscp: 'ef' })
   */
  ip(m: { saddr?: MatchValue; daddr?: MatchValue; protocol?: MatchValue; ttl?: MatchValue; dscp?: DscpName | number }): this {
    if (m.protocol !== undefined) this.match('ip protocol', m.protocol);
    if (m.saddr !== undefined) this.match('ip saddr', m.saddr);
    if (m.daddr !== undefined) this.match('ip daddr', m.daddr);
    if (m.ttl !== undefined) this.match('ip ttl', m.ttl);
    const { dscp } = m;
    if (dscp !== undefined) this.add((ctx) => matchDscp(ctx, 'ip dscp', dscp));
    return this;
  }

  /**
   * IPv6 header fields.
   * @example
   * rule().ip6({ daddr: 'fd00::/64' })
   * rule().ip6({ hoplimit: 255 })
   */
  ip6(m: { saddr?: MatchValue; daddr?: MatchValue; nexthdr?: MatchValue; hoplimit?: MatchValue; dscp?: DscpName | number }): this {
    if (m.nexthdr !== undefined) this.match('ip6 nexthdr', m.nexthdr);
    if (m.saddr !== undefined) this.match('ip6 saddr', m.saddr);
    if (m.daddr !== undefined) this.match('ip6 daddr', m.daddr);
    if (m.hoplimit !== undefined) this.match('ip6 hoplimit', m.hoplimit);
    const { dscp } = m;
    if (dscp !== undefined) this.add((ctx) => matchDscp(ctx, 'ip6 dscp', dscp));
    return this;
  }

  /**
   * TCP ports and flags (adds `meta l4proto tcp`). `flags: 'syn'` matches
   * any of the flags set; `{ mask, equals }` the flags under the mask exactly.
   * @example
   * rule().tcp({ dport: [80, 443] }).accept()
   * rule().tcp({ flags: { mask: ['syn', 'ack'], equals: ['syn'] } }).counter()
   */
  tcp(m: { sport?: MatchValue; dport?: MatchValue; flags?: TcpFlagsMatch } = {}): this {
    const { flags } = m;
    if (flags === undefined) return this.ports('tcp', m);
    if (m.sport !== undefined || m.dport !== undefined) this.ports('tcp', m);
    return this.add((ctx) => matchTcpFlags(ctx, flags));
  }

  /**
   * A TCP option: present or absent (`{ exists }`), or one of its fields
   * (`tcp option maxseg size 1460`). Only SYN packets carry most options.
   * @example
   * rule().tcpOption('maxseg', { size: 1460 }).accept()
   * rule().tcpOption('sack-perm', { exists: true }).accept()
   */
  tcpOption(name: TcpOptionName, m: TcpOptionMatch): this {
    return this.add((ctx) => matchTcpOption(ctx, name, m));
  }

  /**
   * ICMP type and code; types by name ("echo-request") or number.
   * @example
   * rule().icmp({ type: 'echo-request' }).accept()
   */
  icmp(m: { type?: MatchValue; code?: MatchValue }): this {
    if (m.type !== undefined) this.match('icmp type', m.type);
    if (m.code !== undefined) this.match('icmp code', m.code);
    return this;
  }

  /**
   * ICMPv6 type and code; types by name ("nd-neighbor-solicit") or number.
   * @example
   * rule().icmpv6({ type: ['nd-neighbor-solicit', 'nd-neighbor-advert'] }).accept()
   */
  icmpv6(m: { type?: MatchValue; code?: MatchValue }): this {
    if (m.type !== undefined) this.match('icmpv6 type', m.type);
    if (m.code !== undefined) this.match('icmpv6 code', m.code);
    return this;
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
    if (m.sport !== undefined) this.match(PORT_FIELDS[proto].sport, m.sport);
    if (m.dport !== undefined) this.match(PORT_FIELDS[proto].dport, m.dport);
    return this;
  }

  /**
   * The transport protocol (`meta l4proto`).
   * @example
   * rule().protocol('udp')
   */
  protocol(p: MatchValue): this {
    const s = matchValueShape('meta l4proto', p);
    // Shaped: the value as the key has it (a copy of a not(), whatever is written to the Negated later).
    const own = s ? ((s.negated ? not(s.inner) : s.inner) as MatchValue) : p;
    const step = (ctx: BuildContext): void => {
      matchField(ctx, fieldByName('meta l4proto'), own);
      if (!(own instanceof Negated) && !Array.isArray(own)) {
        const n = typeof own === 'string' && IP_PROTOCOLS.has(own) ? IP_PROTOCOLS.number(own) : Number(own);
        ctx.satisfied(`l4proto:${n}`);
      }
    };
    return s ? this.shaped(`p${s.part}`, step) : this.add(step);
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
   * The packet mark (`meta mark`), or bits of it (`meta mark & 0xff00 == 0x100`).
   * @example
   * rule().mark(0x10)
   * rule().mark({ mask: 0xff00, value: 0x100 })
   */
  mark(v: MatchValue | MaskedMark): this {
    if (isMaskedMark(v)) return this.add((ctx) => matchMaskedMark(ctx, 'meta mark', v));
    return this.match('meta mark', v);
  }

  /**
   * Connection-tracking state, status, mark (or bits of it), direction,
   * zone or label. `state` and `status` take one name or a list (any of them
   * matches); `label` is a label bit (0-127) or a name, looked up in `labels`
   * or else connlabel.conf (as `setCtLabel`).
   * @example
   * rule().ct({ state: ['established', 'related'] }).accept()
   * rule().ct({ status: 'dnat' }).accept()
   * rule().ct({ mark: { mask: 0xff00, value: 0x100 }, zone: 5 }).accept()
   * rule().ct({ label: 'web', labels: { web: 3 } }).accept()
   */
  ct(m: {
    state?: CtStateName | CtStateName[] | Negated<CtStateName | CtStateName[]>;
    status?: CtStatusName | CtStatusName[] | Negated<CtStatusName | CtStatusName[]>;
    mark?: MatchValue | MaskedMark;
    direction?: 'original' | 'reply' | Negated<'original' | 'reply'>;
    zone?: number;
    label?: number | string;
    labels?: CtLabelMap;
  }): this {
    const { state, status, mark } = m;
    if (state !== undefined) this.add((ctx) => matchBits(ctx, fieldByName('ct state'), CT_STATE_BITS, state));
    if (status !== undefined) this.add((ctx) => matchBits(ctx, fieldByName('ct status'), CT_STATUS_BITS, status));
    if (isMaskedMark(mark)) this.add((ctx) => matchMaskedMark(ctx, 'ct mark', mark));
    else if (mark !== undefined) this.match('ct mark', mark);
    if (m.direction !== undefined) this.match('ct direction', m.direction);
    if (m.zone !== undefined) this.add(ctZoneMatch(m.zone));
    if (m.label !== undefined) this.add(ctLabelMatch(m.label, m.labels));
    return this;
  }

  /**
   * The number of connections like this one (same conntrack key: per source
   * address when used in a set element, else all) — `ct count over 2`.
   * `over` matches above the count, `atMost` up to it.
   * @example
   * rule().tcp({ dport: 22 }).ct({ state: 'new' }).ctCount({ over: 2 }).reject({ with: 'tcp reset' })
   */
  ctCount(o: { over: number } | { atMost: number }): this {
    const over = isObject(o) && 'over' in o;
    const count = validateU32(over ? o.over : isObject(o) ? o.atMost : undefined, over ? 'ct count over' : 'ct count atMost');
    return this.add((ctx) => ctx.push({ type: 'connlimit', count, ...(over ? { invert: true } : {}) }));
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
