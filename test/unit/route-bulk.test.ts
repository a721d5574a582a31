// Bulk writes without a kernel: the bytes sent (the single calls' requests
// back to back), validation before anything is sent, the kernel's refusals
// matched to items by sequence number and collected into one BatchError, the
// tracker completing a bulk call on its last request's ack, and the split
// into datagrams.
import { describe, expect, it } from 'vitest';
import { BatchError, NetlinkError, NotFoundError, ValidationError } from '../../lib';
import { PartedBulkCall } from '../../lib/netlink/bulk-parts';
import { bulkParts } from '../../lib/netlink/bulk-send';
import { runSync, type NetlinkCall, type SyncExecutor } from '../../lib/netlink/operation';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { PendingRequest, RequestTracker } from '../../lib/netlink/request-tracker';
import { routeOps } from '../../lib/rtnetlink/route';
import { simpleRoutesWriter } from '../../lib/rtnetlink/route-bulk-simple';
import type { RouteOptions } from '../../lib/rtnetlink/route-types';

const NLMSG_ERROR = 2;
const EEXIST = 17;
const ESRCH = 3;
const ENODEV = 19;

/** An NLMSG_ERROR reply to request `seq` (errno 0: an ack). */
function errorReply(seq: number, errno: number): NetlinkMessage {
  const payload = Buffer.alloc(20);
  payload.writeInt32LE(-errno, 0);
  return { type: NLMSG_ERROR, flags: 0, seq, pid: 0, payload } as unknown as NetlinkMessage;
}

/** A stand-in kernel: records each call and refuses the requests (by index in a bulk call) listed in `refuse`. */
function kernel(refuse: Record<number, number> = {}): { calls: NetlinkCall[]; ex: SyncExecutor } {
  const calls: NetlinkCall[] = [];
  return {
    calls,
    ex: {
      executeSync(c) {
        calls.push({ ...c, message: Buffer.from(c.message) });
        if (c.kind !== 'bulk') return [];
        // Not stamped here: every sequence number is 0 + the request's index.
        return Object.entries(refuse).map(([i, errno]) => errorReply(Number(i), errno));
      },
    },
  };
}

const routes = Array.from({ length: 6 }, (_, i) => ({ dst: `10.1.0.${i}/32`, link: 7, metric: i }));

describe('bulk route writes', () => {
  it('sends the single calls’ requests back to back, in one call', () => {
    const single = kernel();
    for (const r of routes) runSync(single.ex, routeOps.add(r));
    const bulk = kernel();
    runSync(bulk.ex, routeOps.add(routes));
    expect(bulk.calls.map((c) => [c.kind, c.operation])).toEqual([['bulk', 'add 6 routes']]);
    expect(bulk.calls[0].message).toEqual(Buffer.concat(single.calls.map((c) => c.message)));

    const singleDel = kernel();
    for (const r of routes) runSync(singleDel.ex, routeOps.delete(r));
    const bulkDel = kernel();
    expect(runSync(bulkDel.ex, routeOps.delete(routes))).toBe(6);
    expect(bulkDel.calls[0].message).toEqual(Buffer.concat(singleDel.calls.map((c) => c.message)));
  });

  it('writes the common { dst, link } routes byte for byte as the single calls, mixed with others in order', () => {
    const simple = ['10.2.0.0/16', '0.0.0.0/0', '10.2.3.4', '255.255.255.255/32', '128.0.0.0/1', '192.168.7.0/24'].map((dst, i) => ({ dst, link: 3 + i }));
    const mixed = [...simple.slice(0, 2), { dst: '10.9.0.0/16', link: 3, metric: 5 }, { dst: '2001:db8::/64', link: 4 }, ...simple.slice(2)];
    for (const op of ['add', 'replace', 'delete'] as const) {
      const single = kernel();
      for (const r of mixed) runSync(single.ex, routeOps[op](r));
      const bulk = kernel();
      runSync(bulk.ex, routeOps[op](mixed));
      expect(bulk.calls[0].message).toEqual(Buffer.concat(single.calls.map((c) => c.message)));
    }
  });

  it('encodes a call of only { dst, link } routes in parts, the last request asking for the ack', () => {
    const NLM_F_ACK = 4;
    const simple = Array.from({ length: 4000 }, (_, i) => ({ dst: `10.3.${i >> 8}.${i & 255}/32`, link: 9 }));
    const single = kernel();
    for (const r of simple) runSync(single.ex, routeOps.add(r));
    const expected = Buffer.concat(single.calls.map((c) => c.message));
    expected.writeUInt16LE(expected.readUInt16LE(expected.length - 44 + 6) | NLM_F_ACK, expected.length - 44 + 6);
    const bulk = kernel();
    runSync(bulk.ex, routeOps.add(simple)); // an executor reading `message` gets every request
    expect(bulk.calls[0].message).toEqual(expected);

    const write = simpleRoutesWriter(simple, 24, 0x600);
    expect(write).toBeDefined();
    expect(simpleRoutesWriter([...simple, { dst: '10.4.0.0/16', link: 9, metric: 1 }], 24, 0x600)).toBeUndefined();
    // Options through the prototype are options too (the general path reads them): defaults by Object.create, a class's field.
    const inherited = Object.assign(Object.create({ table: 100 }) as RouteOptions, { dst: '10.4.0.0/16', link: 9 });
    class Route {
      dst = '10.4.0.0/16';
      link = 9;
      get metric(): number {
        return 1;
      }
    }
    expect(simpleRoutesWriter([...simple, inherited], 24, 0x600)).toBeUndefined();
    expect(simpleRoutesWriter([...simple, new Route()], 24, 0x600)).toBeUndefined();
    if (!write) return;
    const call = new PartedBulkCall(simple.length, write, 'add 4000 routes');
    const parts: Buffer[] = [];
    for (let p = call.nextPart(); p; p = call.nextPart()) parts.push(Buffer.from(p));
    expect(parts.map((p) => p.length)).toEqual([1489 * 44, 1489 * 44, (4000 - 2 * 1489) * 44]);
    expect(Buffer.concat(parts)).toEqual(expected);
  });

  it('refuses malformed { dst, link } routes with the single calls’ errors', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['10.1.0.1/24', /host bits/],
      ['01.1.0.0/16', /routes\[1\]\.dst/],
      ['10.1.0.0/', /routes\[1\]\.dst/],
      ['10.1.0.0/08', /routes\[1\]\.dst/],
      ['10.1.0.0/33', /prefix length/],
      ['10.1.0/24', /routes\[1\]\.dst/],
      ['10.1.0.256/32', /routes\[1\]\.dst/],
      [7, /routes\[1\]\.dst/],
    ];
    for (const [dst, error] of cases) {
      const k = kernel();
      expect(() => runSync(k.ex, routeOps.add([routes[0], { dst, link: 7 } as never]))).toThrow(error);
      expect(k.calls).toEqual([]);
    }
    expect(() => runSync(kernel().ex, routeOps.add([routes[0], { dst: '10.1.0.0/24', link: 1.5 }]))).toThrow(/routes\[1\]\.link/);
  });

  it('validates every item before sending anything, naming the index', () => {
    const k = kernel();
    const bad = [...routes.slice(0, 3), { dst: '10.1.0.7/33', link: 7 }, ...routes.slice(3)];
    const e = (() => {
      try {
        runSync(k.ex, routeOps.add(bad));
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('routes[3].dst');
    expect((e as ValidationError).message).toMatch(/prefix length must be 0-32/);
    expect(() => runSync(k.ex, routeOps.add([routes[0], { dst: '10.1.0.9/32', link: 7, bogus: 1 } as never]))).toThrow(/routes\[1\]\.route/);
    expect(() => runSync(k.ex, routeOps.add([routes[0], { dst: '10.1.0.9/32', link: -1 }]))).toThrow(/routes\[1\]\.link/);
    expect(() => runSync(k.ex, routeOps.delete(routes, { missingOk: true, extra: 1 } as never))).toThrow(ValidationError);
    expect(() => runSync(k.ex, routeOps.add('10.0.0.0/8' as never))).toThrow(ValidationError);
    expect(k.calls).toEqual([]);
  });

  it('reports every refusal by index in one BatchError, after all were attempted', () => {
    const k = kernel({ 1: EEXIST, 4: ENODEV });
    const e = (() => {
      try {
        runSync(k.ex, routeOps.add(routes));
      } catch (x) {
        return x;
      }
    })() as BatchError;
    expect(k.calls.length).toBe(1);
    expect(e).toBeInstanceOf(BatchError);
    expect([e.name, e.operation, e.total, e.failed]).toEqual(['BatchError', 'add 6 routes', 6, [1, 4]]);
    expect(Object.keys(e.errors)).toEqual(['1', '4']);
    expect(e.errors[1]).toBeInstanceOf(NetlinkError);
    expect([e.errors[1].code, e.errors[1].commandIndex, e.errors[1].operation]).toEqual(['EEXIST', 1, 'add route 10.1.0.1/32']);
    expect([e.errors[4].code, e.errors[4].commandIndex]).toEqual(['ENODEV', 4]);
    expect(e.message).toBe(
      'add 6 routes: 2 of 6 failed: [1] add route 10.1.0.1/32: EEXIST (already exists); [4] add route 10.1.0.4/32: ENODEV (no such device)',
    );
  });

  it('makes missing routes NotFoundErrors on delete, or uncounted with missingOk', () => {
    const e = (() => {
      try {
        runSync(kernel({ 2: ESRCH }).ex, routeOps.delete(routes));
      } catch (x) {
        return x;
      }
    })() as BatchError;
    expect(e.failed).toEqual([2]);
    expect(e.errors[2]).toBeInstanceOf(NotFoundError);
    expect((e.errors[2] as NotFoundError).what).toBe('route');
    expect(runSync(kernel({ 2: ESRCH, 5: ENODEV }).ex, routeOps.delete(routes, { missingOk: true }))).toBe(4);
    // A refusal that is not "missing" still fails with missingOk.
    expect(() => runSync(kernel({ 0: EEXIST }).ex, routeOps.delete(routes, { missingOk: true }))).toThrow(BatchError);
  });
});

describe('bulk calls in the connection', () => {
  it('completes on the last request’s answer, keeping only the refusals', () => {
    const t = new RequestTracker();
    let outcome: [Error | undefined, NetlinkMessage[]] | undefined;
    t.add(new PendingRequest('bulk', 'add 5 routes', 100, 104, (err, replies) => (outcome = [err, replies])));
    expect(t.get(102)?.operation).toBe('add 5 routes'); // a part sent on its own is named by its first request
    t.feed([errorReply(101, EEXIST), errorReply(103, ENODEV)]);
    expect(outcome).toBeUndefined();
    t.feed([errorReply(104, 0), errorReply(105, 0)]);
    expect(outcome?.[0]).toBeUndefined();
    expect(outcome?.[1].map((m) => m.seq)).toEqual([101, 103]);
    expect(t.size).toBe(0);
  });

  it('matches a bulk call whose sequence numbers wrap from 0xfffffffe to 1', () => {
    const t = new RequestTracker();
    let outcome: [Error | undefined, NetlinkMessage[]] | undefined;
    t.add(new PendingRequest('bulk', 'add 4 routes', 0xfffffffd, 2, (err, replies) => (outcome = [err, replies])));
    expect(t.get(1)?.operation).toBe('add 4 routes');
    t.feed([errorReply(0xfffffffe, EEXIST)]);
    expect(outcome).toBeUndefined();
    expect(t.feed([errorReply(2, 0)])).toEqual([]);
    expect(outcome?.[1].map((m) => m.seq)).toEqual([0xfffffffe]);
    expect(t.size).toBe(0);

    // A batch across the wrap names its failing command by index (0xfffffffd, 0xfffffffe, 1, 2).
    let batchError: Error | undefined;
    const batch = new PendingRequest('batch', 'commit', 0xfffffffd, 2, (err) => (batchError = err));
    t.add(batch);
    expect(t.feed([errorReply(1, EEXIST)])).toEqual([]);
    t.sent(batch);
    expect((batchError as NetlinkError).commandIndex).toBe(2);
  });

  it('splits requests into datagrams of at most 64 KiB between messages', () => {
    const msg = (len: number) => {
      const b = Buffer.alloc(len);
      b.writeUInt32LE(len, 0);
      return b;
    };
    const buf = Buffer.concat(Array.from({ length: 3000 }, () => msg(44)));
    const parts = bulkParts(buf);
    expect(parts.map((p) => p.messages)).toEqual([1489, 1489, 22]);
    expect(parts.every((p) => p.end - p.start <= 65536 && (p.end - p.start) % 44 === 0)).toBe(true);
    expect(parts[parts.length - 1].end).toBe(buf.length);
    expect(bulkParts(Buffer.concat([msg(16), msg(70000), msg(16)])).map((p) => p.end - p.start)).toEqual([16, 70000, 16]);
  });
});
