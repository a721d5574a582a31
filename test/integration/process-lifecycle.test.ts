// The process never crashes because of nlkit: a script that ends with handles,
// subscriptions or a network manager still open exits by itself with status
// 0, and one that dies with requests in flight exits with the status Node
// gives it (1 for an uncaught exception or unhandled rejection, N for
// process.exit(N)), never by SIGABRT or SIGSEGV. Each case is a real Node
// process in its own network namespace (test/fixtures/lifecycle/).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns';
import { exitOf, explain, killFixtures, lastJson, repoRoot, runFixture } from '../fixtures/lifecycle/run-fixture';

afterEach(killFixtures);

describe('a script that ends without closing what it opened exits 0', () => {
  it.each([
    ['two handles', 'two-handles', { a: ['lo'], b: ['lo'] }],
    ['a handle that used h.nft', 'nft', { tables: ['lifecycle'] }],
    ['a handle that used h.conntrack', 'conntrack', { entries: 0 }],
    ['an rtnetlink event subscription', 'rtnetlink-events', { event: 'link:new:lc0' }],
    ['an nftables event stream', 'nft-events', { event: 'table:new' }],
    ['a conntrack event stream', 'conntrack-events', { event: 'new:udp' }],
  ])('%s', async (_label, name, expected) => {
    requireRoot();
    expect(fs.existsSync(path.join(repoRoot, 'dist', 'index.js')), 'run `npm run build:ts` first (npm test does)').toBe(true);
    const r = await runFixture('ends-open.cjs', { args: [name] });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    expect(lastJson(r)).toEqual(expected);
  });

  it('a networks() manager with an attached sandbox', async () => {
    requireRoot();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-lifecycle-'));
    try {
      const r = await runFixture('ends-open.cjs', { args: ['networks', stateDir] });
      expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
      expect(lastJson(r)).toEqual({ ipv4: '10.123.0.2/24' });
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('a script that dies with 1,000 requests in flight exits with its own status', () => {
  const cases: Array<[string, string, number]> = [
    ['throw', 'an uncaught exception', 1],
    ['reject', 'an unhandled rejection', 1],
    ['exit3', 'process.exit(3)', 3],
  ];
  for (const [how, label, status] of cases) {
    for (const load of ['dumps', 'routes', 'mixed']) {
      for (const when of load === 'mixed' ? ['mid'] : ['now', 'mid', 'corked']) {
        const loadText = { dumps: '1,000 h.links.list()', routes: '1,000 route adds', mixed: 'dumps and route adds on two handles and two event streams' }[
          load
        ];
        const whenText = { now: 'before any reply', mid: 'after the first reply', corked: 'still corked in their tick' }[when];
        it(`${label} with ${loadText} in flight, ${whenText}: status ${status}`, async () => {
          requireRoot();
          const r = await runFixture('dies-in-flight.cjs', { args: [how, load, when] });
          expect(exitOf(r), explain(r)).toEqual({ status, signal: null });
          // It died of its own error (not of a setup failure, status 10, or of something nlkit threw).
          expect(r.stdout, explain(r)).toContain('requests in flight');
          if (how !== 'exit3') expect(r.stderr, explain(r)).toContain(`lifecycle-${how}-marker`);
        });
      }
    }
  }
});

describe('when no thread can be created, nlkit throws a typed EAGAIN error instead of aborting', () => {
  // Run as nobody (RLIMIT_NPROC does not bind root); the fixture lowers its own limit after Node has its threads.
  it.each([
    ['open() and a request once the handle is busy (its first round trips need no thread)', 'open'],
    ['open() in a namespace (entering it takes a thread)', 'open-netns'],
    ['openSync() in a namespace', 'open-sync-netns'],
    ['createAnonymousNetns()', 'anonymous-netns'],
    ['getSysctl() in a namespace', 'sysctl-netns'],
    ['h.events.subscribe()', 'subscribe'],
    ['an h.nft call once the netfilter socket is busy', 'nft'],
  ])('%s', async (_label, name) => {
    requireRoot(); // to drop to nobody with setpriv
    const r = await runFixture('thread-limit.cjs', { args: [name], asNobody: true });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    const out = lastJson(r);
    expect(out.nproc, 'the fixture could not lower RLIMIT_NPROC').toBe('1/1');
    expect(out.error, `the operation did not fail although no thread could be created: ${r.stdout}`).not.toBeNull();
    expect(out.error).toMatchObject({ code: 'EAGAIN', errno: 11, typed: true });
    expect(['SystemError', 'NetlinkError']).toContain(out.error.name);
    // The failed call left no descriptor behind (counted after the handle it used was closed).
    expect(out.fdsAfter, r.stdout).toBe(out.fdsBefore);
  });

  it('a handle opened for a few requests and closed needs no thread of its own: they succeed', async () => {
    requireRoot();
    const r = await runFixture('thread-limit.cjs', { args: ['open-few'], asNobody: true });
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    const out = lastJson(r);
    expect(out.nproc, 'the fixture could not lower RLIMIT_NPROC').toBe('1/1');
    expect(out.error, r.stdout).toBeNull();
    expect(out.fdsAfter, r.stdout).toBe(out.fdsBefore);
  });
});

describe('close() while a first request waits for a libuv pool thread', () => {
  it('the request is never sent afterwards (the queued pool job is cancelled)', async () => {
    requireRoot();
    const r = await runFixture('close-pool-cancel.cjs');
    expect(exitOf(r), explain(r)).toEqual({ status: 0, signal: null });
    const out = lastJson(r);
    expect(out).toMatchObject({ rejected: true, name: 'ClosedError' });
    // Read back with `ip -j` once the pool thread was freed: the route must not exist.
    expect(out.routes).toEqual([]);
  });
});
