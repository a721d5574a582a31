/**
 * Operations are written once, as generators that yield netlink requests and
 * receive the replies; an async driver (the main API) and a sync driver (for
 * scripts) run the same generator. Multi-step operations (resolve a name,
 * then act; undo step 1 when step 2 fails) read as straight-line code.
 * @module
 */
import type { NetlinkMessage } from './parser';

/** A request as an operation yields it. */
export interface NetlinkCall {
  /**
   * - `ack`: one message, NLM_F_ACK forced; completes on the kernel's ack.
   * - `dump`: NLM_F_DUMP request; completes on NLMSG_DONE (restarted on NLM_F_DUMP_INTR).
   * - `batch`: several messages sent in one datagram (nfnetlink batches);
   *   completes once the kernel has processed the datagram.
   */
  kind: 'ack' | 'dump' | 'batch';
  message: Buffer;
  /** Human description used in errors: "add route 10.0.0.0/24". */
  operation: string;
}

export type Operation<T> = Generator<NetlinkCall, T, NetlinkMessage[]>;

/** Sends one request and returns its replies (a GET's answer, or an echo). */
export function* call(message: Buffer, operation: string): Operation<NetlinkMessage[]> {
  return yield { kind: 'ack', message, operation };
}

/** Runs a dump and returns every message of it. */
export function* dump(message: Buffer, operation: string): Operation<NetlinkMessage[]> {
  return yield { kind: 'dump', message, operation };
}

/** Sends several messages as one datagram; returns the echoed replies. */
export function* batch(message: Buffer, operation: string): Operation<NetlinkMessage[]> {
  return yield { kind: 'batch', message, operation };
}

/** Something that executes one call at a time, asynchronously. */
export interface AsyncExecutor {
  execute(c: NetlinkCall): Promise<NetlinkMessage[]>;
}

/** Something that executes one call at a time, blocking. */
export interface SyncExecutor {
  executeSync(c: NetlinkCall): NetlinkMessage[];
}

export async function runAsync<T>(ex: AsyncExecutor, op: Operation<T>): Promise<T> {
  let step = op.next();
  while (!step.done) {
    let replies: NetlinkMessage[];
    try {
      replies = await ex.execute(step.value);
    } catch (e) {
      step = op.throw(e); // lets the operation roll back, or rethrows
      continue;
    }
    step = op.next(replies);
  }
  return step.value;
}

export function runSync<T>(ex: SyncExecutor, op: Operation<T>): T {
  let step = op.next();
  while (!step.done) {
    let replies: NetlinkMessage[];
    try {
      replies = ex.executeSync(step.value);
    } catch (e) {
      step = op.throw(e);
      continue;
    }
    step = op.next(replies);
  }
  return step.value;
}
