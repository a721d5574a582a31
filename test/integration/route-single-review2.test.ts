// Review of the coalesced single route calls (lib/netlink/ack-group.ts):
// outcomes after an overrun on the thread-less start (the libuv pool), and
// the operation named by a refused call whose route object the caller
// changed after making it.
import { describe, expect, it } from 'vitest';
import { NetlinkError, NetlinkOverrunError, open } from '../../lib';
import { ipJson, useNetns } from '../helpers/netns';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
const outcome = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
const poolSends = (h: unknown) => (h as { rtnetlink: { threadless: { active: boolean } } }).rtnetlink.threadless.active;

const NO_LINK = 999_999;

describe('coalesced single route calls (review2)', () => {
  const box = useNetns('review2');
  const ns = () => box.ns('review2');
  const h = () => box.h('review2');

  it('settles the calls made after an overrun on the thread-less start (the refusals lost to it are not read as successes)', async () => {
    await h().links.add({ name: 'r0', kind: 'bridge', up: true });
    const link = (await h().links.get('r0')).index;
    const small = await open({ netns: ns(), receiveBufferBytes: 4096 });
    try {
      // 600 refused adds in one round from the pool: their refusals overrun a receive buffer of a few KiB.
      const refused = Array.from({ length: 600 }, (_, i) => ({ dst: `10.80.${i >> 8}.${i & 255}/32`, link: NO_LINK }));
      const got = await Promise.all(refused.map((r) => outcome(small.routes.add(r))));
      expect(poolSends(small)).toBe(true);
      expect(got.filter((o) => o.ok).length).toBe(0);
      expect(got.some((o) => !o.ok && o.error instanceof NetlinkOverrunError)).toBe(true);
      // The next calls (still from the pool) get their own outcomes: one refused, one added.
      const [bad, good] = await Promise.all([
        outcome(small.routes.add({ dst: '10.80.9.1/32', link: NO_LINK })),
        outcome(small.routes.add({ dst: '10.80.9.2/32', link })),
      ]);
      expect(bad).toMatchObject({ ok: false, error: { code: 'ENODEV' } });
      expect(good).toEqual({ ok: true, value: undefined });
      expect(ipJson<Array<{ dst: string }>>(ns(), '-4', 'route', 'show', 'dev', 'r0').map((r) => r.dst)).toEqual(['10.80.9.2']);
    } finally {
      small.close();
    }
  });

  it("attributes a refusal past the sequence numbers' wrap (inside one datagram) to its own call", async () => {
    await h().links.add({ name: 'r1', kind: 'bridge', up: true });
    const link = (await h().links.get('r1')).index;
    const a = await open({ netns: ns() });
    try {
      await a.routes.add({ dst: '10.82.9.9/32', link }); // the socket is made
      // The next request is numbered 0xfffffff1: the 40 calls' datagram wraps to 1 after its 14th request.
      (a.rtnetlink as unknown as { seqs: { seq: number } }).seqs.seq = 0xfffffff0;
      const list = Array.from({ length: 40 }, (_, i) => ({ dst: `10.82.0.${i}/32`, link: i === 20 ? NO_LINK : link }));
      const got = await Promise.all(list.map((r) => outcome(a.routes.add(r))));
      expect(got.flatMap((o, i) => (o.ok ? [] : [i]))).toEqual([20]);
      expect((got[20] as { error: NetlinkError }).error).toMatchObject({ code: 'ENODEV', operation: 'add route 10.82.0.20/32' });
      const there = ipJson<Array<{ dst: string }>>(ns(), '-4', 'route', 'show', 'dev', 'r1').map((r) => r.dst);
      expect(there.length).toBe(40); // 39 and 10.82.9.9
      expect(there).not.toContain('10.82.0.20');
    } finally {
      a.close();
    }
  });

  it('names the route a refused call was made for, even if the caller changes the route object afterwards', async () => {
    const a = await open({ netns: ns() });
    try {
      const r = { dst: '10.81.0.1/32', link: NO_LINK };
      const add = outcome(a.routes.add(r));
      const del = outcome(a.routes.delete({ ...r }));
      r.dst = '10.81.0.2/32'; // reused for the next call, as a loop might
      const d2 = { dst: '10.81.0.3/32', link: NO_LINK };
      const del2 = outcome(a.routes.delete(d2));
      d2.dst = '10.81.0.4/32';
      const [x, , y] = await Promise.all([add, del, del2]);
      expect((x as { error: NetlinkError }).error.operation).toBe('add route 10.81.0.1/32');
      expect((y as { error: NetlinkError }).error.operation).toBe('delete route 10.81.0.3/32');
    } finally {
      a.close();
    }
  });
});
