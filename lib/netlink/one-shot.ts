/**
 * A connection into a namespace with no socket of its own between rounds:
 * the requests asked in one tick go to the kernel in one libuv pool job
 * (native `netlinkTransactIn`) that makes a socket inside the namespace,
 * sends them in one sendmsg (the kernel runs them in order), reads every
 * reply and closes the socket. For a few requests into a namespace the
 * caller will not use again (the sandbox side of an attach): one hand-off to
 * the pool per round, where a handle pays a job to make its socket, a socket
 * object with its event channel, then a job per round. Requests only (`ack`
 * calls): dumps, batches and bulk calls need a handle. With `keep` the
 * socket of the first round stays for the next ones (a short-lived handle's
 * rounds, first-round.ts).
 * @internal
 * @module
 */
import { constants as osConstants } from 'node:os';
import { native, type KeptSocket } from '../native/binding';
import { NLM_F_ACK } from './constants';
import { EBADF, EIO } from './errno';
import { ClosedError, NetlinkError, SystemError, fromNative, requestOverrun } from './errors';
import { NoReplyError } from './no-reply-error';
import type { AsyncExecutor, NetlinkCall } from './operation';
import type { NetlinkMessage } from './parser';
import { splitMessages } from './received-message';
import { PendingRequest, RequestTracker } from './request-tracker';

interface Queued {
  message: Buffer;
  p: PendingRequest;
}

/** An executor of rtnetlink (or other) requests in one namespace, a fresh socket per round. */
export class OneShotConnection implements AsyncExecutor {
  private readonly tracker = new RequestTracker();
  /** Our own reference to the namespace (reopened): the caller may close theirs at any time. */
  private nsFd: number;
  private outbox: Queued[] = [];
  private scheduled = false;
  private busy = false;
  private closed = false;
  private seq = 0;
  /** Rounds handed to the pool so far. */
  rounds = 0;
  /** Bytes of the requests waiting for the next round. */
  queuedBytes = 0;
  /** With `keep`: the socket the first successful round made, used by the next rounds. */
  private keptSocket?: KeptSocket;
  private readonly idleWaiters: Array<() => void> = [];

  /**
   * @param protocol the netlink protocol (NETLINK_ROUTE = 0)
   * @param netnsFd an open namespace file (reopened here, so a number the caller closes and reuses never leads the socket elsewhere), or -1 for the caller's namespace
   * @param keep keep the socket of a successful round for the next rounds (a short-lived handle, first-round.ts; {@link takeSocket}); dropped after a failed round
   */
  constructor(
    private readonly protocol: number,
    netnsFd: number,
    private readonly keep = false,
  ) {
    if (netnsFd < 0) {
      this.nsFd = -1;
      return;
    }
    try {
      // Held by the addon, which closes it if a worker ends without close().
      this.nsFd = native().heldFdOpen(`/proc/self/fd/${netnsFd}`);
    } catch (e) {
      throw new SystemError('open netlink socket', (e as { errno?: number }).errno ?? EBADF, `open(/proc/self/fd/${netnsFd})`);
    }
  }

  /** The kept socket, now the caller's (-1 if none); call once idle, then close() this connection. */
  takeSocket(): number {
    const kept = this.keptSocket;
    this.keptSocket = undefined;
    return kept ? native().netlinkKeptTake(kept) : -1;
  }

  /** Nothing is queued or in flight. */
  get isIdle(): boolean {
    return !this.busy && !this.scheduled && this.outbox.length === 0;
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  execute(c: NetlinkCall): Promise<NetlinkMessage[]> {
    if (this.closed) return Promise.reject(new ClosedError(c.operation));
    if (c.kind !== 'ack') return Promise.reject(new Error(`${c.operation}: a one-shot connection sends requests only (not a ${c.kind})`));
    return new Promise((resolve, reject) => {
      const seq = this.stamp(c.message);
      const p = new PendingRequest('ack', c.operation, seq, seq, (err, replies) => (err ? reject(err) : resolve(replies)));
      this.tracker.add(p);
      // A copy: a caller may give the same Buffer to another call of this round, stamping it again before it leaves.
      this.outbox.push({ message: Buffer.from(c.message), p });
      this.queuedBytes += c.message.length;
      if (!this.scheduled && !this.busy) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.next();
        });
      }
    });
  }

  /**
   * Requests not yet sent fail with ClosedError; a round in flight completes
   * (the kernel has it), or with `abandon` fails at once with ClosedError
   * (`sent: true`), as a handle's calls do.
   */
  close(abandon = false): void {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.outbox.splice(0)) this.tracker.fail(new ClosedError(q.p.operation), q.p);
    if (abandon) this.tracker.fail((operation) => new ClosedError(operation, true));
    if (!this.busy) this.release();
    this.wakeIdle();
  }

  private wakeIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Numbers the message and asks for its ack. */
  private stamp(message: Buffer): number {
    this.seq = this.seq >= 0xfffffffe ? 1 : this.seq + 1;
    message.writeUInt32LE(this.seq, 8);
    message.writeUInt16LE(message.readUInt16LE(6) | NLM_F_ACK, 6);
    return this.seq;
  }

  private release(): void {
    if (this.nsFd >= 0) native().heldFdClose(this.nsFd);
    this.nsFd = -2; // released (not -1: that would mean the caller's namespace)
    this.dropSocket();
  }

  private next(): void {
    if (this.busy) return;
    if (this.outbox.length === 0 || this.closed) {
      this.wakeIdle();
      return;
    }
    const round = this.outbox.splice(0);
    this.queuedBytes = 0;
    const request =
      round.length === 1
        ? round[0].message
        : Buffer.concat(
            round.map((q) => q.message),
            round.reduce((n, q) => n + q.message.length, 0),
          );
    this.busy = true;
    this.rounds++;
    let job: Promise<Buffer>;
    try {
      if (this.keptSocket) job = native().netlinkTransactFd(this.keptSocket, request, 0);
      else if (this.keep)
        job = native()
          .netlinkTransactIn(this.protocol, this.nsFd, request, 0, true)
          .then(([replies, kept]) => this.kept(kept, replies));
      else job = native().netlinkTransactIn(this.protocol, this.nsFd, request, 0);
    } catch (e) {
      this.roundFailed(round, (op) => fromNative(op, e));
      return;
    }
    job.then(
      (replies) => {
        this.tracker.feed(splitMessages(replies));
        // rtnetlink answers while sendmsg runs (a dump given to call() with its parts and NLMSG_DONE, which end it):
        // a request still unanswered was sent all the same (and may have been applied), so not the kernel's refusal.
        this.roundFailed(round, (operation) => new NoReplyError(operation));
      },
      (e: unknown) => {
        // Replies may still wait in a kept socket (an overrun drops some): the next round makes a new one.
        this.dropSocket();
        const err = e as { errno?: number; syscall?: string };
        // An overrun is what recvmsg reports (after the round's sendmsg): the round reached the kernel (the job does
        // not return the answers queued before the drop: all are unknown). ENOBUFS anywhere else (socket(), bind(),
        // sendmsg: no memory) came before anything was sent.
        if (err.errno === osConstants.errno.ENOBUFS && err.syscall?.startsWith('recvmsg')) this.roundFailed(round, (op) => requestOverrun(op));
        else if (err.syscall?.startsWith('sendmsg')) this.roundFailed(round, (operation) => new NetlinkError({ errno: err.errno ?? EIO, operation }));
        // Any other recvmsg error: the round was sent and may be applied; not the kernel's refusal (bulk-stop.ts failReceive).
        else if (err.syscall?.startsWith('recvmsg'))
          this.roundFailed(round, (operation) => new SystemError(operation, err.errno ?? EIO, err.syscall ?? 'recvmsg(netlink)', { sent: true }));
        else this.roundFailed(round, (op) => fromNative(op, e));
      },
    );
  }

  private kept(kept: KeptSocket, replies: Buffer): Buffer {
    if (this.closed) native().netlinkKeptClose(kept);
    else this.keptSocket = kept;
    return replies;
  }

  private dropSocket(): void {
    if (this.keptSocket) native().netlinkKeptClose(this.keptSocket);
    this.keptSocket = undefined;
  }

  /** Fails what the round left unsettled, then goes on with what was asked meanwhile. */
  private roundFailed(round: Queued[], error: (operation: string) => Error): void {
    for (const q of round) if (!q.p.settled) this.tracker.fail(error(q.p.operation), q.p);
    this.busy = false;
    if (this.closed) this.release();
    else this.next();
  }
}
