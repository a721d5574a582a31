// The thread-less start (lib/netlink/threadless.ts) when a pool round fails,
// against a fake socket: a request still waiting in the outbox is sent after
// the failed round, so it must not be failed (a caller told "failed" would
// find it applied), and a request sent whose reply was lost must fail, never
// wait forever.
import { constants as osConstants } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { NativeNetlinkSocket } from '../../lib/native/binding';
import { AckGroup } from '../../lib/netlink/ack-group';
import { NetlinkOverrunError, SystemError } from '../../lib/netlink/errors';
import { PendingRequest, RequestTracker } from '../../lib/netlink/request-tracker';
import { ThreadlessSender } from '../../lib/netlink/threadless';

const { ENOBUFS, ENOMEM, EMFILE } = osConstants.errno;

type Step = (request: Uint8Array) => Promise<Buffer>;

/** A socket whose pool rounds do what `steps` say, in order (then: nothing to read). */
function fakeSocket(steps: Step[]): { socket: NativeNetlinkSocket; rounds: number[][]; threadSent: number[] } {
  const rounds: number[][] = [];
  const threadSent: number[] = [];
  const socket = {
    transact(request: Uint8Array): Promise<Buffer> {
      const seqs: number[] = [];
      const b = Buffer.from(request.buffer, request.byteOffset, request.byteLength);
      for (let off = 0; off + 16 <= b.length; off += b.readUInt32LE(off)) seqs.push(b.readUInt32LE(off + 8));
      rounds.push(seqs);
      const step = steps.shift();
      return step ? step(request) : new Promise((r) => setTimeout(() => r(Buffer.alloc(0)), 1)); // a pool job takes a while
    },
    send(_data: Uint8Array, token: number) {
      threadSent.push(token);
    },
  } as unknown as NativeNetlinkSocket;
  return { socket, rounds, threadSent };
}

/** A request message numbered `seq`. */
function message(seq: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(16, 0);
  b.writeUInt16LE(24, 4);
  b.writeUInt32LE(seq, 8);
  return b;
}

function ack(seq: number): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt32LE(36, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(16, 20);
  return b;
}

const fail = (errno: number, syscall: string) => () => Promise.reject(Object.assign(new Error(syscall), { errno, syscall }));

function setup(steps: Step[]) {
  const tracker = new RequestTracker();
  const fake = fakeSocket(steps);
  const sender = new ThreadlessSender(fake.socket, tracker, (replies) => tracker.feedReceived(replies));
  const outcomes = new Map<number, Error | 'ok'>();
  const request = (seq: number) => {
    tracker.add(new PendingRequest('ack', `route ${seq}`, seq, seq, (e) => outcomes.set(seq, e ?? 'ok')));
    sender.send(message(seq), seq, false);
  };
  return { ...fake, outcomes, request, tracker, sender };
}

/** Three writes acked as one group (seq 10–12, only the last asks for an ack), sent; their outcomes in settle order. */
function sendGroupOfThree(t: ReturnType<typeof setup>): Array<Error | undefined> {
  const outcomes: Array<Error | undefined> = [];
  const g = new AckGroup(() => undefined);
  for (let i = 0; i < 3; i++) g.add(message(0), `route ${10 + i}`, { complete: (e) => outcomes.push(e) });
  const bytes = g.take();
  for (let i = 0; i < 3; i++) bytes.writeUInt32LE(10 + i, i * 16 + 8);
  [g.firstSeq, g.lastSeq] = [10, 12];
  t.tracker.addGroup(g);
  t.sender.send(bytes, 10, false);
  return outcomes;
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('a failed pool round', () => {
  it('fails the requests sent and unanswered when the round that should read the socket empty cannot start', async () => {
    const t = setup([
      fail(ENOBUFS, 'recvmsg(netlink)'), // the round's replies were dropped
      () => {
        throw Object.assign(new Error('dup'), { errno: EMFILE, syscall: 'dup' }); // no job to read the socket empty
      },
    ]);
    t.request(1);
    await Promise.resolve();
    t.request(2); // waits in the outbox while round 1 is on the pool
    await settle();
    expect(t.outcomes.get(1)).toBeInstanceOf(NetlinkOverrunError);
    expect((t.outcomes.get(1) as NetlinkOverrunError).sent).toBe(true);
    // Not sent by a pool round into the unread socket (its reply would be dropped): the I/O thread, which reads first, has it.
    expect(t.rounds).toEqual([[1], []]);
    expect(t.threadSent).toEqual([2]);
    expect(t.outcomes.has(2)).toBe(false);
  });

  it('fails a request still in the outbox on a receive error with that error and never sends it (as the I/O thread does)', async () => {
    const t = setup([fail(ENOMEM, 'recvmsg(netlink)'), () => Promise.resolve(ack(3))]);
    t.request(1);
    await Promise.resolve();
    t.request(2);
    await settle();
    expect(t.rounds).toEqual([[1]]);
    // A SystemError, not a NetlinkError (the kernel refused nothing): 1 was sent and may be applied, 2 never went.
    for (const [seq, sent] of [
      [1, true],
      [2, false],
    ] as const) {
      expect(t.outcomes.get(seq)).toBeInstanceOf(SystemError);
      expect(t.outcomes.get(seq)).toMatchObject({ code: 'ENOMEM', operation: `route ${seq}`, syscall: 'recvmsg(netlink)', sent });
    }
    // The connection goes on: a later request is sent and answered.
    t.request(3);
    await settle();
    expect(t.rounds).toEqual([[1], [3]]);
    expect(t.outcomes.get(3)).toBe('ok');
  });

  it('does not settle a group sent before an ENOBUFS as a success when the drain round reads its last ack', async () => {
    // The round's first read reports ENOBUFS; the kernel had lost a refusal without dropping the later replies
    // (netlink_ack could not allocate it), so the drain round reads the group's last ack.
    const t = setup([fail(ENOBUFS, 'recvmsg(netlink)'), () => Promise.resolve(ack(12))]);
    const outcomes = sendGroupOfThree(t);
    await settle();
    expect(t.rounds).toEqual([[10, 11, 12], []]);
    // Requests 10 and 11 are unknown; 12's ack is its own (it settles first, as it is read).
    expect(outcomes).toHaveLength(3);
    expect(outcomes[0]).toBeUndefined();
    expect(outcomes.slice(1).every((e) => e instanceof NetlinkOverrunError && e.sent)).toBe(true);
  });

  it('delivers the replies a round read before its ENOBUFS, then handles the ENOBUFS (a later last ack vouches for nothing)', async () => {
    // The job meets the ENOBUFS after reading the dump's first part (netlink_dump could not allocate the next one, or
    // a reply was lost meanwhile): that part comes with the error (`errno` on the replies), it is not dropped; the
    // drain round reads the rest. Before, the error on the replies went unseen: the group settled as a success.
    const part = (seq: number, type: number, flags: number) => {
      const b = Buffer.alloc(20);
      b.writeUInt32LE(20, 0);
      b.writeUInt16LE(type, 4);
      b.writeUInt16LE(flags, 6);
      b.writeUInt32LE(seq, 8);
      return b;
    };
    const t = setup([
      () => Promise.resolve(Object.assign(part(1, 24, 2 /* NLM_F_MULTI */), { errno: ENOBUFS })),
      () => Promise.resolve(Buffer.concat([part(1, 24, 2), part(1, 3 /* NLMSG_DONE */, 2), ack(12)])),
    ]);
    let dump: Error | number | undefined;
    t.tracker.add(new PendingRequest('dump', 'dump 1', 1, 1, (e, replies) => (dump = e ?? replies.length)));
    t.sender.send(message(1), 1, false);
    const outcomes = sendGroupOfThree(t);
    await settle();
    expect(t.rounds).toEqual([[1, 10, 11, 12], []]);
    expect(dump).toBe(2); // both parts: the one read before the ENOBUFS was kept
    expect(outcomes).toHaveLength(3);
    expect(outcomes[0]).toBeUndefined(); // 12's own ack
    expect(outcomes.slice(1).every((e) => e instanceof NetlinkOverrunError && e.sent)).toBe(true);
  });
});
