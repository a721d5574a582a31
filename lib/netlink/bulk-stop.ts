/**
 * A bulk call stopped part-way (NetlinkCall kind `bulk`): rejected by a send
 * error, an overrun or a failed queueing, or its handle closed. Its parts go
 * to the kernel in order, so what reached the kernel is always its first N
 * requests: the error says N (`itemsSent`; not a SystemError of a failed
 * queueing, which withItemsSent leaves as it is), and the parts still queued to
 * the I/O thread are cancelled there (after a send error or an overrun the
 * thread sends nothing more until the event loop has handled it, so none
 * slips out in between).
 * @module
 */
import { ClosedError, detailsOf, NetlinkError, NetlinkOverrunError, NotFoundError, SystemError, requestOverrun } from './errors';
import type { PendingRequest, RequestTracker } from './request-tracker';
import { seqInRange, seqIndex } from './sequence';

type Settle = PendingRequest['settle'];

/**
 * How many of a bulk call's requests reached the kernel: those before the
 * first of `unsent` (tokens: the first sequence numbers of parts that never
 * went, or failed to) within the call's range; all of them when none.
 * @example
 * requestsSent({ firstSeq: 100, lastSeq: 4999 }, [1589, 3078]); // 1489
 */
export function requestsSent(p: { firstSeq: number; lastSeq: number }, unsent: Iterable<number>): number {
  let sent = seqIndex(p.lastSeq, p.firstSeq) + 1;
  for (const t of unsent) if (seqInRange(t, p.firstSeq, p.lastSeq)) sent = Math.min(sent, seqIndex(t, p.firstSeq));
  return sent;
}

/** Whether the error already says how many items of its call were sent. */
export function hasItemsSent(e: unknown): e is Error & { itemsSent: number } {
  return typeof (e as { itemsSent?: unknown } | undefined)?.itemsSent === 'number';
}

/**
 * The same error saying that `n` items of the bulk write `operation` were
 * sent (a copy: one overrun error is shared by every request it failed).
 * Errors of other kinds are returned as they are.
 * @example
 * withItemsSent(new ClosedError('add 5000 routes', true), 1489, 'add 5000 routes').itemsSent; // 1489
 */
export function withItemsSent(e: Error, n: number, operation: string): Error {
  if (e instanceof ClosedError) return new ClosedError(e.operation, n > 0, n);
  if (e instanceof NetlinkOverrunError) return requestOverrun(operation, n);
  if (!(e instanceof NetlinkError)) return e;
  const d = { ...detailsOf(e), itemsSent: n };
  return e instanceof NotFoundError ? new NotFoundError(e.what, d) : new NetlinkError(d);
}

/** The ClosedError of a request pending when its handle closed; `unsent`: the tokens of the requests never sent. */
export function closedError(p: PendingRequest, unsent: ReadonlySet<number>): ClosedError {
  if (p.kind !== 'bulk') return new ClosedError(p.operation, !unsent.has(p.sentAs));
  const n = requestsSent(p, unsent);
  return new ClosedError(p.operation, n > 0, n);
}

/**
 * After a receive error other than ENOBUFS (the socket's I/O thread or a
 * thread-less round): every request pending fails with it, named by its own
 * operation. A SystemError, not a NetlinkError: the kernel refused nothing.
 * Those sent may have been applied and their answers are not read (`sent`:
 * true); those in `unsent` (their tokens) were cancelled and are never sent
 * (`sent`: false): a bulk call's `itemsSent` counts the items before its
 * first part that did not go.
 */
export function failReceive(tracker: RequestTracker, errno: number, unsent: ReadonlySet<number>, syscall = 'poll/recvmsg(netlink)'): void {
  for (const p of tracker.pending()) {
    const itemsSent = p.kind === 'bulk' ? requestsSent(p, unsent) : undefined;
    const sent = itemsSent === undefined ? !unsent.has(p.sentAs) : itemsSent > 0;
    tracker.fail(new SystemError(p.operation, errno, syscall, { sent, itemsSent }), p);
  }
  tracker.fail((operation, token) => new SystemError(operation, errno, syscall, { sent: !unsent.has(token) }));
}

/** The error of a request whose sendmsg failed (the datagram holding `token`): for a bulk call, the requests before that part were sent. */
export function sendError(p: PendingRequest, errno: number, token: number): NetlinkError {
  return new NetlinkError({ errno, operation: p.operation, itemsSent: p.kind === 'bulk' ? seqIndex(token, p.firstSeq) : undefined });
}

/**
 * The settle callback of a bulk call's pending request on an async socket:
 * when the call fails, its parts still queued are cancelled and the error
 * says how many requests were sent (at most what it said already: a send
 * error names its part). `track` names the request once made.
 */
export function stoppableBulk(
  socket: { cancel(first: number, last: number): number[] } | undefined,
  settle: Settle,
): { settle: Settle; track(p: PendingRequest): void } {
  let p: PendingRequest | undefined;
  return {
    track(req) {
      p = req;
    },
    settle(error, replies, interrupted) {
      if (error && p) {
        let n = requestsSent(p, socket?.cancel(p.firstSeq, p.lastSeq) ?? []);
        if (hasItemsSent(error)) n = Math.min(n, error.itemsSent);
        if (!hasItemsSent(error) || error.itemsSent !== n) error = withItemsSent(error, n, p.operation);
      }
      settle(error, replies, interrupted);
    },
  };
}
