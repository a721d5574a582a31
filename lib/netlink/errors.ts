/**
 * The errors nlkit throws. Every error is an {@link NlkitError}; which subclass
 * tells where it came from:
 * - {@link ValidationError}: the input was refused before anything was sent.
 * - {@link NetlinkError}: the kernel refused a netlink request (errno name,
 *   operation, and the kernel's extended-ack message).
 * - {@link NotFoundError} (a NetlinkError): the object a get, set or delete
 *   named does not exist.
 * - {@link SystemError}: a plain syscall failed (namespaces, sysctls, sockets).
 * - {@link NetlinkOverrunError}: the kernel dropped messages for a full socket.
 * - {@link DecodeError}: a message nlkit received is malformed.
 * @module
 */
import { ENOENT, errnoName, errnoText } from './errno';
import { renderValue } from './render-value';

// The errno names and texts are in ./errno; errnoName is exported from here too, as it always was.
export { errnoName };

/** Base class of every error nlkit throws. */
export class NlkitError extends Error {
  /** The class name, for logs and `err.name` checks. */
  override name = 'NlkitError';
  /**
   * Set when a recorded network operation (attach, publish, a services
   * change, ...) failed and its end could not be written to the state
   * journal either: the error of that write. The operation's own error is
   * the one thrown (it says what failed); its intent stays open, so `check()`
   * reports it and `reconcile()` finishes or undoes it. Undefined otherwise.
   */
  declare journalError?: unknown;
}

/** Input refused before it reached the kernel. Nothing was changed. */
export class ValidationError extends NlkitError {
  /** Always "ValidationError". */
  override name = 'ValidationError';
  /** Which argument or field was wrong. */
  readonly field: string;
  /** The offending value, as given (the message shows any value, a BigInt or a cycle too, without throwing). */
  readonly value: unknown;
  constructor(field: string, value: unknown, reason: string) {
    super(`invalid ${field} ${renderValue(value)}: ${reason}`);
    this.field = field;
    this.value = value;
  }
}

/** Details of a kernel refusal. */
export interface NetlinkErrorDetails {
  /** Positive errno value. */
  errno: number;
  /** What nlkit was doing, e.g. "add route 10.0.0.0/24". */
  operation: string;
  /** The kernel's extended-ack text, when it gave one. */
  extack?: string;
  /** Byte offset of the offending attribute in the request, when given. */
  extackOffset?: number;
  /** The attribute type the kernel said was missing, when given. */
  missingAttribute?: number;
  /** For batches: index of the failing command within the batch. */
  commandIndex?: number;
  /** For a bulk write stopped part-way: how many of its items (the first ones, in order) were sent. */
  itemsSent?: number;
}

/** The details a NetlinkError was made from, to make another one like it (e.g. with `itemsSent`). */
export function detailsOf(e: NetlinkError): NetlinkErrorDetails {
  return {
    errno: e.errno,
    operation: e.operation,
    extack: e.extack,
    extackOffset: e.extackOffset,
    missingAttribute: e.missingAttribute,
    commandIndex: e.commandIndex,
    itemsSent: e.itemsSent,
  };
}

/** The message suffix of an error that stopped a bulk write part-way. */
const sentSuffix = (n: number | undefined): string => (n === undefined ? '' : ` (the first ${n} items were sent to the kernel, the rest never)`);

/** The kernel answered a netlink request with an error. */
export class NetlinkError extends NlkitError {
  /** "NetlinkError" (or the subclass's name). */
  override name = 'NetlinkError';
  /** Positive errno value the kernel answered with (17 for EEXIST). */
  readonly errno: number;
  /** Symbolic errno, e.g. "EEXIST". */
  readonly code: string;
  /** What nlkit was doing, e.g. "add route 10.0.0.0/24 via 10.0.0.1". */
  readonly operation: string;
  /** The kernel's extended-ack text ("Nexthop has invalid gateway"), when it gave one. */
  readonly extack?: string;
  /** Byte offset of the offending attribute in the request, when the kernel gave one. */
  readonly extackOffset?: number;
  /** The attribute type the kernel said was missing, when it said so. */
  readonly missingAttribute?: number;
  /** For batches (nftables transactions): index of the failing command. */
  readonly commandIndex?: number;
  /**
   * For a bulk write (an array given to `add`, `replace` or `delete`) that a
   * failed send stopped part-way: its first `itemsSent` items reached the
   * kernel (each applied or refused on its own), the others were never sent.
   */
  readonly itemsSent?: number;

  constructor(d: NetlinkErrorDetails) {
    const code = errnoName(d.errno);
    const text = errnoText(d.errno);
    super(`${d.operation}: ${code} (${text})${d.extack ? `: ${d.extack}` : ''}${sentSuffix(d.itemsSent)}`);
    this.errno = d.errno;
    this.code = code;
    this.operation = d.operation;
    this.extack = d.extack;
    this.extackOffset = d.extackOffset;
    this.missingAttribute = d.missingAttribute;
    this.commandIndex = d.commandIndex;
    if (d.itemsSent !== undefined) this.itemsSent = d.itemsSent;
  }
}

/** Details of a {@link NotFoundError}: those of a NetlinkError, errno optional (default ENOENT). */
export type NotFoundDetails = Omit<NetlinkErrorDetails, 'errno'> & {
  /** Positive errno value (default ENOENT). */
  errno?: number;
};

/**
 * The object named does not exist: what `get`, `set` and `delete` throw for
 * a missing object in every family (links, addresses, routes, neighbours,
 * FDB entries, ip rules, conntrack entries, namespaces, nftables objects);
 * `find` resolves to `undefined` instead and `delete(x, { missingOk: true })`
 * to `false`. It is a {@link NetlinkError} and keeps the kernel's errno, so
 * `err.code === 'ENODEV'` checks written before it existed still work:
 * `ENODEV` for links, `EADDRNOTAVAIL` for addresses, `ESRCH` for routes,
 * `ENOENT` (the default) for the others.
 */
export class NotFoundError extends NetlinkError {
  /** Always "NotFoundError". */
  override name = 'NotFoundError';
  /** What is missing: "link", "address", "route", "neighbour", "fdb entry", "ip rule", "conntrack entry", "network namespace", "nftables table"... */
  readonly what: string;
  /**
   * @param what the kind of object that is missing ("route")
   * @param d what was being done, the kernel's errno (default ENOENT) and extack
   */
  constructor(what: string, d: NotFoundDetails);
  /** @param d the same, with `what` inside */
  constructor(d: NotFoundDetails & { what: string });
  constructor(a: string | (NotFoundDetails & { what: string }), b?: NotFoundDetails) {
    const [what, d] = typeof a === 'string' ? [a, b] : [a.what, a];
    if (!d) throw new TypeError('NotFoundError(what, details) needs its details');
    super({ ...d, errno: d.errno ?? ENOENT });
    this.what = what;
  }

  /**
   * The same refusal as a NotFoundError (errno, extack and operation kept).
   * @example
   * NotFoundError.from('link', new NetlinkError({ errno: 19, operation: 'get link eth9' })).code; // 'ENODEV'
   */
  static from(what: string, e: NetlinkError): NotFoundError {
    if (e instanceof NotFoundError) return e;
    return new NotFoundError(what, detailsOf(e));
  }
}

/** Options of every `delete`: `{ missingOk: true }` removes the object if it is there. */
export interface DeleteOptions {
  /** Resolve to `false` when there is nothing to delete, instead of throwing {@link NotFoundError}. */
  missingOk?: boolean;
}

/**
 * Checks the options of a delete (unknown keys refused) and returns `missingOk`.
 * @example
 * checkDeleteOptions({ missingOk: true }); // true
 */
export function checkDeleteOptions(opts: unknown): boolean {
  if (opts === undefined) return false;
  if (!opts || typeof opts !== 'object' || Array.isArray(opts)) throw new ValidationError('options', opts, 'must be an object like { missingOk: true }');
  for (const key of Object.keys(opts))
    if (key !== 'missingOk') throw new ValidationError(`options.${key}`, (opts as Record<string, unknown>)[key], 'unknown option (delete takes { missingOk })');
  const { missingOk } = opts as DeleteOptions;
  if (missingOk !== undefined && typeof missingOk !== 'boolean') throw new ValidationError('missingOk', missingOk, 'must be a boolean');
  return missingOk === true;
}

/** A syscall made by the addon failed. */
export class SystemError extends NlkitError {
  /** Always "SystemError". */
  override name = 'SystemError';
  /** Positive errno value. */
  readonly errno: number;
  /** Symbolic errno, e.g. "EPERM". */
  readonly code: string;
  /** The failing system call, e.g. "connect" or "open(/run/netns/c1)". */
  readonly syscall: string;
  /** What nlkit was doing, e.g. "connect to 10.0.0.2:8080". */
  readonly operation: string;
  /**
   * For a netlink request failed because reading its socket failed (an errno
   * other than ENOBUFS; the kernel did not refuse it): whether it had reached
   * the kernel. `false`: it was never sent and changed nothing. `true`: the
   * kernel got it and may have applied it; its answer was not read, so read
   * the state back. Undefined for other syscalls.
   */
  readonly sent?: boolean;
  /** For a bulk write failed so: its first `itemsSent` items reached the kernel, the others were never sent. */
  readonly itemsSent?: number;
  /**
   * @param operation what nlkit was doing
   * @param errno the positive errno value
   * @param syscall the failing system call
   * @param request for a netlink request whose socket could not be read: whether it was sent (and a bulk write's items sent)
   */
  constructor(operation: string, errno: number, syscall: string, request?: { sent: boolean; itemsSent?: number }) {
    const code = errnoName(errno);
    const outcome =
      request === undefined
        ? ''
        : request.sent
          ? '; the request had reached the kernel, which may have applied it (read the state back to know)'
          : '; the request was never sent';
    super(`${operation}: ${syscall} failed: ${code} (${errnoText(errno)})${outcome}${sentSuffix(request?.itemsSent)}`);
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.operation = operation;
    if (request) this.sent = request.sent;
    if (request?.itemsSent !== undefined) this.itemsSent = request.itemsSent;
  }
}

/**
 * The kernel dropped messages because the socket's receive buffer was full
 * (ENOBUFS). For requests the replies are lost; for event subscriptions the
 * consumer must resync from a fresh dump. Writes answered by one final ack
 * for several requests (single-call writes of one tick, bulk writes) that
 * reached the kernel before the ENOBUFS was read fail with it even when that
 * ack arrives: the kernel also reports ENOBUFS when it could not allocate
 * one answer and drops nothing else, so a refusal before the ack may be lost.
 */
export class NetlinkOverrunError extends NlkitError {
  /** Always "NetlinkOverrunError". */
  override name = 'NetlinkOverrunError';
  /** Always "ENOBUFS". */
  readonly code = 'ENOBUFS';
  /**
   * For a bulk write (an array given to `add`, `replace` or `delete`): its
   * first `itemsSent` items reached the kernel, the others were never sent
   * (its queued parts were cancelled). Which of the sent ones the kernel
   * refused is unknown: read the state back.
   */
  readonly itemsSent?: number;
  /**
   * For a request: whether it had reached the kernel, as for
   * {@link ClosedError.sent}. Always `true` for a request failed by an
   * overrun (for a bulk write: `itemsSent > 0`): the kernel got it and its
   * answer was dropped, so whether it was applied is unknown (read the state
   * back). A request still queued when the overrun was read is not failed: it
   * is sent afterwards and gets its own answer. Undefined for an event
   * stream's gap.
   */
  readonly sent?: boolean;
  /**
   * @param operation what was receiving
   * @param detail what was lost and what to do (default: the kernel dropped replies)
   * @param itemsSent for a bulk write: how many of its items were sent
   * @param sent for a request: whether it had reached the kernel
   */
  constructor(operation: string, detail = 'the kernel dropped netlink messages (ENOBUFS, receive buffer overrun)', itemsSent?: number, sent?: boolean) {
    super(`${operation}: ${detail}${sentSuffix(itemsSent)}`);
    if (itemsSent !== undefined) this.itemsSent = itemsSent;
    if (sent !== undefined) this.sent = sent;
  }
}

/**
 * The error of a request (or bulk write: `itemsSent`) that reached the
 * kernel and whose answer the kernel dropped (ENOBUFS).
 * @example
 * requestOverrun('add route 10.0.0.1/32').sent; // true
 */
export function requestOverrun(operation: string, itemsSent?: number): NetlinkOverrunError {
  const detail = 'the kernel dropped its answer (ENOBUFS, receive buffer overrun) after the request reached it: whether it was applied is unknown';
  return new NetlinkOverrunError(operation, detail, itemsSent, itemsSent === undefined || itemsSent > 0);
}

/**
 * A received netlink message is malformed: a part every such message has
 * (a conntrack tuple's addresses, for example) is missing or has an
 * impossible size. Parts that may legitimately be absent decode as
 * `undefined` instead; this is only for input no kernel sends.
 */
export class DecodeError extends NlkitError {
  /** Always "DecodeError". */
  override name = 'DecodeError';
  /** What was being decoded, e.g. "conntrack entry". */
  readonly what: string;
  /** nlmsg_type of the offending message, when known. */
  readonly messageType?: number;
  /** What is wrong with it, e.g. "the original tuple has no source address". */
  readonly reason: string;
  constructor(what: string, reason: string, messageType?: number) {
    super(`cannot decode ${what}${messageType !== undefined ? ` (message type ${messageType})` : ''}: ${reason}`);
    this.what = what;
    this.reason = reason;
    this.messageType = messageType;
  }
}

/** A streamed dump, or a dump given to call() (never restarted), saw the object set change underneath it (NLM_F_DUMP_INTR). */
export class DumpInterruptedError extends NlkitError {
  /** Always "DumpInterruptedError". */
  override name = 'DumpInterruptedError';
  constructor(operation: string) {
    super(`${operation}: the dump was interrupted by a concurrent change (NLM_F_DUMP_INTR); list again`);
  }
}

/**
 * An attach named an attachment id that another sandbox (another namespace)
 * already holds on that network. Nothing was changed. Detach the other
 * sandbox first, or give this one its own `id`; if the other sandbox is
 * gone, `reconcile()` forgets it.
 */
export class AttachmentConflictError extends NlkitError {
  /** Always "AttachmentConflictError". */
  override name = 'AttachmentConflictError';
  /**
   * @param network the network
   * @param id the attachment id asked for
   * @param holder the namespace file of the sandbox that holds it
   */
  constructor(
    readonly network: string,
    readonly id: string,
    readonly holder: string,
  ) {
    super(`attachment id ${id} on network ${network} is held by another sandbox (${holder}); detach it first or choose another id`);
  }
}

/** The handle or socket was closed while the operation was pending, or before it. */
export class ClosedError extends NlkitError {
  /** Always "ClosedError". */
  override name = 'ClosedError';
  /**
   * Whether the request had already been handed to the kernel when the
   * handle closed. `false`: it was never sent and changed nothing. `true`:
   * the kernel has it (or is processing it); whether it was applied is
   * unknown, so read the state back before relying on either outcome.
   */
  readonly sent: boolean;
  /** What was asked, e.g. "add 5000 routes". */
  readonly operation: string;
  /**
   * For a bulk write (an array given to `add`, `replace` or `delete`): its
   * first `itemsSent` items had reached the kernel when the handle closed
   * (each applied or refused on its own), the others were never sent.
   */
  readonly itemsSent?: number;
  /**
   * @param operation what was asked
   * @param sent whether the request had already reached the kernel (default false)
   * @param itemsSent for a bulk write: how many of its items had been sent
   */
  constructor(operation: string, sent = false, itemsSent?: number) {
    super(
      (sent
        ? `${operation}: the netlink handle was closed after the request was sent; the kernel may have applied it (read the state back to know)`
        : `${operation}: the netlink handle is closed`) + sentSuffix(itemsSent),
    );
    this.sent = sent;
    this.operation = operation;
    if (itemsSent !== undefined) this.itemsSent = itemsSent;
  }
}

/**
 * A state directory (or a file in it, or one of its parents) that another
 * user could change: nlkit runs as root and acts on what it reads there, so
 * it refuses such a directory instead of trusting it. Nothing was written.
 */
export class UnsafeStateDirError extends NlkitError {
  /** Always "UnsafeStateDirError". */
  override name = 'UnsafeStateDirError';
  /** The directory or file refused. */
  readonly path: string;
  /** Why, e.g. "is writable by its group". */
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(`unsafe state directory: ${path} ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Some items of a bulk write (an array given to `add`, `replace` or
 * `delete`) failed; every other item was applied (or, for a delete with
 * `missingOk`, was already absent). Thrown once all items were
 * attempted. Each failure is the item's own {@link NetlinkError} (or
 * {@link NotFoundError}), naming it in `operation` and carrying its index as
 * `commandIndex`.
 */
export class BatchError extends NlkitError {
  /** Always "BatchError". */
  override name = 'BatchError';
  /** What the call did, e.g. "add 5000 routes". */
  readonly operation: string;
  /** How many items the call had. */
  readonly total: number;
  /** The failures by item index: a sparse array (`errors[3]` is item 3's error; no entry for items that were applied). */
  readonly errors: NetlinkError[];
  /** The indexes of the failed items, ascending. */
  readonly failed: number[];
  constructor(operation: string, total: number, failures: ReadonlyMap<number, NetlinkError>) {
    const failed = [...failures.keys()].sort((a, b) => a - b);
    const shown = failed.slice(0, 3).map((i) => `[${i}] ${(failures.get(i) as NetlinkError).message}`);
    super(`${operation}: ${failed.length} of ${total} failed: ${shown.join('; ')}${failed.length > 3 ? '; ...' : ''}`);
    this.operation = operation;
    this.total = total;
    this.failed = failed;
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- an array with holes where items succeeded
    this.errors = new Array(total);
    for (const i of failed) this.errors[i] = failures.get(i) as NetlinkError;
  }
}

/** Wraps an error thrown by the addon (which carries .errno and .syscall). */
export function fromNative(operation: string, e: unknown): Error {
  const ne = e as { errno?: number; syscall?: string };
  if (e instanceof Error && typeof ne.errno === 'number') {
    return new SystemError(operation, ne.errno, ne.syscall ?? 'syscall');
  }
  return e instanceof Error ? e : new Error(String(e));
}
