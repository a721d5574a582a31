/**
 * What a ServiceManager did, as a stream of typed events in the shape of
 * every nlkit stream (`{ type, action }`, `synced`, `overrun`; see
 * `h.events.subscribe()`): a service created, changed (with what changed)
 * or deleted, a service left without endpoints (refusing) and back, drift
 * found by check() and repaired by reconcile().
 *
 * Change events are queued after the change's transaction committed and its
 * records were written, while the services' lock is still held: in commit
 * order, and never for a change that failed. Nothing waits for a consumer
 * and nothing a consumer does reaches nlkit: each stream has its own queue
 * (a consumer that falls `maxQueued` events behind gets `overrun` where
 * events were dropped), and an exception thrown in a `for await` body ends
 * that loop and closes that stream only.
 * @module
 */
import { ClosedError, ValidationError } from '../netlink/errors';
import type { EventAction, EventStream, OverrunEvent, SyncedEvent } from '../netlink/event-stream';
import { keysOf, rejectUnknownKeys } from '../validate/options';
import type { ServiceDrift } from './drift';
import { type EndpointRecord, type Service, type ServiceRecord } from './spec';

/** One endpoint (same address and port) before and after a change. */
export interface EndpointChange {
  before: EndpointRecord;
  after: EndpointRecord;
}

/** What a change did to a service. */
export interface ServiceDelta {
  /** Endpoints that joined (a creation: all of them). */
  endpointsAdded: EndpointRecord[];
  /** Endpoints that left (a deletion: all of them). */
  endpointsRemoved: EndpointRecord[];
  /** Endpoints that stayed with another weight. */
  weights: EndpointChange[];
  /** Endpoints that stayed with other conditions (ready, serving, terminating). */
  conditions: EndpointChange[];
  /** The service's other fields that changed. */
  fields: Array<'vips' | 'externalIps' | 'ports' | 'sessionAffinity'>;
}

/** A service was created or changed (`new`) or deleted (`del`). */
export interface ServiceEvent {
  /** Discriminant. */
  type: 'service';
  /** `new`: created (no `previous`) or changed; `del`: deleted. */
  action: EventAction;
  name: string;
  /** The service as committed; for `del`, as it was. */
  service: Service;
  /** A change: the service before it. */
  previous?: Service;
  /** What changed. */
  delta: ServiceDelta;
}

/**
 * A service has no endpoint that gets new connections (none ready or
 * serving-terminating with a weight above 0): its connections are refused
 * at once (`new`); or it has one again, or was deleted (`del`).
 */
export interface NoEndpointsEvent {
  /** Discriminant. */
  type: 'no-endpoints';
  action: EventAction;
  name: string;
}

/** Drift found by check() (`new`, every time it finds some) or repaired by reconcile() (`del`, after its commit). */
export interface DriftEvent {
  /** Discriminant. */
  type: 'drift';
  action: EventAction;
  drift: ServiceDrift[];
}

/** One thing a ServiceManager did; switch on `type`. */
export type ServiceManagerEvent = ServiceEvent | NoEndpointsEvent | DriftEvent;

/** What `svcs.events.subscribe()` yields: the manager's events, and `synced` / `overrun` like every stream. */
export type ServiceStreamEvent = ServiceManagerEvent | SyncedEvent | OverrunEvent;

/** A subscription to a manager's events; iterate it with `for await`, stop with `close()` or `break`. */
export type ServiceEventStream = EventStream<ServiceStreamEvent>;

/** Options of {@link ServiceEvents.subscribe}. */
export interface ServiceSubscribeOptions {
  /** Start with every recorded service as a `service` `new` event (and `no-endpoints` `new` for those refusing), then `synced`. */
  includeExisting?: boolean;
  /** After an `overrun` event, deliver the recorded services again (then `synced`). */
  resyncOnOverrun?: boolean;
  /** Events kept for a slow consumer before the newer ones are dropped for an `overrun` (default 100,000). */
  maxQueued?: number;
}

const SUBSCRIBE_KEYS = keysOf<ServiceSubscribeOptions>()(['includeExisting', 'resyncOnOverrun', 'maxQueued']);

/** @internal runs `read` on the recorded services while holding the services' lock (no change is being made). */
export type LockedSnapshot = <T>(read: (records: Map<string, ServiceRecord>) => T) => Promise<T>;

const endpointKey = (e: EndpointRecord): string => `${e.ip}|${e.port ?? ''}`;
const json = (v: readonly unknown[]): string => JSON.stringify(v);

/** What changed between two versions of a service (either may be absent). */
function serviceDelta(before: ServiceRecord | undefined, after: ServiceRecord | undefined): ServiceDelta {
  const delta: ServiceDelta = { endpointsAdded: [], endpointsRemoved: [], weights: [], conditions: [], fields: [] };
  const old = new Map((before?.endpoints ?? []).map((e) => [endpointKey(e), e]));
  for (const e of after?.endpoints ?? []) {
    const key = endpointKey(e);
    const was = old.get(key);
    old.delete(key);
    if (!was) delta.endpointsAdded.push(e);
    else {
      if (was.weight !== e.weight) delta.weights.push({ before: was, after: e });
      if (was.ready !== e.ready || was.serving !== e.serving || was.terminating !== e.terminating) delta.conditions.push({ before: was, after: e });
    }
  }
  delta.endpointsRemoved.push(...old.values());
  if (before && after) {
    if (json(before.vips) !== json(after.vips)) delta.fields.push('vips');
    if (json(before.externalIps) !== json(after.externalIps)) delta.fields.push('externalIps');
    if (json(before.ports) !== json(after.ports)) delta.fields.push('ports');
    if (before.affinitySeconds !== after.affinitySeconds) delta.fields.push('sessionAffinity');
  }
  return delta;
}

/** Whether no endpoint gets new connections (selectedEndpoints() is empty; without making its arrays). */
const refusing = (rec: ServiceRecord | undefined): boolean =>
  rec !== undefined && !rec.endpoints.some((e) => e.weight > 0 && (e.ready || (e.serving && e.terminating)));

/**
 * A frozen copy of a record: every stream gets the same event objects, which
 * neither they nor the manager can change under the others. The manager's
 * own records are not frozen: that would change their hidden class under
 * the optimised code that reads them.
 */
function frozenRecord(r: ServiceRecord): ServiceRecord {
  return Object.freeze({
    ...r,
    vips: Object.freeze([...r.vips]) as string[],
    externalIps: Object.freeze([...r.externalIps]) as string[],
    ports: Object.freeze(r.ports.map((p) => Object.freeze({ ...p }))) as ServiceRecord['ports'],
    endpoints: Object.freeze(r.endpoints.map((e) => Object.freeze({ ...e }))) as EndpointRecord[],
  });
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** The events of one committed change of a service. */
function changeEvents(committedBefore: ServiceRecord | undefined, committedAfter: ServiceRecord | undefined): ServiceManagerEvent[] {
  const before = committedBefore && frozenRecord(committedBefore);
  const after = committedAfter && frozenRecord(committedAfter);
  const rec = after ?? before;
  if (!rec) return [];
  const ev: ServiceEvent = { type: 'service', action: after ? 'new' : 'del', name: rec.name, service: rec, delta: serviceDelta(before, after) };
  if (before && after) ev.previous = before;
  const out: ServiceManagerEvent[] = [deepFreeze(ev)];
  const wasRefusing = refusing(before);
  const isRefusing = refusing(after);
  if (wasRefusing !== isRefusing) out.push(deepFreeze({ type: 'no-endpoints', action: isRefusing ? 'new' : 'del', name: rec.name }));
  return out;
}

/** The recorded services as events (includeExisting, resync). */
function existingEvents(records: Map<string, ServiceRecord>): ServiceManagerEvent[] {
  return [...records.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).flatMap((r) => changeEvents(undefined, r));
}

const OVERRUN: OverrunEvent = { type: 'overrun' };

/** One stream's queue. */
class Subscriber {
  private queue: ServiceStreamEvent[] = [];
  private head = 0;
  /** Events were dropped: the `overrun` at the end of the queue stands for them; nothing more is queued until it is read. */
  private lost = false;
  private wake?: () => void;
  closed = false;

  constructor(
    private readonly maxQueued: number,
    /** Lists the recorded services into this queue (`reset`) under the services' lock. */
    private readonly resync: ((s: Subscriber) => Promise<void>) | undefined,
    private readonly onClose: (s: Subscriber) => void,
  ) {}

  push(events: readonly ServiceStreamEvent[]): void {
    if (this.closed || this.lost) return;
    for (const e of events) {
      if (this.queue.length - this.head >= this.maxQueued) {
        this.lost = true;
        this.queue.push(OVERRUN);
        break;
      }
      this.queue.push(e);
    }
    this.wake?.();
  }

  /** Replaces whatever is queued (a snapshot under the lock covers it). */
  reset(events: ServiceStreamEvent[]): void {
    this.queue = events;
    this.head = 0;
    this.lost = false;
  }

  async next(): Promise<IteratorResult<ServiceStreamEvent>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      if (this.head < this.queue.length) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const value = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (value === OVERRUN) {
      this.lost = false;
      // The listing replaces what was queued since: it was made under the lock, after those changes.
      if (this.resync) await this.resync(this);
    }
    return { done: false, value };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    this.wake?.();
  }
}

/**
 * The events of one ServiceManager (`svcs.events`): what this manager object
 * did. Changes other processes (or other managers) make are not events here;
 * they are in the records, which `includeExisting` and a resync list.
 */
export class ServiceEvents {
  readonly #subscribers = new Set<Subscriber>();
  readonly #snapshot: LockedSnapshot;
  #closed = false;

  /** @internal made by the ServiceManager */
  constructor(snapshot: LockedSnapshot) {
    this.#snapshot = snapshot;
  }

  /**
   * A stream of this manager's events, from now on. With `includeExisting`
   * it starts with the recorded services (listed under the services' lock:
   * no change falls between them and the live events), then `synced`.
   * ClosedError once the manager is closed.
   * @example
   * const events = await svcs.events.subscribe({ includeExisting: true });
   * for await (const ev of events) {
   *   if (ev.type === 'service') console.log(ev.action, ev.name, ev.delta.endpointsAdded.length, 'endpoints added');
   *   else if (ev.type === 'no-endpoints') console.log(ev.name, ev.action === 'new' ? 'refuses connections' : 'has endpoints again');
   *   else if (ev.type === 'drift') console.log(ev.action === 'new' ? 'drift found' : 'drift repaired', ev.drift.length);
   * }
   */
  async subscribe(opts: ServiceSubscribeOptions = {}): Promise<ServiceEventStream> {
    rejectUnknownKeys(opts, SUBSCRIBE_KEYS, 'services events options');
    if (this.#closed) throw new ClosedError('subscribe to services events');
    for (const k of ['includeExisting', 'resyncOnOverrun'] as const) {
      if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new ValidationError(k, opts[k], 'must be a boolean');
    }
    const maxQueued = opts.maxQueued ?? 100_000;
    if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new ValidationError('maxQueued', opts.maxQueued, 'must be a positive whole number of events');
    const listed = (records: Map<string, ServiceRecord>): ServiceStreamEvent[] => [...existingEvents(records), { type: 'synced' }];
    const resync = opts.resyncOnOverrun ? (s: Subscriber) => this.#snapshot((records) => s.reset(listed(records))) : undefined;
    const sub = new Subscriber(maxQueued, resync, (s) => this.#subscribers.delete(s));
    if (opts.includeExisting) {
      await this.#snapshot((records) => {
        sub.reset(listed(records));
        if (this.#closed)
          sub.close(); // closed while listing
        else this.#subscribers.add(sub);
      });
    } else this.#subscribers.add(sub);
    const stream: ServiceEventStream = {
      next: () => sub.next(),
      return: (value?: ServiceStreamEvent) => {
        stream.close();
        return Promise.resolve({ done: true, value: value as ServiceStreamEvent });
      },
      throw: (e?: unknown) => {
        stream.close();
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      },
      close: () => sub.close(),
      ready: Promise.resolve(),
      [Symbol.asyncIterator]: () => stream,
    };
    return stream;
  }

  /** @internal after a commit: the events of its changes, in order. Costs nothing without subscribers. */
  committed(changes: ReadonlyArray<{ before?: ServiceRecord; after?: ServiceRecord }>): void {
    if (this.#subscribers.size === 0) return;
    this.#publish(changes.flatMap((c) => changeEvents(c.before, c.after)));
  }

  /** @internal check() found drift (`new`) or reconcile() repaired it (`del`). */
  drift(action: EventAction, drift: ServiceDrift[]): void {
    if (this.#subscribers.size === 0 || drift.length === 0) return;
    this.#publish([deepFreeze<DriftEvent>({ type: 'drift', action, drift: drift.map((d) => ({ ...d })) })]);
  }

  /** @internal the manager closes: every stream ends (a pending next() resolves as done). */
  close(): void {
    this.#closed = true;
    for (const s of [...this.#subscribers]) s.close();
  }

  #publish(events: ServiceManagerEvent[]): void {
    for (const s of this.#subscribers) s.push(events);
  }
}
