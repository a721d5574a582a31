// What an overrun (ENOBUFS: the kernel dropped replies to a full receive
// buffer) does to the requests in flight, read back from the kernel. From the
// drop until a recvmsg finds the socket's queue empty the kernel drops every
// reply (NETLINK_S_CONGESTED); the replies queued before the drop are still
// read. So exactly the requests sent before the queue was read empty and not
// answered by then fail (NetlinkOverrunError, `sent: true`: the kernel had
// them); a request answered by a queued reply gets its own outcome, and one
// not yet sent is sent afterwards and answered. A caller told "failed" whose
// error does not say `sent` never finds its route applied.
import { afterEach, describe, expect, it } from 'vitest';
import { NetlinkError, NetlinkOverrunError, open, type Handle } from '../../lib';
import { exitOf, explain, killFixtures, lastJson, runFixture } from '../fixtures/lifecycle/run-fixture';
import { ipJson, useNetns } from '../helpers/netns';

type Outcome = { ok: true } | { ok: false; error: unknown };
const outcome = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
const pending = (h: Handle) => (h.rtnetlink as unknown as { tracker: { size: number } }).tracker.size;
const sender = (h: Handle) => (h.rtnetlink as unknown as { threadless: { active: boolean; busy: boolean } }).threadless;
/** A bulk call: the handle's socket goes to its I/O thread. */
const useIoThread = (h: Handle) => h.routes.delete([{ dst: '10.255.255.255/32', link: 1 }], { missingOk: true });
const NO_LINK = 999_999;
const dst = (net: number, i: number) => `10.${net}.${i >> 8}.${i & 255}/32`;

describe('requests in flight at an overrun', () => {
  const box = useNetns('le-overrun');
  const ns = () => box.ns('le-overrun');
  const h = () => box.h('le-overrun');
  const routesOn = (dev: string) => new Set(ipJson<Array<{ dst: string }>>(ns(), '-4', 'route', 'show', 'dev', dev).map((r) => `${r.dst}/32`));
  afterEach(killFixtures);

  it('fails only the calls the kernel had and did not answer; the queued ones are sent and answered (I/O thread)', async () => {
    await h().links.add({ name: 'o0', kind: 'bridge', up: true });
    const link = (await h().links.get('o0')).index;
    const small = await open({ netns: ns(), receiveBufferBytes: 4096 });
    // The I/O thread's events other than messages, in order (the native callback looks onEvent up on each call).
    const conn = small.rtnetlink as unknown as { onEvent: (kind: number, payload: unknown, errno: number) => void };
    const kinds: number[] = [];
    const onEvent = conn.onEvent.bind(conn);
    conn.onEvent = (kind, payload, errno) => {
      if (kind !== 0) kinds.push(kind);
      onEvent(kind, payload, errno);
    };
    try {
      await useIoThread(small);
      // One tick: 1,000 refused calls, then 4,000 valid ones: about four datagrams of ~1,450 requests. The first
      // one's refusals overflow the buffer while it is processed; the later ones are still queued then.
      const refused = Array.from({ length: 1000 }, (_, i) => ({ dst: dst(91, i), link: NO_LINK }));
      const valid = Array.from({ length: 4000 }, (_, i) => ({ dst: dst(92, i), link }));
      const got = await Promise.all([...refused, ...valid].map((r) => outcome(small.routes.add(r))));
      const failures = got.flatMap((o) => (o.ok ? [] : [o.error]));
      const overruns = failures.filter((e) => e instanceof NetlinkOverrunError);
      expect(overruns.length).toBeGreaterThan(0);
      // Every overrun says the request had reached the kernel (its outcome unknown).
      expect(overruns.every((e) => e.sent === true && e.message.includes('whether it was applied is unknown'))).toBe(true);
      // The refusals queued before the drop are read after the ENOBUFS: their calls get their own ENODEV.
      const enodev = got.slice(0, 1000).filter((o) => !o.ok && o.error instanceof NetlinkError && o.error.code === 'ENODEV');
      expect(enodev.length).toBeGreaterThan(0);
      expect(got.slice(0, 1000).every((o) => !o.ok)).toBe(true);
      // Only the first datagram lost answers: the calls in the later ones (queued at the overrun) all succeed.
      const validFailed = got.slice(1000).filter((o) => !o.ok);
      expect(validFailed.length).toBeLessThan(1500);
      expect(got.slice(2500).every((o) => o.ok)).toBe(true);
      // The kernel agrees: every valid call that resolved is there, and one failed by the overrun was sent, so there too.
      const there = routesOn('o0');
      expect(valid.filter((r) => !there.has(r.dst))).toEqual([]);
      expect(pending(small)).toBe(0);
      // Where the ENOBUFS was read is marked (OverrunBegan, 5) ahead of the report (Overrun, 3), which comes once the
      // queue was read empty: a group sent before the mark cannot settle as a success by a later ack.
      expect(kinds.indexOf(5)).toBeGreaterThanOrEqual(0);
      expect(kinds.indexOf(5)).toBeLessThan(kinds.indexOf(3));
      // The next call gets its own answer at once.
      await small.routes.add({ dst: '10.92.99.1/32', link });
      expect(routesOn('o0').has('10.92.99.1/32')).toBe(true);
    } finally {
      small.close();
    }
  });

  it('fails no call still waiting to be sent from the libuv pool when a round overruns (thread-less start)', async () => {
    await h().links.add({ name: 'o1', kind: 'bridge', up: true });
    const link = (await h().links.get('o1')).index;
    const small = await open({ netns: ns(), receiveBufferBytes: 4096 });
    try {
      // 600 refused calls: one round on the pool, whose refusals overflow the buffer.
      const first = Array.from({ length: 600 }, (_, i) => outcome(small.routes.add({ dst: dst(93, i), link: NO_LINK })));
      for (let i = 0; i < 10 && !sender(small).busy; i++) await Promise.resolve();
      expect(sender(small).busy).toBe(true); // the round is on the pool: the next calls wait for it
      const valid = Array.from({ length: 50 }, (_, i) => ({ dst: dst(94, i), link }));
      const later = valid.map((r) => outcome(small.routes.add(r)));
      const got = await Promise.all(first);
      expect(got.some((o) => !o.ok && o.error instanceof NetlinkOverrunError && o.error.sent === true)).toBe(true);
      expect(got.every((o) => !o.ok)).toBe(true);
      // Sent after the overrun was read: answered, applied.
      expect(await Promise.all(later)).toEqual(valid.map(() => ({ ok: true })));
      expect(sender(small).active).toBe(true);
      const there = routesOn('o1');
      expect(valid.filter((r) => !there.has(r.dst))).toEqual([]);
      expect(pending(small)).toBe(0);
    } finally {
      small.close();
    }
  });
});

describe('a blocking handle after an overrun, in a real process', () => {
  afterEach(killFixtures);

  it('says how many items of a bulk call went, and answers the next call (it used to wait forever)', async () => {
    const r = await runFixture('sync-overrun.cjs', { timeoutMs: 30_000 });
    expect({ ...exitOf(r), timedOut: r.timedOut }, explain(r)).toEqual({ status: 0, signal: null, timedOut: false });
    const out = lastJson<{ name: string; sent: boolean; itemsSent: number; present: number; last: number; next: boolean }>(r);
    expect(out.name).toBe('NetlinkOverrunError');
    expect(out.sent).toBe(true);
    // The first part (and nothing after it) reached the kernel: exactly items 0 to itemsSent - 1 are there.
    expect(out.itemsSent).toBeGreaterThanOrEqual(1000);
    expect(out.itemsSent).toBeLessThan(3000);
    expect(out.present).toBe(out.itemsSent);
    expect(out.last).toBe(out.itemsSent - 1);
    expect(out.next).toBe(true);
  });
});
