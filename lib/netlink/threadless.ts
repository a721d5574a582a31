/**
 * The thread-less start of a request socket: a connection's first requests
 * go to the kernel from the libuv pool (`transact`: one sendmsg carrying every
 * request queued in the same tick, then the acks read back), and the socket's
 * own I/O thread starts only when the connection stays busy. A handle opened
 * for a few requests and closed (the sandbox side of an attach, a CLI
 * command) then never starts a thread; a busy one gets the pipelining of the
 * I/O thread after {@link MAX_ROUNDS} round trips, and so does one that sends
 * a batch (an nftables transaction).
 * @module
 */
import { constants as osConstants } from 'node:os';
import type { NativeNetlinkSocket } from '../native/binding';
import { NetlinkError, fromNative, requestOverrun } from './errors';
import type { RequestTracker } from './request-tracker';
import { sendBulk } from './bulk-send';
import { failReceive } from './bulk-stop';

/** Round trips on the pool before the connection hands over to its I/O thread (it is busy, then). */
const MAX_ROUNDS = 16;
/** A round larger than this goes to the I/O thread, which pipelines it in chunks. */
const MAX_ROUND_BYTES = 64 * 1024;
/** How long one pool job waits for replies the kernel did not give while sendmsg ran (none of rtnetlink's); then it asks again. */
const LATE_REPLY_WAIT_MS = 200;

interface Queued {
  message: Buffer;
  /** The request's first sequence number (its tracker key). */
  token: number;
  /** An exclusive batch: one datagram of its own, complete once processed (always sent by the I/O thread). */
  batch: boolean;
  /** A bulk call (many requests in 64 KiB parts): always sent by the I/O thread, which pipelines its parts. */
  bulk: boolean;
}

/** Sends a connection's requests without its I/O thread until {@link handOver}. */
export class ThreadlessSender {
  private outbox: Queued[] = [];
  /** Sent, and the kernel still owes replies (never for rtnetlink: it answers while sendmsg runs). */
  private owed: Queued[] = [];
  /** A pool job runs. */
  private busy = false;
  private scheduled = false;
  private rounds = 0;
  private closed = false;
  private threaded = false;
  /** An overrun was read: the socket's queue must be read empty before the next round (see {@link next}); then the requests sent and unanswered fail. */
  private drain = false;
  private readonly handOverWaiters: Array<() => void> = [];

  /**
   * @param socket the native socket (its I/O thread not started)
   * @param tracker the connection's requests, to fail and complete them
   * @param deliver hands received messages to the connection as its I/O thread would
   */
  constructor(
    private readonly socket: NativeNetlinkSocket,
    private readonly tracker: RequestTracker,
    private readonly deliver: (replies: Buffer) => void,
  ) {}

  /** Whether requests still go through this sender (else straight to the socket). */
  get active(): boolean {
    return !this.threaded;
  }

  /** Queues a request; it leaves with the others of this tick. */
  send(message: Buffer, token: number, batch: boolean, bulk = false): void {
    // A copy: a caller may give the same Buffer to another call of this tick, stamping it again before it leaves.
    this.outbox.push({ message: Buffer.from(message), token, batch, bulk });
    if (!this.scheduled && !this.busy) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.next();
      });
    }
  }

  /** Tokens of the requests never handed to the kernel; stops the sender. */
  close(): number[] {
    this.closed = true;
    const unsent = this.outbox.map((q) => q.token);
    this.outbox = [];
    // A stream waiting for the hand-over goes on and finds the connection closed (a round in flight ends unheard).
    for (const resolve of this.handOverWaiters.splice(0)) resolve();
    return unsent;
  }

  /** Resolves once requests go to the I/O thread (a stream needs its backpressure); at once unless a round is in flight. */
  handOver(): Promise<void> {
    if (this.threaded || this.closed) return Promise.resolve();
    if (!this.busy) {
      this.startThread();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.handOverWaiters.push(resolve));
  }

  private next(): void {
    if (this.closed || this.threaded || this.busy) return;
    // After a drop the kernel drops every later reply, silently, until the queue was read empty
    // (NETLINK_S_CONGESTED): a round sent before that would never be answered.
    if (this.drain) {
      this.drain = false;
      this.transact([], Buffer.alloc(0), 0, true);
      return;
    }
    if (this.handOverWaiters.length > 0) {
      this.startThread();
      return;
    }
    if (this.outbox.length === 0) {
      if (this.owed.length > 0) this.transact([], Buffer.alloc(0), LATE_REPLY_WAIT_MS);
      return;
    }
    // A batch (an nftables transaction) goes to the I/O thread: transactions are the heavy, repeated work of a
    // long-lived socket, and their notifications then reach a subscription as they always did (a pool thread's
    // commit let a 1-byte subscription keep up where the I/O thread's overran it; examples/events/03).
    if (this.rounds >= MAX_ROUNDS || this.outbox[0].batch || this.outbox[0].bulk) {
      this.startThread();
      return;
    }
    const first = this.outbox[0];
    let take = 1;
    let bytes = first.message.length;
    while (take < this.outbox.length && !this.outbox[take].batch && !this.outbox[take].bulk) bytes += this.outbox[take++].message.length;
    if (bytes > MAX_ROUND_BYTES) {
      this.startThread();
      return;
    }
    this.rounds++;
    const round = this.outbox.splice(0, take);
    const request =
      round.length === 1
        ? first.message
        : Buffer.concat(
            round.map((q) => q.message),
            bytes,
          );
    this.transact(round, request, 0);
  }

  /** `drain`: the round that reads the socket empty after an overrun. */
  private transact(round: Queued[], request: Buffer, waitMs: number, drain = false): void {
    this.busy = true;
    let job: Promise<Buffer>;
    try {
      job = this.socket.transact(request, waitMs);
    } catch (e) {
      this.busy = false;
      if (drain) {
        // No job to read the socket empty (no descriptor for its dup: EMFILE): the requests sent and unanswered lost
        // their replies all the same, and the I/O thread reads what is queued before it sends anything.
        this.failSent((op) => requestOverrun(op));
        this.startThread();
        return;
      }
      this.failRound(round, (op) => fromNative(op, e));
      this.next();
      return;
    }
    job.then(
      (replies) => {
        this.roundDone(round, replies, drain);
      },
      (e: unknown) => {
        this.busy = false;
        if (this.closed) return;
        const err = e as { errno?: number; syscall?: string };
        // A failed sendmsg (ENOBUFS too: no memory for the skb) sent nothing of the round.
        if (err.syscall?.startsWith('sendmsg')) this.failRound(round, (operation) => new NetlinkError({ errno: err.errno ?? 0, operation }));
        else this.receiveFailed(err.errno ?? 0, err.syscall);
        this.next();
      },
    );
  }

  /**
   * A recvmsg of a round failed with `errno`, after the replies read before it were delivered (the job
   * returns them with the error: they were queued before it).
   */
  private receiveFailed(errno: number, syscall = 'recvmsg(netlink)'): void {
    // The first recvmsg after a loss reports it (sk_err is checked before the queue). What was queued after it
    // is read by the drain round, and only then do the requests sent and unanswered fail (roundDone).
    // Read after a loss, not always a drop (netlink_ack only sets the error when it cannot allocate the ack):
    // a group sent before it cannot settle as a success by its last ack (request-tracker.ts overrunBegan).
    if (errno === osConstants.errno.ENOBUFS) {
      this.drain = true;
      this.tracker.overrunBegan((op) => requestOverrun(op), new Set(this.outbox.map((q) => q.token)));
      return;
    }
    // Any other receive error: as on the I/O thread (bulk-stop.ts failReceive), every request pending fails
    // with it and what waits in the outbox is never sent (a caller told "failed" must not find it applied).
    const unsent = new Set(this.outbox.map((q) => q.token));
    this.outbox = [];
    failReceive(this.tracker, errno, unsent, syscall);
  }

  private roundDone(round: Queued[], replies: Buffer & { errno?: number }, drained: boolean): void {
    this.busy = false;
    if (this.closed) return;
    if (replies.length > 0) this.deliver(replies);
    if (replies.errno !== undefined) {
      // A receive error after these replies: handled as a failed round's (a drain round that meets another ENOBUFS
      // drains again before anything fails).
      this.receiveFailed(replies.errno);
    } else if (drained) {
      // The socket's queue was read empty after an overrun: as on the I/O thread (request-tracker.ts failSent),
      // a request sent and unanswered lost its reply; those still in the outbox go next and are answered.
      this.failSent((op) => requestOverrun(op));
    }
    this.owed = [...this.owed, ...round].filter((q) => this.tracker.sentWith(q.token));
    this.next();
  }

  /** Fails the requests sent and unanswered (request-tracker.ts failSent); those in the outbox were never sent. */
  private failSent(error: (operation: string) => Error): void {
    this.tracker.failSent(error, new Set(this.outbox.map((q) => q.token)));
  }

  private failRound(round: Queued[], error: (operation: string) => Error): void {
    for (const q of round) {
      const p = this.tracker.sentWith(q.token);
      if (p) this.tracker.fail(error, p);
    }
  }

  /** From now on the socket's I/O thread sends and reads (replies still owed too); what waits here goes first, in order. */
  private startThread(): void {
    this.threaded = true;
    for (const q of this.outbox) {
      try {
        if (q.bulk) sendBulk(this.socket, q.message);
        else this.socket.send(q.message, q.token, q.batch);
      } catch (e) {
        const p = this.tracker.sentWith(q.token);
        if (p) this.tracker.fail((operation) => fromNative(operation, e), p);
      }
    }
    this.outbox = [];
    for (const resolve of this.handOverWaiters.splice(0)) resolve();
  }
}
