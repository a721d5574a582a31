// A request given to call() (an `ack` request) whose message carries
// NLM_F_DUMP: the kernel answers it as a dump (its parts, then NLMSG_DONE, no
// ack), so the request tracker must end the call at NLMSG_DONE
// (lib/netlink/request-tracker.ts), or it waits forever.
import { describe, expect, it } from 'vitest';
import { DumpInterruptedError, NetlinkError } from '../../lib/netlink/errors';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { PendingRequest, RequestTracker } from '../../lib/netlink/request-tracker';

const NLM_F_MULTI = 0x2;
const NLM_F_DUMP_INTR = 0x10;

/** A netlink message of `type` for `seq` with a 4-byte payload `value`. */
function message(type: number, seq: number, flags: number, value: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(value, 16);
  return b;
}
const part = (seq: number, value: number, flags = 0) => message(16 /* RTM_NEWLINK */, seq, NLM_F_MULTI | flags, value);
const done = (seq: number, errno = 0, flags = 0) => message(3 /* NLMSG_DONE */, seq, NLM_F_MULTI | flags, -errno);

function callOf(t: RequestTracker, seq: number) {
  let outcome: { error?: Error; replies?: NetlinkMessage[] } | undefined;
  t.add(new PendingRequest('ack', `get links ${seq}`, seq, seq, (error, replies) => (outcome = { error, replies })));
  return () => outcome;
}

describe('call() of a message the kernel answers as a dump', () => {
  it('resolves at NLMSG_DONE with every part, in order', () => {
    const t = new RequestTracker();
    const outcome = callOf(t, 7);
    t.feedReceived(Buffer.concat([part(7, 1), part(7, 2)]));
    expect(outcome()).toBeUndefined();
    t.feedReceived(Buffer.concat([part(7, 3), done(7)]));
    expect(outcome()?.error).toBeUndefined();
    expect(outcome()?.replies?.map((m) => m.payload.readInt32LE(0))).toEqual([1, 2, 3]);
    expect(t.size).toBe(0);
  });

  it('fails with the error NLMSG_DONE carries, or DumpInterruptedError when the kernel flagged the dump (a call is never restarted)', () => {
    const t = new RequestTracker();
    const refused = callOf(t, 8);
    const interrupted = callOf(t, 9);
    const flaggedAtEnd = callOf(t, 10);
    t.feedReceived(Buffer.concat([part(8, 1), done(8, 22), part(9, 1, NLM_F_DUMP_INTR), done(9), part(10, 1), done(10, 0, NLM_F_DUMP_INTR)]));
    expect(refused()?.error).toBeInstanceOf(NetlinkError);
    expect(refused()?.error).toMatchObject({ code: 'EINVAL', operation: 'get links 8' });
    expect(interrupted()?.error).toBeInstanceOf(DumpInterruptedError);
    expect(flaggedAtEnd()?.error).toBeInstanceOf(DumpInterruptedError);
    expect(t.size).toBe(0);
  });
});
