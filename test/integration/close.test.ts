// Honest close(): it returns at once, never waiting for the kernel, and every
// pending call rejects with ClosedError saying whether it was handed to the
// kernel (`sent: true`, outcome unknown) or not (`sent: false`, guaranteed
// not applied). close({ drain: true }) refuses new calls and resolves once
// every call already made has its answer. After close every call rejects
// with ClosedError (sent: false). Proven by reading the kernel's state back
// with `ip -j` once it is quiet.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, open, type Handle } from '../../lib';
import { NetlinkWriter, openNetlink } from '../../lib/netlink';
import { ip, ipJson, useNetns } from '../helpers/netns';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Outcome = { state: 'resolved' } | { state: 'rejected'; closed: boolean; sent: unknown; error: string } | { state: 'pending' };

/** Follows a call without ever letting it reject unhandled. */
function track(p: Promise<unknown>): { outcome: Outcome } {
  const t: { outcome: Outcome } = { outcome: { state: 'pending' } };
  p.then(
    () => (t.outcome = { state: 'resolved' }),
    (e) => (t.outcome = { state: 'rejected', closed: e instanceof ClosedError, sent: (e as { sent?: unknown }).sent, error: String(e) }),
  );
  return t;
}

/** Waits (at most `ms`) for every tracked call to settle; the ones that did not stay 'pending'. */
async function settle(calls: Array<{ outcome: Outcome }>, ms = 30_000): Promise<Outcome[]> {
  for (let waited = 0; waited < ms && calls.some((c) => c.outcome.state === 'pending'); waited += 20) await sleep(20);
  return calls.map((c) => c.outcome);
}

/** Reads `read()` until it gives the same answer 5 times in a row 50 ms apart: the kernel has finished. */
async function whenQuiet<T>(read: () => T | Promise<T>): Promise<T> {
  let prev = JSON.stringify(await read());
  for (let stable = 0, i = 0; stable < 5 && i < 600; i++) {
    await sleep(50);
    const cur = JSON.stringify(await read());
    stable = cur === prev ? stable + 1 : 0;
    prev = cur;
  }
  return JSON.parse(prev) as T;
}

/**
 * Which calls broke the contract: for each rule, "none" or how many calls
 * broke it, the first few names and the first error.
 */
function contractViolations(names: string[], outcomes: Outcome[], applied: (name: string) => boolean): Record<string, string> {
  const rules: Record<string, (o: Outcome, name: string) => boolean> = {
    neverSettled: (o) => o.state === 'pending',
    rejectedWithOtherError: (o) => o.state === 'rejected' && !o.closed,
    closedErrorWithoutBooleanSent: (o) => o.state === 'rejected' && o.closed && typeof o.sent !== 'boolean',
    notSentButApplied: (o, n) => o.state === 'rejected' && o.sent === false && applied(n),
    resolvedButNotApplied: (o, n) => o.state === 'resolved' && !applied(n),
  };
  const found: Record<string, string> = {};
  for (const [rule, broken] of Object.entries(rules)) {
    const idx = names.map((_, i) => i).filter((i) => broken(outcomes[i], names[i]));
    const first = outcomes[idx[0]] as { error?: string; sent?: unknown } | undefined;
    found[rule] =
      idx.length === 0
        ? 'none'
        : `${idx.length} of ${names.length} (${idx
            .slice(0, 3)
            .map((i) => names[i])
            .join(', ')}…)` + (first?.error ? `, first: ${first.error} (sent: ${String(first.sent)})` : '');
  }
  return found;
}
const NO_VIOLATIONS = {
  neverSettled: 'none',
  rejectedWithOtherError: 'none',
  closedErrorWithoutBooleanSent: 'none',
  notSentButApplied: 'none',
  resolvedButNotApplied: 'none',
};

/** The destinations in table 100, read by `ip -j` (an empty table does not exist; 50,000 routes need a large buffer). */
function routesOfTable100(netns: string): string[] {
  let out: string;
  try {
    out = execFileSync('ip', ['-n', netns, '-j', 'route', 'show', 'table', '100'], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    if (/FIB table does not exist/.test(String((e as { stderr?: string }).stderr))) return [];
    throw e;
  }
  return (JSON.parse(out || '[]') as Array<{ dst: string }>).map((r) => r.dst).sort();
}

/** A call made through a getter (h.nft, h.conntrack): a synchronous throw counts as its rejection. */
function viaGetter(call: () => Promise<unknown>): Promise<unknown> {
  return Promise.resolve().then(call);
}

describe('close()', () => {
  const box = useNetns('close');
  const ns = () => box.ns('close');
  const vethCount = 100;
  const vethNames = Array.from({ length: vethCount }, (_, i) => `va${i}`);
  let h: Handle | undefined;

  afterEach(async () => {
    h?.close();
    h = undefined;
    // Whatever a test left: the veths, the routes of table 100.
    for (const l of ipJson(ns(), 'link', 'show', 'type', 'veth')) if (l.ifname.startsWith('va') || l.ifname.startsWith('k')) ip(ns(), 'link', 'del', l.ifname);
    if (routesOfTable100(ns()).length) ip(ns(), 'route', 'flush', 'table', '100');
  });

  /** The veths among `vethNames` (plus kp, the one that must survive) that exist now. */
  const vethsNow = (): string[] =>
    ipJson(ns(), 'link', 'show', 'type', 'veth')
      .map((l: any) => l.ifname)
      .filter((n: string) => n.startsWith('va') || n === 'kp');

  async function createVeths(extra: string[] = []): Promise<void> {
    const names = [...vethNames, ...extra];
    await Promise.all(names.map((name, i) => box.h('close').links.add({ name, kind: 'veth', peer: { name: `vb${i}` } })));
    expect(vethsNow().length).toBe(names.length);
  }

  it('returns at once with 100 veth deletes in flight: unsent deletes never happen, sent ones may', async () => {
    await createVeths();
    h = await open({ netns: ns() });
    const calls = vethNames.map((n) => track(h!.links.delete(n)));
    // Let the kernel get well into the deletes (each costs it milliseconds), so close() meets work in progress.
    for (let i = 0; ; i++) {
      const left = vethsNow().length;
      if (left === 0) throw new Error('the kernel finished every delete before close() could be called: the scenario did not happen');
      if (left <= vethCount - 10) break;
      if (i > 5000) throw new Error(`the deletes never started (${left} of ${vethCount} veths left)`);
      await new Promise((r) => setImmediate(r));
    }
    expect(h.close()).toBeUndefined();
    const rightAfterClose = new Set(vethsNow());
    const outcomes = await settle(calls);
    const atEnd = new Set(await whenQuiet(vethsNow));

    // The kernel was still deleting when close() returned: it did not wait for the requests it had been given.
    const deletedAfterClose = [...rightAfterClose].filter((n) => !atEnd.has(n));
    expect(
      { ...contractViolations(vethNames, outcomes, (n) => !atEnd.has(n)), deletedAfterClose: deletedAfterClose.length > 0 },
      `${rightAfterClose.size} veths left right after close(), ${atEnd.size} at the end`,
    ).toEqual({ ...NO_VIOLATIONS, deletedAfterClose: true });
  });

  it('close({ drain: true }) sends and answers every call already made, refuses new ones, then closes', async () => {
    await createVeths(['kp']);
    h = await open({ netns: ns() });
    const calls = vethNames.map((n) => track(h!.links.delete(n)));
    const drained = (h.close as (opts?: { drain?: boolean }) => unknown)({ drain: true }) as Promise<void> | undefined;
    expect(typeof drained?.then, 'close({ drain: true }) must return a Promise').toBe('function');
    const late = track(h.links.delete('kp'));
    let settledWhenDrained = -1;
    await Promise.race([drained!.then(() => (settledWhenDrained = calls.filter((c) => c.outcome.state !== 'pending').length)), sleep(30_000)]);
    expect(settledWhenDrained, 'close({ drain: true }) never resolved').toBeGreaterThanOrEqual(0);
    expect(settledWhenDrained, 'close({ drain: true }) resolved before every call had its answer').toBe(vethCount);

    const outcomes = await settle(calls);
    expect(
      outcomes.filter((o) => o.state !== 'resolved'),
      'every delete made before close must be sent and succeed',
    ).toEqual([]);
    expect((await settle([late]))[0]).toMatchObject({ state: 'rejected', closed: true, sent: false });
    const after = track(h.links.list());
    expect((await settle([after]))[0]).toMatchObject({ state: 'rejected', closed: true, sent: false });
    // Read back: every veth deleted, and the one asked for after close untouched.
    expect(vethsNow()).toEqual(['kp']);
  });

  // A link given by name takes the general path; by index, the calls of a tick go out together, 64 KiB per datagram (ack-group.ts).
  describe.each([
    ['right after queueing them', false, 'lo'],
    ['once the first one was answered', true, 'lo'],
    ['right after queueing them (link by index: sent together)', false, 1],
    ['once the first one was answered (link by index: sent together)', true, 1],
  ])('with 50,000 route adds in flight, close() %s', (_when, afterFirstReply, dev) => {
    it('adds none of the unsent routes; every resolved one is in the table', async () => {
      h = await open({ netns: ns() });
      // A bulk call hands the socket to its I/O thread: until then a tick's requests go from the libuv pool, one by one.
      if (typeof dev === 'number') await h.routes.delete([{ dst: '10.100.255.255/32', link: dev, table: 100 }], { missingOk: true });
      const dsts = Array.from({ length: 50_000 }, (_, i) => `10.100.${i >> 8}.${i & 255}`);
      const pending = dsts.map((d) => h!.routes.add({ dst: `${d}/32`, dev, table: 100 }));
      const calls = pending.map(track);
      if (afterFirstReply) await Promise.race(pending.map((p) => p.catch(() => undefined)));
      h.close();
      const outcomes = await settle(calls);
      const routesNow = () => routesOfTable100(ns());
      const atEnd = new Set(await whenQuiet(routesNow));

      expect(contractViolations(dsts, outcomes, (d) => atEnd.has(d))).toEqual(NO_VIOLATIONS);
      // The kernel adds routes in sendmsg, one after another: 50,000 cannot all have been handed over before close().
      // (Sent together they can, by the time the first answer is read: 34 datagrams without an ack per route.)
      const unsent = outcomes.filter((o) => o.state === 'rejected' && o.sent === false).length;
      if (!afterFirstReply || dev === 'lo') expect(unsent, 'no call was reported as never sent').toBeGreaterThan(0);
    });
  });

  it.each([
    ['reached before close', 'all'],
    ['first reached while draining', 'none'],
    ['of conntrack first reached while draining, its socket open', 'nft'],
  ])('close({ drain: true }) refuses event subscriptions from its start, as after close (events %s)', async (_when, touchFirst) => {
    await createVeths();
    h = await open({ netns: ns() });
    if (touchFirst === 'all') expect([h.events, h.nft.events, h.conntrack.events]).toHaveLength(3);
    if (touchFirst === 'nft') expect(h.nft.events).toBeDefined(); // the netfilter socket conntrack shares
    const calls = vethNames.map((n) => track(h!.links.delete(n)));
    const drained = h.close({ drain: true });
    const subscribes = [() => h!.events.subscribe({ groups: ['link'] }), () => h!.nft.events.subscribe(), () => h!.conntrack.events.subscribe()];
    const refusal = (subscribe: () => { close(): void }): unknown => {
      try {
        subscribe().close();
        return 'subscribed';
      } catch (e) {
        return e instanceof ClosedError ? `ClosedError: ${e.message}` : String(e);
      }
    };
    const whileDraining = subscribes.map(refusal);
    expect(calls.some((c) => c.outcome.state === 'pending')).toBe(true); // still draining
    await drained;
    const afterClose = subscribes.map(refusal);
    expect(afterClose).toEqual(subscribes.map(() => expect.stringMatching(/^ClosedError: /)));
    expect(whileDraining).toEqual(afterClose);
    expect((await settle(calls)).filter((o) => o.state !== 'resolved')).toEqual([]);
  });

  it.each([
    ['not opened before close', false],
    ['netfilter opened before close (by conntrack)', true],
  ])('close({ drain: true }) refuses calls of families first reached while draining, as after close (%s)', async (_when, conntrackFirst) => {
    await createVeths();
    h = await open({ netns: ns() });
    if (conntrackFirst) await h.conntrack.list();
    const deletes = vethNames.map((n) => track(h!.links.delete(n)));
    const drained = h.close({ drain: true });
    // h.nft, h.conntrack and h.sockets open their socket on first use: not while draining either.
    const lazy = () => [
      track(viaGetter(() => h!.nft.tables.list())),
      track(viaGetter(() => h!.conntrack.list())),
      track(viaGetter(() => h!.sockets.list({ protocol: 'tcp' }))),
    ];
    const whileDraining = lazy();
    expect(deletes.some((c) => c.outcome.state === 'pending')).toBe(true); // still draining
    await drained;
    const afterClose = lazy();
    const outcomes = await settle([...whileDraining, ...afterClose], 5_000);
    expect(outcomes.slice(3), JSON.stringify(outcomes, null, 1)).toMatchObject(afterClose.map(() => ({ state: 'rejected', closed: true, sent: false })));
    expect(outcomes.slice(0, 3)).toEqual(outcomes.slice(3));
    expect((await settle(deletes)).filter((o) => o.state !== 'resolved')).toEqual([]);
  });

  it('after close() every call rejects with ClosedError (sent: false) and changes nothing', async () => {
    h = await open({ netns: ns() });
    await h.links.list();
    expect(h.close()).toBeUndefined();
    h.close(); // twice is fine
    const calls = [
      track(h.links.list()),
      track(h.routes.add({ dst: '10.101.0.1/32', dev: 'lo', table: 100 })),
      track(h.addresses.add('lo', '10.101.0.2/32')),
      // The netfilter socket is opened on first use: not after close.
      track(viaGetter(() => h!.nft.tables.list())),
      track(viaGetter(() => h!.conntrack.list())),
    ];
    const outcomes = await settle(calls, 5_000);
    expect(outcomes, JSON.stringify(outcomes, null, 1)).toMatchObject(calls.map(() => ({ state: 'rejected', closed: true, sent: false })));
    expect(routesOfTable100(ns())).toEqual([]);
    expect(ipJson(ns(), 'addr', 'show', 'lo').flatMap((l: any) => l.addr_info.map((a: any) => a.local))).not.toContain('10.101.0.2');
  });
  it('ends a stream that waits for the socket’s I/O thread when close() comes first (a request on the thread-less path in flight)', async () => {
    const sock = await openNetlink(0, { netns: ns() });
    const getLink = (flags: number, name?: string) => {
      const w = new NetlinkWriter().begin(18 /* RTM_GETLINK */, flags);
      w.struct(16);
      if (name) w.string(3 /* IFLA_IFNAME */, name);
      return w.end();
    };
    // The first request goes out from the libuv pool; the stream then waits for that round before its thread takes over.
    const request = track(sock.request(getLink(0, 'lo')));
    const stream = sock.stream(getLink(0x300 /* NLM_F_DUMP */));
    const first = track(stream.next());
    for (let i = 0; i < 10; i++) await Promise.resolve(); // the stream reaches the hand-over; the pool's round cannot finish within microtasks
    sock.close();
    const outcomes = await settle([request, first], 5_000);
    expect(outcomes.map((o) => o.state)).toEqual(['rejected', 'rejected']);
    expect(outcomes[1]).toMatchObject({ closed: true });
  });
});
