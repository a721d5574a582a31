// The build's warm-up of the connection path (scripts/warm-connection.mjs, which scripts/bundle.mjs runs in the
// bundle before it writes the V8 code cache): through the public open(), a route list, a route add, links.get, a
// churn, two nftables commits and a short-lived handle's rounds run over a stand-in for the addon. Checked here
// on the library's sources: the connection classes went to the stand-in's sockets (pool rounds and the I/O
// thread's sends), the dump went through the request tracker and the native row indexer, nothing reached the
// real addon's sockets, and the addon is back in place afterwards, also when the warm-up fails. It runs on the
// built bundle too, through the module the build exposes for it (`lib('native/binding.js')`).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as nlkit from '../../lib/index';
import * as binding from '../../lib/native/binding';
import { RequestTracker } from '../../lib/netlink/request-tracker';

interface WarmUp {
  warmConnection(args: { nlkit: unknown; binding: unknown }): Promise<{ calls: Record<string, number>; seen: Record<string, number> }>;
  fakeKernel(): { answer(protocol: number, request: Uint8Array): Buffer };
}

/** What dist/bundle/nlkit.js's `load('lib')` returns (scripts/bundle.mjs): the entry points, and library modules by file. */
interface BundleExports {
  index(): unknown;
  lib(file: string): unknown;
}

const load = async () => (await import(path.join(__dirname, '..', '..', 'scripts', 'warm-connection.mjs'))) as WarmUp;

/** The real addon's entry points that make or use a kernel socket. */
const SOCKET_CALLS = ['NetlinkSocket', 'NetlinkSyncSocket', 'netlinkSocketOpen', 'netlinkTransactIn', 'netlinkTransactFd', 'heldFdOpen'] as const;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the code-cache warm-up of the connection path', () => {
  it('runs the public calls over the stand-in: pool rounds, I/O thread sends, a dump through the tracker; nothing reaches the addon', async () => {
    const { warmConnection } = await load();
    const real = binding.native();
    const realSocketCalls = SOCKET_CALLS.map((name) => vi.spyOn(real, name));
    const indexed = vi.spyOn(real, 'netlinkIndex');
    const fed: Buffer[] = [];
    const feedReceived = RequestTracker.prototype.feedReceived;
    vi.spyOn(RequestTracker.prototype, 'feedReceived').mockImplementation(function (this: RequestTracker, buf: Buffer) {
      fed.push(Buffer.from(buf));
      return feedReceived.call(this, buf);
    });

    const { calls, seen } = await warmConnection({ nlkit, binding });

    // open() made its socket and the nftables one through the stand-in, and closed them.
    expect(calls.socketOpen).toBe(2);
    expect(calls.socketObjects).toBe(2);
    expect(calls.close).toBeGreaterThanOrEqual(2);
    // Pool rounds (threadless.ts) and the I/O thread's sends (the churn past 64 KiB, the commits).
    expect(calls.transact).toBeGreaterThan(0);
    expect(calls.send).toBeGreaterThan(0);
    // The list named its routes' link on the socket (SIOCGIFNAME's stand-in).
    expect(calls.linkName).toBeGreaterThan(0);
    // The short-lived handle: one round that kept its socket, then a round on it.
    expect(calls.transactIn).toBe(1);
    expect(calls.transactFd).toBe(1);
    expect(seen).toEqual({ routeDumps: 1, linkGets: 1, routeWrites: 1 + 2000 * 2 + 2, linkWrites: 1, batches: 2 });
    // The dump reached the tracker as received bytes (route messages, NLMSG_DONE) and was indexed natively.
    const dumpReplies = fed.find((b) => b.readUInt16LE(4) === 24 && b.readUInt16LE(b.length - 20 + 4) === 3);
    expect(dumpReplies).toBeDefined();
    expect(indexed).toHaveBeenCalled();
    // Nothing reached the real addon's sockets, and native() is the addon again.
    for (const spy of realSocketCalls) expect(spy).not.toHaveBeenCalled();
    expect(binding.native()).toBe(real);
  });

  it("runs on the built bundle's own modules, as scripts/bundle.mjs runs it (needs `npm run build:ts`)", async () => {
    const { warmConnection } = await load();
    const bundle = createRequire(__filename)(path.join(__dirname, '..', '..', 'dist', 'bundle', 'nlkit.js')) as { load(cache: string): BundleExports };
    const loaded = bundle.load('lib');
    const bundled = loaded.lib('native/binding.js') as typeof binding;
    const { calls, seen } = await warmConnection({ nlkit: loaded.index(), binding: bundled });
    expect(calls.transact).toBeGreaterThan(0);
    expect(seen.routeDumps).toBe(1);
    expect(bundled.native()).toBe(binding.native()); // the addon again (one addon per process)
  });

  it('fails loudly when the library asks something the made-up kernel does not answer, and puts the addon back', async () => {
    const { warmConnection, fakeKernel } = await load();
    const getAddr = Buffer.alloc(24);
    getAddr.writeUInt32LE(24, 0);
    getAddr.writeUInt16LE(22, 4); // RTM_GETADDR: not one of the warm-up's requests
    expect(() => fakeKernel().answer(0, getAddr)).toThrow(/rtnetlink message type 22/);

    const real = binding.native();
    // A route list that no longer reads a dump as answered (here: it drops the first route).
    const routes = nlkit.routeOps;
    const list = routes.list.bind(routes);
    vi.spyOn(routes, 'list').mockImplementation(function* (filter) {
      return (yield* list(filter)).slice(1);
    });
    await expect(warmConnection({ nlkit, binding })).rejects.toThrow(/the route list was not as answered/);
    expect(binding.native()).toBe(real);
  });
});
