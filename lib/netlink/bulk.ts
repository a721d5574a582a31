/**
 * Bulk writes: one call for many independent requests of a family (an array
 * given to `add`, `replace` or `delete`; docs/api-conventions.md, "Bulk
 * writes"). Every item is validated before anything is sent; the requests
 * are encoded back to back into one buffer and sent many per sendmsg (a
 * `bulk` call); the kernel applies each on its own (not atomically) and only
 * the failures come back as objects: no promise and no object per item.
 * Failures are collected into one {@link BatchError}, thrown after every
 * item was attempted.
 * @module
 */
import { BatchError, NetlinkError, NotFoundError, ValidationError } from './errors';
import { decodeErrorMessage, type ErrorReply } from './extack';
import { PartedBulkCall, type BulkCall } from './bulk-parts';
import { hasItemsSent, withItemsSent } from './bulk-stop';
import type { Operation } from './operation';
import type { NetlinkMessage } from './parser';
import { seqIndex } from './sequence';
import { NetlinkWriter } from './writer';

/** How a family writes one item of a bulk call. */
export interface BulkWriter<I, P> {
  /** Validates an item; a ValidationError gets the item's index added to its field. */
  plan(item: I): P;
  /** What the item needs from the kernel first (a link name's index), or undefined; a NetlinkError fails this item only. Called before the generator is started, too, to ask. */
  prepare?(plan: P): Operation<void> | undefined;
  /** Appends the item's request (begin ... end) to the writer. */
  encode(w: NetlinkWriter, plan: P): void;
  /** Validates and appends the item in one step when it is of the common simple shape (no plan object); false, with nothing written, sends it through plan and encode. */
  encodeSimple?(w: NetlinkWriter, item: I): boolean;
  /** When every item is of the simple shape (all checked, nothing written): what writes item `index`; the call is then encoded while it is sent. */
  allSimple?(items: readonly I[]): ((w: NetlinkWriter, index: number) => void) | undefined;
  /** The item's operation, for its error: "add route 10.0.0.1/32". */
  describe(item: I): string;
}

/** One bulk call's description. */
export interface BulkRun {
  /** What the call does, for the BatchError: "add 5000 routes". */
  operation: string;
  /** The argument's name in validation errors: "routes" names a field "routes[3].dst". */
  argument: string;
  /** Error codes meaning "the object is missing" and what is missing (`{ ESRCH: 'route' }`): such failures are NotFoundErrors. */
  missing?: Readonly<Record<string, string>>;
  /** Missing objects are no failure (a delete's missingOk); they are not counted as applied. */
  missingOk?: boolean;
}

/**
 * Runs a bulk write and returns how many items were applied; throws a
 * {@link BatchError} naming the failed items after all were attempted.
 * @example
 * const applied = yield* runBulk(routes, routeWriter, { operation: `add ${routes.length} routes`, argument: 'routes' });
 */
export function* runBulk<I, P>(items: readonly I[], writer: BulkWriter<I, P>, run: BulkRun): Operation<number> {
  const given: unknown = items; // JavaScript callers are not held to the type
  if (!Array.isArray(given)) throw new ValidationError(run.argument, items, 'must be an array');
  const failures = new Map<number, NetlinkError>();
  let notApplied = 0; // failed or missing
  const fail = (i: number, e: NetlinkError) => {
    const err = itemError(e, writer.describe(items[i]), i, run.missing);
    if (!run.missingOk || !(err instanceof NotFoundError)) failures.set(i, err);
    notApplied++;
  };
  // All items simple (checked, nothing written): written part by part while the earlier parts are sent.
  const writeSimple = items.length > 0 ? writer.allSimple?.(items) : undefined;
  if (writeSimple) {
    for (const [i, reply] of yield* bulkFailures(new PartedBulkCall(items.length, writeSimple, run.operation)))
      fail(i, new NetlinkError({ ...reply, operation: '' }));
    if (failures.size > 0) throw new BatchError(run.operation, items.length, failures);
    return items.length - notApplied;
  }
  // Validating is encoding: nothing is sent before the last item was encoded.
  // Items are encoded as they are validated, so no plan outlives its item
  // (thousands of live plans made the garbage collector copy them all),
  // until one needs the kernel first (a link name): from there on, plans wait
  // for the lookups so the requests keep the items' order.
  const w = new NetlinkWriter(items.length * 64 + 64);
  const sent: number[] = []; // message index → item index
  const waiting: Array<{ index: number; plan: P }> = [];
  for (let i = 0; i < items.length; i++) {
    try {
      if (waiting.length === 0 && writer.encodeSimple?.(w, items[i])) {
        sent.push(i);
        continue;
      }
      const plan = writer.plan(items[i]);
      if (waiting.length === 0 && writer.prepare?.(plan) === undefined) {
        writer.encode(w, plan);
        sent.push(i);
      } else waiting.push({ index: i, plan });
    } catch (e) {
      throw indexed(run.argument, i, e);
    }
  }
  const ready: boolean[] = [];
  for (const { index, plan } of waiting) {
    const step = writer.prepare?.(plan);
    let ok = true;
    if (step) {
      try {
        yield* step;
      } catch (e) {
        if (!(e instanceof NetlinkError)) throw e;
        fail(index, e);
        ok = false;
      }
    }
    ready.push(ok);
  }
  for (const [k, { index, plan }] of waiting.entries()) {
    if (!ready[k]) continue;
    try {
      writer.encode(w, plan);
    } catch (e) {
      throw indexed(run.argument, index, e);
    }
    sent.push(index);
  }
  if (sent.length > 0) {
    let replies: Map<number, ErrorReply>;
    try {
      replies = yield* bulkCall(w.finish(), run.operation);
    } catch (e) {
      // Stopped part-way after its first k requests: the items before the first unsent one were sent (or failed their lookup).
      throw hasItemsSent(e) ? withItemsSent(e, e.itemsSent < sent.length ? sent[e.itemsSent] : items.length, run.operation) : e;
    }
    for (const [m, reply] of replies) {
      const i = sent[m] as number | undefined;
      if (i !== undefined) fail(i, new NetlinkError({ ...reply, operation: '' }));
    }
  }
  if (failures.size > 0) throw new BatchError(run.operation, items.length, failures);
  return items.length - notApplied;
}

/**
 * Sends a bulk call (requests back to back in `message`) and returns the
 * failed ones' error replies by request index.
 * @example
 * const failed = yield* bulkCall(w.finish(), 'add 3 routes'); // Map { 1 => { errno: 17 } }
 */
export function* bulkCall(message: Buffer, operation: string): Operation<Map<number, ErrorReply>> {
  return failuresByIndex(yield { kind: 'bulk', message, operation }, () => message.readUInt32LE(8));
}

/**
 * Sends a bulk call written part by part (routes, neighbours, conntrack
 * deletes) and returns its refused requests' error replies by request index.
 * Lost refusals (a full receive buffer) throw NetlinkOverrunError; a call
 * stopped part-way throws an error saying how many requests were sent.
 * @example
 * const refused = yield* bulkFailures(new PartedBulkCall(routes.length, writeRoute, 'add 5000 routes')); // Map { 17 => { errno: 17 } }
 */
export function* bulkFailures(call: BulkCall): Operation<Map<number, ErrorReply>> {
  return failuresByIndex(yield call, () => call.firstSeq);
}

/** The replies of a bulk call by request index (`firstSeq`: the first request's sequence number, once stamped). */
function failuresByIndex(replies: NetlinkMessage[], firstSeq: () => number): Map<number, ErrorReply> {
  // The connection stamped the sequence numbers into the message, one per request (wrapping from 0xfffffffe to 1).
  const first = firstSeq();
  const out = new Map<number, ErrorReply>();
  for (const m of replies) out.set(seqIndex(m.seq, first), decodeErrorMessage(m));
  return out;
}

/** A ValidationError of item `i` naming it: field "dst" of item 3 becomes "routes[3].dst"; other errors as they are. */
function indexed(argument: string, i: number, e: unknown): unknown {
  if (!(e instanceof ValidationError)) return e;
  const prefix = `invalid ${e.field} ${JSON.stringify(e.value)}: `;
  const reason = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return new ValidationError(`${argument}[${i}].${e.field}`, e.value, reason);
}

/** An item's failure as its own error: its operation, its index, NotFoundError where the code means missing. */
function itemError(e: NetlinkError, operation: string, index: number, missing: BulkRun['missing']): NetlinkError {
  const d = {
    errno: e.errno,
    operation: e.operation ? `${operation}: ${e.operation}` : operation,
    extack: e.extack,
    extackOffset: e.extackOffset,
    missingAttribute: e.missingAttribute,
    commandIndex: index,
  };
  if (e instanceof NotFoundError) return new NotFoundError(e.what, d);
  const what = missing && Object.hasOwn(missing, e.code) ? missing[e.code] : undefined;
  return what !== undefined ? new NotFoundError(what, d) : new NetlinkError(d);
}
