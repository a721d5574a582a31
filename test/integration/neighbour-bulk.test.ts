// Neighbours in bulk (h.neighbours.add/delete given an array), through the
// same helper as routes: read back by nlkit and `ip -j neigh`, failures by
// index with the rest applied, async and sync.
import { describe, expect, it } from 'vitest';
import { BatchError, NotFoundError, openSync, ValidationError, type NeighbourOptions } from '../../lib';
import { ipJson, useNetns } from '../helpers/netns';

const N = 1000;
const entry = (i: number, link: number | string): NeighbourOptions => ({
  link,
  address: `10.80.${i >> 8}.${i & 255}`,
  mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
});

describe('neighbours in bulk', () => {
  const box = useNetns('n');
  const ns = () => box.ns('n');
  const h = () => box.h('n');
  const ipNeigh = (dev: string) => ipJson<Array<{ dst: string; lladdr: string }>>(ns(), '-4', 'neigh', 'show', 'dev', dev);

  it('adds and deletes 1,000 entries in one call each, reporting failures by index', async () => {
    await h().links.add({ name: 'n0', kind: 'bridge', up: true });
    await h().links.add({ name: 'n1', kind: 'bridge', up: true });
    await h().neighbours.add({ link: 'n1', address: '10.81.0.1', mac: '02:00:00:00:ff:01' }); // foreign state: stays
    const index = (await h().links.get('n0')).index;
    const list = Array.from({ length: N }, (_, i) => entry(i, i % 2 ? index : 'n0'));

    expect(await h().neighbours.add(list)).toBeUndefined();
    const seen = ipNeigh('n0');
    expect(seen.length).toBe(N);
    expect(new Set(seen.map((n) => `${n.dst} ${n.lladdr}`))).toEqual(new Set(list.map((n) => `${n.address} ${n.mac}`)));
    expect((await h().neighbours.list({ link: 'n0', family: 4 })).filter((n) => n.address.startsWith('10.80.')).length).toBe(N); // not the kernel's multicast entries

    const e = await h()
      .neighbours.add([entry(N, index), entry(7, index), { ...entry(N + 1, index), link: 999_999 }, entry(N + 2, 'n0')])
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BatchError);
    expect((e as BatchError).failed).toEqual([1, 2]);
    expect([(e as BatchError).errors[1].code, (e as BatchError).errors[2].code]).toEqual(['EEXIST', 'ENODEV']);
    expect((e as BatchError).errors[1].operation).toBe('add neighbour 10.80.0.7 on #' + String(index));
    expect(ipNeigh('n0').length).toBe(N + 2);

    await expect(h().neighbours.add([entry(1, index), { link: index, address: '10.80.9.x' }])).rejects.toThrow(ValidationError);

    const del = await h()
      .neighbours.delete([...list, entry(N, 'n0'), entry(N + 5, 'n0')])
      .catch((x: unknown) => x);
    expect((del as BatchError).failed).toEqual([N + 1]);
    expect((del as BatchError).errors[N + 1]).toBeInstanceOf(NotFoundError);
    expect(await h().neighbours.delete([entry(N + 2, 'n0'), entry(3, 'n0')], { missingOk: true })).toBe(1);
    expect(ipNeigh('n0')).toEqual([]);
    expect(ipNeigh('n1').length).toBe(1);
  });

  it('runs on a sync handle', () => {
    const s = openSync({ netns: ns() });
    try {
      const list = Array.from({ length: 300 }, (_, i) => entry(i, 'n0'));
      s.neighbours.add(list);
      expect(s.neighbours.list({ link: 'n0', family: 4 }).filter((n) => n.address.startsWith('10.80.')).length).toBe(300);
      expect(s.neighbours.delete(list)).toBe(300);
    } finally {
      s.close();
    }
    expect(ipNeigh('n0')).toEqual([]);
  });
});
