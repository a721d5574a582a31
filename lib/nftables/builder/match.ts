/**
 * Lowering of matches: a field compared with a value, prefix, range,
 * wildcard, inline set or named set becomes the load/cmp/bitwise/lookup
 * expressions nft itself generates; fields that make up a concatenation are
 * loaded into consecutive registers.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { parseCidr } from '../../validate/ip';
import { validateNftText } from '../../validate/names';
import { hostU32 } from '../data';
import { alignedLength, dataTypeByName, type DataTypeName, type Scalar } from '../datatypes';
import { FIB_ADDRESS_TYPES, type FibFlag } from '../expressions/fib';
import type { Expression } from '../expressions/registry';
import { register32 } from '../registers';
import type { SetDataType } from '../set';
import type { BuildContext } from './context';
import { CT_DIRECTIONS, NFPROTO_NAMES, type Field } from './fields';
import { Negated, type FibType, type MatchValue } from './options';

const NUMERIC_RANGE_TYPES = new Set([
  'inet_service',
  'inet_proto',
  'mark',
  'ether_type',
  'iface_index',
  'uid',
  'gid',
  'integer',
  'ipv4_addr',
  'ipv6_addr',
  'ct_dir',
  'pkt_type',
  'nf_proto',
]);

/** "1000-2000" for a numeric field (not "@name", not a leading minus). */
export function isRangeString(field: Field, v: Scalar): boolean {
  return typeof v === 'string' && NUMERIC_RANGE_TYPES.has(field.type) && v.indexOf('-', 1) > 0 && !v.startsWith('@');
}

/** "10.0.0.0/24" for an address field. */
export function isPrefixString(field: Field, v: Scalar): boolean {
  return typeof v === 'string' && (field.type === 'ipv4_addr' || field.type === 'ipv6_addr') && v.includes('/');
}

/**
 * Refuses an interface index (`meta iif`, `meta oif`: a value, a range's
 * ends, an inline set's elements) that is no link index, 1 to 2^31 - 1, as
 * dup and fwd devices are checked: 0 or 2^32 - 1 used to become a rule that
 * never matches. Raw bytes (a Buffer) pass as they are.
 */
function checkLinkIndex(field: Field, v: Scalar): void {
  if (field.type !== 'iface_index' || Buffer.isBuffer(v)) return;
  if (isRangeString(field, v)) {
    const text = v as string;
    const dash = text.indexOf('-', 1);
    checkLinkIndex(field, text.slice(0, dash).trim());
    checkLinkIndex(field, text.slice(dash + 1).trim());
    return;
  }
  const n = typeof v === 'bigint' || (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v)) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 0x7fffffff)
    throw new ValidationError(field.name, typeof v === 'bigint' ? String(v) : v, 'must be an interface index: an integer from 1 to 2147483647');
}

function parseValue(field: Field, v: Scalar): Buffer {
  checkLinkIndex(field, v);
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

/** The name of a named set written "@name". */
export function namedSet(v: string): string {
  if (!v.startsWith('@') || v.length < 2) throw new ValidationError('set', v, 'a named set is written "@name"');
  return v.slice(1);
}

/** Loads fields into consecutive registers (a concatenation starts at register 1). */
export function loadFields(ctx: BuildContext, fields: Field[]): void {
  for (const f of fields) ctx.need(f.deps(ctx.family));
  let idx = 0;
  for (const f of fields) {
    ctx.push(f.load(register32(idx)));
    idx += alignedLength(f.len) / 4;
  }
}

/** The set key type of fields (a concatenation for several). */
export function keyTypeOf(fields: Field[]): SetDataType {
  const names = fields.map((f) => f.type as DataTypeName);
  return names.length === 1 ? names[0] : names;
}

/** Whether a set key needs an interval set (a prefix or a range in any of its parts). */
export function hasInterval(fields: Field[], key: Scalar | Scalar[]): boolean {
  const parts = fields.length > 1 && Array.isArray(key) ? key : [key as Scalar];
  return parts.some((p, i) => fields[i] && (isPrefixString(fields[i], p) || isRangeString(fields[i], p)));
}

/** A concatenation (`ip saddr . tcp dport`) against a set of tuples or a named set. */
export function matchConcat(ctx: BuildContext, fields: Field[], value: MatchValue): void {
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
  for (const t of tuples) for (let i = 0; i < t.length && i < fields.length; i++) checkLinkIndex(fields[i], t[i]);
  const s = ctx.anonymous(
    { keyType: keyTypeOf(fields), interval: tuples.some((t) => hasInterval(fields, t)) },
    tuples.map((t) => ({ key: t })),
  );
  ctx.push({ type: 'lookup', ...s, sreg: 1, ...(neg ? { invert: true } : {}) });
}

/** One field against a value, prefix, range, wildcard, inline set or named set. */
export function matchField(ctx: BuildContext, field: Field, value: MatchValue): void {
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
    for (const x of v) checkLinkIndex(field, x);
    ctx.push(load);
    // A name wildcard ("veth*") is an interval of names: passed on as text, for the set to encode.
    const wildcard = (x: Scalar) => field.type === 'ifname' && typeof x === 'string' && x.endsWith('*');
    const s = ctx.anonymous(
      { keyType: field.type as DataTypeName, interval: v.some((x) => isPrefixString(field, x) || isRangeString(field, x) || wildcard(x)) },
      v.map((x) => ({ key: field.type === 'ifname' && !wildcard(x) ? parseValue(field, x) : x })),
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
    matchPrefix(ctx, field, load, v as string, op);
    return;
  }
  if (isRangeString(field, v)) {
    matchRange(ctx, field, load, v as string, neg);
    return;
  }
  ctx.push(load, { type: 'cmp', sreg: 1, op, data: parseValue(field, v) });
}

function matchPrefix(ctx: BuildContext, field: Field, load: Expression, v: string, op: 'eq' | 'neq'): void {
  const c = parseCidr(v, field.name, { family: field.type === 'ipv4_addr' ? 4 : 6 });
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
    ctx.push(
      load,
      { type: 'bitwise', sreg: 1, dreg: 1, len: net.length, op: 'mask-xor', mask, xor: Buffer.alloc(net.length) },
      { type: 'cmp', sreg: 1, op, data: net },
    );
  }
}

function matchRange(ctx: BuildContext, field: Field, load: Expression, text: string, neg: boolean): void {
  const dash = text.indexOf('-', 1);
  const hostOrder = dataTypeByName(field.type).hostOrder;
  const lo = bigEndianOf(field, text.slice(0, dash).trim());
  const hi = bigEndianOf(field, text.slice(dash + 1).trim());
  if (Buffer.compare(lo, hi) > 0) throw new ValidationError(field.name, text, 'range start is above its end');
  ctx.push(load);
  if (hostOrder) ctx.push({ type: 'byteorder', sreg: 1, dreg: 1, op: 'hton', len: field.len, size: field.len });
  if (neg) ctx.push({ type: 'range', sreg: 1, op: 'neq', from: lo, to: hi });
  else ctx.push({ type: 'cmp', sreg: 1, op: 'gte', data: lo }, { type: 'cmp', sreg: 1, op: 'lte', data: hi });
}

/** Bit flags (`ct state established,related`): any of the named bits set. */
export function matchBits(ctx: BuildContext, field: Field, bits: Record<string, number>, value: string | string[] | Negated<string | string[]>): void {
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

/** The FIB address type of a lookup (`fib daddr type local`), one type or any of several. */
export function matchFib(ctx: BuildContext, lookup: FibFlag[], type: FibType | FibType[] | Negated<FibType | FibType[]>): void {
  const neg = type instanceof Negated;
  const v = type instanceof Negated ? type.value : type;
  const load: Expression = { type: 'fib', dreg: 1, result: 'type', flags: lookup };
  const encode = (t: FibType) => hostU32(FIB_ADDRESS_TYPES.number(t, 'fib type'));
  if (Array.isArray(v)) {
    ctx.push(load);
    const s = ctx.anonymous(
      { keyType: 'fib_addrtype', interval: false },
      v.map((t) => ({ key: encode(t) })),
    );
    ctx.push({ type: 'lookup', ...s, sreg: 1, ...(neg ? { invert: true } : {}) });
  } else {
    ctx.push(load, { type: 'cmp', sreg: 1, op: neg ? 'neq' : 'eq', data: encode(v) });
  }
}
