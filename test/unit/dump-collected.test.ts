/**
 * A collected dump (`dumpCollected`): the connections' tracker applies
 * `collect` as the messages arrive and hands back only its results; an
 * executor that does not know `collect` hands back messages and the helper
 * applies it afterwards. Same result either way; a throwing `collect` fails
 * the dump only once the kernel is done with it.
 */
import { describe, expect, it } from 'vitest';
import { NLMSG_DONE, NLM_F_DUMP, NLM_F_MULTI } from '../../lib/netlink/constants';
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
});
