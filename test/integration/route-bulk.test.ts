// Routes in bulk (h.routes.add/replace/delete given an array): every route
// validated before anything is sent, all sent many per datagram, the
// failures reported by index in one BatchError and the rest applied; read
// back by nlkit and by `ip -j`, async and sync.
import { describe, expect, it, vi } from 'vitest';
import {
  BatchError,
  NetlinkError,
  NetlinkOverrunError,
  NotFoundError,
  open,
  openSync,
  routeOps,
  ValidationError,
  type Operation,
  type RouteOptions,
} from '../../lib';
import { PartedBulkCall } from '../../lib/netlink/bulk-parts';
import { ipJson, useNetns } from '../helpers/netns';

const N = 5000;
const hostRoute = (i: number, link: number | string): RouteOptions => ({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link });
/** The connection's requests still waiting for an answer (none may leak). */
const pending = (h: object) => (h as unknown as { rtnl: { tracker: { size: number } } }).rtnl.tracker.size;

describe('routes in bulk', () => {
  const box = useNetns('b');
  const ns = () => box.ns('b');
  const h = () => box.h('b');
  const bootRoutes = () => ipJson<Array<{ dst: string; dev: string }>>(ns(), '-4', 'route', 'show', 'proto', 'boot');

  it('adds 5,000 routes in one call and deletes them in one call', async () => {
    await h().links.add({ name: 'k0', kind: 'bridge', up: true });
    await h().links.add({ name: 'k1', kind: 'bridge', up: true });
    await h().routes.add({ dst: '10.99.0.0/16', link: 'k1' }); // foreign state: stays
    const index = (await h().links.get('k0')).index;
    const list = Array.from({ length: N }, (_, i) => hostRoute(i, index));

    expect(await h().routes.add(list)).toBeUndefined();
    expect(pending(h())).toBe(0);
    const seen = bootRoutes();
    expect(seen.length).toBe(N + 1);
    expect(new Set(seen.filter((r) => r.dev === 'k0').map((r) => r.dst))).toEqual(new Set(list.map((r) => String(r.dst).replace('/32', ''))));
    const listed = await h().routes.list({ link: index, family: 4 });
    expect(listed.length).toBe(N);
    expect(listed.every((r) => r.linkName === 'k0' && r.protocol === 'boot' && r.scope === 'link')).toBe(true);

    // All 5,000 refused: every refusal fits the receive buffer and is reported (no overrun).
    const again = await h()
      .routes.add(list)
      .catch((x: unknown) => x);
    expect((again as BatchError).failed.length).toBe(N);
    expect((again as BatchError).errors.every((e) => e.code === 'EEXIST')).toBe(true);
    expect(pending(h())).toBe(0);

    expect(await h().routes.delete(listed)).toBe(N);
    expect(pending(h())).toBe(0);
    expect(bootRoutes().map((r) => `${r.dst} ${r.dev}`)).toEqual(['10.99.0.0/16 k1']);
    expect(await h().routes.delete(list, { missingOk: true })).toBe(0);
  });

  it('sends plain routes part by part as it encodes them, refusals matched by index across the parts', async () => {
    await h().links.add({ name: 'k2', kind: 'bridge', up: true });
    const index = (await h().links.get('k2')).index;
    const list = Array.from({ length: N }, (_, i) => ({ dst: `10.80.${i >> 8}.${i & 255}/32`, link: index }));
    await h().routes.add([list[0]]); // a first bulk call goes whole, handing the socket to its I/O thread
    // A part holds 1,489 of these 44-byte requests: refusals on both sides of each boundary, and the last request (the acked one).
    const taken = [0, 1, 1488, 1489, 2977, 2978, 4000, N - 1];
    for (const i of taken.slice(1)) await h().routes.add(list[i]);
    const parts = vi.spyOn(PartedBulkCall.prototype, 'nextPart');
    const whole = vi.spyOn(PartedBulkCall.prototype, 'message', 'get');
    try {
      const e = await h()
        .routes.add(list)
        .catch((x: unknown) => x);
      expect(parts.mock.calls.length).toBe(5); // four parts, then the end
      expect(whole).not.toHaveBeenCalled(); // sent part by part, not whole
      expect(e).toBeInstanceOf(BatchError);
      expect((e as BatchError).failed).toEqual(taken);
      expect((e as BatchError).errors.every((x) => x.code === 'EEXIST')).toBe(true);
      expect(pending(h())).toBe(0);
      expect(bootRoutes().filter((r) => r.dev === 'k2').length).toBe(N);
      expect((await h().routes.list({ link: index, family: 4 })).length).toBe(N);

      expect(await h().routes.delete(taken.map((i) => list[i]))).toBe(taken.length);
      const d = await h()
        .routes.delete(list)
        .catch((x: unknown) => x);
      expect((d as BatchError).failed).toEqual(taken);
      expect((d as BatchError).errors.every((x) => x instanceof NotFoundError)).toBe(true);
      expect(await h().routes.delete(list, { missingOk: true })).toBe(0);
    } finally {
      parts.mockRestore();
      whole.mockRestore();
    }
    expect(pending(h())).toBe(0);
    expect(bootRoutes().filter((r) => r.dev === 'k2')).toEqual([]);
    await h().links.delete('k2');
  });

  it('reports exactly the failing routes by index and applies the rest', async () => {
    const index = (await h().links.get('k0')).index;
    await h().routes.add({ dst: '10.70.0.3/32', link: index }); // item 3 exists already
    const list = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => hostRoute(i, index)).map((r, i) => ({ ...r, dst: `10.70.0.${i}/32` }));
    list[5] = { dst: '10.70.0.5/32', link: 999_999 }; // no such link (kernel: ENODEV)
    list[6] = { dst: '10.70.0.6/32', link: 'nosuch0' }; // no such link name (looked up first)

    const e = await h()
      .routes.add(list)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BatchError);
    const b = e as BatchError;
    expect(b.failed).toEqual([3, 5, 6]);
    expect(b.total).toBe(8);
    expect(b.errors[3]).toBeInstanceOf(NetlinkError);
    expect([b.errors[3].code, b.errors[3].commandIndex, b.errors[3].operation]).toEqual(['EEXIST', 3, 'add route 10.70.0.3/32']);
    expect([b.errors[5].code, b.errors[5].commandIndex]).toEqual(['ENODEV', 5]);
    expect(b.errors[6]).toBeInstanceOf(NotFoundError);
    expect([b.errors[6].code, (b.errors[6] as NotFoundError).what]).toEqual(['ENODEV', 'link']);
    expect(Object.keys(b.errors)).toEqual(['3', '5', '6']);
    expect(b.message).toMatch(/^add 8 routes: 3 of 8 failed: \[3\] add route 10\.70\.0\.3\/32: EEXIST/);
    expect(pending(h())).toBe(0);
    const k0 = () =>
      bootRoutes()
        .filter((r) => r.dev === 'k0')
        .map((r) => r.dst)
        .sort();
    expect(k0()).toEqual(['10.70.0.0', '10.70.0.1', '10.70.0.2', '10.70.0.3', '10.70.0.4', '10.70.0.7']);

    // Deleting: the missing ones are NotFoundErrors by index, or not counted with missingOk.
    expect(await h().routes.delete(list.slice(0, 5))).toBe(5);
    const again = await h()
      .routes.delete([list[0], list[7]])
      .catch((x: unknown) => x);
    expect(again).toBeInstanceOf(BatchError);
    expect((again as BatchError).failed).toEqual([0]);
    expect((again as BatchError).errors[0]).toBeInstanceOf(NotFoundError);
    expect((again as BatchError).errors[0].code).toBe('ESRCH');
    expect(await h().routes.delete([list[0], list[1], list[6]], { missingOk: true })).toBe(0);
    expect(k0()).toEqual([]);
  });

  it('validates every route before sending any', async () => {
    const index = (await h().links.get('k0')).index;
    const list = [hostRoute(1, index), hostRoute(2, index), { dst: '10.64.0.300/32', link: index }, hostRoute(4, index)];
    const e = await h()
      .routes.add(list)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('routes[2].dst');
    await expect(h().routes.add([hostRoute(1, index), { dst: '10.64.0.2/32', link: index, color: 1 } as RouteOptions])).rejects.toThrow(/routes\[1\]/);
    await expect(h().routes.add([hostRoute(1, index), { dst: '10.64.0.2/32', link: 'a/b' }])).rejects.toThrow(ValidationError);
    await expect(h().routes.delete([hostRoute(1, index)], { missingOk: 'yes' } as never)).rejects.toThrow(ValidationError);
    expect(bootRoutes().filter((r) => r.dev === 'k0')).toEqual([]);
    expect(await h().routes.add([])).toBeUndefined();
    expect(await h().routes.delete([])).toBe(0);
  });

  it('replaces in bulk, composes with yield* and runs on a sync handle', async () => {
    const list = Array.from({ length: 300 }, (_, i) => hostRoute(i, 'k0'));
    function* addThenCount(): Operation<number> {
      yield* routeOps.add(list);
      yield* routeOps.replace(list.map((r) => ({ ...r, metric: 7 })));
      return (yield* routeOps.list({ link: 'k0', family: 4 })).length;
    }
    expect(await h().run(addThenCount())).toBe(600); // replace of another metric adds (the key includes the metric)
    const s = openSync({ netns: ns() });
    try {
      expect(s.routes.delete(list)).toBe(300);
      expect(s.routes.delete(list.map((r) => ({ ...r, metric: 7 })))).toBe(300);
      const many = Array.from({ length: N }, (_, i) => hostRoute(i, 'k0'));
      s.routes.add(many);
      expect(s.routes.list({ link: 'k0', family: 4 }).length).toBe(N);
      expect(() => s.routes.add(many)).toThrow(/5000 of 5000 failed/); // every refusal read back, part by part
      const e = (() => {
        try {
          s.routes.add([hostRoute(N, 'k0'), hostRoute(7, 'k0')]);
        } catch (x) {
          return x;
        }
      })();
      expect((e as BatchError).failed).toEqual([1]);
      expect(s.routes.delete([...many, hostRoute(N, 'k0')])).toBe(N + 1);
    } finally {
      s.close();
    }
    expect(bootRoutes().filter((r) => r.dev === 'k0')).toEqual([]);
  });
  it('reports refusals lost to a full receive buffer as NetlinkOverrunError, async and sync alike', async () => {
    // 2,000 routes on a link that does not exist, refused while a receive buffer of a few KiB takes a handful of replies.
    const list = Array.from({ length: 2000 }, (_, i) => hostRoute(i, 999_999));
    const a = await open({ netns: ns(), receiveBufferBytes: 4096 });
    const s = openSync({ netns: ns(), receiveBufferBytes: 4096 });
    try {
      const async = await a.routes.add(list).catch((x: unknown) => x);
      expect(async).toBeInstanceOf(NetlinkOverrunError);
      let sync: unknown;
      try {
        s.routes.add(list);
      } catch (x) {
        sync = x;
      }
      expect(sync).toBeInstanceOf(NetlinkOverrunError);
      expect(pending(a)).toBe(0);
    } finally {
      a.close();
      s.close();
    }
    expect(bootRoutes().filter((r) => r.dst.startsWith('10.64.'))).toEqual([]);
  });
});
