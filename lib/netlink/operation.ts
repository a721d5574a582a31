/**
 * Operations are written once, as generators that yield netlink requests and
 * receive the replies; an async driver (the main API) and a sync driver (for
 * scripts) run the same generator. Multi-step operations (resolve a name,
 * then act; undo step 1 when step 2 fails) read as straight-line code.
 * @module
 */
import { NLM_F_DUMP_INTR } from './constants';
import type { NetlinkMessage } from './parser';

/** A request as an operation yields it. */
export interface NetlinkCall {
  /**
   * - `ack`: one message, NLM_F_ACK forced; completes on the kernel's ack.
   * - `dump`: NLM_F_DUMP request; completes on NLMSG_DONE (restarted on NLM_F_DUMP_INTR).
   * - `batch`: several messages sent in one datagram (nfnetlink batches);
   *   completes once the kernel has processed the datagram.
   * - `bulk`: several independent requests back to back, sent many per
   *   datagram and not atomic. Only the last carries NLM_F_ACK: the kernel
   *   answers the others only when it refuses them, and its ack of the last
   *   (processed in order) completes the call. The replies are only those
   *   refusals (NLMSG_ERROR with an errno), matched to the requests by
   *   sequence number (lib/netlink/bulk.ts). A refusal lost to a full
   *   receive buffer fails the call (NetlinkOverrunError), never a guessed
   *   success. A call stopped part-way sends none of its parts still queued
   *   and its error says how many requests were sent (`itemsSent`).
   */
  kind: 'ack' | 'dump' | 'batch' | 'bulk';
  /** The complete request (header included); the sequence number is stamped when it is sent. */
  message: Buffer;
  /** Human description used in errors: "add route 10.0.0.0/24". */
  operation: string;
  /**
   * For a dump: whether it is restarted when the kernel flags it interrupted
   * (default true). False returns the messages as they came, flags included
   * (see {@link dumpOnce}).
   */
  restartInterrupted?: boolean;
  /**
   * For a dump collected whole: what to keep of each message, computed as the
   * message arrives (so decoding overlaps the kernel producing the rest);
   * undefined keeps nothing. Executors that apply it return these values in
   * place of the messages (the connections do); for others the operation
   * applies it to the messages afterwards (lib/netlink/operation.ts, dumpCollected).
   */
  collect?: (m: NetlinkMessage) => unknown;
  /**
   * With `collect`: the same, reading the message where it was received (its
   * type, and its payload at [start, end) of `buffer`), so no message object
   * is made for each. Must return what `collect` returns for that message;
   * executors that read buffers in place use it (the connections do), the
   * others `collect`.
   */
  collectAt?: (type: number, buffer: Buffer, start: number, end: number) => unknown;
  /**
   * With `collectAt`: the same for a run of messages at once, from an index of
   * where their attributes lie that native code made (no JavaScript loop over
   * the messages and their attributes, which a new process interprets).
   * Executors that read buffers in place use it when given (the connections do).
   * @internal
   */
  collectRows?: RowCollector;
  /**
   * For a bulk call: its requests one part (whole requests, at most 64 KiB)
   * at a time, until undefined, the last request already carrying NLM_F_ACK.
   * An executor that sends parts as they come (the async connection) numbers
   * and queues each before it asks for the next, so the kernel works on one
   * while the next is encoded; others read `message` (all requests) instead,
   * never both.
   */
  nextPart?(): Buffer | undefined;
}

/** Where the driver runs an operation; given to {@link LocalStep}s. */
export interface OperationEnv {
  /** The handle's namespace fd, or -1 for the caller's own namespace. */
  netnsFd: number;
}

/**
 * A step that is not a netlink request but must happen in the handle's
 * namespace (creating a tun device opens /dev/net/tun there). The driver runs
 * it with its {@link OperationEnv}; executors never see it.
 */
export interface LocalStep {
  /** Discriminant (requests have `ack`, `dump` or `batch`). */
  kind: 'local';
  /** Human description used in errors. */
  operation: string;
  /** Does the step; throws to fail the operation. */
  run(env: OperationEnv): void;
}

/**
 * Independent requests as one step: the async driver sends them at once
 * (the socket pipelines them), the sync driver one after another. Each
 * request's outcome is its replies or its error; one failing does not stop
 * the others.
 */
export interface ConcurrentStep {
  /** Discriminant. */
  kind: 'concurrent';
  /** Human description used in errors. */
  operation: string;
  /** The requests (`ack` calls). */
  calls: NetlinkCall[];
  /** Receives the outcomes, in the order of `calls`. */
  settle(outcomes: Array<NetlinkMessage[] | Error>): void;
}

/**
 * Names of links read by the executor on its own socket, without a request
 * (ioctl SIOCGIFNAME there: the socket's namespace, the names at this
 * moment). An executor without a socket of its own at hand settles
 * `undefined` and the operation asks the kernel by request instead. Code
 * stepping an {@link Operation} by hand settles it too, then resumes the
 * operation with no replies (`op.next([])`), as `h.run()` does.
 */
export interface LinkNamesStep {
  /** Discriminant. */
  kind: 'linkNames';
  /** Human description used in errors. */
  operation: string;
  /** Interface indexes (> 0). */
  indexes: readonly number[];
  /** Receives index → name (links gone have none), or undefined: not available here. */
  settle(names: Map<number, string> | undefined): void;
}

/** An executor that can read link names on its own socket ({@link LinkNamesStep}). */
export interface LinkNameReader {
  /** Index → name of the links that exist, or undefined when it has no open socket now. */
  readLinkNames(indexes: readonly number[], operation: string): Map<number, string> | undefined;
}

/**
 * An operation: a generator that yields requests (and local steps), receives each one's replies, and returns the
 * result. Run it with `h.run(op)`.
 */
export type Operation<T> = Generator<NetlinkCall | LocalStep | ConcurrentStep | LinkNamesStep, T, NetlinkMessage[]>;

/**
 * Sends one request and returns its replies (a GET's answer, or an echo).
 * A message with NLM_F_DUMP in its flags is answered by the kernel as a dump
 * (its parts and NLMSG_DONE, no ack): the call returns every part, is not
 * restarted (DumpInterruptedError when the kernel flags it interrupted) and,
 * on a handle, waits for the handle's other dumps, as they wait for it (the
 * kernel answers EBUSY while one runs on the socket). Use {@link dump} for dumps.
 * @example
 * function* linkMtu(index: number): Operation<number | undefined> {
 *   const w = new NetlinkWriter().begin(RTM_GETLINK, 0);
 *   w.view.writeInt32LE(index, w.struct(16) + 4); // ifinfomsg.ifi_index
 *   const [reply] = yield* call(w.end().finish(), `get link ${index}`);
 *   return new Attributes(reply.payload, 16).u32(IFLA_MTU);
 * }
 * const mtu = await h.run(linkMtu(1));
 */
export function* call(message: Buffer, operation: string): Operation<NetlinkMessage[]> {
  return yield { kind: 'ack', message, operation };
}

/**
 * Runs a dump and returns every message of it (restarted when the kernel
 * reports it interrupted).
 * @example
 * function* linkNames(): Operation<string[]> {
 *   const w = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP);
 *   w.struct(16);
 *   const msgs = yield* dump(w.end().finish(), 'list links');
 *   return msgs.map((m) => new Attributes(m.payload, 16).string(IFLA_IFNAME) ?? '');
 * }
 * console.log(await h.run(linkNames()));
 */
export function* dump(message: Buffer, operation: string): Operation<NetlinkMessage[]> {
  return yield { kind: 'dump', message, operation };
}

/**
 * How a dump's replies are indexed for {@link NetlinkCall.collectRows}: each message gets a row of
 * `stride` int32s (payload start, payload end, type, nlmsg_flags | {@link ROW_UNKNOWN_ATTRIBUTE}, then one
 * entry per column: where the data of the first attribute of that column's type lies, -1 when absent).
 * Public, not internal: the published declarations of dumpCollected and the request tracker name it.
 */
export interface RowCollector {
  /** Bytes of the family header before the attributes (rtmsg: 12). */
  headerLength: number;
  /** Indexed by attribute type: its column (1 .. stride - 4), 0 when it has none, 255 when it is known but not needed. */
  columns: Uint8Array;
  /** Int32s per row: 4 + the number of columns. */
  stride: number;
  /** Pushes what `collectAt` would return for each of the `count` rows (undefined left out) onto `out`. */
  collect(buffer: Buffer, rows: Int32Array, count: number, out: unknown[]): void;
}

/** A row's flags bit: the message has an attribute without a column (or a short family header). @internal */
export const ROW_UNKNOWN_ATTRIBUTE = 0x10000;

/** Reply arrays whose entries are already `collect`ed (see {@link markCollected}). */
const collectedReplies = new WeakSet<unknown[]>();

/** Executors: `replies` holds what the call's `collect` returned, not messages. */
export function markCollected(replies: unknown[]): void {
  collectedReplies.add(replies);
}

/** Reply arrays of dumps the kernel flagged interrupted (see {@link markInterrupted}). */
const interruptedReplies = new WeakSet<unknown[]>();

/** Executors: the dump (not restarted) that returns `replies` was flagged NLM_F_DUMP_INTR, perhaps on its NLMSG_DONE only. */
export function markInterrupted(replies: unknown[]): void {
  interruptedReplies.add(replies);
}

/**
 * Runs a dump and returns what `collect` makes of each message (undefined
 * left out), computed as the messages arrive when the executor can (the
 * connections can), else afterwards. `collectAt`, if given, is the same in
 * place, and `collectRows` the same for runs of messages (see NetlinkCall).
 * @example
 * const names = yield* dumpCollected(request, 'list link names', (m) => (m.type === RTM_NEWLINK ? decodeLink(m).name : undefined));
 */
export function* dumpCollected<T>(
  message: Buffer,
  operation: string,
  collect: (m: NetlinkMessage) => T | undefined,
  collectAt?: (type: number, buffer: Buffer, start: number, end: number) => T | undefined,
  collectRows?: RowCollector,
): Operation<T[]> {
  const replies: unknown[] = yield { kind: 'dump', message, operation, collect, collectAt, collectRows };
  if (collectedReplies.has(replies)) return replies as T[];
  const out: T[] = [];
  for (const m of replies as NetlinkMessage[]) {
    const x = collect(m);
    if (x !== undefined) out.push(x);
  }
  return out;
}

/** A dump's messages and whether a concurrent change interrupted it. */
export interface DumpResult {
  /** Every message of the dump; the first one produced after a change carries NLM_F_DUMP_INTR. */
  messages: NetlinkMessage[];
  /** The kernel flagged a message: objects may be missing or listed twice. */
  interrupted: boolean;
}

/**
 * Runs a dump once, without restarting it when a concurrent change
 * interrupts it: for callers that can tell whether an interrupted dump is
 * still complete (for example, by comparing two in a row).
 * @example
 * const { messages, interrupted } = yield* dumpOnce(request, 'list links');
 */
export function* dumpOnce(message: Buffer, operation: string): Operation<DumpResult> {
  const messages = yield { kind: 'dump', message, operation, restartInterrupted: false };
  return { messages, interrupted: interruptedReplies.has(messages) || messages.some((m) => (m.flags & NLM_F_DUMP_INTR) !== 0) };
}

/**
 * Sends several messages as one datagram (an nfnetlink batch: begin, the
 * messages, end); returns the echoed replies.
 * @example
 * const w = new NetlinkWriter();
 * writeBatchBegin(w, NFNL_SUBSYS_NFTABLES, 0);
 * // ... w.begin(...) / w.end() per message ...
 * writeBatchEnd(w, NFNL_SUBSYS_NFTABLES);
 * yield* batch(w.finish(), 'my nftables change');
 */
export function* batch(message: Buffer, operation: string): Operation<NetlinkMessage[]> {
  return yield { kind: 'batch', message, operation };
}

/**
 * Runs `fn` in the driver's environment (the handle's namespace fd) and
 * returns its result: for steps that are not netlink requests.
 * @example
 * function* addTun(name: string): Operation<number> {
 *   // your own system call, made in the namespace the operation runs in
 *   return yield* local(`create tun ${name}`, (env) => createTunIn(env.netnsFd, name));
 * }
 */
export function* local<T>(operation: string, fn: (env: OperationEnv) => T): Operation<T> {
  let result!: T;
  yield { kind: 'local', operation, run: (env) => void (result = fn(env)) };
  return result;
}

/**
 * Sends independent requests at once and returns each one's replies or
 * error, in order (see {@link ConcurrentStep}).
 * @example
 * const outcomes = yield* concurrently(entries.map((e) => ({ kind: 'ack', message: deleteMessage(e), operation: `delete ${e.id}` })), 'delete entries');
 * const deleted = outcomes.filter((o) => !(o instanceof Error)).length;
 */
export function* concurrently(calls: NetlinkCall[], operation: string): Operation<Array<NetlinkMessage[] | Error>> {
  let outcomes: Array<NetlinkMessage[] | Error> = [];
  if (calls.length === 0) return outcomes;
  yield { kind: 'concurrent', operation, calls, settle: (o) => (outcomes = o) };
  return outcomes;
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Names of links read on the executor's own socket, without a request
 * (see {@link LinkNamesStep}); undefined where the executor cannot, so the
 * caller asks the kernel instead.
 * @example
 * const names = (yield* linkNamesOnSocket([2, 3], 'name links')) ?? (yield* namesByRequest([2, 3]));
 */
export function* linkNamesOnSocket(indexes: readonly number[], operation: string): Operation<Map<number, string> | undefined> {
  let names: Map<number, string> | undefined;
  yield { kind: 'linkNames', operation, indexes, settle: (n) => (names = n) };
  return names;
}

function runLinkNames(ex: object, step: LinkNamesStep): NetlinkMessage[] {
  const reader = ex as Partial<LinkNameReader>;
  step.settle(typeof reader.readLinkNames === 'function' ? reader.readLinkNames(step.indexes, step.operation) : undefined);
  return [];
}

/** Something that executes one call at a time, asynchronously. */
export interface AsyncExecutor {
  execute(c: NetlinkCall): Promise<NetlinkMessage[]>;
}

/** Something that executes one call at a time, blocking. */
export interface SyncExecutor {
  executeSync(c: NetlinkCall): NetlinkMessage[];
}

function runLocal(step: LocalStep, env: OperationEnv | undefined): NetlinkMessage[] {
  if (!env) throw new Error(`${step.operation}: needs a handle's environment (run it through a handle)`);
  step.run(env);
  return [];
}

// Kept small: its suspended frame stays alive for every request in flight
// (thousands in a churn); concurrent steps run in concurrentStep.
export async function runAsync<T>(
  ex: AsyncExecutor,
  op: Operation<T>,
  env?: OperationEnv,
  first?: IteratorResult<NetlinkCall | LocalStep | ConcurrentStep | LinkNamesStep, T>,
): Promise<T> {
  let step = first ?? op.next();
  while (!step.done) {
    const c = step.value;
    let replies: NetlinkMessage[];
    try {
      replies =
        c.kind === 'local'
          ? runLocal(c, env)
          : c.kind === 'linkNames'
            ? runLinkNames(ex, c)
            : await (c.kind === 'concurrent' ? concurrentStep(ex, c) : ex.execute(c));
    } catch (e) {
      step = op.throw(e); // lets the operation roll back, or rethrows
      continue;
    }
    step = op.next(replies);
  }
  return step.value;
}

async function concurrentStep(ex: AsyncExecutor, c: ConcurrentStep): Promise<NetlinkMessage[]> {
  c.settle(await Promise.all(c.calls.map((x) => ex.execute(x).catch(asError))));
  return [];
}

export function runSync<T>(ex: SyncExecutor, op: Operation<T>, env?: OperationEnv): T {
  let step = op.next();
  while (!step.done) {
    let replies: NetlinkMessage[];
    try {
      const c = step.value;
      if (c.kind === 'concurrent') {
        c.settle(
          c.calls.map((x) => {
            try {
              return ex.executeSync(x);
            } catch (e) {
              return asError(e);
            }
          }),
        );
        replies = [];
      } else replies = c.kind === 'local' ? runLocal(c, env) : c.kind === 'linkNames' ? runLinkNames(ex, c) : ex.executeSync(c);
    } catch (e) {
      step = op.throw(e);
      continue;
    }
    step = op.next(replies);
  }
  return step.value;
}
