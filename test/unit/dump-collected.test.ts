/**
 * A collected dump (`dumpCollected`): the connections' tracker applies
 * `collect` as the messages arrive and hands back only its results; an
 * executor that does not know `collect` hands back messages and the helper
 * applies it afterwards. Same result either way; a throwing `collect` fails
 * the dump only once the kernel is done with it.
 */
import { describe, expect, it } from 'vitest';
import { NLMSG_DONE, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI } from '../../lib/netlink/constants';
import { dumpCollected, runSync, type NetlinkCall } from '../../lib/netlink/operation';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { splitMessages } from '../../lib/netlink/received-message';
import { PendingRequest, RequestTracker } from '../../lib/netlink/request-tracker';
import { NetlinkWriter } from '../../lib/netlink/writer';

const SEQ = 7;

/** The kernel's answer to a dump: three messages carrying a number each, then NLMSG_DONE. */
function answer(): Buffer {
  const w = new NetlinkWriter();
  for (const n of [1, 2, 3]) {
    w.begin(100, NLM_F_MULTI);
    w.view.writeUInt32LE(n, w.struct(4));
    w.end();
  }
  w.begin(NLMSG_DONE, NLM_F_MULTI);
  w.struct(4);
  w.end();
  const b = w.finish();
  for (let off = 0; off < b.length; off += b.readUInt32LE(off)) b.writeUInt32LE(SEQ, off + 8);
  return b;
}

const odd = (m: NetlinkMessage) => (m.payload.readUInt32LE(0) % 2 ? m.payload.readUInt32LE(0) * 10 : undefined);

/** A synchronous executor built on the tracker, as NetlinkSyncConnection is. */
function trackerExecutor(received: Buffer) {
  return {
    executeSync(c: NetlinkCall): NetlinkMessage[] {
      const tracker = new RequestTracker();
      let outcome: { err?: Error; replies: NetlinkMessage[] } | undefined;
      tracker.add(new PendingRequest(c.kind, c.operation, SEQ, SEQ, (err, replies) => (outcome = { err, replies }), undefined, c.collect));
      tracker.feed(splitMessages(received));
      if (!outcome) throw new Error('not settled');
      if (outcome.err) throw outcome.err;
      return outcome.replies;
    },
  };
}

describe('collected dumps', () => {
  const request = new NetlinkWriter().begin(100, NLM_F_DUMP).end().finish();

  it('the tracker collects as messages arrive; an executor without collect gets the same result', () => {
    const seen: NetlinkCall[] = [];
    const plain = {
      executeSync(c: NetlinkCall): NetlinkMessage[] {
        seen.push(c);
        return splitMessages(answer()).filter((m) => m.type !== NLMSG_DONE);
      },
    };
    expect(runSync(trackerExecutor(answer()), dumpCollected(request, 'list numbers', odd))).toEqual([10, 30]);
    expect(runSync(plain, dumpCollected(request, 'list numbers', odd))).toEqual([10, 30]);
    expect(seen[0]).toMatchObject({ kind: 'dump', operation: 'list numbers' });
  });

  it('a throwing collect fails the dump at NLMSG_DONE, with its error', () => {
    let calls = 0;
    const failing = (m: NetlinkMessage) => {
      calls++;
      if (m.payload.readUInt32LE(0) === 2) throw new RangeError('bad number');
      return 1;
    };
    expect(() => runSync(trackerExecutor(answer()), dumpCollected(request, 'list numbers', failing))).toThrow(RangeError);
    expect(calls).toBe(2); // nothing collected after the failure
  });

  it('the connections collect in place (collectAt): same values, in order with other replies, no message object', () => {
    // An ack of another request (seq 9) between the dump's messages, as a datagram may carry.
    const ack = new NetlinkWriter().begin(2 /* NLMSG_ERROR */, 0);
    ack.view.writeInt32LE(0, ack.struct(20));
    const ackBuf = ack.end().finish();
    ackBuf.writeUInt32LE(9, 8);
    const dump = answer();
    const first = dump.readUInt32LE(0);
    const received = Buffer.concat([dump.subarray(0, first), ackBuf, dump.subarray(first)]);
    const order: string[] = [];
    const tracker = new RequestTracker();
    let dumped: unknown[] | undefined;
    const p = new PendingRequest(
      'dump',
      'list numbers',
      SEQ,
      SEQ,
      (err, replies) => (dumped = err ? [err] : replies),
      undefined,
      () => {
        throw new Error('collect called: a message object was made');
      },
    );
    p.collectAt = (type, b, start) => {
      order.push(`dump ${b.readUInt32LE(start)}`);
      return type === 100 && b.readUInt32LE(start) % 2 ? b.readUInt32LE(start) * 10 : undefined;
    };
    tracker.add(p);
    tracker.add(new PendingRequest('ack', 'other', 9, 9, (err) => order.push(err ? 'ack failed' : 'ack')));
    expect(tracker.feedReceived(received)).toBe(5);
    expect(order).toEqual(['dump 1', 'ack', 'dump 2', 'dump 3']);
    expect(dumped).toEqual([10, 30]);
    expect(tracker.size).toBe(0);
  });

  it('collectAt: a throwing one fails the dump at NLMSG_DONE; an interrupted dump is flagged', () => {
    const received = answer();
    received.writeUInt16LE(received.readUInt16LE(6) | NLM_F_DUMP_INTR, 6);
    const tracker = new RequestTracker();
    let outcome: { err?: Error; interrupted: boolean } | undefined;
    let calls = 0;
    const p = new PendingRequest(
      'dump',
      'list numbers',
      SEQ,
      SEQ,
      (err, _r, interrupted) => (outcome = { err, interrupted }),
      undefined,
      () => 1,
    );
    p.collectAt = (_t, b, start) => {
      calls++;
      if (b.readUInt32LE(start) === 2) throw new RangeError('bad number');
      return 1;
    };
    tracker.add(p);
    tracker.feedReceived(received);
    expect(outcome?.err).toBeInstanceOf(RangeError);
    expect(outcome?.interrupted).toBe(true);
    expect(calls).toBe(2); // nothing collected after the failure
  });
});

describe('collected dumps read in place (RequestTracker.feedReceived)', () => {
  /** The interrupted flag a collected dump settles with, fed `flags` on its second message. */
  function interruptedWith(flags: number, inPlace: boolean): boolean {
    const received = answer();
    const second = received.readUInt32LE(0);
    received.writeUInt16LE(NLM_F_MULTI | flags, second + 6);
    let interrupted: boolean | undefined;
    const tracker = new RequestTracker();
    const p = new PendingRequest('dump', 'list numbers', SEQ, SEQ, (_e, _r, i) => (interrupted = i), undefined, odd);
    if (inPlace) p.collectAt = (_type, b, start) => (b.readUInt32LE(start) % 2 ? b.readUInt32LE(start) * 10 : undefined);
    tracker.add(p);
    if (inPlace) tracker.feedReceived(received);
    else tracker.feed(splitMessages(received));
    if (interrupted === undefined) throw new Error('not settled');
    return interrupted;
  }

  it('sees NLM_F_DUMP_INTR as the message path does (the connection restarts the dump), and only that flag', () => {
    for (const inPlace of [false, true]) {
      expect(interruptedWith(NLM_F_DUMP_INTR, inPlace)).toBe(true);
      expect(interruptedWith(NLM_F_ACK, inPlace)).toBe(false);
      expect(interruptedWith(0, inPlace)).toBe(false);
    }
  });
});
