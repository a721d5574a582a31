// Bulk writes that stop part-way, and bulk link lookups that fail: a bulk
// call rejected after its first part (refusals lost to a tiny receive
// buffer) sends none of its later parts (they are cancelled on the I/O
// thread's queue) and says how many items were sent; `ip -j route` shows
// exactly those. A link name missing for 1,000 items is looked up once and
// every item naming it is reported. A handle closed part-way (in a real
// Node process) sends nothing more, says how many items went, and exits 0.
import { afterEach, describe, expect, it } from 'vitest';
import { BatchError, NetlinkOverrunError, NotFoundError, open, type RouteOptions } from '../../lib';
import { exitOf, explain, killFixtures, lastJson, runFixture } from '../fixtures/lifecycle/run-fixture';
import { ipJson, requireRoot, useNetns } from '../helpers/netns';

const route = (i: number, link: number | string): RouteOptions => ({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link });
const dstOf = (i: number) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
/** The connection's requests still waiting for an answer (none may leak). */
const pending = (h: object) => (h as unknown as { rtnl: { tracker: { size: number } } }).rtnl.tracker.size;
/** Messages the handle's rtnetlink connection has received so far. */
const received = (h: object) => (h as unknown as { rtnl: { messagesReceived: number } }).rtnl.messagesReceived;

describe('a bulk write stopped part-way', () => {
  const box = useNetns('cleanup-s');
  const ns = () => box.ns('cleanup-s');
  const h = () => box.h('cleanup-s');
  const routesOn = (dev: string) =>
    ipJson<Array<{ dst: string; dev: string }>>(ns(), '-4', 'route', 'show', 'dev', dev)
      .map((r) => r.dst)
      .sort();

  it('sends none of its later parts after an overrun, and says how many items went', async () => {
    await h().links.add({ name: 'c0', kind: 'bridge', up: true });
    const index = (await h().links.get('c0')).index;
    const N = 12_000; // about nine parts of 1,489 requests
    const list = Array.from({ length: N }, (_, i) => route(i, index));
    // Items 200-999 exist already: their refusals overflow a receive buffer of a few KiB while the first part is processed.
    await h().routes.add(list.slice(200, 1000));
    const small = await open({ netns: ns(), receiveBufferBytes: 4096 });
    try {
      await small.routes.add([route(N + 1, index)]); // a first call hands the socket to its I/O thread: the next goes part by part
      const e = await small.routes.add(list).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetlinkOverrunError);
      const sent = (e as NetlinkOverrunError).itemsSent as number;
      // The first part (and nothing after it) reached the kernel.
      expect(sent).toBeGreaterThanOrEqual(1000);
      expect(sent).toBeLessThan(N / 2);
      expect((e as Error).message).toContain(`the first ${sent} items were sent`);
      expect(pending(small)).toBe(0);
    } finally {
      small.close();
    }
    const expected = [...Array.from({ length: 1000 }, (_, i) => i), N + 1].map(dstOf);
    const seen = routesOn('c0');
    // Exactly the routes of the items sent: 0-999 (200-999 were there before), then those sent up to itemsSent.
    const sentItems = seen.filter((d) => !expected.includes(d));
    expect(seen.length).toBeLessThan(N / 2);
    expect(new Set(seen)).toEqual(new Set([...expected, ...sentItems]));
    const indexes = sentItems.map((d) => list.findIndex((r) => r.dst === `${d}/32`)).sort((a, b) => a - b);
    // Contiguous from item 1000: no later part slipped out.
    expect(indexes).toEqual(Array.from({ length: indexes.length }, (_, k) => 1000 + k));
    await h().links.delete('c0');
  });

  it('looks a missing link name up once however many items name it, and reports every one of them', async () => {
    await h().links.add({ name: 'c1', kind: 'bridge', up: true });
    const list = Array.from({ length: 1001 }, (_, i) => route(i, i === 500 ? 'c1' : 'cleanup-no0'));
    const before = received(h());
    const e = await h()
      .routes.add(list)
      .catch((x: unknown) => x);
    // One refused lookup, one lookup of c1 and the bulk call's ack: not a thousand lookups.
    expect(received(h()) - before).toBeLessThan(10);
    expect(e).toBeInstanceOf(BatchError);
    const b = e as BatchError;
    expect(b.failed).toEqual(list.map((_, i) => i).filter((i) => i !== 500));
    expect(b.errors.every((x) => x instanceof NotFoundError && x.what === 'link' && x.code === 'ENODEV')).toBe(true);
    expect(routesOn('c1')).toEqual([dstOf(500)]);
    await h().links.delete('c1');
  });
});

describe('a bulk write whose handle closes part-way, in a real process', () => {
  afterEach(killFixtures);

  it('sends nothing more after close(), says how many items went and exits 0', async () => {
    requireRoot();
    const r = await runFixture('bulk-close.cjs', { timeoutMs: 40_000 });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    const out = lastJson<{ rejected: boolean; name: string; sent: boolean; itemsSent: number; present: number; last: number }>(r);
    expect([out.rejected, out.name, out.sent]).toEqual([true, 'ClosedError', true]);
    // The first part (1,489 requests) went, none of the twelve after it: exactly items 0 .. itemsSent - 1 exist.
    expect(out.itemsSent).toBeGreaterThan(1400);
    expect(out.itemsSent).toBeLessThan(20_000 / 2);
    expect([out.present, out.last]).toEqual([out.itemsSent, out.itemsSent - 1]);
  });
});
