// open({ netns, shortLived: true }): no socket until the first requests, whose
// pool job makes it in the namespace and keeps it; the next rounds and the full
// connection (a dump, more rounds) use that same socket. Read back from the
// kernel: the namespace's netlink sockets (/proc/net/netlink seen from inside
// it, matched to this process's descriptors) and the links' state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, NotFoundError, ValidationError, createNetns, deleteNetns, open } from '../../lib';
import { call } from '../../lib/netlink';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { ipJson, requireRoot, uniqueNetnsName } from '../helpers/netns';
import { ownNetlinkSockets } from '../helpers/netlink-sockets';

/** Inodes of this process's rtnetlink sockets in namespace `ns`. */
const ownRtnetlinkSockets = (ns: string): string[] => ownNetlinkSockets(ns, 0);

const linkFlags = (ns: string, name: string): string[] => (ipJson(ns, 'link', 'show', name)[0] as { flags: string[] }).flags;

describe('open({ shortLived: true })', () => {
  const names: string[] = [];
  beforeAll(async () => {
    requireRoot();
    for (const l of ['a', 'b', 'c']) {
      const name = uniqueNetnsName(`sl${l}`);
      await createNetns(name);
      names.push(name);
    }
  });
  afterAll(async () => {
    for (const n of names) await deleteNetns(n, { missingOk: true });
  });

  it('makes its socket with the first round, keeps it for the next rounds and for the full connection', async () => {
    const [ns, other] = names;
    const h = await open({ netns: ns, shortLived: true });
    try {
      expect(ownRtnetlinkSockets(ns)).toEqual([]); // nothing made by open()
      // Round 1, one tick: a bridge made, a refusal, then the new bridge set up by name (in order, one sendmsg).
      const [made, missing, up] = await Promise.allSettled([
        h.links.add({ name: 'sl0', kind: 'bridge' }),
        h.links.set('nosuch0', { up: true }),
        h.links.set('sl0', { up: true }),
      ]);
      expect(made.status).toBe('fulfilled');
      expect(up.status).toBe('fulfilled');
      expect(missing.status === 'rejected' && missing.reason).toBeInstanceOf(NotFoundError);
      expect(linkFlags(ns, 'sl0')).toContain('UP');
      const sockets = ownRtnetlinkSockets(ns);
      expect(sockets).toHaveLength(1);
      // Round 2 on the same socket.
      const sl0 = await h.links.get('sl0');
      await h.addresses.add(sl0.index, '10.67.0.1/24');
      expect(ownRtnetlinkSockets(ns)).toEqual(sockets);
      // A dump: the full connection, still with the socket of the first round.
      const names0 = (await h.links.list()).map((l) => l.name).sort();
      expect(names0).toEqual(['lo', 'sl0']);
      expect(ownRtnetlinkSockets(ns)).toEqual(sockets);
      expect((await h.addresses.list({ family: 4, link: sl0.index })).map((a) => a.address)).toEqual(['10.67.0.1']);
      // Nothing anywhere else.
      expect(ipJson(other, 'link', 'show').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    } finally {
      h.close();
    }
    expect(ownRtnetlinkSockets(ns)).toEqual([]);
  });

  it('moves to the full connection after its rounds, on the same socket; a dump as the first call works too', async () => {
    const ns = names[1];
    const h = await open({ netns: ns, shortLived: true });
    try {
      await h.links.add({ name: 'sl1', kind: 'bridge' });
      const sockets = ownRtnetlinkSockets(ns);
      expect(sockets).toHaveLength(1);
      for (let i = 0; i < 12; i++) await h.links.set('sl1', { mtu: 1400 + i });
      expect(ipJson(ns, 'link', 'show', 'sl1')[0].mtu).toBe(1411);
      expect(ownRtnetlinkSockets(ns)).toEqual(sockets);
    } finally {
      h.close();
    }
    const d = await open({ netns: ns, shortLived: true });
    try {
      expect((await d.links.list()).map((l) => l.name).sort()).toEqual(['lo', 'sl1']);
      await d.links.delete('sl1');
      expect(ipJson(ns, 'link', 'show').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    } finally {
      d.close();
    }
  });

  it('close() fails the requests not yet sent with ClosedError (sent: false); close({ drain: true }) lets them finish', async () => {
    const ns = names[2];
    const h = await open({ netns: ns, shortLived: true });
    const queued = h.links.set('lo', { up: true }); // still in this tick's round
    h.close();
    await expect(queued).rejects.toBeInstanceOf(ClosedError);
    await expect(queued).rejects.toMatchObject({ sent: false });
    expect(linkFlags(ns, 'lo')).not.toContain('UP');
    await expect(h.links.get('lo')).rejects.toBeInstanceOf(ClosedError);
    expect(ownRtnetlinkSockets(ns)).toEqual([]);

    const d = await open({ netns: ns, shortLived: true });
    const first = d.links.set('lo', { up: true });
    const dump = d.links.list(); // waits for the first round
    await d.close({ drain: true });
    await expect(first).resolves.toBeUndefined();
    expect((await dump).map((l) => l.name)).toEqual(['lo']);
    expect(linkFlags(ns, 'lo')).toContain('UP');
    expect(ownRtnetlinkSockets(ns)).toEqual([]);
  });

  it('a call waiting for the first round fails with ClosedError when the handle closes; the handle goes on with the kept socket', async () => {
    const ns = names[2];
    const h = await open({ netns: ns, shortLived: true });
    const first = h.links.get('lo');
    const waiting = h.links.list(); // a dump: waits for the first round, then the full connection
    h.close();
    await expect(first).rejects.toMatchObject({ name: 'ClosedError', sent: false });
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
    expect(ownRtnetlinkSockets(ns)).toEqual([]);

    const s = await open({ netns: ns, shortLived: true });
    try {
      await s.links.set('lo', { mtu: 65000 });
      const sockets = ownRtnetlinkSockets(ns);
      expect(sockets).toHaveLength(1);
      const w = new NetlinkWriter().begin(18 /* RTM_GETLINK */, 0x300 /* NLM_F_DUMP */);
      w.struct(16); // ifinfomsg
      let links = 0;
      for await (const m of s.rtnetlink.stream({ kind: 'dump', message: w.end().finish(), operation: 'stream links' }))
        if (m.type === 16 /* RTM_NEWLINK */) links++;
      expect(links).toBe(1);
      // The stream's dump ran on a socket of its own, kept for the next stream (read to its end); the handle's
      // rtnetlink socket is still the kept one of its first round.
      const now = ownRtnetlinkSockets(ns);
      expect(now).toHaveLength(2);
      expect(now).toEqual(expect.arrayContaining(sockets));
      expect(ipJson(ns, 'link', 'show', 'lo')[0].mtu).toBe(65000);
    } finally {
      s.close();
    }
    expect(ownRtnetlinkSockets(ns)).toEqual([]);
  });

  it('a dump given to call() (NLM_F_DUMP, no ack from the kernel) resolves with every message of the dump', async () => {
    const ns = names[0];
    const h = await open({ netns: ns, shortLived: true });
    try {
      // NLM_F_DUMP in a request: rtnetlink starts the dump (netlink_dump_start returns -EINTR) and sends its parts
      // and NLMSG_DONE, no ack: the round reads them all and the call ends at NLMSG_DONE.
      const w = new NetlinkWriter().begin(18 /* RTM_GETLINK */, 0x300 /* NLM_F_DUMP */);
      w.struct(16); // ifinfomsg
      const replies = await h.run(call(w.end().finish(), 'links as a request'));
      const indexes = replies.map((m) => m.payload.readInt32LE(4)); // ifi_index
      expect(indexes.sort()).toEqual(
        ipJson(ns, 'link', 'show')
          .map((l: { ifindex: number }) => l.ifindex)
          .sort(),
      );
      // The handle goes on: the next round on the same socket is answered.
      const sockets = ownRtnetlinkSockets(ns);
      expect(sockets).toHaveLength(1);
      await h.links.set('lo', { mtu: 65001 });
      expect(ipJson(ns, 'link', 'show', 'lo')[0].mtu).toBe(65001);
      expect(ownRtnetlinkSockets(ns)).toEqual(sockets);
    } finally {
      h.close();
    }
    expect(ownRtnetlinkSockets(ns)).toEqual([]);
  });

  it('refuses a shortLived that is not a boolean', async () => {
    await expect(open({ netns: names[0], shortLived: 'yes' as unknown as boolean })).rejects.toBeInstanceOf(ValidationError);
  });
});
