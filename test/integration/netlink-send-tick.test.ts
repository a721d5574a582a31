// A tick's requests of any kind on one connection reach its I/O thread in one
// hand-off (lib/netlink/send-tick.ts): one enqueue, so one eventfd write and
// one sendmsg. Counted at the native socket's send(); each request still gets
// its own outcome from the kernel, read back: a refusal fails only its own
// call, a dump among them lists, a create's echo comes back, a link made is
// there; closed while corked, nothing reaches the kernel.
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, NetlinkError, open as openHandle } from '../../lib';
import type { NativeNetlinkSocket } from '../../lib/native/binding';
import { NetlinkConnection } from '../../lib/netlink/connection';
import { bindAsync } from '../../lib/netlink/bind';
import { call, runAsync } from '../../lib/netlink/operation';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { linkOps } from '../../lib/rtnetlink/link';
import { routeOps } from '../../lib/rtnetlink/route';
import { ipJson, useNetns } from '../helpers/netns';

const NETLINK_ROUTE = 0;

describe('one hand-off per tick', () => {
  const box = useNetns('tick');
  const open: NetlinkConnection[] = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  /** A connection in the test's namespace whose I/O thread sends (past the thread-less start), its send() calls counted. */
  async function connection() {
    const conn = NetlinkConnection.inNamespace({ protocol: NETLINK_ROUTE, netnsFd: box.h('tick').netns!.fd });
    open.push(conn);
    await runAsync(conn, linkOps.get('lo')); // the socket is made
    const internals = conn as unknown as { socket: NativeNetlinkSocket; threadless?: { handOver(): Promise<void> } };
    await internals.threadless?.handOver(); // from here on the I/O thread sends
    // The native object's methods are read-only: the connection's socket is swapped for a proxy that counts send().
    const socket = internals.socket;
    const sends: number[][] = [];
    const sizes: number[] = [];
    const send = (data: Uint8Array, token: number, exclusive: boolean) => {
      const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const seqs: number[] = [];
      for (let off = 0; off + 16 <= b.length; off += (b.readUInt32LE(off) + 3) & ~3) seqs.push(b.readUInt32LE(off + 8));
      sends.push(seqs);
      sizes.push(b.length);
      socket.send(data, token, exclusive);
    };
    internals.socket = new Proxy(socket, {
      get(target, key) {
        if (key === 'send') return send;
        const v: unknown = Reflect.get(target, key);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    // As a handle binds them: an ack-only request (a route add) goes through the tick's ack group.
    return { conn, sends, sizes, links: bindAsync(conn, linkOps), routes: bindAsync(conn, routeOps) };
  }

  it('a get, a dump, a create with its echo and a refused create share one send; each gets its own outcome', async () => {
    const h = box.h('tick');
    await h.links.add({ name: 'tk-br', kind: 'bridge' });
    const { links, sends } = await connection();
    const outcomes = await Promise.allSettled([
      links.get('lo'),
      links.list(),
      links.add({ name: 'tk-d0', kind: 'bridge' }),
      links.add({ name: 'tk-br', kind: 'bridge' }), // exists: EEXIST, its own
      links.add({ name: 'tk-d1', kind: 'bridge', mtu: 1400 }),
    ]);
    expect(sends.length).toBe(1);
    expect(sends[0].length).toBe(5); // one request each, in the order made
    expect([...sends[0]].sort((a, b) => a - b)).toEqual(sends[0]);
    const [lo, list, d0, br, d1] = outcomes;
    expect(lo).toMatchObject({ status: 'fulfilled', value: { name: 'lo', index: 1 } });
    expect(list.status).toBe('fulfilled');
    const names = (list as PromiseFulfilledResult<Array<{ name: string }>>).value.map((l) => l.name);
    expect(names).toEqual(expect.arrayContaining(['lo', 'tk-br']));
    expect(br.status).toBe('rejected');
    expect((br as PromiseRejectedResult).reason).toBeInstanceOf(NetlinkError);
    expect((br as PromiseRejectedResult).reason).toMatchObject({ code: 'EEXIST' });
    // The creates after the refusal ran too (the kernel goes on after one), and answered with their echo.
    const kernel = ipJson<Array<{ ifname: string; ifindex: number; mtu: number }>>(box.ns('tick'), 'link', 'show');
    const made0 = kernel.find((l) => l.ifname === 'tk-d0');
    const made1 = kernel.find((l) => l.ifname === 'tk-d1');
    expect(d0).toMatchObject({ status: 'fulfilled', value: { index: made0?.ifindex } });
    expect(d1).toMatchObject({ status: 'fulfilled', value: { index: made1?.ifindex } });
    expect(made1?.mtu).toBe(1400);
  });

  it('a tick of 2,000 lookups goes in sends of at most 64 KiB, each answered with its own route', async () => {
    const h = box.h('tick');
    await h.links.add({ name: 'tk-r', kind: 'bridge', up: true });
    await h.addresses.add('tk-r', '10.61.0.1/16');
    const routes = Array.from({ length: 20 }, (_, i) => ({ dst: `10.${70 + i}.0.0/16`, gateway: `10.61.0.${10 + i}` }));
    await Promise.all(routes.map((r) => h.routes.add(r)));
    const { routes: rt, sends, sizes } = await connection();
    const N = 2000;
    const got = await Promise.all(Array.from({ length: N }, (_, i) => rt.lookup(`10.${70 + (i % 20)}.1.${i % 250}`)));
    got.forEach((r, i) => expect(r.gateway).toBe(`10.61.0.${10 + (i % 20)}`));
    const requests = sends.flat().length;
    expect(requests).toBeGreaterThanOrEqual(N);
    expect(sends.length).toBeLessThan(requests / 100); // a send per 64 KiB of requests, not one per request
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
  });

  /** A get of link 1 (lo) as a caller may keep it: one Buffer, given to every call (the connection stamps its sequence number into it). */
  function getLo(): Buffer {
    const w = new NetlinkWriter().begin(18 /* RTM_GETLINK */, 0);
    w.view.writeInt32LE(1, w.struct(16) + 4); // ifinfomsg.ifi_index
    return w.end().finish();
  }

  /** Settles with the calls' outcomes, or with 'hung' if one is never answered (its reply went to another sequence number). */
  async function answeredOrHung<T>(calls: Array<Promise<T>>): Promise<Array<PromiseSettledResult<T>> | 'hung'> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 5000)));
    try {
      return await Promise.race([Promise.allSettled(calls), hung]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('the same Buffer given to several calls of one tick: each leaves with its own sequence number and is answered', async () => {
    const { conn, sends } = await connection();
    const buf = getLo();
    const outcomes = await answeredOrHung([1, 2, 3].map(() => runAsync(conn, call(buf, 'get lo'))));
    expect(outcomes).not.toBe('hung');
    for (const o of outcomes as Array<PromiseSettledResult<Array<{ seq: number }>>>) expect(o.status).toBe('fulfilled');
    expect(sends.length).toBe(1);
    expect(new Set(sends[0]).size).toBe(3); // three sequence numbers on the wire, not the last one three times
  });

  it('the same Buffer given to several calls of a thread-less round (a new connection): each is answered', async () => {
    const conn = NetlinkConnection.inNamespace({ protocol: NETLINK_ROUTE, netnsFd: box.h('tick').netns!.fd });
    open.push(conn);
    await runAsync(conn, linkOps.get('lo')); // the socket is made; its first rounds go without the I/O thread
    expect((conn as unknown as { threadless?: { active: boolean } }).threadless?.active).toBe(true);
    const buf = getLo();
    const outcomes = await answeredOrHung([1, 2, 3].map(() => runAsync(conn, call(buf, 'get lo'))));
    expect(outcomes).not.toBe('hung');
    for (const o of outcomes as Array<PromiseSettledResult<unknown>>) expect(o.status).toBe('fulfilled');
  });

  it("the same Buffer given to several calls of a short-lived handle's first round: each is answered", async () => {
    const h = await openHandle({ netns: box.ns('tick'), shortLived: true });
    try {
      const buf = getLo();
      const outcomes = await answeredOrHung([1, 2, 3].map(() => h.run(call(buf, 'get lo'))));
      expect(outcomes).not.toBe('hung');
      for (const o of outcomes as Array<PromiseSettledResult<unknown>>) expect(o.status).toBe('fulfilled');
    } finally {
      h.close();
    }
  });

  it('a dump of several parts and a get after it in one send: the kernel answers the get before the dump ends', async () => {
    const h = box.h('tick');
    await h.links.add({ name: 'tk-dp', kind: 'bridge', up: true });
    // 1,500 routes: a dump of several parts (the kernel makes one part per recvmsg after the first).
    await Promise.all(Array.from({ length: 1500 }, (_, i) => h.routes.add({ dst: `10.200.${i >> 8}.${i & 255}/32`, dev: 'tk-dp', table: 200 })));
    const { routes, links, sends } = await connection();
    const order: string[] = [];
    const listed = routes.list({ table: 200 }).then((r) => {
      order.push('dump');
      return r;
    });
    const got = links.get('lo').then((l) => {
      order.push('get');
      return l;
    });
    const [list, lo] = await Promise.all([listed, got]);
    // The route dump and the get in one send (then the link dump that names the routes' links).
    expect(sends[0], JSON.stringify(sends)).toHaveLength(2);
    expect(list.length).toBe(1500);
    expect(lo.name).toBe('lo');
    expect(order).toEqual(['get', 'dump']);
  });

  it('closed while corked: every call fails as never sent, and the kernel never got them', async () => {
    const { conn, sends, links, routes } = await connection();
    const calls = [
      links.add({ name: 'tk-never0', kind: 'bridge' }),
      links.get('lo'),
      links.list(),
      routes.add({ dst: '10.99.0.0/16', dev: 'lo' }),
      links.add({ name: 'tk-never1', kind: 'bridge' }),
    ].map((p) =>
      p.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
    );
    conn.close();
    const outcomes = await Promise.all(calls);
    for (const e of outcomes) {
      expect(e).toBeInstanceOf(ClosedError);
      expect(e).toMatchObject({ sent: false });
    }
    expect(sends).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    const names = ipJson<Array<{ ifname: string }>>(box.ns('tick'), 'link', 'show').map((l) => l.ifname);
    expect(names).not.toContain('tk-never0');
    expect(names).not.toContain('tk-never1');
  });

  it('ack-only requests of the tick join its other requests in the same send', async () => {
    const h = box.h('tick');
    await h.links.add({ name: 'tk-a', kind: 'bridge', up: true });
    await h.addresses.add('tk-a', '10.62.0.1/16');
    const { sends, links, routes } = await connection();
    const dsts = Array.from({ length: 5 }, (_, i) => `10.63.${i}.0/24`);
    const results = await Promise.all([
      links.get('tk-a'),
      ...dsts.map((dst) => routes.add({ dst, gateway: '10.62.0.2' })),
      routes.add({ dst: dsts[0], gateway: '10.62.0.2' }).then(
        () => 'added twice',
        (e: unknown) => e,
      ),
    ]);
    expect(sends.length).toBe(1);
    expect(sends[0].length).toBe(7); // the get and the group of six route adds
    expect(results.at(-1)).toMatchObject({ code: 'EEXIST' });
    const kernel = ipJson<Array<{ dst: string }>>(box.ns('tick'), '-4', 'route', 'show', 'via', '10.62.0.2').map((r) => r.dst);
    expect(kernel.sort()).toEqual([...dsts].sort());
  });

  it('a batch (an nftables transaction) goes after the requests corked before it, and before those after it', async () => {
    const h = box.h('tick');
    const warm = h.nft.transaction();
    warm.addTable({ family: 'inet', name: 'tk-warm' });
    await warm.commit(); // the nfnetlink connection is open, and a batch handed it to its I/O thread (threadless.ts)
    const set = { family: 'inet', table: 'tk', name: 's' } as const;
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 'tk' });
    tx.addSet({ ...set, keyType: 'inet_service' }, [{ key: 22 }]);
    const [before, commit, after] = await Promise.allSettled([h.nft.sets.get(set), tx.commit(), h.nft.sets.get(set)]);
    expect(before.status).toBe('rejected'); // asked first: the kernel had no such set yet
    expect((before as PromiseRejectedResult).reason).toMatchObject({ code: 'ENOENT' });
    expect(commit.status).toBe('fulfilled');
    expect(after).toMatchObject({ status: 'fulfilled', value: { name: 's' } });
  });
});
