/**
 * The rule builder: readable matches and actions on top of raw expressions,
 * so callers never juggle registers, byte orders or protocol dependencies.
 * The expressions it produces are the ones nft itself generates (and the
 * kernel lists back), so `nft list ruleset` prints them naturally.
 *
 * This file is the fluent class's statements, verdicts and NAT (its matches
 * are in rule-matches.ts, the recorded steps in rule-steps.ts): each method
 * records a step; the lowering lives in match.ts, nat.ts and statements.ts,
 * the option types in options.ts, and what a built rule is in context.ts.
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
import type { Scalar } from '../datatypes';
import type { Expression } from '../expressions/registry';
import { hasOnlyKeys, isObject, rejectUnknownKeys } from '../../validate/options';
import type { BuildContext } from './context';
import { ctHelperSet, ctLabelSet, ctZoneSet } from './ct';
import { dispatch } from './dispatch';
import { dup, fwd, queue, tproxy } from './diversions';
import type { FieldName } from './fields';
import { markUpdate } from './marks';
import { NAT_KEYS, PORT_NAT_KEYS, nat, natMap, portNat, weightedEntries } from './nat';
import { checkRawExpressions } from './raw-checks';
import type {
  CtLabelOptions,
  DispatchOptions,
  DupOptions,
  LimitOptions,
  LogOptions,
  MarkUpdate,
  NatMapOptions,
  NatOptions,
  QueueOptions,
  QuotaOptions,
  RejectOptions,
  SetUpdateOptions,
  TproxyOptions,
  VerdictSpec,
  WeightedBackend,
} from './options';
import { RuleMatches } from './rule-matches';
import { IPV4, IPV6, NOT_SLOT, PORT, STRING_SLOT, addressWord, literal, slotWord, type SlotWord } from './rule-shape';
import { setUpdate } from './set-updates';
import { limit, log, objectRef, quota, reject, verdictOf, vmap } from './statements';

export { Negated, not } from './options';
export type {
  CtLabelOptions,
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
  DispatchOptions,
  DscpName,
  DupOptions,
  MarkUpdate,
  MaskedMark,
  QueueOptions,
  QuotaOptions,
  SetUpdateOptions,
  TcpFlagName,
  TcpFlagsMatch,
  TcpOptionMatch,
  TcpOptionName,
  TproxyOptions,
} from './options';

/**
 * Builds one rule. Matches come first and are ANDed; actions and a verdict
 * follow. Every method returns the builder, so a rule reads left to right
 * like its nft source.
 */
export class RuleBuilder extends RuleMatches {
  // ---- statements ----------------------------------------------------------

  /**
   * Counts packets and bytes, in the rule or in a named counter object of the table.
   * @example
   * rule().tcp({ dport: 22 }).counter().accept()
   * rule().tcp({ dport: 22 }).counter({ name: 'ssh' }).accept()
   */
  counter(o?: { name: string }): this {
    if (o === undefined) return this.shaped('c', (ctx) => ctx.push({ type: 'counter', packets: 0n, bytes: 0n }));
    const step = objectRef('counter', o); // validates the name: it goes into the key
    return this.shaped(`C${literal(o.name)}`, step);
  }

  /**
   * Byte quota, inline or a named quota object; matches while under it (or once over, with `over`).
   * @example
   * rule().quota({ bytes: 100 * 1024 * 1024, over: true }).drop()
   * rule().quota({ name: 'monthly' }).accept()
   */
  quota(o: QuotaOptions): this {
    return this.add(quota(o));
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
   * Rate limit; matches while under the limit (or over it with `over`). `{ name }` uses a limit object of the table.
   * @example
   * rule().limit({ rate: 10, per: 'second' }).accept()
   * rule().limit({ name: 'per-client' }).accept()
   */
  limit(o: LimitOptions | { name: string }): this {
    if ('name' in o) return this.add(objectRef('limit', o));
    return this.add((ctx) => limit(ctx, o));
  }

  /**
   * Sets the packet mark: a value, the old mark changed bitwise (`{ or }`, `{ and }`, `{ xor }`), or the connection's mark.
   * @example
   * rule().setMark(0x2000)
   * rule().setMark({ or: 0x4000 })
   * rule().setMark({ from: 'ct mark' })
   */
  setMark(v: MarkUpdate): this {
    return this.add(markUpdate('meta mark', v));
  }

  /**
   * Sets the connection's mark: a value, the old mark changed bitwise, or the packet's mark.
   * @example
   * rule().setCtMark(7)
   * rule().setCtMark({ from: 'meta mark' })
   */
  setCtMark(v: MarkUpdate): this {
    return this.add(markUpdate('ct mark', v));
  }

  /**
   * Puts the connection in a conntrack zone (0-65535); use in a chain before conntrack (priority raw).
   * With a `direction`, only that direction's tuple is looked up and kept in the zone, the other in the
   * default zone: two flows with the same original tuple are kept apart while answers still find theirs
   * (`ct original zone set 7`).
   * @example
   * rule().iifname('veth1').setCtZone(5)
   * rule().mark(0x539).setCtZone(7, 'original')
   */
  setCtZone(zone: number, direction?: 'original' | 'reply'): this {
    return this.add(ctZoneSet(zone, direction));
  }

  /**
   * Assigns a ct helper object of the table to the connection (`ct helper set "ftp"`).
   * @example
   * rule().tcp({ dport: 21 }).setCtHelper('ftp')
   */
  setCtHelper(name: string): this {
    return this.add(ctHelperSet(name));
  }

  /**
   * Adds a label to the connection: a bit (0-127), or a name looked up now in
   * `o.labels` or else connlabel.conf (/etc/connlabel.conf, as nft; then
   * /etc/xtables/connlabel.conf). An unknown name is a ValidationError.
   * @example
   * rule().tcp({ dport: 22 }).setCtLabel(3)
   * rule().tcp({ dport: 443 }).setCtLabel('web', { labels: { web: 3 } })
   * rule().tcp({ dport: 80 }).setCtLabel('web') // the bit from connlabel.conf, as `ct label set web`
   */
  setCtLabel(label: number | string, o: CtLabelOptions = {}): this {
    rejectUnknownKeys(o, ['labels'], 'setCtLabel options');
    return this.add(ctLabelSet(label, o.labels));
  }

  /**
   * Adds an element made of packet fields to a set, or refreshes its timeout
   * (`update @s { ip saddr timeout 10s }`); with `value`, writes a map element.
   * @example
   * rule().updateSet('@clients', { key: 'ip saddr', timeout: 10_000 })
   * rule().updateSet('@affinity', { key: 'ip saddr', value: 1 })
   */
  updateSet(set: string, o: SetUpdateOptions): this {
    return this.add(setUpdate('update', set, o));
  }

  /**
   * Adds an element made of packet fields to a set, leaving an existing one as it is (`add @s { ip saddr }`).
   * @example
   * rule().addToSet('@seen', { key: 'ip saddr' })
   */
  addToSet(set: string, o: SetUpdateOptions): this {
    return this.add(setUpdate('add', set, o));
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
    const part = verdictShape(v);
    if (part === undefined) return this.add((ctx) => ctx.push({ type: 'immediate', dreg: 0, verdict: verdictOf(v) }));
    // Read now, as the shape key was: a verdict object changed afterwards changes neither (rule-templates.ts).
    const own: VerdictSpec = typeof v === 'string' ? v : 'jump' in v ? { jump: v.jump } : { goto: (v as { goto: string }).goto };
    return this.shaped(part, (ctx) => ctx.push({ type: 'immediate', dreg: 0, verdict: verdictOf(own) }));
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
   * Picks the verdict by a number: random, round-robin, or a hash of the flow
   * (`numgen random mod 2 vmap { 0 : goto a, 1 : goto b }`).
   * @example
   * rule().dispatch({ by: 'random', mod: 2, map: [{ key: 0, verdict: { goto: 'a' } }, { key: 1, verdict: { goto: 'b' } }] })
   * rule().dispatch({ by: { jhash: 'ip saddr' }, mod: 2, map: [{ key: 0, verdict: { goto: 'a' } }, { key: 1, verdict: { goto: 'b' } }] })
   */
  dispatch(o: DispatchOptions): this {
    return this.add(dispatch(o));
  }

  /**
   * Diverts the packet to a local transparent socket (`tproxy ip to 10.0.0.1:8080`),
   * keeping its addresses; needs a tcp or udp match first and a prerouting chain.
   * @example
   * rule().tcp({ dport: 80 }).tproxy({ port: 8080 })
   * rule().tcp({ dport: 80 }).tproxy({ to: '127.0.0.1', port: 8080 })
   */
  tproxy(o: TproxyOptions): this {
    return this.add(tproxy(o));
  }

  /**
   * Hands the packet to a userspace program listening on an nfqueue.
   * @example
   * rule().tcp({ dport: 80 }).queue({ num: '1-3', fanout: true, bypass: true })
   */
  queue(o: QueueOptions = {}): this {
    return this.add(queue(o));
  }

  /**
   * Sends a copy of the packet to a gateway (ip, ip6 tables) or out of an interface (netdev tables).
   * The interface is an index or a name; a name is resolved in the handle's namespace at commit.
   * @example
   * rule().dup({ to: '10.0.0.9', device: 'veth0' })
   * rule().dup({ device: 2 })
   */
  dup(o: DupOptions): this {
    return this.add(dup(o));
  }

  /**
   * Sends the packet out of another interface, from a netdev ingress chain (`fwd to "veth1"`).
   * The interface is an index or a name; a name is resolved in the handle's namespace at commit.
   * @example
   * rule().fwd('veth1')
   * rule().fwd(2)
   */
  fwd(device: number | string): this {
    return this.add(fwd(device));
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
    return this.natStep('masq', o);
  }

  /**
   * Source NAT to an address (range) and optionally a port (range).
   * @example
   * rule().ip({ saddr: '10.0.0.0/24' }).snat({ to: '192.0.2.1' })
   */
  snat(o: NatOptions): this {
    return this.natStep('snat', o);
  }

  /**
   * Destination NAT to an address (range) and optionally a port (range).
   * @example
   * rule().tcp({ dport: 8080 }).dnat({ to: '10.88.0.2', port: 80 })
   */
  dnat(o: NatOptions): this {
    return this.natStep('dnat', o);
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
    return this.natStep('redir', o);
  }

  /**
   * A NAT statement as a shaped step: the address and port in slots when they are plain values,
   * the rest in the key. The options are read here, once (the step builds its own copy).
   */
  private natStep(kind: 'snat' | 'dnat' | 'masq' | 'redir', o: NatOptions): this {
    const withAddress = kind === 'snat' || kind === 'dnat';
    // Anything unusual (unknown keys included) takes the ordinary path, which names the error.
    if (!isObject(o) || !hasOnlyKeys(o, withAddress ? NAT_KEYS : PORT_NAT_KEYS)) return this.add((ctx) => lowerNat(ctx, kind, o));
    const { to, port, family, random, fullyRandom, persistent } = o;
    // The address's word tells its kind: IPv6 is a string slot (rule-shape.ts).
    const toWord = withAddress ? addressWord(to) : NOT_SLOT;
    const portWord = slotWord(PORT, port);
    const flags = (random ? 4 : 0) | (fullyRandom ? 2 : 0) | (persistent ? 1 : 0);
    const part = natPart(kind, withAddress ? to : undefined, toWord, port, portWord, family, flags);
    if (part === undefined) return this.add((ctx) => lowerNat(ctx, kind, o));
    const toAt = toWord === NOT_SLOT ? -1 : this.slot(toWord === STRING_SLOT ? IPV6 : IPV4, to, toWord);
    const portAt = portWord === NOT_SLOT ? -1 : this.slot(PORT, port, portWord);
    const values = this.slotValues;
    return this.shaped(part, (ctx) => {
      // Only the keys the caller gave (errors print the options).
      const x: NatOptions = {};
      if (to !== undefined) x.to = (toAt >= 0 ? values[toAt] : to) as string;
      if (port !== undefined) x.port = (portAt >= 0 ? values[portAt] : port) as number | string;
      if (family !== undefined) x.family = family;
      if (random !== undefined) x.random = random;
      if (fullyRandom !== undefined) x.fullyRandom = fullyRandom;
      if (persistent !== undefined) x.persistent = persistent;
      lowerNat(ctx, kind, x);
    });
  }
}

/** The NAT key parts of plain slots and no family, made once each: by kind, address kind, port kind and flags. */
const NAT_PARTS: Array<string | undefined> = [];
const NAT_KINDS = ['snat', 'dnat', 'masq', 'redir'];

/**
 * A NAT step's key part: its kind, the address and port (slot kinds, or the constants), the family, the flags;
 * undefined when a value cannot go into a key (the rule is then shapeless). The usual ones (values in slots, no
 * family) are made once: the strings built per rule were a part of a new process's first commit.
 */
function natPart(kind: string, to: unknown, toWord: SlotWord, port: unknown, portWord: SlotWord, family: unknown, flags: number): string | undefined {
  const toCode = to === undefined ? 2 : toWord === NOT_SLOT ? -1 : toWord === STRING_SLOT ? 1 : 0;
  const portCode = portWord !== NOT_SLOT ? 0 : port === undefined ? 1 : -1;
  if (family === undefined && toCode >= 0 && portCode >= 0) {
    const at = ((NAT_KINDS.indexOf(kind) * 3 + toCode) * 2 + portCode) * 8 + flags;
    return (NAT_PARTS[at] ??= `N${kind}${['$4', '$6', 'u'][toCode]}${portCode === 0 ? '$P' : 'u'}u${flags}`);
  }
  const toPart = toWord === NOT_SLOT ? literal(to) : toWord === STRING_SLOT ? '$6' : '$4';
  const portPart = portWord === NOT_SLOT ? literal(port) : '$P';
  if (toPart === undefined || portPart === undefined || (family !== undefined && typeof family !== 'string')) return undefined;
  return `N${kind}${toPart}${portPart}${literal(family)}${flags}`;
}

/** Lowers a NAT statement (the step of `natStep`). */
function lowerNat(ctx: BuildContext, kind: 'snat' | 'dnat' | 'masq' | 'redir', x: NatOptions): void {
  if (kind === 'snat' || kind === 'dnat') nat(ctx, kind, x);
  else portNat(ctx, kind, x);
}

/** The key part of a verdict (`V` and its code, or the chain jumped to); undefined for a full Verdict object. */
function verdictShape(v: VerdictSpec): string | undefined {
  if (typeof v === 'string') return `V${literal(v)}`;
  if (!isObject(v)) return undefined;
  const chain = 'jump' in v ? literal(v.jump) : 'goto' in v ? literal(v.goto) : undefined;
  if (chain === undefined) return undefined;
  return ('jump' in v ? 'J' : 'G') + chain;
}

/**
 * Starts a rule.
 * @example
 * tx.addRule({ family: 'inet', table: 'filter', chain: 'input', rule: rule().tcp({ dport: 22 }).accept() });
 */
export function rule(): RuleBuilder {
  return new RuleBuilder();
}
