/**
 * The one shape every change stream has (`h.events.subscribe()`,
 * `h.nft.events.subscribe()`): events `{ type, action }` with `action`
 * `'new'` (created or changed) or `'del'` (removed); a gap is an
 * `{ type: 'overrun' }` event at the place notifications were lost, after
 * which the stream goes on (resync from a fresh listing, or let
 * `resyncOnOverrun` do it); `includeExisting` starts with the current state
 * as `new` events and `{ type: 'synced' }`.
 * @module
 */
import type { NetlinkMessage } from './parser';
import { OVERRUN, type NetlinkSubscription } from './subscription';

/** `new` covers both creation and change; `del` is removal. */
export type EventAction = 'new' | 'del';

/** With `includeExisting` (or after a resync): the current state has been delivered; live events follow. */
export interface SyncedEvent {
  /** Discriminant. */
  type: 'synced';
}

/**
 * Notifications were lost here (the kernel's receive buffer overflowed, or
 * the consumer fell too far behind). State derived from events is stale:
 * resync from a fresh list (or subscribe with `resyncOnOverrun`).
 */
export interface OverrunEvent {
  /** Discriminant. */
  type: 'overrun';
}

/** An event stream: iterate it with `for await`; `break` (or close()) ends it and closes its socket. */
export interface EventStream<T> extends AsyncIterableIterator<T> {
  /** Ends the stream from outside the loop; a pending next() resolves as done. */
  close(): void;
  /**
   * Settles once the stream's socket has joined its groups: changes made
   * after that are delivered. In another namespace the socket is made off
   * the event loop, so `await stream.ready` before making the changes you
   * want to see (with `includeExisting` there is no gap either way: the
   * state is listed after joining). Rejects if the socket cannot be made.
   */
  readonly ready: Promise<void>;
}

/** Options every subscription takes. */
export interface StreamOptions {
  /** Start with the current state as `new` events, then `{ type: 'synced' }`. */
  includeExisting?: boolean;
  /** After an `overrun` event, deliver the current state again (then `synced`). */
  resyncOnOverrun?: boolean;
  /** Receive buffer of the subscription socket in bytes (default 4 MiB). */
  receiveBufferBytes?: number;
  /** Events kept for a slow consumer before an overrun is declared (default 100,000). */
  maxQueued?: number;
}

/** @internal the keys of {@link StreamOptions}, for refusing unknown ones. */
export const STREAM_OPTION_KEYS = ['includeExisting', 'resyncOnOverrun', 'receiveBufferBytes', 'maxQueued'] as const;

/** @internal what a family gives to make its stream. */
export interface StreamSource<T> {
  /** Joined to the family's groups before anything is dumped (so nothing is missed). */
  subscription: NetlinkSubscription;
  /**
   * One notification as an event (or as several: a family that joins
   * notifications returns what it held back), or undefined for messages
   * outside the subscription or held back.
   */
  decode(m: NetlinkMessage): T | T[] | undefined | Promise<T | T[] | undefined>;
  /** Notifications were lost: forget anything held back from before. */
  onOverrun?: () => void;
  /** The current state as `new` events. */
  existing(): AsyncIterable<T>;
  includeExisting?: boolean;
  resyncOnOverrun?: boolean;
  /** Deprecated streams only: throw this at an overrun (after closing) instead of yielding the event. */
  overrunError?: () => Error;
  /** Called once when the stream ends, however it ends. */
  onClose?: () => void;
}

/** What {@link untilClosed} gives when the stream closed first. */
const CLOSED: unique symbol = Symbol('stream closed');

/**
 * The result of `step()`, or {@link CLOSED} as soon as the subscription closes (by the stream's
 * close() or return(), or the handle closing): a dump for includeExisting
 * runs on the handle's socket and would otherwise hold a closed stream's
 * next() until it ends, or fail it later with the handle's ClosedError. A
 * rejection of the step after that is ignored.
 */
function untilClosed<V>(sub: NetlinkSubscription, step: () => V | Promise<V>): Promise<V | typeof CLOSED> {
  // Closed already: the step is not even started (a dump nobody will read).
  if (sub.isClosed) return Promise.resolve(CLOSED);
  return Promise.race([step(), sub.whenClosed.then((): typeof CLOSED => CLOSED)]);
}

/** @internal builds the stream: one implementation of the shape and the overrun behaviour for every family. */
export function eventStream<T>(src: StreamSource<T>): EventStream<T | SyncedEvent | OverrunEvent> {
  const sub = src.subscription;
  /** A call, not a property read: TypeScript would keep a narrowing of it across awaits. */
  const subClosed = () => sub.isClosed;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    sub.close();
    src.onClose?.();
  };
  /** The current state, until the stream closes; false if it closed first. */
  async function* current(): AsyncGenerator<T, boolean> {
    const it = src.existing()[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        const r = await untilClosed(sub, () => it.next());
        // Closed while waiting (a next() pending at close() resolves as done, even if the step settled first).
        if (r === CLOSED || subClosed()) return false;
        if (r.done) return (finished = true);
        yield r.value;
        // Closed while the consumer held that event: the dump's rest is not wanted.
        if (subClosed()) return false;
      }
    } finally {
      // Stop the dump's generator (once its pending step settles); its failure, if any, is nobody's now.
      if (!finished) it.return?.().catch(() => undefined);
    }
  }
  async function* run(): AsyncGenerator<T | SyncedEvent | OverrunEvent> {
    try {
      // Join first, dump second: whatever changes during the dump is queued, not lost.
      if ((await untilClosed(sub, () => sub.ready)) === CLOSED) return;
      if (src.includeExisting) {
        if (!(yield* current())) return;
        yield { type: 'synced' };
      }
      for (;;) {
        const m = await sub.next();
        if (m === undefined) return;
        if (m === OVERRUN) {
          src.onOverrun?.();
          if (src.overrunError) throw src.overrunError();
          yield { type: 'overrun' };
          if (src.resyncOnOverrun) {
            if (!(yield* current())) return;
            yield { type: 'synced' };
          }
          continue;
        }
        const ev = await untilClosed(sub, () => src.decode(m));
        if (ev === CLOSED || subClosed()) return;
        if (Array.isArray(ev)) yield* ev;
        else if (ev !== undefined) yield ev;
      }
    } catch (e) {
      // Work still under way when the stream was closed (a dump, a name lookup) fails with the handle: the stream just ends.
      if (subClosed()) return;
      throw e;
    } finally {
      close();
    }
  }
  const gen = run();
  const stream: EventStream<T | SyncedEvent | OverrunEvent> = {
    next: () => gen.next(),
    // Close first: a return() queued behind a pending next() would otherwise wait for the next event.
    return: (value?: T | SyncedEvent | OverrunEvent) => {
      close();
      return gen.return(value);
    },
    throw: (e?: unknown) => {
      close();
      return gen.throw(e);
    },
    close,
    ready: sub.ready,
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
