// Listed set elements are sorted by key: the packed numeric sort (keys of up
// to 4 bytes) must order exactly as the Buffer comparison it replaces.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sortByKey } from '../../lib/nftables/element-order';

interface Item {
  key: Buffer;
  end: boolean;
}

const items = (n: number, len: number): Item[] => Array.from({ length: n }, (_, i) => ({ key: randomBytes(len), end: i % 3 === 0 }));
const keyOf = (x: Item) => x.key;
const tie = (x: Item) => (x.end ? 0 : 1);
const reference = (xs: Item[], littleEndian: boolean) =>
  [...xs].sort((a, b) => {
    const ka = littleEndian ? Buffer.from(a.key).reverse() : a.key;
    const kb = littleEndian ? Buffer.from(b.key).reverse() : b.key;
    return Buffer.compare(ka, kb) || tie(a) - tie(b) || xs.indexOf(a) - xs.indexOf(b);
  });

describe('sorting set elements by key', () => {
  for (const len of [1, 2, 4, 6, 16]) {
    it(`orders ${len}-byte keys as Buffer.compare does, big- and little-endian, ties and duplicates included`, () => {
      const xs = items(2000, len);
      xs.push(...xs.slice(0, 50).map((x) => ({ key: Buffer.from(x.key), end: !x.end }))); // same keys, other tie
      expect(sortByKey(xs, keyOf, false, tie)).toEqual(reference(xs, false));
      expect(sortByKey(xs, keyOf, true, tie)).toEqual(reference(xs, true));
    });
  }

  it('keeps keys of mixed lengths ordered (the Buffer comparison)', () => {
    const xs = [...items(100, 4), ...items(100, 3)];
    expect(sortByKey(xs, keyOf, false, tie).map((x) => x.key)).toEqual(reference(xs, false).map((x) => x.key));
  });

  it('does not touch its input', () => {
    const xs = items(10, 4);
    const copy = [...xs];
    sortByKey(xs, keyOf, false);
    expect(xs).toEqual(copy);
  });
});
