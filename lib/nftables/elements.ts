/**
 * Set and map elements written: typed values ("10.0.0.1", 80, ["10.0.0.2",
 * 8080]) encoded per the set's key and data types; intervals (prefixes and
 * ranges) encoded the way the kernel stores them — start/end element pairs
 * for single-field interval sets, key + key-end for concatenations. Exact
 * keys and values go straight into the message (element-value-write.ts);
 * reading them back is element-decode.ts.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { NetlinkWriter } from '../netlink/writer';
import { parseCidr } from '../validate/ip';
import { validateNftName, validateNftText } from '../validate/names';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { validateVerdict, writeValue, writeVerdict } from './data';
import { alignedLength, type DataType, type Scalar } from './datatypes';
import type { ElementValue, SetElement } from './element-types';
import { fieldValue, writeExactValue } from './element-value-write';
import { writeExpressionBody, writeExpressionList, type Expression } from './expressions/registry';
import { beginNft, familyNumber, type NftFamily } from './message';
import { parsedField } from './parsed-fields';
import { validateCounterValue, validateTimeout } from './ranges';
import type { SetShape } from './set';
import { UDATA_SET_ELEM_COMMENT, commentValue, joinComment } from './userdata';

export type { ElementValue, SetElement } from './element-types';
export { assembleElements, decodeElementMessage, type RawElement } from './element-decode';

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
    if (type.name === 'ifname' && v.endsWith('*')) return ifnameWildcard(v, field);
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

/**
 * An interface-name wildcard ("veth*") as nft stores it in an interval set:
 * every name that starts with the prefix, from the prefix padded with zeros
 * to the prefix padded with 0xff.
 */
function ifnameWildcard(v: string, field: string): Bounds {
  const prefix = Buffer.from(validateNftText(v, field).slice(0, -1), 'utf8');
  if (prefix.length === 0 || prefix.length > 15) throw new ValidationError(field, v, 'a wildcard needs 1 to 15 bytes before "*"');
  const lo = Buffer.alloc(16);
  const hi = Buffer.alloc(16, 0xff);
  prefix.copy(lo);
  prefix.copy(hi);
  return { lo, hi };
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
  // Single-field intervals: a start element, and an end element at hi + 1,
  // also when the next range starts right there (nft sends both: the rbtree
  // of current kernels refuses a start that follows a start with EEXIST).
  ranges.sort((x, y) => Buffer.compare(x.lo, y.lo));
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    const next = ranges.at(i + 1);
    if (next && Buffer.compare(next.lo, r.hi) <= 0) {
      throw new ValidationError('elements', [r.e.key, next.e.key], 'intervals overlap');
    }
    out.push({ key: r.lo, flags: 0, source: r.e });
    const end = increment(r.hi);
    if (end) out.push({ key: end, flags: C.NFT_SET_ELEM_INTERVAL_END, source: r.e });
  }
  return out;
}

/** An element of a set without intervals, written straight from its typed key and value. */
function writeExactElement(w: NetlinkWriter, shape: SetShape, e: SetElement, withData: boolean): void {
  const n = w.nest(C.NFTA_LIST_ELEM);
  if (e.catchall) w.be32(C.NFTA_SET_ELEM_FLAGS, C.NFT_SET_ELEM_CATCHALL);
  else {
    if (e.keyEnd !== undefined) throw new ValidationError('keyEnd', e.keyEnd, 'ranges need a set with the "interval" flag');
    if (!writeExactValue(w, C.NFTA_SET_ELEM_KEY, shape.keyFields, shape.keyFieldLengths, e.key, 'element key'))
      writeValue(w, C.NFTA_SET_ELEM_KEY, encodeValue(shape.keyFields, shape.keyFieldLengths, e.key, 'element key', false).lo);
  }
  if (withData) writeElementData(w, shape, e);
  w.endNest(n);
}

/** An element of an interval set (a start or an end of a range), from its encoded bounds. */
function writeElement(w: NetlinkWriter, shape: SetShape, el: WireElement, withData: boolean): void {
  const n = w.nest(C.NFTA_LIST_ELEM);
  if (el.key) writeValue(w, C.NFTA_SET_ELEM_KEY, el.key);
  if (el.keyEnd) writeValue(w, C.NFTA_SET_ELEM_KEY_END, el.keyEnd);
  if (el.flags) w.be32(C.NFTA_SET_ELEM_FLAGS, el.flags);
  if (withData && (el.flags & C.NFT_SET_ELEM_INTERVAL_END) === 0) writeElementData(w, shape, el.source);
  w.endNest(n);
}

/** What an added element carries besides its key: its verdict, value or object, timeout, comment, expressions. */
function writeElementData(w: NetlinkWriter, shape: SetShape, e: SetElement): void {
  if (shape.map === 'verdict') {
    if (!e.verdict) throw new ValidationError('verdict', e.verdict, 'verdict map elements need a verdict');
    writeVerdict(w, C.NFTA_SET_ELEM_DATA, e.verdict);
  } else if (shape.map === 'data') {
    if (e.value === undefined) throw new ValidationError('value', e.value, 'map elements need a value');
    if (shape.dataInterval || !writeExactValue(w, C.NFTA_SET_ELEM_DATA, shape.dataFields, shape.dataFieldLengths, e.value, 'element value')) {
      const v = encodeValue(shape.dataFields, shape.dataFieldLengths, e.value, 'element value', shape.dataInterval);
      writeValue(w, C.NFTA_SET_ELEM_DATA, shape.dataInterval ? Buffer.concat([v.lo, v.hi]) : v.lo);
    }
  } else if (shape.map === 'object') {
    if (e.object === undefined) throw new ValidationError('object', e.object, 'object map elements need an object name');
    w.string(C.NFTA_SET_ELEM_OBJREF, validateNftName(e.object, 'element object'));
  }
  if (e.timeout !== undefined) w.be64(C.NFTA_SET_ELEM_TIMEOUT, BigInt(validateTimeout(e.timeout, 'element timeout')));
  const ud = joinComment(e.comment, undefined, UDATA_SET_ELEM_COMMENT);
  if (ud) w.attr(C.NFTA_SET_ELEM_USERDATA, ud);
  // The counter first, as listed (element-decode.ts), with its values: nft's `counter packets 5 bytes 300`.
  const exprs = e.counter === undefined ? e.expressions : [{ type: 'counter', ...e.counter } as Expression, ...(e.expressions ?? [])];
  if (exprs?.length === 1) {
    const x = w.nest(C.NFTA_SET_ELEM_EXPR);
    writeExpressionBody(w, exprs[0]);
    w.endNest(x);
  } else if (exprs && exprs.length > 1) writeExpressionList(w, C.NFTA_SET_ELEM_EXPRESSIONS, exprs);
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
    if (e.counter !== undefined) validateElementCounter(e.counter);
    if (e.timeout !== undefined) validateTimeout(e.timeout, 'element timeout');
    if (e.object !== undefined) validateNftName(e.object, 'element object');
    if (e.verdict !== undefined) validateVerdict(e.verdict);
  }
}

/** An element's counter: `{ packets, bytes }`, each 0 to 2^64 - 1 (a listed element's, or starting values). */
function validateElementCounter(c: unknown): void {
  if (!isObject(c) || Array.isArray(c)) throw new ValidationError('element counter', c, 'must be { packets, bytes }');
  rejectUnknownKeys(c, COUNTER_KEYS, 'element counter');
  validateCounterValue((c as { packets?: unknown }).packets, 'element counter packets');
  validateCounterValue((c as { bytes?: unknown }).bytes, 'element counter bytes');
}

const COUNTER_KEYS = keysOf<NonNullable<SetElement['counter']>>()(['packets', 'bytes']);

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
  // Sets without intervals: each element written as it is read (no Buffer per key or value); intervals need the bounds first.
  const wire = shape.interval ? toWireElements(shape, elements) : undefined;
  const count = wire ? wire.length : elements.length;
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
    for (; i < count && w.length - start < MAX_ELEMENTS_BYTES; i++) {
      if (wire) writeElement(w, shape, wire[i], withData);
      else writeExactElement(w, shape, elements[i], withData);
    }
    w.endNest(list);
    w.end();
    messages++;
  } while (i < count);
  return messages;
}

/** Writes a DELSETELEM without an element list: the kernel then removes every element. */
export function writeFlushSet(w: NetlinkWriter, s: { family: NftFamily; table: string; name: string }): void {
  beginNft(w, C.NFT_MSG_DELSETELEM, 0, familyNumber(s.family));
  w.string(C.NFTA_SET_ELEM_LIST_TABLE, validateNftName(s.table, 'table name'));
  w.string(C.NFTA_SET_ELEM_LIST_SET, validateNftName(s.name, 'set name'));
  w.end();
}
