/**
 * Parsed fields of concatenated element keys and values, kept for the next
 * elements: a batch repeats most fields (a service port's slots share its
 * address, protocol and port; slot numbers and endpoints recur from one
 * change to the next), and each parse allocates a buffer that the garbage
 * collector then has to sweep. The buffers are read only (copied into each
 * element's own). Bounded: a type's cache is emptied when it grows past
 * MAX_PER_TYPE values.
 * @module
 */
import type { DataType, Scalar } from './datatypes';

const MAX_PER_TYPE = 4096;

type ParseField = (type: DataType | undefined, len: number, v: Scalar, field: string) => Buffer;

/** Per data type and field length: value → its bytes. */
const parsed = new WeakMap<DataType, Map<number, Map<string | number, Buffer>>>();

/** A field of type `type` holding `v` (of length `len`), as `parse` encodes it; from the cache when seen before. */
export function parsedField(type: DataType | undefined, len: number, v: Scalar, field: string, parse: ParseField): Buffer {
  if (!type || (typeof v !== 'string' && typeof v !== 'number')) return parse(type, len, v, field);
  let byLength = parsed.get(type);
  if (!byLength) parsed.set(type, (byLength = new Map<number, Map<string | number, Buffer>>()));
  let cache = byLength.get(len);
  if (!cache || cache.size >= MAX_PER_TYPE) byLength.set(len, (cache = new Map<string | number, Buffer>()));
  let b = cache.get(v);
  if (!b) {
    b = parse(type, len, v, field);
    cache.set(v, b);
  }
  return b;
}
