/**
 * Sorting listed set elements by key. A million-element set is a million
 * comparisons of Buffers through a JavaScript comparator (seconds); keys of
 * up to four bytes (addresses, ports, marks) are read as numbers and sorted
 * natively instead.
 * @module
 */

/** A packed sort key: the key's value, then the tie bit, then the index in the low 20 bits (below 2^53 for 4-byte keys). */
const INDEX_RANGE = 2 ** 20;
const TIE_BIT = 2 ** 20;
const KEY_UNIT = 2 ** 21;

/**
 * `items` ordered by `keyOf(item)` compared byte by byte (as Buffer.compare),
 * or read in little-endian order when `littleEndian` (host-order numbers);
 * ties broken by `tie(item)` (0 or 1, lower first), then by position.
 */
export function sortByKey<T>(items: readonly T[], keyOf: (item: T) => Buffer, littleEndian: boolean, tie: (item: T) => number = () => 0): T[] {
  const n = items.length;
  if (n < 2) return [...items];
  const packed = n <= INDEX_RANGE ? packedKeys(items, keyOf, littleEndian, tie) : undefined;
  if (!packed) {
    const order = (b: Buffer) => (littleEndian ? Buffer.from(b).reverse() : b);
    return [...items].sort((x, y) => Buffer.compare(order(keyOf(x)), order(keyOf(y))) || tie(x) - tie(y));
  }
  packed.sort();
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = items[packed[i] % INDEX_RANGE];
  return out;
}

/** (key, tie, index) packed in one double per item, when every key is one length of at most 4 bytes. */
function packedKeys<T>(items: readonly T[], keyOf: (item: T) => Buffer, littleEndian: boolean, tie: (item: T) => number): Float64Array | undefined {
  const len = keyOf(items[0]).length;
  if (len > 4) return undefined;
  const packed = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const b = keyOf(items[i]);
    if (b.length !== len) return undefined;
    let k = 0;
    if (littleEndian) for (let j = len - 1; j >= 0; j--) k = k * 256 + b[j];
    else for (let j = 0; j < len; j++) k = k * 256 + b[j];
    packed[i] = k * KEY_UNIT + (tie(items[i]) ? TIE_BIT : 0) + i;
  }
  return packed;
}
