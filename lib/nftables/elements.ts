/**
 * Set and map elements: typed values ("10.0.0.1", 80, ["10.0.0.2", 8080])
 * encoded per the set's key and data types; intervals (prefixes and ranges)
 * encoded the way the kernel stores them — start/end element pairs for
 * single-field interval sets, key + key-end for concatenations — and
 * reassembled into ranges when listed.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { Attributes, type NetlinkMessage } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { validateInteger } from '../validate/integers';
import { parseCidr } from '../validate/ip';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { HOST_LITTLE_ENDIAN, readData, validateVerdict, writeValue, writeVerdict, type Verdict } from './data';
import { alignedLength, type DataType, type Scalar } from './datatypes';
import { readExpressionBody, readExpressionList, writeExpressionBody, writeExpressionList, type Expression } from './expressions/registry';
import { beginNft, familyNumber, messageAttributes, type NftFamily } from './message';
import type { SetShape } from './set';
import { sortByKey } from './element-order';
import { parsedField } from './parsed-fields';
import { UDATA_SET_ELEM_COMMENT, commentValue, joinComment, splitComment } from './userdata';
import { isObject } from '../validate/options';

/** One field's value, or an array of values for a concatenated type. */
export type ElementValue = Scalar | Scalar[];

/** A set or map element as written and as listed. */
export interface SetElement {
  /**
   * The key. In interval sets an address field may be a prefix ("10.0.0.0/8")
   * and any field a range written as "from-to".
   */
  key: ElementValue;
  /** Inclusive end of a range (interval sets); the alternative to "from-to" strings. */
  keyEnd?: ElementValue;
  /** Data maps: the mapped value. */
  value?: ElementValue;
  /** Verdict maps: the verdict. */
  verdict?: Verdict;
  /** Object maps: the name of the object. */
  object?: string;
  /** Milliseconds until the element expires (sets with the "timeout" flag). */
  timeout?: number;
  /** Milliseconds left (listed only). */
  expires?: number;
  /** Shown by `nft list` as `comment "..."`. */
  comment?: string;
  /** Counter state (sets defined with `counter: true`, listed only). */
  counter?: {
    /** Packets counted. */
    packets: bigint;
    /** Bytes counted. */
    bytes: bigint;
  };
  /** Other element expressions. */
  expressions?: Expression[];
  /** The catch-all element (`*`), matched when no other element is; its key is ignored (listed as "*"). */
  catchall?: boolean;
}

/** An element as it travels: raw bytes plus flags. */
interface WireElement {
  key?: Buffer;
  keyEnd?: Buffer;
  flags: number;
  source: SetElement;
}

interface Bounds {
  lo: Buffer;
  hi: Buffer;
}

function fieldBounds(type: DataType | undefined, len: number, v: Scalar, field: string, allowRange: boolean): Bounds {
  if (allowRange && typeof v === 'string' && type) {
    if ((type.name === 'ipv4_addr' || type.name === 'ipv6_addr') && v.includes('/')) {
      const c = parseCidr(v, field, { family: type.name === 'ipv4_addr' ? 4 : 6 });
      const lo = Buffer.from(c.bytes);
      const hi = Buffer.from(c.bytes);
      for (let bit = 0; bit < lo.length * 8; bit++) {
        const mask = 0x80 >> (bit & 7);
        if (bit >= c.prefixLength) {
          lo[bit >> 3] &= ~mask;
          hi[bit >> 3] |= mask;
        }
      }
      return { lo, hi };
    }
    const dash = v.indexOf('-', 1);
    if (dash > 0 && type.name !== 'ifname') {
      const lo = type.parse(v.slice(0, dash).trim(), len, field);
      const hi = type.parse(v.slice(dash + 1).trim(), len, field);
      if (Buffer.compare(lo, hi) > 0) throw new ValidationError(field, v, 'range start is above its end');
      return { lo, hi };
    }
  }
  const b = fieldValue(type, len, v, field);
  return { lo: b, hi: b };
}

/** One field's exact value (no prefix or range). */
function fieldValue(type: DataType | undefined, len: number, v: Scalar, field: string): Buffer {
  if (type) return type.parse(v, len, field);
  if (!Buffer.isBuffer(v) || v.length !== len) throw new ValidationError(field, v, `this set's type is not known to nlkit: pass ${len} raw bytes as a Buffer`);
  return Buffer.from(v);
}

/**
 * Encodes a key or data value (concatenations padded per field) into low/high
 * bounds: one buffer (the same one for both bounds when no field is a range),
 * as elements are encoded by the thousand and each allocation counts.
 */
function encodeValue(fields: Array<DataType | undefined>, lengths: number[], v: ElementValue, field: string, allowRange: boolean): Bounds {
  if (fields.length === 1) return fieldBounds(fields[0], lengths[0], v as Scalar, field, allowRange);
  if (!Array.isArray(v) || v.length !== fields.length) {
    throw new ValidationError(field, v, `must be an array of ${fields.length} values (one per concatenated type)`);
  }
  // Exact values (every key of a set without intervals, every map value) need no bounds per field.
  const los: Buffer[] = [];
  const his: Buffer[] = [];
  let size = 0;
  let ranged = false;
  for (let i = 0; i < fields.length; i++) {
    if (allowRange) {
      const b = fieldBounds(fields[i], lengths[i], v[i], field, true);
      los.push(b.lo);
      his.push(b.hi);
      ranged ||= b.hi !== b.lo;
    } else los.push(parsedField(fields[i], lengths[i], v[i], field, fieldValue));
    size += alignedLength(lengths[i]);
  }
  // From the pool, zero-filled: the padding of each field is zeros.
  const lo = Buffer.allocUnsafe(size).fill(0);
  const hi = ranged ? Buffer.allocUnsafe(size).fill(0) : lo;
  let at = 0;
  for (let i = 0; i < fields.length; i++) {
    los[i].copy(lo, at);
    if (ranged) his[i].copy(hi, at);
    at += alignedLength(lengths[i]);
  }
  return { lo, hi };
}

/** Big-endian increment; undefined on overflow (the interval runs to the end of the key space). */
function increment(b: Buffer): Buffer | undefined {
  const out = Buffer.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] === 0xff) out[i] = 0;
    else {
      out[i]++;
      return out;
    }
  }
  return undefined;
}

function decrement(b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] === 0) out[i] = 0xff;
    else {
      out[i]--;
      break;
    }
  }
  return out;
}

/** Turns typed elements into what goes on the wire for a set of this shape. */
export function toWireElements(shape: SetShape, elements: readonly SetElement[]): WireElement[] {
  const concat = shape.keyFields.length > 1;
  const out: WireElement[] = [];
  if (!shape.interval) {
    for (const e of elements) {
      if (e.catchall) {
        out.push({ flags: C.NFT_SET_ELEM_CATCHALL, source: e });
        continue;
      }
      if (e.keyEnd !== undefined) throw new ValidationError('keyEnd', e.keyEnd, 'ranges need a set with the "interval" flag');
      out.push({ key: encodeValue(shape.keyFields, shape.keyFieldLengths, e.key, 'element key', false).lo, flags: 0, source: e });
    }
    return out;
  }
  const ranges: Array<Bounds & { e: SetElement }> = [];
  for (const e of elements) {
    if (e.catchall) {
      out.push({ flags: C.NFT_SET_ELEM_CATCHALL, source: e });
      continue;
    }
    const b = encodeValue(shape.keyFields, shape.keyFieldLengths, e.key, 'element key', true);
    if (e.keyEnd !== undefined) b.hi = encodeValue(shape.keyFields, shape.keyFieldLengths, e.keyEnd, 'element keyEnd', false).hi;
    if (Buffer.compare(b.lo, b.hi) > 0) throw new ValidationError('element key', e.key, 'range start is above its end');
    ranges.push({ ...b, e });
  }
  if (concat) {
    // Concatenated intervals (pipapo) carry both ends in one element.
    for (const r of ranges) out.push({ key: r.lo, keyEnd: r.hi, flags: 0, source: r.e });
    return out;
  }
  // Single-field intervals: a start element, and an end element at hi + 1
  // (omitted when the next range starts right there, as nft does).
  ranges.sort((x, y) => Buffer.compare(x.lo, y.lo));
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    const next = ranges.at(i + 1);
    if (next && Buffer.compare(next.lo, r.hi) <= 0) {
      throw new ValidationError('elements', [r.e.key, next.e.key], 'intervals overlap');
    }
    out.push({ key: r.lo, flags: 0, source: r.e });
    const end = increment(r.hi);
    if (end && !next?.lo.equals(end)) out.push({ key: end, flags: C.NFT_SET_ELEM_INTERVAL_END, source: r.e });
  }
  return out;
}

function writeElement(w: NetlinkWriter, shape: SetShape, el: WireElement, withData: boolean): void {
  const n = w.nest(C.NFTA_LIST_ELEM);
  if (el.key) writeValue(w, C.NFTA_SET_ELEM_KEY, el.key);
  if (el.keyEnd) writeValue(w, C.NFTA_SET_ELEM_KEY_END, el.keyEnd);
  if (el.flags) w.be32(C.NFTA_SET_ELEM_FLAGS, el.flags);
  const e = el.source;
  const isEnd = (el.flags & C.NFT_SET_ELEM_INTERVAL_END) !== 0;
  if (withData && !isEnd) {
    if (shape.map === 'verdict') {
      if (!e.verdict) throw new ValidationError('verdict', e.verdict, 'verdict map elements need a verdict');
      writeVerdict(w, C.NFTA_SET_ELEM_DATA, e.verdict);
    } else if (shape.map === 'data') {
      if (e.value === undefined) throw new ValidationError('value', e.value, 'map elements need a value');
      const v = encodeValue(shape.dataFields, shape.dataFieldLengths, e.value, 'element value', shape.dataInterval);
      writeValue(w, C.NFTA_SET_ELEM_DATA, shape.dataInterval ? Buffer.concat([v.lo, v.hi]) : v.lo);
    } else if (shape.map === 'object') {
      if (e.object === undefined) throw new ValidationError('object', e.object, 'object map elements need an object name');
      w.string(C.NFTA_SET_ELEM_OBJREF, validateNftName(e.object, 'element object'));
    }
    if (e.timeout !== undefined) w.be64(C.NFTA_SET_ELEM_TIMEOUT, BigInt(validateInteger(e.timeout, 'element timeout', 0, Number.MAX_SAFE_INTEGER)));
    const ud = joinComment(e.comment, undefined, UDATA_SET_ELEM_COMMENT);
    if (ud) w.attr(C.NFTA_SET_ELEM_USERDATA, ud);
    const exprs = e.expressions;
    if (exprs?.length === 1) {
      const x = w.nest(C.NFTA_SET_ELEM_EXPR);
      writeExpressionBody(w, exprs[0]);
      w.endNest(x);
    } else if (exprs && exprs.length > 1) writeExpressionList(w, C.NFTA_SET_ELEM_EXPRESSIONS, exprs);
  }
  w.endNest(n);
}

/** Element lists are cut into messages well below the 64 KiB limit of a netlink attribute. */
const MAX_ELEMENTS_BYTES = 48 * 1024;

export interface ElementTarget {
  family: NftFamily;
  table: string;
  /** Set name ("__set%d" for an anonymous set of the same batch). */
  set: string;
  /** NFTA_SET_ID of a set created in the same batch. */
  setId?: number;
}

/**
 * Checks what of an element command does not depend on the set's types (the
 * names, comments, object names and verdicts), so a transaction can refuse it
 * when the command is added even if the set's layout is read only at commit.
 */
export function validateElementNames(target: Pick<ElementTarget, 'table' | 'set'>, elements: readonly SetElement[]): void {
  validateNftName(target.table, 'table name');
  validateNftName(target.set, 'set name');
  for (const e of elements) {
    if (!isObject(e)) throw new ValidationError('element', e, 'must be an object with a key');
    if (e.comment !== undefined) commentValue(e.comment, 'element comment');
    if (e.timeout !== undefined) validateInteger(e.timeout, 'element timeout', 0, Number.MAX_SAFE_INTEGER);
    if (e.object !== undefined) validateNftName(e.object, 'element object');
    if (e.verdict !== undefined) validateVerdict(e.verdict);
  }
}

/**
 * Writes NEWSETELEM or DELSETELEM messages (as many as needed) for the
 * elements; returns how many messages it wrote.
 */
export function writeElements(
  w: NetlinkWriter,
  msg: typeof C.NFT_MSG_NEWSETELEM | typeof C.NFT_MSG_DELSETELEM | typeof C.NFT_MSG_DESTROYSETELEM | typeof C.NFT_MSG_GETSETELEM,
  flags: number,
  target: ElementTarget,
  shape: SetShape,
  elements: readonly SetElement[],
): number {
  validateElementNames(target, elements);
  const wire = toWireElements(shape, elements);
  const withData = msg === C.NFT_MSG_NEWSETELEM;
  let messages = 0;
  let i = 0;
  do {
    beginNft(w, msg, flags, familyNumber(target.family));
    w.string(C.NFTA_SET_ELEM_LIST_TABLE, target.table);
    w.string(C.NFTA_SET_ELEM_LIST_SET, target.set);
    if (target.setId !== undefined) w.be32(C.NFTA_SET_ELEM_LIST_SET_ID, target.setId);
    const list = w.nest(C.NFTA_SET_ELEM_LIST_ELEMENTS);
    const start = w.length;
    for (; i < wire.length && w.length - start < MAX_ELEMENTS_BYTES; i++) writeElement(w, shape, wire[i], withData);
    w.endNest(list);
    w.end();
    messages++;
  } while (i < wire.length);
  return messages;
}

/** Writes a DELSETELEM without an element list: the kernel then removes every element. */
export function writeFlushSet(w: NetlinkWriter, s: { family: NftFamily; table: string; name: string }): void {
  beginNft(w, C.NFT_MSG_DELSETELEM, 0, familyNumber(s.family));
  w.string(C.NFTA_SET_ELEM_LIST_TABLE, validateNftName(s.table, 'table name'));
  w.string(C.NFTA_SET_ELEM_LIST_SET, validateNftName(s.name, 'set name'));
  w.end();
}

/** An element as received, before interval reassembly. */
export interface RawElement {
  key?: Buffer;
  keyEnd?: Buffer;
  flags: number;
  data?: Buffer;
  verdict?: Verdict;
  object?: string;
  timeout?: number;
  expires?: number;
  comment?: string;
  expressions: Expression[];
}

/** The set a NEWSETELEM/DELSETELEM message is about, and its raw elements. */
export function decodeElementMessage(m: NetlinkMessage): { table: string; set: string; elements: RawElement[] } {
  const a = messageAttributes(m);
  const list = a.get(C.NFTA_SET_ELEM_LIST_ELEMENTS);
  const elements = list ? new Attributes(list).all(C.NFTA_LIST_ELEM).map(decodeRawElement) : [];
  return { table: a.string(C.NFTA_SET_ELEM_LIST_TABLE) ?? '', set: a.string(C.NFTA_SET_ELEM_LIST_SET) ?? '', elements };
}

/** Shared by elements without expressions (most): never modified. */
const NO_EXPRESSIONS: Expression[] = [];

/**
 * The NFTA_DATA_VALUE inside a data nest, as a view into the received buffer:
 * one Buffer per key instead of three (a million-element listing spent most
 * of its time collecting them).
 */
function dataValueView(b: Buffer, off: number, len: number): Buffer | undefined {
  const end = off + len;
  while (off + 4 <= end) {
    const alen = b[off] | (b[off + 1] << 8);
    if (alen < 4 || off + alen > end) return undefined;
    if (((b[off + 2] | (b[off + 3] << 8)) & 0x3fff) === C.NFTA_DATA_VALUE) return b.subarray(off + 4, off + alen);
    off += (alen + 3) & ~3;
  }
  return undefined;
}

function decodeRawElement(buf: Buffer): RawElement {
  const a = new Attributes(buf);
  const out: RawElement = { flags: a.be32(C.NFTA_SET_ELEM_FLAGS) ?? 0, expressions: NO_EXPRESSIONS };
  const key = a.read(C.NFTA_SET_ELEM_KEY, dataValueView);
  if (key) out.key = key;
  const keyEnd = a.read(C.NFTA_SET_ELEM_KEY_END, dataValueView);
  if (keyEnd) out.keyEnd = keyEnd;
  const data = readData(a.get(C.NFTA_SET_ELEM_DATA));
  if (data.value) out.data = data.value;
  if (data.verdict) out.verdict = data.verdict;
  const obj = a.string(C.NFTA_SET_ELEM_OBJREF);
  if (obj !== undefined) out.object = obj;
  const timeout = a.be64(C.NFTA_SET_ELEM_TIMEOUT);
  if (timeout !== undefined) out.timeout = Number(timeout);
  const exp = a.be64(C.NFTA_SET_ELEM_EXPIRATION);
  if (exp !== undefined) out.expires = Number(exp);
  const userdata = a.get(C.NFTA_SET_ELEM_USERDATA);
  if (userdata) {
    const { comment } = splitComment(userdata, UDATA_SET_ELEM_COMMENT);
    if (comment !== undefined) out.comment = comment;
  }
  const one = a.get(C.NFTA_SET_ELEM_EXPR);
  const list = a.get(C.NFTA_SET_ELEM_EXPRESSIONS);
  if (one || list) out.expressions = [...(one ? [readExpressionBody(one)] : []), ...readExpressionList(list)];
  return out;
}

function formatValue(fields: Array<DataType | undefined>, lengths: number[], b: Buffer): ElementValue {
  if (fields.length === 1) return fields[0] ? fields[0].format(b.length === lengths[0] ? b : b.subarray(0, lengths[0])) : Buffer.from(b);
  const out: Scalar[] = [];
  let off = 0;
  for (let i = 0; i < fields.length; i++) {
    const part = b.subarray(off, off + lengths[i]);
    const field = fields[i];
    out.push(field ? field.format(part) : Buffer.from(part));
    off += alignedLength(lengths[i]);
  }
  return out;
}

/**
 * A range rendered the way nft writes it, field by field: a single value,
 * a prefix ("10.0.0.0/8") for addresses, or "from-to".
 */
function formatRange(shape: SetShape, lo: Buffer, hi: Buffer): Pick<SetElement, 'key' | 'keyEnd'> {
  const parts: Scalar[] = [];
  let off = 0;
  for (let i = 0; i < shape.keyFields.length; i++) {
    const len = shape.keyFieldLengths[i];
    const t = shape.keyFields[i];
    const a = lo.subarray(off, off + len);
    const b = hi.subarray(off, off + len);
    off += shape.keyFields.length > 1 ? alignedLength(len) : len;
    if (!t) {
      if (!a.equals(b)) return { key: Buffer.from(lo), keyEnd: Buffer.from(hi) }; // raw bytes cannot spell a range
      parts.push(Buffer.from(a));
    } else if (a.equals(b)) parts.push(t.format(a));
    else {
      const prefix = t.name === 'ipv4_addr' || t.name === 'ipv6_addr' ? prefixLength(a, b) : undefined;
      parts.push(prefix !== undefined ? `${String(t.format(a))}/${prefix}` : `${String(t.format(a))}-${String(t.format(b))}`);
    }
  }
  return { key: shape.keyFields.length > 1 ? parts : parts[0] };
}

/** Range data (start then end) as nft writes it: a single value, a prefix, or "from-to". */
function formatDataRange(shape: SetShape, data: Buffer): ElementValue {
  const [t] = shape.dataFields;
  const len = shape.dataFieldLengths[0];
  const a = data.subarray(0, len);
  const b = data.subarray(len, 2 * len);
  if (!t) return Buffer.from(data);
  if (a.equals(b)) return t.format(a);
  const prefix = t.name === 'ipv4_addr' || t.name === 'ipv6_addr' ? prefixLength(a, b) : undefined;
  return prefix !== undefined ? `${String(t.format(a))}/${prefix}` : `${String(t.format(a))}-${String(t.format(b))}`;
}

/** The prefix length when [lo, hi] is exactly one CIDR block. */
function prefixLength(lo: Buffer, hi: Buffer): number | undefined {
  const bits = lo.length * 8;
  let p = 0;
  while (p < bits && (lo[p >> 3] & (0x80 >> (p & 7))) === (hi[p >> 3] & (0x80 >> (p & 7)))) p++;
  for (let b = p; b < bits; b++) {
    const m = 0x80 >> (b & 7);
    if (lo[b >> 3] & m || !(hi[b >> 3] & m)) return undefined;
  }
  return p;
}

function finish(shape: SetShape, r: RawElement, base: Pick<SetElement, 'key' | 'keyEnd'>): SetElement {
  const e: SetElement = base.keyEnd === undefined ? { key: base.key } : { key: base.key, keyEnd: base.keyEnd };
  if (r.flags & C.NFT_SET_ELEM_CATCHALL) {
    e.key = '*';
    e.catchall = true;
  }
  if (r.verdict) e.verdict = r.verdict;
  if (r.data) e.value = shape.dataInterval ? formatDataRange(shape, r.data) : formatValue(shape.dataFields, shape.dataFieldLengths, r.data);
  if (r.object !== undefined) e.object = r.object;
  if (r.timeout !== undefined) e.timeout = r.timeout;
  if (r.expires !== undefined) e.expires = r.expires;
  if (r.comment !== undefined) e.comment = r.comment;
  if (r.expressions.length === 0) return e;
  const exprs = [...r.expressions];
  const ci = exprs.findIndex((x) => x.type === 'counter');
  if (ci >= 0) {
    const c = exprs.splice(ci, 1)[0] as { packets?: bigint; bytes?: bigint };
    e.counter = { packets: c.packets ?? 0n, bytes: c.bytes ?? 0n };
  }
  if (exprs.length) e.expressions = exprs;
  return e;
}

/** Turns received elements into typed ones, reassembling intervals. */
export function assembleElements(shape: SetShape, raw: RawElement[]): SetElement[] {
  const out: SetElement[] = [];
  const plain: Array<RawElement & { key: Buffer }> = [];
  for (const r of raw) {
    if (r.flags & C.NFT_SET_ELEM_CATCHALL) out.push(finish(shape, r, { key: '' }));
    else if (r.key !== undefined) plain.push(r as RawElement & { key: Buffer });
  }
  const keyOf = (r: { key: Buffer }) => r.key;
  if (!shape.interval || shape.keyFields.length > 1) {
    // Hash sets list in hash order: sort by key value so listings are stable.
    const t = shape.keyFields.length === 1 ? shape.keyFields[0] : undefined;
    const numericHostOrder = HOST_LITTLE_ENDIAN && t?.hostOrder === true && t.name !== 'ifname';
    for (const r of sortByKey(plain, keyOf, numericHostOrder))
      out.push(finish(shape, r, r.keyEnd ? formatRange(shape, r.key, r.keyEnd) : { key: formatValue(shape.keyFields, shape.keyFieldLengths, r.key) }));
    return out;
  }
  // Single-field intervals: walk the boundaries in key order (an end before a start at the same key).
  const sorted = sortByKey(plain, keyOf, false, (r) => (r.flags & C.NFT_SET_ELEM_INTERVAL_END ? 0 : 1));
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i];
    if (r.flags & C.NFT_SET_ELEM_INTERVAL_END) continue;
    const next = sorted.at(i + 1);
    const hi = next ? decrement(next.key) : Buffer.alloc(r.key.length, 0xff);
    out.push(finish(shape, r, formatRange(shape, r.key, hi)));
  }
  return out;
}
