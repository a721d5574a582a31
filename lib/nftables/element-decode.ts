/**
 * Set and map elements as received (NEWSETELEM messages of a listing or an
 * event): raw keys and data, then typed elements, with intervals reassembled
 * into ranges ("10.0.0.0/8", "from-to") from the kernel's start/end pairs.
 * @module
 */
import { Attributes, type NetlinkMessage } from '../netlink/parser';
import * as C from './constants';
import { HOST_LITTLE_ENDIAN, readData, type Verdict } from './data';
import { alignedLength, type DataType, type Scalar } from './datatypes';
import { sortByKey } from './element-order';
import type { ElementValue, SetElement } from './element-types';
import { readExpressionBody, readExpressionList, type Expression } from './expressions/registry';
import { messageAttributes } from './message';
import type { SetShape } from './set';
import { UDATA_SET_ELEM_COMMENT, splitComment } from './userdata';

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
      const wildcard = t.name === 'ifname' ? ifnameWildcard(a, b) : undefined;
      const prefix = t.name === 'ipv4_addr' || t.name === 'ipv6_addr' ? prefixLength(a, b) : undefined;
      if (wildcard !== undefined) parts.push(wildcard);
      else parts.push(prefix !== undefined ? `${String(t.format(a))}/${prefix}` : `${String(t.format(a))}-${String(t.format(b))}`);
    }
  }
  return { key: shape.keyFields.length > 1 ? parts : parts[0] };
}

/** "veth*" when [lo, hi] is every interface name starting with a prefix (nft's wildcard); undefined otherwise. */
function ifnameWildcard(lo: Buffer, hi: Buffer): string | undefined {
  let n = 0;
  while (n < lo.length && lo[n] !== 0 && lo[n] === hi[n]) n++;
  if (n === 0 || n === lo.length) return undefined;
  for (let i = n; i < lo.length; i++) if (lo[i] !== 0 || hi[i] !== 0xff) return undefined;
  return `${lo.toString('utf8', 0, n)}*`;
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
  // Only a first counter (a set defined with `counter`, as set.ts reads it): it is written back first,
  // and the kernel takes an element's expressions only in the set's order.
  if (exprs[0].type === 'counter' && exprs[0].unknownAttributes === undefined) {
    const c = exprs.shift() as { packets?: bigint; bytes?: bigint };
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
