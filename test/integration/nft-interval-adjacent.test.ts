// Interval sets and maps whose ranges touch (10.0.0.0/24 next to
// 10.0.1.0/24): nft sends an end element for each range, also where the next
// one starts, and the kernel's rbtree refuses a start right after a start.
import { describe, expect, it } from 'vitest';
import { nftLoad, nftObjects } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

describe('nftables interval sets with adjacent ranges', () => {
  const box = useNetns('a', 'b');

  it('adds adjacent ranges to a set and a map; nft lists them as written', async () => {
    const h = box.h('a');
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 'adj' });
    tx.addSet({ family: 'inet', table: 'adj', name: 's', keyType: 'ipv4_addr', flags: ['interval'] }, [
      { key: '10.0.0.0/24' },
      { key: '10.0.1.0/24' },
      { key: '10.0.2.0-10.0.2.9' },
    ]);
    tx.addSet({ family: 'inet', table: 'adj', name: 'm', keyType: 'ipv4_addr', dataType: 'mark', flags: ['interval'] }, [
      { key: '10.1.0.0/16', value: 1 },
      { key: '10.2.0.0/24', value: 2 },
    ]);
    await tx.commit();
    expect(await h.nft.elements.list({ family: 'inet', table: 'adj', name: 's' })).toEqual([
      { key: '10.0.0.0/24' },
      { key: '10.0.1.0/24' },
      { key: '10.0.2.0-10.0.2.9' },
    ]);
    const [set] = nftObjects(box.ns('a'), 'set', 'adj');
    expect(set.elem).toEqual([{ prefix: { addr: '10.0.0.0', len: 24 } }, { prefix: { addr: '10.0.1.0', len: 24 } }, { range: ['10.0.2.0', '10.0.2.9'] }]);
    const [map] = nftObjects(box.ns('a'), 'map', 'adj');
    expect(map.elem).toEqual([
      [{ prefix: { addr: '10.1.0.0', len: 16 } }, 1],
      [{ prefix: { addr: '10.2.0.0', len: 24 } }, 2],
    ]);
  });

  it('copies a map written by nft -f with adjacent ranges, and deletes touching ranges without leaving an end behind', async () => {
    nftLoad(
      box.ns('a'),
      'table ip foreign {\n map m { type ipv4_addr : mark; flags interval; elements = { 10.1.0.0/16 : 0x10, 10.2.0.0/24 : 0x20, 10.3.0.0/24 : 0x30 }; }\n}\n',
    );
    const ref = { family: 'ip', table: 'foreign', name: 'm' } as const;
    const { elements, ...set } = await box.h('a').nft.sets.get(ref);
    const elems = await box.h('a').nft.elements.list(ref);
    expect(elements).toBeUndefined();
    const tx = box.h('b').nft.transaction();
    tx.addTable({ family: 'ip', name: 'foreign' });
    tx.addSet(set, elems);
    await tx.commit();
    expect(nftObjects(box.ns('b'), 'map', 'foreign')[0].elem).toEqual(nftObjects(box.ns('a'), 'map', 'foreign')[0].elem);

    // The first two touch: deleting both must remove both ends.
    const del = box.h('a').nft.transaction();
    del.deleteElements(ref, elems.slice(0, 2));
    await del.commit();
    expect(await box.h('a').nft.elements.list(ref)).toEqual([{ key: '10.3.0.0/24', value: 0x30 }]);
    expect(nftObjects(box.ns('a'), 'map', 'foreign')[0].elem).toEqual([[{ prefix: { addr: '10.3.0.0', len: 24 } }, 0x30]]);
  });
});
