// A dump read slowly must hold the kernel back instead of piling every
// message up in memory: the kernel produces the next part of a dump only when
// the previous one is read, and nlkit stops reading while the consumer is
// behind. Counted in messages received by the connection, not in time.
import { describe, expect, it, onTestFinished } from 'vitest';
import { open } from '../../lib';
import { ClosedError, NETLINK_ROUTE, openNetlink } from '../../lib/netlink';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { ownNetlinkSockets } from '../helpers/netlink-sockets';
import { useNetns } from '../helpers/netns';

const ROUTES = 100_000;
const RTM_NEWROUTE = 24;

function routeDump() {
  const w = new NetlinkWriter().begin(26 /* RTM_GETROUTE */, 0x300 /* NLM_F_DUMP */);
  const rtmsg = w.struct(12);
  w.view.writeUInt8(2 /* AF_INET */, rtmsg);
  return { kind: 'dump' as const, message: w.end().finish(), operation: 'stream routes' };
}

describe('dump streams', () => {
  const box = useNetns('bp');

  it(`keeps at most a few thousand messages of a ${ROUTES.toLocaleString('en')}-route dump waiting for a slow reader`, async () => {
    const h = box.h('bp');
    await h.links.add({ name: 'bp0', kind: 'bridge', up: true });
    for (let base = 0; base < ROUTES; base += 10_000) {
      await Promise.all(
        Array.from({ length: 10_000 }, (_, k) => {
          const i = base + k;
          return h.routes.add({ dst: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`, type: 'blackhole' });
        }),
      );
    }
    const conn = h.rtnetlink;
    const before = conn.messagesReceived;
    let read = 0;
    let worstBacklog = 0;
    for await (const m of conn.stream(routeDump())) {
      if (m.type === RTM_NEWROUTE) read++;
      // Slow: the event loop turns (and the I/O thread runs) between messages.
      if (read <= 5_000) {
        await new Promise((r) => setImmediate(r));
        worstBacklog = Math.max(worstBacklog, conn.messagesReceived - before - read);
      }
      if (read === 5_000) {
        // Give the I/O thread every chance to read ahead if it would.
        await new Promise((r) => setTimeout(r, 200));
        worstBacklog = Math.max(worstBacklog, conn.messagesReceived - before - read);
      }
    }
    expect(read).toBeGreaterThanOrEqual(ROUTES); // plus the local table's own routes
    // A constant bound, whatever the dump's size: 4,096 queued (the stream's
    // high water) + at most 256 KiB on its way to the event loop + 128 KiB
    // read ahead, at 44 bytes per route message, is about 13,000. Before the
    // fix the whole dump was read ahead (~59,000 of 100,000 by the time the
    // reader had 5,000).
    expect(worstBacklog).toBeLessThan(16_000);
    expect(worstBacklog).toBeGreaterThan(0);
  });

  it('answers the other calls of the socket while a stream waits for its consumer (the stream has a socket of its own)', async () => {
    const sock = await openNetlink(NETLINK_ROUTE, { netns: box.ns('bp') });
    try {
      const stream = sock.stream(routeDump().message, 'stream routes');
      expect((await stream.next()).done).toBe(false);
      // The consumer stops reading: its dump pauses at a few thousand messages. Before, every call made on the
      // socket meanwhile waited for it (nothing was sent while reading was paused): this one never came back.
      const w = new NetlinkWriter().begin(18 /* RTM_GETLINK */, 0);
      w.struct(16);
      w.string(3 /* IFLA_IFNAME */, 'bp0');
      const noAnswer = Symbol('no answer');
      const got = await Promise.race([sock.request(w.end()), new Promise((r) => setTimeout(() => r(noAnswer), 10_000))]);
      expect(got).not.toBe(noAnswer);
      expect(got).toHaveLength(1);
      // A collected dump does not wait for the stream either (the kernel allows one dump per socket).
      const links = new NetlinkWriter().begin(18 /* RTM_GETLINK */, 0x300 /* NLM_F_DUMP */);
      links.struct(16);
      expect((await sock.dump(links.end())).length).toBeGreaterThanOrEqual(2); // lo and bp0
      // The stream goes on where it stopped and ends whole.
      let read = 0;
      for await (const m of stream) if (m.type === RTM_NEWROUTE) read++;
      expect(read).toBeGreaterThanOrEqual(ROUTES - 1);
      // Closing the socket closes a stream's own one: a paused stream ends with ClosedError after what it holds.
      const again = sock.stream(routeDump().message, 'stream routes');
      await again.next();
      sock.close();
      let ended: unknown;
      try {
        for await (const m of again) void m;
      } catch (e) {
        ended = e;
      }
      expect(ended).toBeInstanceOf(ClosedError);
    } finally {
      sock.close();
    }
  });

  it('closes the socket of a stream the consumer abandoned; the handle lists on its own socket meanwhile', async () => {
    // A fresh handle: the sandbox's keeps the socket of the first test's stream (read to its end) for its next stream.
    const h = await open({ netns: box.ns('bp') });
    onTestFinished(() => h.close());
    const before = ownNetlinkSockets(box.ns('bp'));
    let n = 0;
    let during: string[] = [];
    for await (const m of h.rtnetlink.stream(routeDump())) {
      if (m.type !== RTM_NEWROUTE || ++n < 10) continue;
      during = ownNetlinkSockets(box.ns('bp'));
      break;
    }
    // The dump ran on one more socket of the namespace, and `break` closed it (its dump unread): none is left behind.
    // (Before, an abandoned stream was read to its end on the handle's socket; closing replaced that.)
    expect(during.filter((s) => !before.includes(s))).toHaveLength(1);
    expect(ownNetlinkSockets(box.ns('bp'))).toEqual(before);
    // The handle's own socket never had that dump, so its next one is not refused with EBUSY.
    const all = await h.routes.list({ family: 4, type: 'blackhole' });
    expect(all.length).toBe(ROUTES);
  });

  it('keeps the socket of a stream read to its end for the next stream, and closes it with the handle', async () => {
    const before = ownNetlinkSockets(box.ns('bp')); // the sandbox's handle's
    const h = await open({ netns: box.ns('bp') });
    const handleOnly = ownNetlinkSockets(box.ns('bp'));
    expect(handleOnly).toHaveLength(before.length + 1);
    const linkDump = () => {
      const w = new NetlinkWriter().begin(18 /* RTM_GETLINK */, 0x300 /* NLM_F_DUMP */);
      w.struct(16); // ifinfomsg
      return { kind: 'dump' as const, message: w.end().finish(), operation: 'stream links' };
    };
    const streamed = async () => {
      let links = 0;
      for await (const m of h.rtnetlink.stream(linkDump())) if (m.type === 16 /* RTM_NEWLINK */) links++;
      return links;
    };
    try {
      const links = (await h.links.list()).length;
      expect(await streamed()).toBe(links);
      const afterFirst = ownNetlinkSockets(box.ns('bp'));
      const spare = afterFirst.filter((s) => !handleOnly.includes(s));
      expect(spare).toHaveLength(1);
      // The next streams run on that socket: no other one is made, and they read the whole dump.
      for (let i = 0; i < 3; i++) expect(await streamed()).toBe(links);
      expect(ownNetlinkSockets(box.ns('bp'))).toEqual(afterFirst);
      // Two at once: the second gets a socket of its own; one of the two is kept afterwards.
      expect(await Promise.all([streamed(), streamed()])).toEqual([links, links]);
      expect(ownNetlinkSockets(box.ns('bp'))).toHaveLength(afterFirst.length);
    } finally {
      h.close();
    }
    expect(ownNetlinkSockets(box.ns('bp'))).toEqual(before); // the handle's socket and the kept one closed
  });
});
