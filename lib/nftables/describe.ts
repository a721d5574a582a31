/**
 * {@link describe}: a rule read back from the kernel, as the nft text that
 * would write it (`tcp dport { 22, 80 } counter packets 0 bytes 0 accept`),
 * for logs and debugging.
 *
 * The kernel stores a rule as register-machine expressions (load `ip saddr`
 * into register 1, compare register 1 with 10.0.0.0, ...). Like nft, this
 * walks them, tracks what each register holds, and turns loads plus
 * comparisons back into matches. It also hides the protocol matches nft adds
 * implicitly (`meta nfproto ipv4` before an `ip` field in an inet table,
 * `meta l4proto tcp` before a `tcp` field), names header fields from the
 * protocol context, and prints anonymous sets inline when given the
 * table's sets.
 *
 * The text is exact (equal to `nft list`) for the statements nlkit's rule
 * builder writes and nft's common ones; the approximations are listed in
 * docs/guides/low-level.md.
 * @module
 */
import { CT_TYPES, META_NAMES, META_TYPES, UNQUALIFIED_META, findBitField, findPayloadField, rawPayloadName, type ProtocolContext } from './describe-fields';
import { setText } from './describe-sets';
import { natText, portsText } from './describe-nat';
import { diversionText } from './describe-diversions';
import { loadedField } from './describe-loads';
import { limitText, logText, natFlags, objrefStatement, plainStatementText, quotaText, rejectText, verdictText } from './describe-statements';
import { bitOperationText, duration, exthdrText, formatBytes, isAddressType, isFlagType, prefixLength, shiftRight } from './describe-values';
import type { CtExpression } from './expressions/ct';
import type { DynsetExpression } from './expressions/dynset';
import type { FibExpression } from './expressions/fib';
import type { ExthdrExpression } from './expressions/exthdr';
import type { LookupExpression } from './expressions/lookup';
import type { MetaExpression } from './expressions/meta';
import type { PayloadExpression } from './expressions/payload';
import type { Expression } from './expressions/registry';
import type { SetWithElements } from './list';
import type { NftFamily } from './message';
import { ValidationError } from '../netlink/errors';
import { rejectUnknownKeys } from '../validate/options';
import { registerIndex, registerSpan } from './registers';
import type { DescribableRule, DescribeOptions, FieldValue, Piece, RegValue } from './describe-types';

export type { DescribableRule, DescribeOptions } from './describe-types';

/** The dependency a protocol match provides: the network layer, the transport layer, or ethernet. */
type DependencyKind = 'l3' | 'l4' | 'll';

/** IP protocol numbers whose fields also imply the network protocol. */
const ICMP = 1;
const ICMPV6 = 58;

const DESCRIBE_KEYS = ['sets', 'interfaceNames'] as const;

const CMP_OPS: Record<string, string> = { eq: '', neq: '!= ', lt: '< ', lte: '<= ', gt: '> ', gte: '>= ' };

/** Describes one rule; see the module comment. */
class RuleDescriber {
  private readonly regs = new Map<number, RegValue>();
  /** Registers loaded and not consumed yet: consecutive ones form a concatenation (`ip daddr . tcp dport`). */
  private readonly fresh = new Set<number>();
  private readonly pieces: Piece[] = [];
  /** The last protocol match of each kind, until a field that depends on it hides it. */
  private readonly pending = new Map<DependencyKind, Piece>();
  private readonly ctx: ProtocolContext = {};
  /** The last expression nlkit has no type for, until a read of an unset register claims it. */
  private opaque?: Piece;
  private readonly family: NftFamily;

  constructor(
    private readonly rule: DescribableRule,
    private readonly opts: DescribeOptions,
  ) {
    this.family = rule.family ?? 'inet';
    if (this.family === 'ip') this.ctx.l3 = 'ip';
    if (this.family === 'ip6') this.ctx.l3 = 'ip6';
  }

  run(): string {
    const ex = this.rule.expressions;
    for (let i = 0; i < ex.length; i++) {
      const e = ex[i];
      const next = i + 1 < ex.length ? ex[i + 1] : undefined;
      // nft writes a range as two comparisons: `>= from` then `<= to`.
      if (e.type === 'cmp' && e.op === 'gte' && next?.type === 'cmp' && next.op === 'lte' && next.sreg === e.sreg) {
        this.range(e.sreg, e.data, next.data, false);
        i++;
        continue;
      }
      this.expression(e);
    }
    let text = this.pieces
      .filter((p) => !p.hidden)
      .map((p) => p.text)
      .join(' ');
    if (this.rule.comment !== undefined) text += `${text ? ' ' : ''}comment ${JSON.stringify(this.rule.comment)}`;
    return text;
  }

  private expression(e: Expression): void {
    switch (e.type) {
      case 'payload':
        this.payload(e);
        return;
      case 'meta':
        this.meta(e);
        return;
      case 'ct':
        this.ct(e);
        return;
      case 'bitwise': {
        const v = this.regs.get(registerIndex(e.sreg));
        if (v?.kind === 'field' && (e.op === undefined || e.op === 'mask-xor') && e.mask) this.load(e.dreg, this.withMask(v, e.mask, e.xor));
        else
          this.load(e.dreg, {
            kind: 'field',
            text: `${this.left(e.sreg)} ${e.op === 'lshift' ? '<<' : e.op === 'rshift' ? '>>' : '&'} ${e.data ? formatBytes('integer', e.data) : '?'}`,
            type: 'integer',
            fieldLen: e.len,
          });
        return;
      }
      case 'byteorder': {
        const v = this.regs.get(registerIndex(e.sreg));
        this.load(e.dreg, v?.kind === 'field' ? { ...v, bigEndian: e.op === 'hton' } : (v ?? { kind: 'data', data: Buffer.alloc(0) }));
        return;
      }
      case 'cmp':
        this.compare(e.sreg, CMP_OPS[String(e.op)] ?? `${e.op} `, e.data);
        return;
      case 'range':
        this.range(e.sreg, e.from, e.to, e.op === 'neq');
        return;
      case 'immediate':
        if (e.verdict) this.emit(verdictText(e.verdict));
        else if (e.data) this.load(e.dreg, { kind: 'data', data: e.data });
        return;
      case 'lookup':
        this.lookup(e);
        return;
      case 'counter':
      case 'notrack':
      case 'last':
      case 'flow_offload':
        this.emit(plainStatementText(e));
        return;
      case 'log':
        this.emit(logText(e));
        return;
      case 'limit':
        this.emit(limitText(e));
        return;
      case 'quota':
        this.emit(quotaText(e));
        return;
      case 'reject':
        this.emit(rejectText(e, this.ctx.l3));
        return;
      case 'masq':
        this.emit(`masquerade${portsText(this.reg, e.regProtoMin, e.regProtoMax)}${natFlags(e.flags)}`);
        return;
      case 'redir':
        this.emit(`redirect${portsText(this.reg, e.regProtoMin, e.regProtoMax)}${natFlags(e.flags)}`);
        return;
      case 'nat':
        this.emit(natText(this.reg, this.family, e));
        return;
      case 'numgen':
        this.load(e.dreg, {
          kind: 'field',
          text: `numgen ${e.mode === 'incremental' ? 'inc' : e.mode} mod ${e.modulus}${e.offset ? ` offset ${e.offset}` : ''}`,
          type: 'integer',
          fieldLen: 4,
        });
        return;
      case 'fib':
        this.fib(e);
        return;
      case 'exthdr':
        this.exthdr(e);
        return;
      case 'rt':
      case 'socket':
      case 'osf':
      case 'hash':
      case 'xfrm':
        this.load(e.dreg, loadedField(e, this.left.bind(this)));
        return;
      case 'tproxy':
      case 'dup':
      case 'fwd':
      case 'queue':
      case 'connlimit':
      case 'synproxy':
        this.emit(diversionText(e, this.reg, this.family, this.opts.interfaceNames));
        return;
      case 'objref':
        if (e.name !== undefined) this.emit(`${objrefStatement(e.objectType)} ${JSON.stringify(e.name)}`);
        else this.emit(`${objrefStatement(this.findSet(e.set)?.objectType)} ${this.left(e.sreg ?? 0)} map ${e.set !== undefined ? `@${e.set}` : '@?'}`);
        return;
      case 'dynset':
        this.dynset(e);
        return;
      case 'opaque':
        // It may have loaded a register: a comparison of an unknown register reads it.
        this.opaque = this.emit(`<${e.name}>`);
        return;
    }
  }

  private emit(text: string): Piece {
    const p = { text };
    this.pieces.push(p);
    return p;
  }

  /** Puts a value into a register (and the ones after it, for long values). */
  private load(reg: number, v: RegValue): void {
    const idx = registerIndex(reg);
    this.regs.set(idx, v);
    this.fresh.add(idx);
  }

  private payload(e: PayloadExpression): void {
    const match = findPayloadField(e.base, e.offset, e.len, this.ctx);
    const text = match ? match.field.name : rawPayloadName(e.base, e.offset, e.len);
    // A header field makes the protocol match before it implicit.
    if (match) {
      if (e.base === 'network') this.hide('l3');
      else if (e.base === 'transport' && this.ctx.l4 !== undefined && !text.startsWith('th ')) this.hide('l4');
      else if (e.base === 'link') this.hide('ll');
    }
    const v: RegValue = match
      ? { kind: 'field', text, type: match.field.type, fieldLen: match.field.len, prefixBits: match.prefixBits }
      : { kind: 'field', text, type: 'raw', fieldLen: e.len, raw: { base: e.base, offset: e.offset, len: e.len } };
    if (e.sreg !== undefined) this.emit(`${text} set ${this.valueText(e.sreg, v)}`);
    else if (e.dreg !== undefined) this.load(e.dreg, v);
  }

  private exthdr(e: ExthdrExpression): void {
    const text = exthdrText(e);
    if (e.op === 'ipv6') this.hide('l3'); // an IPv6 extension header implies `meta nfproto ipv6`
    if (e.flags?.includes('present')) {
      if (e.dreg !== undefined) this.load(e.dreg, { kind: 'field', text, type: 'integer', fieldLen: 1, presence: true });
      return;
    }
    const v: RegValue = { kind: 'field', text, type: 'integer', fieldLen: e.len };
    if (e.sreg !== undefined) this.emit(`${text} set ${this.valueText(e.sreg, v)}`);
    else if (e.dreg !== undefined) this.load(e.dreg, v);
    else this.emit(`${text} reset`);
  }

  private meta(e: MetaExpression): void {
    const key = String(e.key);
    const text = UNQUALIFIED_META.has(key) ? key : `meta ${META_NAMES[key] ?? key}`;
    const type = META_TYPES[key] ?? 'integer';
    if (e.sreg !== undefined) this.emit(`${text} set ${this.valueText(e.sreg, { kind: 'field', text, type, fieldLen: 4 })}`);
    else if (e.dreg !== undefined) this.load(e.dreg, { kind: 'field', text, type, fieldLen: type === 'ifname' ? 16 : 4 });
  }

  private ct(e: CtExpression): void {
    const key = String(e.key);
    const text = `ct ${e.direction !== undefined ? `${e.direction} ` : ''}${key}`;
    let type = CT_TYPES[key] ?? 'integer';
    if (key === 'saddr' || key === 'daddr') type = this.ctx.l3 === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
    if (e.sreg !== undefined) this.emit(`${text} set ${this.valueText(e.sreg, { kind: 'field', text, type, fieldLen: 4 })}`);
    else if (e.dreg !== undefined) this.load(e.dreg, { kind: 'field', text, type, fieldLen: 4 });
  }

  private fib(e: FibExpression): void {
    const flags = e.flags.map(String);
    const inputs = [
      flags.includes('saddr') ? 'saddr' : flags.includes('daddr') ? 'daddr' : undefined,
      ...['mark', 'iif', 'oif'].filter((f) => flags.includes(f)),
    ].filter(Boolean);
    const result = String(e.result);
    const type = result === 'type' ? 'fib_addrtype' : result === 'oifname' ? 'ifname' : 'iface_index';
    this.load(e.dreg, { kind: 'field', text: `fib ${inputs.join(' . ')} ${result}`, type, fieldLen: result === 'oifname' ? 16 : 4 });
  }

  /** A field after `& mask ^ xor`: a prefix, a named bit field, or a masked value. */
  private withMask(v: FieldValue, mask: Buffer, xor?: Buffer): RegValue {
    const zeroXor = !xor || xor.every((b) => b === 0);
    // An address masked with leading ones is a prefix match: `ip saddr 10.0.0.0/20`.
    if (isAddressType(v.type) && zeroXor) {
      const bits = prefixLength(mask);
      if (bits !== undefined) return { ...v, prefixBits: bits };
    }
    const bitField = v.raw && zeroXor ? findBitField(v.raw.base, v.raw.offset, v.raw.len, mask, this.ctx) : undefined;
    if (bitField) {
      this.hide('l3');
      return { kind: 'field', text: bitField.name, type: bitField.type, fieldLen: v.fieldLen, shift: bitField.shift };
    }
    return { ...v, mask, xor };
  }

  /** Hides the pending protocol match of this kind: a field that needs it follows. */
  private hide(kind: DependencyKind): void {
    const p = this.pending.get(kind);
    if (p) p.hidden = true;
    this.pending.delete(kind);
    // icmp and icmpv6 fields imply their network protocol too.
    if (kind === 'l4' && (this.ctx.l4 === ICMP || this.ctx.l4 === ICMPV6)) this.hide('l3');
  }

  /** The value a statement reads from a register: one register, or a concatenation of fresh ones. */
  private take(reg: number): RegValue[] {
    const parts: RegValue[] = [];
    let idx = registerIndex(reg);
    if (!this.regs.has(idx) && this.opaque) {
      // `<exthdr> 0x0578`: the comparison goes with the unknown expression before it.
      const opaque = this.opaque;
      this.opaque = undefined;
      opaque.hidden = true;
      return [{ kind: 'field', text: opaque.text, type: 'raw', fieldLen: 4 }];
    }
    for (;;) {
      const v = this.regs.get(idx);
      if (!v) break;
      const fresh = this.fresh.delete(idx);
      if (parts.length > 0 && !fresh) break;
      parts.push(v);
      idx += v.kind === 'field' ? registerSpan(v.fieldLen) : v.kind === 'data' ? registerSpan(v.data.length) : 1;
      if (!this.fresh.has(idx)) break;
    }
    return parts;
  }

  /** "ip daddr . tcp dport": the text of what a register (concatenation) holds. */
  private left(reg: number): string {
    const parts = this.take(reg);
    if (parts.length === 0) return `<register ${reg}>`;
    return parts.map((v) => (v.kind === 'field' || v.kind === 'map' ? v.text : v.kind === 'data' ? `0x${v.data.toString('hex')}` : '')).join(' . ');
  }

  private compare(reg: number, op: string, data: Buffer): void {
    const parts = this.take(reg);
    const v = parts[0];
    if (parts.length !== 1 || v.kind !== 'field') {
      this.emit(`${parts.length ? this.textOf(parts) : `<register ${reg}>`} ${op}0x${data.toString('hex')}`);
      return;
    }
    const piece = this.emit(this.relation(v, op, data));
    this.protocolMatch(v, op, data, piece);
  }

  /** Text of a comparison of a field with constant bytes. */
  private relation(v: FieldValue, op: string, data: Buffer): string {
    const names = this.opts.interfaceNames;
    // A presence test (exthdr `exists`) loaded 1 or 0.
    if (v.presence) return `${v.text} ${(op === '!= ') === data.some((b) => b !== 0) ? 'missing' : 'exists'}`;
    if (v.prefixBits !== undefined && isAddressType(v.type)) {
      const full = Buffer.alloc(v.fieldLen);
      data.copy(full, 0, 0, Math.min(data.length, full.length));
      return `${v.text} ${op}${formatBytes(v.type, full)}/${v.prefixBits}`;
    }
    if (v.shift !== undefined) return `${v.text} ${op}${formatBytes(v.type, shiftRight(data, v.shift), names)}`;
    if (v.mask) {
      const maskNum = v.mask.reduce((n, b) => n + b, 0);
      const zero = data.every((b) => b === 0) && (!v.xor || v.xor.every((b) => b === 0));
      // `ct state established,related`: any of the flags is set.
      if (isFlagType(v.type) && zero && op === '!= ') return `${v.text} ${formatBytes(v.type, v.mask)}`;
      // `tcp flags syn / syn,ack`: these of the masked flags are set.
      if (isFlagType(v.type) && !zero) return `${v.text} ${op}${formatBytes(v.type, data)} / ${formatBytes(v.type, v.mask)}`;
      if (maskNum !== 0) {
        const xor = v.xor?.some((b) => b !== 0) ? ` ^ ${formatBytes(v.type, v.xor, names, v.bigEndian)}` : '';
        return `${v.text} & ${formatBytes(v.type, v.mask, names, v.bigEndian)}${xor} ${op === '' ? '==' : op.trim()} ${formatBytes(v.type, data, names, v.bigEndian)}`;
      }
    }
    return `${v.text} ${op}${formatBytes(v.type, data, names, v.bigEndian)}`;
  }

  /** Records protocol matches: they set the context fields are named in, and may be implicit dependencies. */
  private protocolMatch(v: FieldValue, op: string, data: Buffer, piece: Piece): void {
    if (op !== '' || v.mask) return;
    const n = Number(formatBytes('integer', data.length <= 4 ? data : data.subarray(0, 4)));
    switch (v.text) {
      case 'meta nfproto':
        this.setL3(data[0] === 2 ? 'ip' : data[0] === 10 ? 'ip6' : undefined, piece);
        return;
      case 'meta protocol':
      case 'ether type':
        this.setL3(n === 0x0800 ? 'ip' : n === 0x86dd ? 'ip6' : undefined, piece);
        return;
      case 'meta l4proto':
      case 'ip protocol':
      case 'ip6 nexthdr':
        this.ctx.l4 = data[0];
        this.pending.set('l4', piece);
        return;
      case 'meta iiftype':
        if (formatBytes('arphrd', data) === 'ether') this.pending.set('ll', piece);
        return;
    }
  }

  private setL3(l3: 'ip' | 'ip6' | undefined, piece: Piece): void {
    if (!l3) return;
    this.ctx.l3 = l3;
    this.pending.set('l3', piece);
  }

  private range(reg: number, from: Buffer, to: Buffer, negate: boolean): void {
    const parts = this.take(reg);
    const v = parts[0];
    const names = this.opts.interfaceNames;
    if (parts.length !== 1 || v.kind !== 'field') {
      this.emit(`${this.textOf(parts)} ${negate ? '!= ' : ''}0x${from.toString('hex')}-0x${to.toString('hex')}`);
      return;
    }
    this.emit(`${v.text} ${negate ? '!= ' : ''}${formatBytes(v.type, from, names, v.bigEndian)}-${formatBytes(v.type, to, names, v.bigEndian)}`);
  }

  private textOf(parts: RegValue[]): string {
    return (
      parts.map((v) => (v.kind === 'field' || v.kind === 'map' ? v.text : v.kind === 'data' ? `0x${v.data.toString('hex')}` : '')).join(' . ') || '<register>'
    );
  }

  private lookup(e: LookupExpression): void {
    const keyParts = this.take(e.sreg);
    const left = keyParts.length ? this.textOf(keyParts) : `<register ${e.sreg}>`;
    const set = this.findSet(e.set);
    const target = setText(
      e.set,
      set,
      this.opts.interfaceNames,
      keyParts.map((v) => (v.kind === 'field' ? v.type : 'integer')),
    );
    if (e.dreg === undefined) {
      this.emit(`${left} ${e.invert ? '!= ' : ''}${target}`);
      return;
    }
    if (e.dreg === 0) {
      this.emit(`${left} vmap ${target}`);
      return;
    }
    const dataTypes =
      set?.dataType === undefined || set.dataType === 'verdict' ? [] : (Array.isArray(set.dataType) ? set.dataType : [set.dataType]).map(String);
    const id = {};
    this.load(e.dreg, { kind: 'map', text: `${left} map ${target}`, dataTypes, id });
    // A concatenated map value (address . port) fills the registers after the first.
    let idx = registerIndex(e.dreg);
    for (let i = 1; i < dataTypes.length; i++) {
      idx += registerSpan(dataTypes[i - 1] === 'ipv6_addr' ? 16 : 4);
      this.regs.set(idx, { kind: 'map-part', id });
    }
  }

  private dynset(e: DynsetExpression): void {
    const key = this.left(e.sregKey);
    const data = e.sregData !== undefined ? ` : ${this.left(e.sregData)}` : '';
    const timeout = e.timeout ? ` timeout ${duration(e.timeout)}` : '';
    const exprs = (e.expressions ?? []).map((x) => ` ${new RuleDescriber({ expressions: [x], family: this.family }, this.opts).run()}`).join('');
    this.emit(`${e.invert ? '!' : ''}${e.op} @${e.set} { ${key}${timeout}${exprs}${data} }`);
  }

  /** What a register holds, for the NAT text helpers. */
  private readonly reg = (r: number): RegValue | undefined => this.regs.get(registerIndex(r));

  private findSet(name: string | undefined): SetWithElements | undefined {
    if (name === undefined) return undefined;
    const own = this.rule.anonymousSets?.find((s) => s.name === name);
    if (own) return own;
    return this.opts.sets?.find(
      (s) =>
        s.name === name && (this.rule.table === undefined || s.table === this.rule.table) && (this.rule.family === undefined || s.family === this.rule.family),
    );
  }

  /** A register's value printed as a value of `target`'s type (`meta mark set 0x00000005`, `meta mark set ct mark`). */
  private valueText(reg: number, target: FieldValue): string {
    const v = this.regs.get(registerIndex(reg));
    this.fresh.delete(registerIndex(reg));
    if (!v) return `<register ${reg}>`;
    if (v.kind === 'data') return formatBytes(target.type, v.data, this.opts.interfaceNames);
    if (v.kind === 'field' && v.mask) return bitOperationText(v.text, v.type, v.mask, v.xor);
    return v.kind === 'field' || v.kind === 'map' ? v.text : '';
  }
}

/**
 * A rule as nft text, for logs and debugging: the statement nft would print
 * for it in `nft list ruleset` (exact for the common statements; see the
 * module comment). Give the table's sets to print anonymous sets inline.
 * @example
 * const { rules, sets } = await h.nft.ruleset.get({ family: 'inet', table: 'filter' });
 * for (const r of rules) console.log(`[${r.handle}]`, describeNftRule(r, { sets }));
 * // [4] tcp dport { 22, 80 } counter packets 0 bytes 0 accept
 */
export function describe(rule: DescribableRule, opts: DescribeOptions = {}): string {
  const input: unknown = rule; // callers in plain JavaScript may pass anything
  if (typeof input !== 'object' || input === null || !Array.isArray((input as Partial<DescribableRule>).expressions)) {
    throw new ValidationError('rule', rule, 'must be a rule with an expressions array');
  }
  rejectUnknownKeys(opts, DESCRIBE_KEYS, 'describeNftRule options');
  if (opts.sets !== undefined && !Array.isArray(opts.sets))
    throw new ValidationError('sets', typeof opts.sets, "must be the sets of the rule's table (an array)");
  if (opts.interfaceNames !== undefined && typeof opts.interfaceNames !== 'function')
    throw new ValidationError('interfaceNames', typeof opts.interfaceNames, 'must be a function from index to name');
  return new RuleDescriber(rule, opts).run();
}
