// What the request tracker fails after a receive error other than ENOBUFS
// (bulk-stop.ts failReceive; the I/O thread's kFatal or a thread-less
// round's), without a socket: the kernel can be made to fail a read on
// demand (test/integration/receive-error.test.ts) but not while a request's
// answer waits unread, the case where a refusal-looking error would lie.
// Every request pending fails, each with its own operation; the error is a
// SystemError, not a NetlinkError (the kernel refused none of them), and says
// whether the request had reached the kernel.
import { constants as osConstants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AckGroup } from '../../lib/netlink/ack-group';
import { failReceive } from '../../lib/netlink/bulk-stop';
import { NetlinkError, SystemError } from '../../lib/netlink/errors';
import { PendingRequest, RequestTracker, type RequestKind } from '../../lib/netlink/request-tracker';
import { NetlinkWriter } from '../../lib/netlink/writer';

const { EINVAL } = osConstants.errno;

function request(t: RequestTracker, kind: RequestKind, first: number, last = first): () => Error | 'ok' | 'pending' {
  let outcome: Error | 'ok' | 'pending' = 'pending';
  t.add(new PendingRequest(kind, `${kind} ${first}`, first, last, (e) => (outcome = e ?? 'ok')));
  return () => outcome;
}

function group(t: RequestTracker, first: number, n: number): Array<Error | undefined> {
  const outcomes: Array<Error | undefined> = [];
  const g = new AckGroup(() => undefined);
  for (let i = 0; i < n; i++) g.add(new NetlinkWriter().begin(24, 0).end().finish(), `route ${first + i}`, { complete: (e) => outcomes.push(e) });
  g.take();
  [g.firstSeq, g.lastSeq] = [first, first + n - 1];
  t.addGroup(g);
  return outcomes;
}

describe('a receive error other than ENOBUFS', () => {
  it('fails every pending request with a SystemError saying whether it was sent, never with a kernel refusal', () => {
    const t = new RequestTracker();
    const sentAck = request(t, 'ack', 10); // sent, its answer not read: the kernel may have applied it
    const queuedAck = request(t, 'ack', 11); // cancelled: never sent
    const sentGroup = group(t, 20, 2);
    const queuedGroup = group(t, 30, 2);
    const bulk = request(t, 'bulk', 40, 49); // parts from 40 and 45: the second was cancelled
    failReceive(t, EINVAL, new Set([11, 30, 45]));
    for (const [e, sent] of [
      [sentAck(), true],
      [queuedAck(), false],
      [sentGroup[0], true],
      [sentGroup[1], true],
      [queuedGroup[0], false],
      [queuedGroup[1], false],
    ] as const) {
      expect(e).toBeInstanceOf(SystemError);
      expect(e).not.toBeInstanceOf(NetlinkError);
      expect(e).toMatchObject({ code: 'EINVAL', syscall: 'poll/recvmsg(netlink)', sent });
    }
    expect(sentAck()).toMatchObject({ operation: 'ack 10', message: expect.stringMatching(/may have applied it/) as unknown });
    expect(queuedAck()).toMatchObject({ operation: 'ack 11', message: expect.stringMatching(/never sent/) as unknown });
    expect(sentGroup[1]).toMatchObject({ operation: 'route 21' });
    expect(bulk()).toBeInstanceOf(SystemError);
    expect(bulk()).toMatchObject({ sent: true, itemsSent: 5 });
    expect(t.size).toBe(0);
  });
});
