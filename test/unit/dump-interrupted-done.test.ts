/**
 * NLM_F_DUMP_INTR on NLMSG_DONE only: the kernel checks a dump's
 * consistency once more as it ends (netlink_dump_done calls
 * nl_dump_check_consistent on NLMSG_DONE), so a change after the last part
 * flags no message but the DONE. The tracker must see it there: a stream
 * ends in DumpInterruptedError, a collected dump is restarted, and
 * `dumpOnce` says `interrupted`.
 */
import { describe, expect, it } from 'vitest';
import { NLMSG_DONE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI } from '../../lib/netlink/constants';
import { DumpInterruptedError } from '../../lib/netlink/errors';
import { dumpOnce, markInterrupted, runSync, type NetlinkCall } from '../../lib/netlink/operation';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { PendingRequest, RequestTracker } from '../../lib/netlink/request-tracker';
import { NetlinkWriter } from '../../lib/netlink/writer';

const SEQ = 5;

/** Two messages, then NLMSG_DONE carrying `doneFlags`. */
function answer(doneFlags: number): Buffer {
  const w = new NetlinkWriter();
  for (let i = 0; i < 2; i++) w.begin(100, NLM_F_MULTI).end();
  w.begin(NLMSG_DONE, NLM_F_MULTI | doneFlags);
  w.struct(4);
  w.end();
  const b = w.finish();
  for (let off = 0; off < b.length; off += b.readUInt32LE(off)) b.writeUInt32LE(SEQ, off + 8);
  return b;
}

function settle(kind: 'stream' | 'collected', received: Buffer): { err?: Error; interrupted?: boolean; streamed: number } {
  const t = new RequestTracker();
  const out: { err?: Error; interrupted?: boolean; streamed: number } = { streamed: 0 };
  const onMessage = kind === 'stream' ? () => out.streamed++ : undefined;
  t.add(new PendingRequest('dump', 'list things', SEQ, SEQ, (err, _r, interrupted) => Object.assign(out, { err, interrupted }), onMessage));
  t.feedReceived(received);
  return out;
}

describe('NLM_F_DUMP_INTR on NLMSG_DONE only', () => {
  it('ends a stream with DumpInterruptedError and marks a collected dump interrupted', () => {
    expect(settle('stream', answer(0)).err).toBeUndefined();
    const s = settle('stream', answer(NLM_F_DUMP_INTR));
    expect(s.err).toBeInstanceOf(DumpInterruptedError);
    expect(s.streamed).toBe(2);
    expect(settle('collected', answer(0)).interrupted).toBe(false);
    expect(settle('collected', answer(NLM_F_DUMP_INTR)).interrupted).toBe(true);
  });

  it('dumpOnce says interrupted when the executor marked the replies (no message carries the flag)', () => {
    const request = new NetlinkWriter().begin(100, NLM_F_DUMP).end().finish();
    const replies = (mark: boolean) => ({
      executeSync(_c: NetlinkCall): NetlinkMessage[] {
        const r: NetlinkMessage[] = [];
        if (mark) markInterrupted(r);
        return r;
      },
    });
    expect(runSync(replies(false), dumpOnce(request, 'list things')).interrupted).toBe(false);
    expect(runSync(replies(true), dumpOnce(request, 'list things')).interrupted).toBe(true);
  });
});
