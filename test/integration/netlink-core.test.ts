// The I/O model: many requests in flight on one socket, each with its own
// replies; the event loop keeps running while the kernel works; the sync API.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClosedError, openSync } from '../../lib';
import { ipJson, useNetns } from '../helpers/netns';

describe('netlink I/O model', () => {
  const box = useNetns('io');

  it('resolves 10,000 concurrent requests on one socket, each with its own result', async () => {
    const h = box.h('io');
    await h.links.add({ name: 'br-io', kind: 'bridge', up: true });
    await h.addresses.add('br-io', '10.50.0.1/16');
    const N = 10_000;
    const adds = [];
    for (let i = 0; i < N; i++) {
      adds.push(h.routes.add({ dst: `10.${100 + (i >> 8)}.${i & 255}.0/24`, gateway: '10.50.0.2' }));
    }
    // Interleave requests that fail, to prove errors go to the right promise.
    const dupes = [];
    for (let i = 0; i < 50; i++) dupes.push(h.routes.add({ dst: `10.100.${i}.0/24`, gateway: '10.50.0.2' }).catch((e) => e));
    const results = await Promise.allSettled(adds);
    const dupeResults = await Promise.all(dupes);
    // Each duplicate raced with its original: exactly one of each pair succeeded.
    let failures = results.filter((r) => r.status === 'rejected').length;
    failures += dupeResults.filter((r) => r instanceof Error).length;
    expect(failures).toBe(50);
    for (const e of dupeResults.filter((r) => r instanceof Error)) expect(e.code).toBe('EEXIST');
    // Concurrent lookups, each answered with its own route.
    const gets = await Promise.all(Array.from({ length: 2000 }, (_, i) => h.routes.lookup(`10.${100 + (i >> 8)}.${i & 255}.9`)));
    gets.forEach((r) => expect(r.gateway).toBe('10.50.0.2'));
    const listed = await h.routes.list({ family: 4 });
    expect(listed.filter((r) => r.gateway === '10.50.0.2').length).toBe(N);
    expect(ipJson(box.ns('io'), '-4', 'route', 'show', 'via', '10.50.0.2').length).toBe(N);
    // Concurrent dumps are serialized per socket (the kernel allows one) and all succeed.
    const dumps = await Promise.all([h.links.list(), h.routes.list({ family: 4 }), h.addresses.list(), h.links.list()]);
    expect(dumps[1].length).toBe(listed.length);
  });

  it('keeps the event loop responsive while the kernel tears down many veth pairs', async () => {
    const h = box.h('io');
    const pairs = 150;
    await Promise.all(Array.from({ length: pairs }, (_, i) => h.links.add({ name: `ev${i}`, kind: 'veth', peer: { name: `evp${i}` } })));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    const ticksAtStart = ticks;
    await Promise.all(Array.from({ length: pairs }, (_, i) => h.links.delete(`ev${i}`)));
    const elapsed = Date.now() - started;
    clearInterval(timer);
    // The deletes took real kernel time (synchronize_net per veth); the timer kept firing throughout.
    expect(elapsed).toBeGreaterThan(20);
    expect(ticks - ticksAtStart).toBeGreaterThan(elapsed / 20);
    expect((await h.links.list({ kind: 'veth' })).length).toBe(0);
  });

  it('offers the same operations synchronously', () => {
    const s = openSync({ netns: box.ns('io') });
    try {
      s.links.add({ name: 'br-sync', kind: 'bridge' });
      expect(s.links.get('br-sync').kind).toBe('bridge');
      s.addresses.add('br-sync', '10.51.0.1/24');
      expect(s.addresses.list({ link: 'br-sync' }).map((a) => a.cidr)).toEqual(['10.51.0.1/24']);
      expect(() => s.links.add({ name: 'br-sync', kind: 'bridge' })).toThrow(/EEXIST/);
      s.links.delete('br-sync');
      expect(s.links.find('br-sync')).toBeUndefined();
    } finally {
      s.close();
    }
  });

  it('streams a dump message by message', async () => {
    const h = box.h('io');
    const { NetlinkWriter } = await import('../../lib/netlink/writer');
    const w = new NetlinkWriter().begin(26 /* RTM_GETROUTE */, 0x300 /* NLM_F_DUMP */);
    const rtmsg = w.struct(12);
    w.view.writeUInt8(2 /* AF_INET */, rtmsg);
    let n = 0;
    for await (const m of h.rtnetlink.stream({ kind: 'dump', message: w.end().finish(), operation: 'stream routes' })) {
      if (m.type === 24) n++;
    }
    expect(n).toBeGreaterThan(10_000);
  });

  it('fails pending and later calls with ClosedError after close', async () => {
    const { open } = await import('../../lib');
    const h = await open({ netns: box.ns('io') });
    const pending = h.links.list();
    h.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(h.links.list()).rejects.toBeInstanceOf(ClosedError);
  });

  it('opens handles concurrently, each socket in its namespace, and leaks no descriptor', async () => {
    const { open } = await import('../../lib');
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    // The socket is made on a worker thread; 50 opens in flight at once must each
    // get their own socket inside the namespace (the bridge is only visible there).
    const hs = await Promise.all(Array.from({ length: 50 }, () => open({ netns: box.ns('io') })));
    for (const h of hs) expect((await h.links.get('br-io')).name).toBe('br-io');
    for (const h of hs) h.close();
    await expect(open({ netns: 'nlkit-no-such-ns' })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(fds()).toBe(before);
  });
});

describe('netlink I/O model: large queues', () => {
  const box = useNetns('ioq');

  // Regression: requests queued while the I/O thread was busy went out as one
  // sendmsg with an iovec per request, and the kernel refuses more than 1,024
  // iovecs (UIO_MAXIOV): every request of such a send failed with EMSGSIZE.
  it('sends more than 1,024 requests queued while the I/O thread is busy, all successfully', async () => {
    const h = box.h('ioq');
    const pairs = 20;
    await Promise.all(Array.from({ length: pairs }, (_, i) => h.links.add({ name: `bz${i}`, kind: 'veth', peer: { name: `bzp${i}` } })));
    // The deletes keep the I/O thread inside sendmsg (synchronize_net per veth pair) ...
    const busy = Promise.allSettled(Array.from({ length: pairs }, (_, i) => h.links.delete(`bz${i}`)));
    // ... while this tick queues thousands of small requests behind them.
    const N = 5000;
    const gets = Array.from({ length: N }, () => h.links.get('lo'));
    const adds = Array.from({ length: 2000 }, (_, i) => h.routes.add({ dst: `10.${60 + (i >> 8)}.${i & 255}.0/24`, type: 'blackhole' }));
    const [deleted, got, added] = await Promise.all([busy, Promise.allSettled(gets), Promise.allSettled(adds)]);
    const failed = [...deleted, ...got, ...added].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect({ failed: failed.length, first: failed.slice(0, 3).map((r) => String(r.reason)) }).toEqual({ failed: 0, first: [] });
    for (const r of got) expect((r as PromiseFulfilledResult<{ name: string }>).value.name).toBe('lo');
    expect((await h.routes.list({ family: 4, type: 'blackhole' })).length).toBe(2000);
    expect((await h.links.list({ kind: 'veth' })).length).toBe(0);
  });
});
