// Route add/replace/delete run without a generator when links are given by
// index (SingleRequest) and as a generator when a link is named: both paths
// must give the same results, errors and kernel state, async and sync, and
// compose inside other operations with yield*.
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, openSync, routeOps, ValidationError, type Operation, type RouteOptions } from '../../lib';
import { ipJson, useNetns } from '../helpers/netns';

describe('route writes: index and name paths', () => {
  const box = useNetns('p');
  const ns = () => box.ns('p');
  const h = () => box.h('p');
  const ipDsts = () => ipJson<Array<{ dst: string; dev: string }>>(ns(), '-4', 'route', 'show', 'proto', 'boot').map((r) => `${r.dst} ${r.dev}`);

  it('gives the same results and errors whether the link is an index or a name', async () => {
    await h().links.add({ name: 'w0', kind: 'bridge', up: true });
    await h().links.add({ name: 'w1', kind: 'bridge', up: true }); // foreign state: routes on another link stay
    const index = (await h().links.get('w0')).index;
    await h().routes.add({ dst: '10.9.0.0/16', link: 'w1' });

    expect(await h().routes.add({ dst: '10.7.0.1', link: index })).toBeUndefined();
    expect(await h().routes.add({ dst: '10.7.0.2', link: 'w0' })).toBeUndefined();
    expect(await h().routes.replace({ dst: '10.7.0.3', link: index, metric: 5 })).toBeUndefined();
    expect(ipDsts().sort()).toEqual(['10.7.0.1 w0', '10.7.0.2 w0', '10.7.0.3 w0', '10.9.0.0/16 w1']);

    for (const link of [index, 'w0']) {
      const dup = await h()
        .routes.add({ dst: '10.7.0.1', link })
        .catch((e: unknown) => e);
      expect(dup).toBeInstanceOf(NetlinkError);
      expect((dup as NetlinkError).code).toBe('EEXIST');
      expect((dup as NetlinkError).operation).toBe('add route 10.7.0.1');
    }
    await expect(h().routes.add({ dst: '10.7.0.9', link: 0 })).rejects.toThrow(ValidationError);
    await expect(h().routes.add({ dst: '10.7.0.9', link: index, metric: -1 })).rejects.toThrow(ValidationError);
    await expect(h().routes.add({ dst: '10.7.0.9', link: 'nosuch0' })).rejects.toThrow(NotFoundError);
    await expect(h().routes.delete({ dst: '10.7.0.9', link: 'nosuch0' }, { missingOk: true })).resolves.toBe(false);

    expect(await h().routes.delete({ dst: '10.7.0.1', link: index })).toBe(true);
    expect(await h().routes.delete({ dst: '10.7.0.2', link: 'w0' })).toBe(true);
    for (const link of [index, 'w0']) {
      const gone = await h()
        .routes.delete({ dst: '10.7.0.1', link })
        .catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(NotFoundError);
      expect((gone as NotFoundError).code).toBe('ESRCH');
      expect(await h().routes.delete({ dst: '10.7.0.1', link }, { missingOk: true })).toBe(false);
    }
    await expect(h().routes.delete({ dst: '10.7.0.1', link: index }, { missingOk: 1 } as never)).rejects.toThrow(ValidationError);
    expect(ipDsts().sort()).toEqual(['10.7.0.3 w0', '10.9.0.0/16 w1']);
  });

  it('composes with yield* and runs on a sync handle', async () => {
    const index = (await h().links.get('w0')).index;
    function* addTwice(): Operation<boolean> {
      yield* routeOps.add({ dst: '10.8.0.1', link: index });
      yield* routeOps.add({ dst: '10.8.0.2', link: 'w0' });
      const again = yield* routeOps.delete({ dst: '10.8.0.1', link: index });
      const missing = yield* routeOps.delete({ dst: '10.8.0.1', link: index }, { missingOk: true });
      return again && !missing;
    }
    expect(await h().run(addTwice())).toBe(true);
    function* rollsBack(): Operation<string> {
      try {
        yield* routeOps.add({ dst: '10.8.0.2', link: index }); // exists: EEXIST
        return 'added';
      } catch (e) {
        return (e as NetlinkError).code;
      }
    }
    expect(await h().run(rollsBack())).toBe('EEXIST');

    const s = openSync({ netns: ns() });
    try {
      expect(s.routes.add({ dst: '10.8.0.3', link: index })).toBeUndefined();
      expect(s.routes.delete({ dst: '10.8.0.3', link: index })).toBe(true);
      expect(s.routes.delete({ dst: '10.8.0.3', link: index }, { missingOk: true })).toBe(false);
      expect(() => s.routes.delete({ dst: '10.8.0.3', link: 'w0' })).toThrow(NotFoundError);
    } finally {
      s.close();
    }
    expect(ipDsts().sort()).toEqual(['10.7.0.3 w0', '10.8.0.2 w0', '10.9.0.0/16 w1']);
  });
  it('honours options a route inherits (defaults through its prototype): single and bulk calls go to their table', async () => {
    if (!(await h().links.find('w0'))) await h().links.add({ name: 'w0', kind: 'bridge', up: true });
    const index = (await h().links.get('w0')).index;
    const inTable = (dst: string) => Object.assign(Object.create({ table: 100 }) as RouteOptions, { dst, link: index });
    const table = (t: string) => ipJson<Array<{ dst: string }>>(ns(), '-4', 'route', 'show', 'table', t, 'proto', 'boot').map((r) => r.dst);
    await h().routes.add(inTable('10.6.0.1'));
    await h().routes.add([inTable('10.6.0.2'), inTable('10.6.0.3')]);
    expect(table('100').sort()).toEqual(['10.6.0.1', '10.6.0.2', '10.6.0.3']);
    expect(table('main').filter((d) => d.startsWith('10.6.'))).toEqual([]);
    // A delete reads them too: it must not look in the main table.
    expect(await h().routes.delete(inTable('10.6.0.1'))).toBe(true);
    expect(await h().routes.delete([inTable('10.6.0.2'), inTable('10.6.0.3')])).toBe(2);
    expect(table('100')).toEqual([]);
  });
});
