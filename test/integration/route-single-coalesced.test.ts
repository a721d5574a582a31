// Single route calls made in the same tick go to the kernel together: one
// datagram per 64 KiB, NLM_F_ACK on its last request only; the kernel answers
// the others only when it refuses them (lib/netlink/ack-group.ts). Each call
// still gets exactly its own outcome: a refusal in the middle rejects that
// call alone, with the errno, operation and extack a lone call gets, and the
// kernel goes on with the next request (read back with `ip -j route`). A
// refusal lost to a full receive buffer is never a success.
import { describe, expect, it } from 'vitest';
import { NetlinkError, NetlinkOverrunError, NotFoundError, open, type Handle, type RouteOptions } from '../../lib';
import { ipJson, useNetns } from '../helpers/netns';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
const outcome = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** Messages the handle's rtnetlink socket has received so far (acks and refusals). */
const received = (h: Handle) => (h.rtnetlink as unknown as { messagesReceived: number }).messagesReceived;
/** Requests still waiting for an answer (none may be left). */
const pending = (h: Handle) => (h.rtnetlink as unknown as { tracker: { size: number } }).tracker.size;
/** Whether the handle's requests still go from the libuv pool (threadless.ts) rather than its I/O thread. */
const poolSends = (h: Handle) => (h.rtnetlink as unknown as { threadless: { active: boolean } }).threadless.active;
/** A bulk call hands the socket to its I/O thread (a new handle's first requests go from the libuv pool, a round per tick). */
const useIoThread = (h: Handle) => h.routes.delete([{ dst: '10.255.255.255/32', link: 1 }], { missingOk: true });

const NO_LINK = 999_999;

describe('single route calls made in one tick', () => {
  const box = useNetns('churn');
  const ns = () => box.ns('churn');
  const h = () => box.h('churn');
  const routesOn = (dev: string) =>
    ipJson<Array<{ dst: string }>>(ns(), '-4', 'route', 'show', 'dev', dev)
      .map((r) => r.dst)
      .sort();

  it.each([
    ['from the libuv pool (a new handle: the thread-less start)', false],
    ['by the I/O thread', true],
  ])('a refusal among them rejects only its own call, as a lone call is rejected; the kernel goes on with the next (sent %s)', async (_how, thread) => {
    const dev = thread ? 'c0' : 'c5';
    const net = thread ? '10.70' : '10.75'; // the two runs share the main table
    await h().links.add({ name: dev, kind: 'bridge', up: true });
    const link = (await h().links.get(dev)).index;
    const a = await open({ netns: ns() });
    try {
      if (thread) await useIoThread(a);
      // The lone calls' refusals, to compare with (each the only request of its tick).
      const lone = await outcome(a.routes.add({ dst: `${net}.9.1/32`, link: NO_LINK }));
      await a.routes.add({ dst: `${net}.0.50/32`, link }); // taken: adding it again is EEXIST
      const loneExists = await outcome(a.routes.add({ dst: `${net}.0.50/32`, link }));
      const loneMissing = await outcome(a.routes.delete({ dst: `${net}.9.2/32`, link }));

      // 300 adds in one tick: the first, one in the middle and the last (the one carrying NLM_F_ACK) refused.
      const n = 300;
      const list: RouteOptions[] = Array.from({ length: n }, (_, i) => ({ dst: `${net}.${i >> 8}.${i & 255}/32`, link }));
      list[0] = { dst: `${net}.9.1/32`, link: NO_LINK };
      list[n - 1] = { dst: `${net}.9.3/32`, link: NO_LINK };
      // list[50] is .0.50/32, already there.
      const before = received(a);
      expect(poolSends(a)).toBe(!thread);
      const got = await Promise.all(list.map((r) => outcome(a.routes.add(r))));
      // Three refusals and one ack came back for the 300 requests (each request acked on its own: 300).
      expect(received(a) - before).toBeLessThanOrEqual(4);
      expect(pending(a)).toBe(0);

      expect(got.flatMap((o, i) => (o.ok ? [] : [i]))).toEqual([0, 50, n - 1]);
      const l = (lone as { error: NetlinkError }).error;
      expect(l).toMatchObject({ code: 'ENODEV' });
      for (const i of [0, n - 1]) {
        const e = (got[i] as { error: NetlinkError }).error;
        expect(e).toBeInstanceOf(NetlinkError);
        expect({ code: e.code, errno: e.errno, extack: e.extack }).toEqual({ code: l.code, errno: l.errno, extack: l.extack });
        expect(e.operation).toBe(`add route ${String(list[i].dst)}`);
      }
      const exists = (got[50] as { error: NetlinkError }).error;
      const le = (loneExists as { error: NetlinkError }).error;
      expect(exists).toBeInstanceOf(NetlinkError);
      expect({ code: exists.code, extack: exists.extack, message: exists.message }).toEqual({ code: 'EEXIST', extack: le.extack, message: le.message });
      // The others were added, the refused ones were not: the kernel went on after each refusal.
      const wanted = list.filter((_, i) => i !== 0 && i !== n - 1).map((r) => String(r.dst).replace('/32', ''));
      expect(routesOn(dev)).toEqual(wanted.sort());

      // Deletes in one tick: a missing route in the middle is a NotFoundError (as alone), or false with missingOk.
      const dels = list.slice(1, n - 1);
      dels.splice(100, 0, { dst: `${net}.9.2/32`, link });
      const removed = await Promise.all(dels.map((r) => outcome(a.routes.delete(r))));
      expect(removed.flatMap((o, i) => (o.ok ? [] : [i]))).toEqual([100]);
      const miss = (removed[100] as { error: NotFoundError }).error;
      const loneMiss = (loneMissing as { error: NotFoundError }).error;
      expect(miss).toBeInstanceOf(NotFoundError);
      expect({ code: miss.code, message: miss.message }).toEqual({ code: loneMiss.code, message: loneMiss.message });
      expect(removed.filter((o) => o.ok).every((o) => (o as { value: unknown }).value === true)).toBe(true);
      expect(routesOn(dev)).toEqual([]);
      const quiet = await Promise.all([a.routes.delete({ dst: `${net}.0.1/32`, link }, { missingOk: true }), a.routes.add({ dst: `${net}.0.1/32`, link })]);
      expect(quiet).toEqual([false, undefined]);
      expect(routesOn(dev)).toEqual([`${net}.0.1`]);
      expect(pending(a)).toBe(0);
      expect(poolSends(a)).toBe(!thread);
    } finally {
      a.close();
    }
  });

  it('keeps the order of calls: a request not sent with them (a lookup) goes after the calls made before it', async () => {
    await h().links.add({ name: 'c1', kind: 'bridge', up: true });
    const link = (await h().links.get('c1')).index;
    await useIoThread(h());
    const r = { dst: '10.71.0.1/32', link };
    // The lookups are sent at once; the add and the delete wait for the end of the tick unless something else is sent first.
    const [, found, deleted, gone] = await Promise.all([
      h().routes.add(r),
      h().routes.lookup('10.71.0.1'),
      h().routes.delete(r),
      outcome(h().routes.lookup('10.71.0.1')),
    ]);
    expect(found).toMatchObject({ dst: '10.71.0.1/32', linkName: 'c1' });
    expect(deleted).toBe(true);
    expect(gone).toMatchObject({ ok: false, error: { code: 'ENETUNREACH' } });
    expect(routesOn('c1')).toEqual([]);
  });

  it('sends 5,000 calls of one tick in 64 KiB datagrams, each call with its own outcome', async () => {
    await h().links.add({ name: 'c2', kind: 'bridge', up: true });
    const link = (await h().links.get('c2')).index;
    await useIoThread(h());
    const n = 5000;
    const list = Array.from({ length: n }, (_, i) => ({ dst: `10.72.${i >> 8}.${i & 255}/32`, link }));
    // Every 1,000th taken beforehand: refused in the middle of their datagrams (a datagram holds ~1,489 of these).
    const taken = [999, 1999, 2999, 3999, 4999];
    for (const i of taken) await h().routes.add(list[i]);
    const before = received(h());
    const got = await Promise.all(list.map((r) => outcome(h().routes.add(r))));
    expect(received(h()) - before).toBeLessThanOrEqual(taken.length + 4); // the refusals and an ack per datagram
    expect(got.flatMap((o, i) => (o.ok ? [] : [i]))).toEqual(taken);
    expect(taken.every((i) => (got[i] as { error: NetlinkError }).error.code === 'EEXIST')).toBe(true);
    expect(routesOn('c2').length).toBe(n);
    const removed = await Promise.all(list.map((r) => h().routes.delete(r)));
    expect(removed.every((x) => x === true)).toBe(true);
    expect(routesOn('c2')).toEqual([]);
    expect(pending(h())).toBe(0);
  });

  it("sends routes of other shapes (a table, a metric, a gateway) with them, each refusal its own call's", async () => {
    await h().links.add({ name: 'c4', kind: 'bridge', up: true });
    const link = (await h().links.get('c4')).index;
    await h().addresses.add('c4', '10.74.255.1/24');
    await useIoThread(h());
    // Plain routes (written in place) alternate with general ones (encoded as a message, then joined to the datagram).
    const list: RouteOptions[] = Array.from({ length: 200 }, (_, i) => {
      const dst = `10.74.${i >> 8}.${i & 255}/32`;
      if (i % 4 === 1) return { dst, link, table: 100 };
      if (i % 4 === 2) return { dst, link, metric: 7 };
      if (i % 4 === 3) return { dst, gateway: '10.74.255.2', link };
      return { dst, link };
    });
    list[101] = { dst: '10.74.9.1/32', gateway: '10.99.0.1', link }; // not on the link's subnet: the kernel refuses it (ENETUNREACH)
    const lone = await outcome(h().routes.add(list[101]));
    const before = received(h());
    const got = await Promise.all(list.map((r) => outcome(h().routes.add(r))));
    expect(received(h()) - before).toBeLessThanOrEqual(2);
    expect(got.flatMap((o, i) => (o.ok ? [] : [i]))).toEqual([101]);
    const e = (got[101] as { error: NetlinkError }).error;
    const l = (lone as { error: NetlinkError }).error;
    expect(l).toBeInstanceOf(NetlinkError);
    expect({ code: e.code, extack: e.extack, message: e.message }).toEqual({ code: l.code, extack: l.extack, message: l.message });
    const main = ipJson<Array<{ dst: string; metric?: number; gateway?: string }>>(ns(), '-4', 'route', 'show', 'dev', 'c4', 'proto', 'boot');
    const table100 = ipJson<Array<{ dst: string }>>(ns(), '-4', 'route', 'show', 'table', '100', 'dev', 'c4');
    expect(table100.map((r) => r.dst).sort()).toEqual(
      list
        .filter((r) => r.table === 100)
        .map((r) => String(r.dst).replace('/32', ''))
        .sort(),
    );
    expect(main.filter((r) => r.metric === 7).length).toBe(50);
    expect(main.filter((r) => r.gateway === '10.74.255.2').length).toBe(50);
    expect(main.length).toBe(150); // and 49 in table 100: list[101] was one of those
    expect(pending(h())).toBe(0);
  });

  it('never reports a refusal lost to a full receive buffer as a success', async () => {
    await h().links.add({ name: 'c3', kind: 'bridge', up: true });
    const link = (await h().links.get('c3')).index;
    // A receive buffer of a few KiB takes a handful of refusals; 2,000 routes on a missing link are refused, mixed with 1,000 valid ones.
    const small = await open({ netns: ns(), receiveBufferBytes: 4096 });
    try {
      await useIoThread(small);
      const list = Array.from({ length: 3000 }, (_, i) => ({ dst: `10.73.${i >> 8}.${i & 255}/32`, link: i % 3 === 2 ? link : NO_LINK }));
      const got = await Promise.all(list.map((r) => outcome(small.routes.add(r))));
      const refused = list.map((r, i) => [r, got[i]] as const).filter(([r]) => r.link === NO_LINK);
      // Not one refused request resolved: each has its kernel error or, where the refusal was lost, NetlinkOverrunError.
      expect(refused.filter(([, o]) => o.ok).length).toBe(0);
      const kinds = new Set(
        refused.map(([, o]) => ((o as { error: unknown }).error instanceof NetlinkOverrunError ? 'overrun' : (o as { error: NetlinkError }).error.code)),
      );
      expect(kinds.has('overrun')).toBe(true);
      expect([...kinds].every((k) => k === 'overrun' || k === 'ENODEV')).toBe(true);
      // Every valid one that resolved is in the kernel (an overrun one may or may not be: its outcome is unknown).
      const there = new Set(routesOn('c3'));
      const resolved = list.filter((r, i) => got[i].ok).map((r) => r.dst.replace('/32', ''));
      expect(resolved.filter((d) => !there.has(d))).toEqual([]);
      expect(pending(small)).toBe(0);
      // The socket goes on working: an overrun fails only the requests sent before it was read, so the next call is answered.
      await small.routes.replace({ dst: '10.73.99.1/32', link });
      expect(routesOn('c3')).toContain('10.73.99.1');
    } finally {
      small.close();
    }
  });
});
