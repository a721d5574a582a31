// The one stream behaviour every family shares, without a kernel: events in
// order, an overrun as an event after which the stream goes on, the current
// state first with includeExisting (and again after an overrun with
// resyncOnOverrun), the deprecated throwing form, and closing. Also the
// nftables reads' NotFoundError/undefined mapping with made-up replies.
import { describe, expect, it } from 'vitest';
import { eventStream } from '../../lib/netlink/event-stream';
import { NetlinkError, NetlinkOverrunError, NotFoundError } from '../../lib/netlink/errors';
import type { NetlinkCall, Operation } from '../../lib/netlink/operation';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { OVERRUN, type NetlinkSubscription, type Overrun } from '../../lib/netlink/subscription';
import { nftChainOps, nftRuleOps, nftTableOps } from '../../lib/nftables/list';

/** A subscription fed by the test; next() waits when nothing is queued. */
function fakeSubscription(items: Array<NetlinkMessage | Overrun>) {
  let closed = false;
  let wake: (() => void) | undefined;
  let closedNow: () => void = () => undefined;
  const sub = {
    closedCount: 0,
    ready: Promise.resolve(),
    whenClosed: new Promise<void>((r) => (closedNow = r)),
    get isClosed() {
      return closed;
    },
    push(x: NetlinkMessage | Overrun) {
      items.push(x);
      wake?.();
    },
    async next(): Promise<NetlinkMessage | Overrun | undefined> {
      while (items.length === 0) {
        if (closed) return undefined;
        await new Promise<void>((r) => (wake = r));
      }
      return items.shift();
    },
    close() {
      if (!closed) sub.closedCount++;
      closed = true;
      wake?.();
      closedNow();
    },
  };
  return sub;
}

const msg = (type: number): NetlinkMessage => ({ type, flags: 0, seq: 0, pid: 0, payload: Buffer.alloc(0) }) as unknown as NetlinkMessage;
type Ev = { type: 'thing'; action: 'new' | 'del'; n: number };
const decode = (m: NetlinkMessage): Ev | undefined => (m.type === 0 ? undefined : { type: 'thing', action: m.type > 0 ? 'new' : 'del', n: Math.abs(m.type) });

async function take<T>(s: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    const r = await s.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('event streams', () => {
  it('yields { type, action } events in order, skips what decode drops, and marks a gap with an overrun event, then goes on', async () => {
    const sub = fakeSubscription([msg(1), msg(0), msg(-2), OVERRUN, msg(3)]);
    const s = eventStream<Ev>({ subscription: sub as unknown as NetlinkSubscription, decode, existing: async function* () {} });
    expect(await take(s, 4)).toEqual([
      { type: 'thing', action: 'new', n: 1 },
      { type: 'thing', action: 'del', n: 2 },
      { type: 'overrun' },
      { type: 'thing', action: 'new', n: 3 },
    ]);
    s.close();
    expect((await s.next()).done).toBe(true);
    expect(sub.closedCount).toBe(1);
  });

  it('starts with the current state and synced (includeExisting), and delivers it again after an overrun (resyncOnOverrun)', async () => {
    let dumps = 0;
    const sub = fakeSubscription([msg(5), OVERRUN, msg(6)]);
    const s = eventStream<Ev>({
      subscription: sub as unknown as NetlinkSubscription,
      decode,
      existing: async function* () {
        dumps++;
        yield { type: 'thing', action: 'new', n: 100 + dumps };
      },
      includeExisting: true,
      resyncOnOverrun: true,
    });
    expect((await take(s, 7)).map((e) => ('n' in e ? `${e.action} ${e.n}` : e.type))).toEqual([
      'new 101',
      'synced',
      'new 5',
      'overrun',
      'new 102',
      'synced',
      'new 6',
    ]);
    s.close();
  });

  it('the deprecated form throws the given error at a gap, after the events before it, and closes', async () => {
    const sub = fakeSubscription([msg(1), OVERRUN, msg(2)]);
    let closed = 0;
    const s = eventStream<Ev>({
      subscription: sub as unknown as NetlinkSubscription,
      decode,
      existing: async function* () {},
      overrunError: () => new NetlinkOverrunError('test events', 'lost'),
      onClose: () => closed++,
    });
    expect(await s.next()).toEqual({ value: { type: 'thing', action: 'new', n: 1 }, done: false });
    await expect(s.next()).rejects.toBeInstanceOf(NetlinkOverrunError);
    expect(closed).toBe(1);
    expect(sub.closedCount).toBe(1);
  });

  it('return() while a next() waits ends both, and calls onClose once', async () => {
    const sub = fakeSubscription([]);
    let closed = 0;
    const s = eventStream<Ev>({ subscription: sub as unknown as NetlinkSubscription, decode, existing: async function* () {}, onClose: () => closed++ });
    const pending = s.next();
    await s.return!();
    expect((await pending).done).toBe(true);
    s.close();
    expect(closed).toBe(1);
  });
});

/** Runs a read operation against a made-up kernel that answers every request with `answer`. */
function drive<T>(op: Operation<T>, answer: (c: NetlinkCall) => NetlinkMessage[] | Error): T {
  let step = op.next();
  while (!step.done) {
    const a = answer(step.value as NetlinkCall);
    step = a instanceof Error ? op.throw(a) : op.next(a);
  }
  return step.value;
}

describe('nftables reads without a kernel', () => {
  const enoent = (c: NetlinkCall) => new NetlinkError({ errno: 2, operation: c.operation });
  const eperm = (c: NetlinkCall) => new NetlinkError({ errno: 1, operation: c.operation });

  it('get turns the kernel ENOENT into NotFoundError (keeping errno and operation); find into undefined; other errors pass', () => {
    let err: unknown;
    try {
      drive(nftTableOps.get({ family: 'inet', name: 'nat' }), enoent);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ code: 'ENOENT', what: 'nftables table', operation: 'get nftables table inet nat' });
    expect(drive(nftChainOps.find({ family: 'inet', table: 'nat', name: 'post' }), enoent)).toBeUndefined();
    expect(drive(nftRuleOps.find({ family: 'inet', table: 'nat', chain: 'post', handle: 3 }), enoent)).toBeUndefined();
    expect(() => drive(nftTableOps.find({ family: 'inet', name: 'nat' }), eperm)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(() => drive(nftTableOps.find({ family: 'inet', name: 'nat' }), eperm)).not.toThrow(NotFoundError);
  });

  it('a table or chain given by handle alone is looked up in a listing; none is NotFoundError', () => {
    expect(() => drive(nftTableOps.get({ family: 'inet', handle: 9 }), () => [])).toThrow(NotFoundError);
    expect(drive(nftChainOps.find({ family: 'inet', table: 't', handle: 9 }), () => [])).toBeUndefined();
  });
});

describe('event streams closed during the includeExisting dump', () => {
  it('closed during the includeExisting dump: a pending next() is done at once, a later failure of the dump is ignored', async () => {
    const sub = fakeSubscription([msg(1)]);
    let fail: (e: Error) => void = () => undefined;
    let started: () => void = () => undefined;
    const dumpStarted = new Promise<void>((r) => (started = r));
    const s = eventStream<Ev>({
      subscription: sub as unknown as NetlinkSubscription,
      decode,
      includeExisting: true,
      existing: async function* () {
        yield { type: 'thing', action: 'new', n: 10 } as Ev;
        started();
        // The dump's next part never comes, until the handle closes under it.
        await new Promise<void>((_, reject) => (fail = reject));
      },
    });
    expect((await s.next()).value).toEqual({ type: 'thing', action: 'new', n: 10 });
    const pending = s.next();
    await dumpStarted;
    s.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    fail(new Error('list links: the netlink handle is closed'));
    expect(await s.next()).toEqual({ value: undefined, done: true });
    expect(sub.closedCount).toBe(1);
  });

  it('closed between two events of the dump: the rest of the dump is not delivered', async () => {
    const sub = fakeSubscription([]);
    const s = eventStream<Ev>({
      subscription: sub as unknown as NetlinkSubscription,
      decode,
      includeExisting: true,
      existing: async function* () {
        for (let n = 1; n <= 100; n++) yield { type: 'thing', action: 'new', n } as Ev;
      },
    });
    expect((await s.next()).value).toMatchObject({ n: 1 });
    s.close();
    expect(await s.next()).toEqual({ value: undefined, done: true });
  });
});
