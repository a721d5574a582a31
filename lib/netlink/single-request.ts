/**
 * An operation of one request as a small object instead of a generator. A
 * suspended generator keeps its whole frame alive (every local, its register
 * file): with thousands of requests in flight (a route churn) that was most
 * of the memory the garbage collector had to copy. Drivers and `yield*` see
 * the same protocol as from a generator.
 * @module
 */
import type { Completion, InPlaceRequest } from './ack-group';
import {
  runAsync,
  type AsyncExecutor,
  type ConcurrentStep,
  type LinkNamesStep,
  type LocalStep,
  type NetlinkCall,
  type Operation,
  type OperationEnv,
} from './operation';
import type { NetlinkMessage } from './parser';

type Step = NetlinkCall | LocalStep | ConcurrentStep | LinkNamesStep;

/** An executor that takes ack-only requests to send together (the async connection): a SingleRequest run on it needs one promise, its own. */
interface GroupingExecutor extends AsyncExecutor {
  submitAckOnly(r: Completion | InPlaceRequest, c?: NetlinkCall): boolean;
}

export abstract class SingleRequest<T> implements Generator<Step, T, NetlinkMessage[]>, InPlaceRequest {
  /** 0: not started, 1: request yielded, 2: finished. */
  private state = 0;
  /** The general path, when {@link start} chose it. */
  private inner?: Operation<T>;
  /** The caller's promise, while the request waits for its outcome on a grouping executor (see {@link promise}). */
  private resolve?: (value: T) => void;
  private reject?: (e: unknown) => void;

  /** Whether the request's only reply is the kernel's ack (no echo, no data): it may then share a datagram with others and go without NLM_F_ACK (ack-group.ts). */
  // eslint-disable-next-line @typescript-eslint/class-literal-property-style -- a getter lives on the prototype: no field per request in flight
  get ackOnly(): boolean {
    return false;
  }

  /** The request (validation errors thrown here), or an operation to run instead (e.g. one that must look up a name first). */
  protected abstract start(): NetlinkCall | Operation<T>;
  /** The result once the request succeeded. */
  protected abstract done(replies: NetlinkMessage[]): T;
  /** The request failed: throw (the default) or return a result. */
  protected failed(e: unknown): T {
    throw e;
  }

  next(...args: [] | [NetlinkMessage[]]): IteratorResult<Step, T> {
    if (this.inner) return this.inner.next(...args);
    if (this.state === 0) {
      this.state = 2; // a throw from start() ends the operation, like a generator's
      const first = this.start();
      if (!isCall(first)) {
        this.inner = first;
        return first.next();
      }
      this.state = 1;
      return { done: false, value: first };
    }
    if (this.state === 1) {
      this.state = 2;
      return { done: true, value: this.done(args[0] ?? []) };
    }
    return { done: true, value: undefined as T };
  }

  throw(e: unknown): IteratorResult<Step, T> {
    if (this.inner) return this.inner.throw(e);
    const waiting = this.state === 1;
    this.state = 2;
    if (!waiting) throw e;
    return { done: true, value: this.failed(e) };
  }

  return(value: T): IteratorResult<Step, T> {
    if (this.inner) return this.inner.return(value);
    this.state = 2;
    return { done: true, value };
  }

  [Symbol.iterator](): this {
    return this;
  }

  /** Whether {@link start} handed over to a general operation. */
  get delegating(): boolean {
    return this.inner !== undefined;
  }

  /**
   * Writes the request at `offset` of a datagram shared with others when it
   * has the common shape (ack-group.ts, InPlaceRequest: no message Buffer, no
   * operation string) and returns where it ends; -1 sends it through
   * {@link start}. Validation errors are left to start().
   */
  protected writeRequest?(buf: Buffer, offset: number): number;

  /** For its error when it was written in place: "add route 10.0.0.1/32". */
  describe(): string {
    return 'netlink request';
  }

  /** InPlaceRequest: writes the request instead of {@link start} (then it waits for its outcome). */
  writeAt(buf: Buffer, offset: number): number {
    if (this.state !== 0 || !this.writeRequest) return -1;
    const end = this.writeRequest(buf, offset);
    if (end >= 0) this.state = 1;
    return end;
  }

  /** The caller's promise, settled by {@link complete}. */
  promise(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The request's outcome (Completion): the result or error of the operation settles the caller's promise. */
  complete(error: Error | undefined, replies: NetlinkMessage[]): void {
    const resolve = this.resolve;
    const reject = this.reject;
    this.resolve = this.reject = undefined;
    try {
      if (!error && this.state === 1 && !this.inner) {
        // What next(replies) does, without its rest array and result object (once per call in flight).
        this.state = 2;
        resolve?.(this.done(replies));
        return;
      }
      resolve?.(error ? (this.throw(error).value as T) : (this.next(replies).value as T));
    } catch (e) {
      reject?.(e);
    }
  }
}

/**
 * Runs a SingleRequest on an async executor with one promise reaction
 * instead of an async driver's frame (what `runAsync` would do, for the
 * same result and errors), or with none on an executor that calls back (the
 * async connection); a delegating one goes through `runAsync`.
 */
export function runSingle<T>(ex: AsyncExecutor, op: SingleRequest<T>, env?: OperationEnv): Promise<T> {
  const grouping = op.ackOnly && typeof (ex as Partial<GroupingExecutor>).submitAckOnly === 'function' ? (ex as GroupingExecutor) : undefined;
  let first: IteratorResult<Step, T>;
  try {
    // Written in place: settled (by the connection's call of complete()) only after this returns.
    if (grouping?.submitAckOnly(op)) return op.promise();
    first = op.next();
  } catch (e) {
    return Promise.reject(e);
  }
  if (first.done || op.delegating || first.value.kind === 'local' || first.value.kind === 'concurrent' || first.value.kind === 'linkNames')
    return runAsync(ex, op, env, first);
  if (first.value.kind === 'ack' && grouping?.submitAckOnly(op, first.value)) return op.promise();
  return ex.execute(first.value).then(
    (replies) => op.next(replies).value as T,
    (e: unknown) => op.throw(e).value as T,
  );
}

function isCall(x: NetlinkCall | Operation<unknown>): x is NetlinkCall {
  return typeof (x as { next?: unknown }).next !== 'function';
}
