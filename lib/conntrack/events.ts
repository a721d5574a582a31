/**
 * Conntrack notifications (NFNLGRP_CONNTRACK_NEW, _UPDATE, _DESTROY: what
 * `conntrack -E` shows) as an async iterable of typed events, with the shape
 * of every nlkit stream: `{ type, action }`, `{ type: 'overrun' }` where
 * notifications were lost, `includeExisting` / `resyncOnOverrun` as in
 * `h.events.subscribe()`.
 * @module
 */
import { NETLINK_NETFILTER, NLM_F_CREATE } from '../netlink/constants';
import { ValidationError } from '../netlink/errors';
import {
  eventStream,
  STREAM_OPTION_KEYS,
  type EventAction,
  type EventStream,
  type OverrunEvent,
  type StreamOptions,
  type SyncedEvent,
} from '../netlink/event-stream';
import { NFNL_SUBSYS_CTNETLINK, nfnlType } from '../netlink/nfnetlink';
import type { Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { LiveSubscriptions } from '../netlink/live-subscriptions';
import { NetlinkSubscription } from '../netlink/subscription';
import { rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { decodeEntry, type ConntrackEntry } from './entry';

/** What happened to an entry, as `conntrack -E` says it: created, changed (state, timeout, mark, labels...), destroyed. */
export type ConntrackEventKind = 'new' | 'update' | 'destroy';

/** An entry was created, changed or destroyed. */
export interface ConntrackEvent {
  /** Discriminant. */
  type: 'conntrack';
  /** `new` (created or changed) or `del` (destroyed), as every stream says it. */
  action: EventAction;
  /** Which of the three: `new`, `update` or `destroy` (entries of `includeExisting` are `new`). */
  event: ConntrackEventKind;
  /** The entry as the kernel reported it (a destroyed one with its last counters, when accounting is on). */
  entry: ConntrackEntry;
}

/** What `h.conntrack.events.subscribe()` yields. */
export type ConntrackStreamEvent = ConntrackEvent | SyncedEvent | OverrunEvent;

/** A subscription to conntrack events; iterate it with `for await`, stop with `close()` or `break`. */
export type ConntrackEventStream = EventStream<ConntrackStreamEvent>;

/** Options of {@link ConntrackEvents.subscribe}. */
export interface ConntrackSubscribeOptions extends StreamOptions {
  /** Which events (default all three): each is a multicast group of its own, so the others never reach the socket. */
  events?: ConntrackEventKind[];
}

/** `h.conntrack.events`: subscriptions to conntrack events of the handle's namespace. */
export interface ConntrackEvents {
  /**
   * Subscribes to entries created, changed and destroyed in this namespace
   * (`conntrack -E`). Changes are captured from `await stream.ready` on, and
   * queue until read. Closing the handle ends the stream. With the kernel's
   * default `net.netfilter.nf_conntrack_events = 2`, an entry made while no
   * listener existed reports nothing (no update, no destroy): only
   * `includeExisting` lists it (docs/guides/events.md).
   * @example
   * const events = h.conntrack.events.subscribe({ events: ['new', 'destroy'] });
   * for await (const e of events) {
   *   if (e.type === 'conntrack') console.log(e.event, e.entry.protocol, e.entry.original.src, e.entry.original.dport);
   * }
   */
  subscribe(opts?: ConntrackSubscribeOptions): ConntrackEventStream;
}

/**
 * `hs.conntrack.events` of a blocking handle (`openSync()`): it has no event
 * streams (notifications arrive asynchronously), so `subscribe()` is refused
 * with a {@link ValidationError}, not left to a TypeError on a missing `events`.
 */
export interface ConntrackSyncEvents {
  /**
   * Throws a {@link ValidationError} (`field` 'handle'): subscribe on a handle of `open()`.
   * @example
   * const h = await open(); // not openSync(): a blocking handle has no event streams
   * const events = h.conntrack.events.subscribe();
   */
  subscribe(opts?: ConntrackSubscribeOptions): never;
}

/** @internal the refusal of `hs.conntrack.events.subscribe()`: one object for every blocking handle. */
export const SYNC_HANDLE_EVENTS: ConntrackSyncEvents = Object.freeze({
  subscribe(): never {
    throw new ValidationError('handle', 'openSync()', 'a blocking handle has no event streams: subscribe to conntrack events on a handle of open()');
  },
});

/** @internal how the stream reaches its handle. */
export interface ConntrackEventSource {
  netnsFd: number;
  receiveBufferBytes?: number;
  /** Runs an operation on the handle's netfilter connection (the listing for `includeExisting`). */
  run<T>(op: Operation<T>): Promise<T>;
  /** The listing of the current entries. */
  list(): Operation<ConntrackEntry[]>;
}

const GROUPS: Record<ConntrackEventKind, number> = {
  new: C.NFNLGRP_CONNTRACK_NEW,
  update: C.NFNLGRP_CONNTRACK_UPDATE,
  destroy: C.NFNLGRP_CONNTRACK_DESTROY,
};
const KINDS = Object.keys(GROUPS) as ConntrackEventKind[];
const NEW_TYPE = nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW);
const DELETE_TYPE = nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE);

function groupsOf(events: unknown): number[] {
  if (events === undefined) return KINDS.map((k) => GROUPS[k]);
  if (!Array.isArray(events) || events.length === 0) throw new ValidationError('events', events, `must be a non-empty array of ${KINDS.join(', ')}`);
  return [
    ...new Set(
      events.map((k: unknown) => {
        if (typeof k !== 'string' || !Object.hasOwn(GROUPS, k)) throw new ValidationError('events', k, `unknown (known: ${KINDS.join(', ')})`);
        return GROUPS[k as ConntrackEventKind];
      }),
    ),
  ];
}

/**
 * One notification as an event: the kernel sends a created entry as
 * IPCTNL_MSG_CT_NEW with NLM_F_CREATE, a changed one without it, a
 * destroyed one as IPCTNL_MSG_CT_DELETE.
 */
export function decodeConntrackEvent(m: NetlinkMessage): ConntrackEvent | undefined {
  if (m.type === DELETE_TYPE) return { type: 'conntrack', action: 'del', event: 'destroy', entry: decodeEntry(m) };
  if (m.type !== NEW_TYPE) return undefined;
  return { type: 'conntrack', action: 'new', event: m.flags & NLM_F_CREATE ? 'new' : 'update', entry: decodeEntry(m) };
}

/** @internal builds `h.conntrack.events` for one handle; `closeAll` ends its streams, `refuseNew` only refuses new ones. */
export function conntrackEvents(src: ConntrackEventSource): { events: ConntrackEvents; closeAll(): void; refuseNew(): void } {
  const live = new LiveSubscriptions();
  const events: ConntrackEvents = {
    subscribe(opts: ConntrackSubscribeOptions = {}): ConntrackEventStream {
      live.checkOpen('subscribe to conntrack events');
      rejectUnknownKeys(opts, [...STREAM_OPTION_KEYS, 'events'], 'conntrack subscribe options');
      const sub = new NetlinkSubscription({
        protocol: NETLINK_NETFILTER,
        netnsFd: src.netnsFd,
        groups: groupsOf(opts.events),
        receiveBufferBytes: opts.receiveBufferBytes ?? src.receiveBufferBytes,
        maxQueued: opts.maxQueued,
      });
      return eventStream<ConntrackEvent>({
        subscription: sub,
        decode: decodeConntrackEvent,
        existing: () => existingEvents(src),
        includeExisting: opts.includeExisting,
        resyncOnOverrun: opts.resyncOnOverrun,
        onClose: live.track(sub),
      });
    },
  };
  return { events, closeAll: () => live.closeAll(), refuseNew: () => live.refuseNew() };
}

/** The current entries as `new` events. */
async function* existingEvents(src: ConntrackEventSource): AsyncGenerator<ConntrackEvent> {
  for (const entry of await src.run(src.list())) yield { type: 'conntrack', action: 'new', event: 'new', entry };
}
