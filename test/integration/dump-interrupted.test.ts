// NLM_F_DUMP_INTR for real: a link dump (300 bridges: a dozen parts, each
// made by the kernel when the previous was read) while another socket adds
// and deletes a veth pair in the same namespace. rtnl_dump_ifinfo records
// the namespace's dev_base_seq with each part and nl_dump_check_consistent
// flags the part (or NLMSG_DONE) when it changed since the previous one.
// What nlkit promises (docs/guides/low-level.md, errors.md): dumpOnce says
// `interrupted`; a collected list restarts by itself and returns a
// consistent listing (or, after DUMP_RETRIES restarts, NetlinkError EINTR);
// a stream ends in DumpInterruptedError. Each loop stops at its first
// sighting, with a bound far above what the churn needs.
import { describe, expect, it } from 'vitest';
import { DumpInterruptedError, NetlinkError, open, type Handle } from '../../lib';
import { NETLINK_ROUTE, NLM_F_DUMP, NetlinkWriter, dumpOnce, openNetlink } from '../../lib/netlink';
import { useNetns } from '../helpers/netns';

const RTM_GETLINK = 18;
const IFINFOMSG_SIZE = 16;
const STATIC = 300;
const TRIES = 400;
const received = (h: Handle) => (h.rtnetlink as unknown as { messagesReceived: number }).messagesReceived;

function linkDump(): Buffer {
  const w = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP);
  w.struct(IFINFOMSG_SIZE);
  return w.end().finish();
}

describe('a link dump while links come and go in its namespace', () => {
  const box = useNetns('le-intr');
  const ns = () => box.ns('le-intr');

  /** Adds and deletes a veth pair in the namespace until stopped (its own handle, so its own socket). */
  async function churning<T>(body: () => Promise<T>): Promise<T> {
    const other = await open({ netns: ns() });
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        await other.links.add({ name: 'le-x', kind: 'veth', peer: { name: 'le-y' } });
        await other.links.delete('le-x');
      }
    })();
    try {
      return await body();
    } finally {
      stop = true;
      await loop;
      other.close();
    }
  }

  it('is flagged by the kernel; dumpOnce, list() and a stream each keep their promise', async () => {
    const h = box.h('le-intr');
    await Promise.all(Array.from({ length: STATIC }, (_, i) => h.links.add({ name: `le-b${i}`, kind: 'bridge' })));
    const names = (await h.links.list()).map((l) => l.name);
    const quiet = names.length; // lo and the bridges
    expect(quiet).toBe(STATIC + 1);
    const before = received(h);
    await h.links.list();
    const oneDump = received(h) - before; // the links and NLMSG_DONE

    await churning(async () => {
      // dumpOnce: the kernel flags the dump, nlkit says so.
      let flagged = 0;
      for (let i = 0; i < TRIES && flagged === 0; i++) {
        const r = await h.run(dumpOnce(linkDump(), 'list links once'));
        if (r.interrupted) flagged++;
      }
      expect(flagged).toBe(1);

      // list(): an interrupted dump is restarted (more than one dump's messages for one call), and what it
      // returns is a consistent listing: every bridge once, le-x and le-y together or not at all.
      let restarted = false;
      for (let i = 0; i < TRIES && !restarted; i++) {
        const start = received(h);
        const got = await h.links.list().then(
          (l) => l.map((x) => x.name),
          (e: unknown) => {
            // DUMP_RETRIES restarts, every one interrupted: the documented give-up.
            expect(e).toBeInstanceOf(NetlinkError);
            expect((e as NetlinkError).code).toBe('EINTR');
            return undefined;
          },
        );
        if (!got) continue;
        restarted = received(h) - start > oneDump + 2;
        expect(new Set(got).size).toBe(got.length);
        expect(got.filter((n) => n.startsWith('le-b')).length).toBe(STATIC);
        expect(got.includes('le-x')).toBe(got.includes('le-y'));
      }
      expect(restarted).toBe(true);

      // A stream cannot restart behind its consumer: it ends in DumpInterruptedError.
      const sock = await openNetlink(NETLINK_ROUTE, { netns: ns() });
      try {
        let error: unknown;
        for (let i = 0; i < TRIES && !error; i++) {
          try {
            for await (const m of sock.stream(linkDump(), 'stream links')) void m;
          } catch (e) {
            error = e;
          }
        }
        expect(error).toBeInstanceOf(DumpInterruptedError);
        expect((error as Error).message).toContain('stream links');
      } finally {
        sock.close();
      }
    });
    // Nothing of the churn is left.
    expect((await h.links.list()).length).toBe(quiet);
  });
});
