// A large dump reaches JavaScript part by part as the I/O thread reads it, so
// decoding one part overlaps the kernel making the next (the kernel makes a
// part of at most 32 KiB each time the previous one is read). Counted in
// deliveries to the event loop, not in time.
import { describe, expect, it } from 'vitest';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { useNetns } from '../helpers/netns';

const ROUTES = 5_000;
const RTM_NEWROUTE = 24;

function routeDump(collect?: (m: { type: number }) => unknown) {
  const w = new NetlinkWriter().begin(26 /* RTM_GETROUTE */, 0x300 /* NLM_F_DUMP */);
  const rtmsg = w.struct(12);
  w.view.writeUInt8(2 /* AF_INET */, rtmsg);
  return { kind: 'dump' as const, message: w.end().finish(), operation: 'dump routes', collect };
}

describe('dump parts', () => {
  const box = useNetns('parts');

  it(`delivers each part of a ${ROUTES.toLocaleString('en')}-route dump to JavaScript as it is read`, async () => {
    const h = box.h('parts');
    await h.links.add({ name: 'pt0', kind: 'bridge', up: true });
    await Promise.all(Array.from({ length: ROUTES }, (_, i) => h.routes.add({ dst: `10.1.${i >> 8}.${i & 255}/32`, type: 'blackhole' })));
    const conn = h.rtnetlink;
    // A bulk call hands the connection over to its I/O thread (a new handle's first requests go whole through the pool).
    await h.routes.delete([{ dst: '10.255.255.255/32', link: 1 }], { missingOk: true });
    // messagesReceived grows by a whole delivery before its messages are collected: one value per delivery.
    const seen = [conn.messagesReceived];
    let routes = 0;
    await conn.execute(
      routeDump((m) => {
        if (m.type === RTM_NEWROUTE) routes++;
        if (seen[seen.length - 1] !== conn.messagesReceived) seen.push(conn.messagesReceived);
        return undefined;
      }),
    );
    expect(routes).toBeGreaterThanOrEqual(ROUTES);
    const sizes = seen.slice(1).map((c, i) => c - seen[i]);
    // ~44 bytes a route message: a 32 KiB part holds ~740 of them, the dump is
    // ~7 parts (the last delivery is not counted here). Before, the I/O thread
    // posted 128 KiB at a time (the first ~3,000 routes at once): 2 deliveries.
    expect(sizes.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...sizes)).toBeLessThan(1_000);
  });
});
