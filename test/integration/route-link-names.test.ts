// Route lists name their links by reading the names on the handle's own
// netlink socket (ioctl SIOCGIFNAME), not by an RTM_GETLINK request: the
// names checked against `ip -j link`/`ip -j route` (links and routes made by
// ip, so foreign state), multipath next hops, a link deleted between the dump
// and the naming, a namespace whose indexes mean other links than the root's,
// and every kind of handle (async, sync, short-lived before and after its
// full connection).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ClosedError, open, openSync, type Handle, type Route, type SyncHandle } from '../../lib';
import { runAsync, runSync, type AsyncExecutor, type LinkNameReader, type NetlinkCall, type SyncExecutor } from '../../lib/netlink/operation';
import { routeOps } from '../../lib/rtnetlink/route';
import { ip, ipJson, useNetns } from '../helpers/netns';

const RTM_GETLINK = 18;
type AsyncConn = AsyncExecutor & LinkNameReader;
type SyncConn = SyncExecutor & LinkNameReader;

/** The handle's rtnetlink executor (private field), for counting what it is asked to send. */
const asyncConn = (h: Handle): AsyncConn => (h as unknown as { rtnl: AsyncConn }).rtnl;
const syncConn = (h: SyncHandle): SyncConn => (h as unknown as { rtnl: SyncConn }).rtnl;
const isGetLink = (c: NetlinkCall): boolean => c.message.readUInt16LE(4) === RTM_GETLINK;

/** index → name, as ip sees the namespace (or the caller's own without `ns`). */
const ipLinks = (ns?: string): Map<number, string> => {
  const links = ns ? ipJson(ns, 'link', 'show') : JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }));
  return new Map((links as Array<{ ifindex: number; ifname: string }>).map((l) => [l.ifindex, l.ifname]));
};

/** Every route's and next hop's linkName is ip's name of its index; each route's dev and next hops' devs are ip's. */
function expectNamedAsIp(ns: string, routes: Route[]): void {
  const links = ipLinks(ns);
  const theirs = new Map((ipJson(ns, '-4', 'route', 'show') as Array<{ dst: string; dev?: string; nexthops?: Array<{ dev: string }> }>).map((r) => [r.dst, r]));
  for (const r of routes) {
    if (r.link !== undefined) expect(r.linkName, r.dst).toBe(links.get(r.link));
    for (const nh of r.multipath ?? []) expect(nh.linkName, r.dst).toBe(links.get(nh.link!));
    const t = theirs.get(r.dst.replace(/\/32$/, ''));
    expect(t, r.dst).toBeDefined();
    expect(r.linkName).toBe(t!.dev);
    expect((r.multipath ?? []).map((n) => n.linkName)).toEqual((t!.nexthops ?? []).map((n) => n.dev));
  }
}

describe('route list: link names read on the handle socket', () => {
  const box = useNetns('rln');
  const ns = () => box.ns('rln');
  const main4 = { family: 4 as const };

  it('names routes and multipath next hops as ip does, for async, sync and short-lived handles', async () => {
    // Made by ip: nlkit sees them only through the kernel.
    ip(ns(), 'link', 'add', 'rln-a', 'type', 'veth', 'peer', 'name', 'rln-b');
    ip(ns(), 'link', 'add', 'rln-br', 'type', 'bridge');
    for (const l of ['rln-a', 'rln-b', 'rln-br']) ip(ns(), 'link', 'set', l, 'up');
    ip(ns(), 'addr', 'add', '10.77.1.1/24', 'dev', 'rln-a');
    ip(ns(), 'addr', 'add', '10.77.2.1/24', 'dev', 'rln-b');
    ip(ns(), 'route', 'add', '10.78.0.0/16', 'dev', 'rln-br');
    ip(ns(), 'route', 'add', '10.79.0.0/16', 'nexthop', 'via', '10.77.1.2', 'dev', 'rln-a', 'nexthop', 'via', '10.77.2.2', 'dev', 'rln-b');

    const h = box.h('rln');
    const routes = await h.routes.list(main4);
    const multipath = routes.find((r) => r.dst === '10.79.0.0/16');
    expect(multipath?.multipath?.map((n) => n.linkName)).toEqual(['rln-a', 'rln-b']);
    expect(routes.find((r) => r.dst === '10.78.0.0/16')?.linkName).toBe('rln-br');
    expectNamedAsIp(ns(), routes);

    const s = openSync({ netns: ns() });
    try {
      expectNamedAsIp(ns(), s.routes.list(main4));
    } finally {
      s.close();
    }
    // Short-lived: the first call is a one-shot round (no socket object: names asked by request), then a dump.
    const sl = await open({ netns: ns(), shortLived: true });
    try {
      const looked = await sl.routes.lookup('10.78.1.1');
      expect(looked.linkName).toBe('rln-br');
      expectNamedAsIp(ns(), await sl.routes.list(main4));
    } finally {
      sl.close();
    }
  });

  it('sends no link-name request: the names are read on the socket (async, sync, short-lived)', async () => {
    const countGetLinks = <T extends object, K extends keyof T>(conn: T, method: K): { n: number } => {
      const seen = { n: 0 };
      const orig = conn[method] as unknown as (c: NetlinkCall) => unknown;
      (conn as Record<K, unknown>)[method] = (c: NetlinkCall) => {
        if (isGetLink(c)) seen.n++;
        return orig.call(conn, c);
      };
      return seen;
    };
    const h = await open({ netns: ns() });
    const sl = await open({ netns: ns(), shortLived: true });
    const s = openSync({ netns: ns() });
    try {
      const a = countGetLinks(asyncConn(h), 'execute');
      const routes = await h.routes.list(main4);
      expect(routes.find((r) => r.dst === '10.78.0.0/16')?.linkName).toBe('rln-br');
      expect(a.n).toBe(0);

      const b = countGetLinks(asyncConn(sl), 'execute');
      expect((await sl.routes.list(main4)).find((r) => r.dst === '10.78.0.0/16')?.linkName).toBe('rln-br');
      expect(b.n).toBe(0);

      const c = countGetLinks(syncConn(s), 'executeSync');
      expect(s.routes.list(main4).find((r) => r.dst === '10.78.0.0/16')?.linkName).toBe('rln-br');
      expect(c.n).toBe(0);
    } finally {
      h.close();
      sl.close();
      s.close();
    }
  });

  it('a link deleted between the dump and the naming: its routes have no linkName (async and sync)', async () => {
    const routesOnGone = (routes: Route[]) => routes.filter((r) => r.dst === '10.81.0.0/16');
    for (const mode of ['async', 'sync'] as const) {
      ip(ns(), 'link', 'add', 'rln-gone', 'type', 'bridge');
      ip(ns(), 'link', 'set', 'rln-gone', 'up');
      ip(ns(), 'route', 'add', '10.81.0.0/16', 'dev', 'rln-gone');
      const gone = ipLinks(ns());
      const index = [...gone].find(([, n]) => n === 'rln-gone')![0];
      const deleteAfterDump = (c: NetlinkCall): void => {
        if (c.kind === 'dump') ip(ns(), 'link', 'del', 'rln-gone');
      };
      let routes: Route[];
      if (mode === 'async') {
        const h = await open({ netns: ns() });
        try {
          const conn = asyncConn(h);
          const ex: AsyncConn = {
            execute: async (c) => {
              const replies = await conn.execute(c);
              deleteAfterDump(c);
              return replies;
            },
            readLinkNames: (i, o) => conn.readLinkNames(i, o),
          };
          routes = await runAsync(ex, routeOps.list(main4));
        } finally {
          h.close();
        }
      } else {
        const s = openSync({ netns: ns() });
        try {
          const conn = syncConn(s);
          const ex: SyncConn = {
            executeSync: (c) => {
              const replies = conn.executeSync(c);
              deleteAfterDump(c);
              return replies;
            },
            readLinkNames: (i, o) => conn.readLinkNames(i, o),
          };
          routes = runSync(ex, routeOps.list(main4));
        } finally {
          s.close();
        }
      }
      expect(ipLinks(ns()).has(index), mode).toBe(false); // really gone before the names were read
      const [r] = routesOnGone(routes);
      expect(r, mode).toMatchObject({ link: index });
      expect('linkName' in r, mode).toBe(false);
      expect(JSON.parse(JSON.stringify(r)).linkName, mode).toBeUndefined();
      // The others are still named.
      expect(routes.find((x) => x.dst === '10.78.0.0/16')?.linkName, mode).toBe('rln-br');
    }
  });

  it('a handle closed between the dump and the naming: the list fails with ClosedError, not EBADF from the socket', async () => {
    const h = await open({ netns: ns() });
    const conn = asyncConn(h);
    const ex: AsyncConn = {
      execute: async (c) => {
        const replies = await conn.execute(c);
        if (c.kind === 'dump') h.close(); // as another caller's continuation may, before this one names the routes
        return replies;
      },
      readLinkNames: (i, o) => conn.readLinkNames(i, o),
    };
    await expect(runAsync(ex, routeOps.list(main4))).rejects.toBeInstanceOf(ClosedError);
  });

  it("a handle in another namespace names that namespace's links, not the caller's", async () => {
    const root = ipLinks();
    const mine = ipLinks(ns());
    const routes = await box.h('rln').routes.list(main4);
    // Indexes this namespace shares with the caller's, for other links (eth0 is 2 there, rln-a or rln-b here).
    const clashing = routes.filter((r) => r.link !== undefined && root.has(r.link) && root.get(r.link) !== mine.get(r.link));
    expect(clashing.length).toBeGreaterThan(0);
    for (const r of clashing) {
      expect(r.linkName).toBe(mine.get(r.link!));
      expect(r.linkName).not.toBe(root.get(r.link!));
    }
    const s = openSync({ netns: ns() });
    try {
      for (const r of s.routes.list(main4)) if (r.link !== undefined) expect(r.linkName).toBe(mine.get(r.link));
    } finally {
      s.close();
    }
  });
});
