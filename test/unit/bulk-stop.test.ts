// A bulk call stopped part-way, without a kernel: the parts still queued are
// cancelled on the socket (its range of sequence numbers, also across the
// wrap), and the error it rejects with says how many requests went (the ones
// before the first unsent part; a send error names its own part).
import { describe, expect, it } from 'vitest';
import { closedError, requestsSent, sendError, stoppableBulk, withItemsSent } from '../../lib/netlink/bulk-stop';
import { ClosedError, NetlinkError, NetlinkOverrunError, NotFoundError, SystemError } from '../../lib/netlink/errors';
import { runAsync, type AsyncExecutor } from '../../lib/netlink/operation';
import { PendingRequest } from '../../lib/netlink/request-tracker';
import { routeOps } from '../../lib/rtnetlink/route';

describe('a bulk call stopped part-way', () => {
  it('counts the requests before the first unsent part, also across the sequence wrap', () => {
    expect(requestsSent({ firstSeq: 100, lastSeq: 4999 }, [3078, 1589])).toBe(1489);
    expect(requestsSent({ firstSeq: 100, lastSeq: 4999 }, [])).toBe(4900);
    expect(requestsSent({ firstSeq: 100, lastSeq: 4999 }, [99, 5000])).toBe(4900); // other calls' tokens
    expect(requestsSent({ firstSeq: 0xfffffff0, lastSeq: 100 }, [20])).toBe(0xfffffffe - 0xfffffff0 + 20);
  });

  it('cancels its queued parts when it fails and says how many requests went', () => {
    const asked: Array<[number, number]> = [];
    const socket = { cancel: (a: number, b: number) => (asked.push([a, b]), [2589, 4089]) };
    let outcome: Error | undefined;
    const bulk = stoppableBulk(socket, (e) => (outcome = e));
    const p = new PendingRequest('bulk', 'add 5000 routes', 1100, 6099, bulk.settle);
    bulk.track(p);
    p.settle(new NetlinkOverrunError('netlink request'), [], false);
    expect(asked).toEqual([[1100, 6099]]);
    expect(outcome).toBeInstanceOf(NetlinkOverrunError);
    expect((outcome as NetlinkOverrunError).itemsSent).toBe(1489);
    expect(outcome?.message).toMatch(/^add 5000 routes: .*the first 1489 items were sent to the kernel, the rest never/);

    // A send error names its part: fewer went than the cancelled parts alone say.
    const failed = sendError(p, 12, 1100 + 1489);
    expect(failed.itemsSent).toBe(1489);
    p.settle(sendError(p, 12, 1100), [], false);
    expect([(outcome as NetlinkError).code, (outcome as NetlinkError).itemsSent]).toEqual(['ENOMEM', 0]);

    // Success passes through untouched, without cancelling anything.
    asked.length = 0;
    p.settle(undefined, [], false);
    expect([outcome, asked]).toEqual([undefined, []]);
  });

  it('makes a closed handle’s ClosedError say how many items went; other requests keep theirs', () => {
    const bulk = new PendingRequest('bulk', 'add 5000 routes', 10, 5009, () => undefined);
    const e = closedError(bulk, new Set([1499, 2988, 7]));
    expect([e.sent, e.itemsSent, e.operation]).toEqual([true, 1489, 'add 5000 routes']);
    expect(closedError(bulk, new Set([10]))).toMatchObject({ sent: false, itemsSent: 0 });
    const ack = new PendingRequest('ack', 'add route 10.0.0.0/8', 7, 7, () => undefined);
    expect(closedError(ack, new Set([7]))).toMatchObject({ sent: false, itemsSent: undefined });
  });

  it('copies errors with the count, keeping their kind and details', () => {
    const nf = withItemsSent(new NotFoundError('link', { errno: 19, operation: 'add 9 routes', extack: 'x' }), 3, 'add 9 routes');
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf).toMatchObject({ what: 'link', code: 'ENODEV', extack: 'x', itemsSent: 3 });
    expect(withItemsSent(new ClosedError('add 9 routes', true), 0, 'add 9 routes')).toMatchObject({ sent: false, itemsSent: 0 });
    const sys = new SystemError('add 9 routes', 11, 'pthread_create');
    expect(withItemsSent(sys, 3, 'add 9 routes')).toBe(sys);
  });
});

describe('a bulk write of items that needed lookups, stopped part-way', () => {
  it('counts items, not requests: an item whose link lookup failed sent none', async () => {
    const routes = [
      { dst: '10.1.0.0/32', link: 'cleanup-no0' }, // refused lookup: no request
      { dst: '10.1.0.1/32', link: 3, metric: 1 },
      { dst: '10.1.0.2/32', link: 3, metric: 2 },
    ];
    const ex: AsyncExecutor = {
      execute: (c) =>
        c.kind === 'bulk'
          ? Promise.reject(new NetlinkOverrunError('netlink request', undefined, 1)) // its first request (item 1) went
          : Promise.reject(new NetlinkError({ errno: 19, operation: c.operation })),
    };
    const e = await runAsync(ex, routeOps.add(routes)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkOverrunError);
    expect((e as NetlinkOverrunError).itemsSent).toBe(2); // items 0 (never sent) and 1; item 2 was not sent
  });
});
