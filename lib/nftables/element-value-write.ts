/**
 * Exact element keys and map values written straight into the message: each
 * field's bytes (parsed once per value, parsed-fields.ts) copied into the
 * writer's buffer, padded per field for concatenations. A change of a
 * service's endpoints writes ~150 elements per call; a Buffer per key and
 * value made a third of what each call allocated, and so of its
 * garbage collections. The bytes are the same as encoding the value into one
 * buffer and writing that (what ranges still do, elements.ts).
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { NetlinkWriter } from '../netlink/writer';
import * as C from './constants';
import { writeValue } from './data';
import { alignedLength, type DataType, type Scalar } from './datatypes';
import type { ElementValue } from './element-types';
import { parsedField } from './parsed-fields';

/** One field's exact value (no prefix or range). */
export function fieldValue(type: DataType | undefined, len: number, v: Scalar, field: string): Buffer {
  if (type) return type.parse(v, len, field);
  if (!Buffer.isBuffer(v) || v.length !== len) throw new ValidationError(field, v, `this set's type is not known to nlkit: pass ${len} raw bytes as a Buffer`);
  return Buffer.from(v);
}

/**
 * Writes an exact key or data value as attribute `type` (an NFTA_DATA nest
 * holding NFTA_DATA_VALUE). Returns false, having written nothing, for a
 * value it leaves to the caller's buffer path: a concatenation longer than
 * the kernel takes (that path names the error) or a field whose parse is
 * not exactly its length.
 */
export function writeExactValue(
  w: NetlinkWriter,
  type: number,
  fields: ReadonlyArray<DataType | undefined>,
  lengths: readonly number[],
  v: ElementValue,
  field: string,
): boolean {
  if (fields.length === 1) {
    writeValue(w, type, parsedField(fields[0], lengths[0], v as Scalar, field, fieldValue));
    return true;
  }
  if (!Array.isArray(v) || v.length !== fields.length) {
    throw new ValidationError(field, v, `must be an array of ${fields.length} values (one per concatenated type)`);
  }
  let size = 0;
  for (const len of lengths) size += alignedLength(len);
  if (size > C.NFT_DATA_VALUE_MAXLEN) return false;
  // Every field parsed before anything is written: a bad one leaves the message as it was.
  for (let i = 0; i < fields.length; i++) if (parsedField(fields[i], lengths[i], v[i], field, fieldValue).length !== lengths[i]) return false;
  const nest = w.nest(type);
  // NFTA_DATA_VALUE is flat: opened as a nest without the nested flag, so its length is written at the end.
  const value = w.nest(C.NFTA_DATA_VALUE, true);
  // bytes() pads each field to 4 bytes with zeros, as concatenations are laid out.
  for (let i = 0; i < fields.length; i++) w.bytes(parsedField(fields[i], lengths[i], v[i], field, fieldValue));
  w.endNest(value);
  w.endNest(nest);
  return true;
}
