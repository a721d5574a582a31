/**
 * Ruleset change notifications (the NFNLGRP_NFTABLES multicast group) as an
 * async iterable of typed events: every table, chain, rule, set, element and
 * object added or deleted by anyone (nft, other processes, this one), and a
 * `generation` event closing each committed transaction.
 *
 * Events have the shape of every nlkit stream: `{ type, action }` with
 * `action` `'new'` or `'del'`, `{ type: 'overrun' }` where notifications were
 * lost (the stream goes on), and `includeExisting` / `resyncOnOverrun` as in
 * `h.events.subscribe()`.
 * @module
 */
import { NETLINK_NETFILTER } from '../netlink/constants';
import { NetlinkOverrunError } from '../netlink/errors';
import {
  eventStream,
  STREAM_OPTION_KEYS,
  type EventAction,
  type EventStream,
  type OverrunEvent,
  type StreamOptions,
  type SyncedEvent,
} from '../netlink/event-stream';
import type { Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { LiveSubscriptions } from '../netlink/live-subscriptions';
import { NetlinkSubscription } from '../netlink/subscription';
import { rejectUnknownKeys } from '../validate/options';
import { decodeChain, type Chain } from './chain';
import * as C from './constants';
import { assembleElements, decodeElementMessage, type RawElement, type SetElement } from './elements';
import { decodeGeneration, nftRulesetOps, setKey, shapeOfMessage, type Generation } from './list';
import { familyName, messageFamily, nftCommand, type NftFamily } from './message';
import { decodeObject, type NftObject } from './object';
import { decodeRule, type Rule } from './rule';
import { decodeSet, type NftSet, type SetRef, type SetShape } from './set';
import { decodeTable, type Table } from './table';

/**
 * What changed: "add" for NEW messages, "delete" for DEL messages.
 * @deprecated use the events' `action` ({@link EventAction}: `'new'` | `'del'`)
 */
export type NftChange = 'add' | 'delete';

/** Fields every ruleset change event has. */
interface NftChangeFields<T extends string> {
  /** Discriminant. */
  type: T;
  /** `new` (added, or changed in place) or `del`. */
  action: EventAction;
  /** @deprecated use `type` (same value) */
  kind: T;
  /** @deprecated use `action` (`'add'` is `'new'`, `'delete'` is `'del'`) */
  change: 'add' | 'delete';
}

/** A table was added or deleted. */
export interface NftTableEvent extends NftChangeFields<'table'> {
  /** The table. */
  table: Table;
}

/** A chain was added (or changed) or deleted. */
export interface NftChainEvent extends NftChangeFields<'chain'> {
  /** The chain. */
  chain: Chain;
}

/** A rule was added (or replaced) or deleted. */
export interface NftRuleEvent extends NftChangeFields<'rule'> {
  /** The rule, with its handle and decoded expressions. */
  rule: Rule;
}

/** A set or map was added or deleted. */
export interface NftSetEvent extends NftChangeFields<'set'> {
  /** The set definition. */
  set: NftSet;
}

/** Elements were added to or deleted from a set or map. */
export interface NftElementsEvent extends NftChangeFields<'elements'> {
  /** Family of the set's table. */
  family: NftFamily;
  /** Name of the set's table. */
  table: string;
  /** Name of the set. */
  set: string;
  /** Typed by the set's types when known; otherwise keys are raw Buffers. */
  elements: SetElement[];
}

/** A named object was added or deleted. */
export interface NftObjectEvent extends NftChangeFields<'object'> {
  /** The object. */
  object: NftObject;
}

/** A transaction was committed; `generation.id` is the new ruleset generation. */
export interface NftGenerationEvent extends NftChangeFields<'generation'> {
  /** Always "new". */
  action: 'new';
  /** @deprecated use `action`; always "add" */
  change: 'add';
  /** The new generation and who committed it. */
  generation: Generation;
}

/** One ruleset change; switch on `type`. */
export type NftEvent = NftTableEvent | NftChainEvent | NftRuleEvent | NftSetEvent | NftElementsEvent | NftObjectEvent | NftGenerationEvent;

/** What `h.nft.events.subscribe()` yields: ruleset changes, and `synced` / `overrun` like every stream. */
export type NftStreamEvent = NftEvent | SyncedEvent | OverrunEvent;

/** A subscription to ruleset changes; iterate it with `for await`, stop with `close()` or `break`. */
export type NftEventStream = EventStream<NftStreamEvent>;

/** Options of {@link NftEvents.subscribe}. */
export type NftSubscribeOptions = StreamOptions;

/** @internal looks up a set's layout when its definition was not seen in the stream. */
export type ShapeResolver = (ref: SetRef) => Promise<SetShape | undefined>;

/** @internal how the stream reaches its handle. */
export interface NftEventSource {
  netnsFd: number;
  receiveBufferBytes?: number;
  /** Runs an operation on the handle's netfilter connection (dumps for `includeExisting`). */
  run<T>(op: Operation<T>): Promise<T>;
  resolveShape: ShapeResolver;
}

/**
 * `h.nft.events`: subscriptions to ruleset changes. Call
 * {@link NftEvents.subscribe}; calling `h.nft.events()` itself is the
 * deprecated form (it throws NetlinkOverrunError at a gap instead of
 * yielding an `overrun` event).
 */
export interface NftEvents {
  /**
   * @deprecated use `h.nft.events.subscribe()`, which yields `{ type: 'overrun' }`
   *   at a gap instead of throwing NetlinkOverrunError
   * @example
   * for await (const e of h.nft.events()) console.log(e.kind, e.change);
   */
  (opts?: { maxQueued?: number }): EventStream<NftEvent>;
  /**
   * Subscribes to ruleset changes in this namespace. The socket is made off
   * the event loop: changes are captured from `await stream.ready` on (with
   * `includeExisting` the ruleset is listed after that, so nothing falls in
   * between), and queue until read, even before iteration starts.
   * @example
   * const events = h.nft.events.subscribe({ includeExisting: true });
   * for await (const e of events) {
   *   if (e.type === 'rule') console.log(e.action, e.rule.chain, e.rule.handle);
   *   if (e.type === 'overrun') { ... list again, or subscribe with resyncOnOverrun ... }
   * }
   */
  subscribe(opts?: NftSubscribeOptions): NftEventStream;
}

/** @internal builds `h.nft.events` for one handle; `closeAll` ends its streams. */
export function nftEvents(src: NftEventSource): { events: NftEvents; closeAll(): void; refuseNew(): void } {
  const live = new LiveSubscriptions();
  const open = (opts: NftSubscribeOptions, legacy: boolean): EventStream<NftStreamEvent> => {
    live.checkOpen('subscribe to nftables events');
    rejectUnknownKeys(opts, STREAM_OPTION_KEYS, 'nftables subscribe options');
    const sub = new NetlinkSubscription({
      protocol: NETLINK_NETFILTER,
      netnsFd: src.netnsFd,
      groups: [C.NFNLGRP_NFTABLES],
      receiveBufferBytes: opts.receiveBufferBytes ?? src.receiveBufferBytes,
      maxQueued: opts.maxQueued,
      // The deprecated h.nft.events() promised a joined socket on return.
      openNow: legacy,
    });
    const decoder = new NftEventDecoder(src.resolveShape);
    return eventStream<NftEvent>({
      subscription: sub,
      decode: (m) => decoder.decode(m),
      onOverrun: () => decoder.reset(),
      existing: () => existingEvents(src, decoder),
      includeExisting: opts.includeExisting,
      resyncOnOverrun: opts.resyncOnOverrun,
      overrunError: legacy
        ? () =>
            new NetlinkOverrunError(
              'nftables events',
              'notifications were lost (receive buffer overrun, or the consumer fell too far behind): list the ruleset again and subscribe again',
            )
        : undefined,
      onClose: live.track(sub),
    });
  };
  const events = ((opts: { maxQueued?: number } = {}) =>
    open(rejectUnknownKeys(opts, ['maxQueued'], 'nftables events options') ?? {}, true) as EventStream<NftEvent>) as NftEvents;
  events.subscribe = (opts = {}) => open(opts, false);
  return { events, closeAll: () => live.closeAll(), refuseNew: () => live.refuseNew() };
}

/** The current ruleset as `new` events, in an order that can be replayed: tables, chains, sets, elements, objects, rules. */
async function* existingEvents(src: NftEventSource, decoder: NftEventDecoder): AsyncGenerator<NftEvent> {
  const rs = await src.run(nftRulesetOps.get());
  for (const table of rs.tables) yield change('table', 'new', { table });
  for (const chain of rs.chains) yield change('chain', 'new', { chain });
  for (const { elements, ...set } of rs.sets) {
    decoder.forget(set);
    yield change('set', 'new', { set });
    if (elements.length) yield change('elements', 'new', { family: set.family, table: set.table, set: set.name, elements });
  }
  for (const object of rs.objects) yield change('object', 'new', { object });
  for (const rule of rs.rules) yield change('rule', 'new', { rule });
}

/** An event with its deprecated duplicates filled in. */
function change<T extends NftEvent['type']>(
  type: T,
  action: EventAction,
  body: Omit<Extract<NftEvent, { type: T }>, keyof NftChangeFields<T>>,
): Extract<NftEvent, { type: T }> {
  return { type, action, kind: type, change: action === 'new' ? 'add' : 'delete', ...body } as unknown as Extract<NftEvent, { type: T }>;
}

/** Boundaries of interval elements notified in the current transaction, for one set and action. */
interface PendingIntervals {
  action: EventAction;
  family: NftFamily;
  table: string;
  set: string;
  shape: SetShape;
  raw: RawElement[];
}

/** Decodes notifications, remembering the layout of sets seen in the stream (to type their elements). */
class NftEventDecoder {
  private readonly shapes = new Map<string, SetShape>();
  /**
   * The kernel notifies a range's start and end as separate elements, in
   * either order (nft sends the end first); they are joined when the
   * transaction's generation message closes it.
   */
  private readonly intervals = new Map<string, PendingIntervals>();

  constructor(private readonly resolveShape: ShapeResolver) {}

  /** Drops a remembered layout (a set listed afresh is looked up again when its elements change). */
  forget(set: SetRef): void {
    this.shapes.delete(setKey(set));
  }

  /** Forgets half-seen intervals (notifications were lost; the stream resyncs or ends). */
  reset(): void {
    this.intervals.clear();
  }

  async decode(m: NetlinkMessage): Promise<NftEvent | NftEvent[] | undefined> {
    if (m.type >> 8 !== C.NFNL_SUBSYS_NFTABLES) return undefined;
    const cmd = nftCommand(m);
    switch (cmd) {
      case C.NFT_MSG_NEWTABLE:
      case C.NFT_MSG_DELTABLE:
        return change('table', cmd === C.NFT_MSG_NEWTABLE ? 'new' : 'del', { table: decodeTable(m) });
      case C.NFT_MSG_NEWCHAIN:
      case C.NFT_MSG_DELCHAIN:
        return change('chain', cmd === C.NFT_MSG_NEWCHAIN ? 'new' : 'del', { chain: decodeChain(m) });
      case C.NFT_MSG_NEWRULE:
      case C.NFT_MSG_DELRULE:
        return change('rule', cmd === C.NFT_MSG_NEWRULE ? 'new' : 'del', { rule: decodeRule(m) });
      case C.NFT_MSG_NEWSET:
      case C.NFT_MSG_DELSET: {
        const set = decodeSet(m);
        if (cmd === C.NFT_MSG_NEWSET) this.shapes.set(setKey(set), shapeOfMessage(m));
        return change('set', cmd === C.NFT_MSG_NEWSET ? 'new' : 'del', { set });
      }
      case C.NFT_MSG_NEWSETELEM:
      case C.NFT_MSG_DELSETELEM: {
        const { table, set, elements } = decodeElementMessage(m);
        const family = familyName(messageFamily(m));
        const key = setKey({ family, table, name: set });
        let shape = this.shapes.get(key);
        if (!shape) {
          shape = await this.resolveShape({ family, table, name: set }).catch(() => undefined);
          if (shape) this.shapes.set(key, shape);
        }
        shape ??= rawShape(elements[0]?.key?.length ?? 0, elements[0]?.data?.length ?? 0);
        const action = cmd === C.NFT_MSG_NEWSETELEM ? 'new' : 'del';
        if (shape.interval && shape.keyFields.length === 1) {
          const pending = this.intervals.get(`${action}\0${key}`);
          if (pending) pending.raw.push(...elements);
          else this.intervals.set(`${action}\0${key}`, { action, family, table, set, shape, raw: [...elements] });
          return undefined;
        }
        return change('elements', action, { family, table, set, elements: assembleElements(shape, elements) });
      }
      case C.NFT_MSG_NEWOBJ:
      case C.NFT_MSG_DELOBJ:
        return change('object', cmd === C.NFT_MSG_NEWOBJ ? 'new' : 'del', { object: decodeObject(m) });
      case C.NFT_MSG_NEWGEN:
        return [...this.joinIntervals(), change('generation', 'new', { generation: decodeGeneration(m) })];
      default:
        return undefined;
    }
  }

  /** The interval elements of the transaction that just ended, one event per set and action. */
  private joinIntervals(): NftEvent[] {
    const out: NftEvent[] = [];
    for (const p of this.intervals.values()) {
      const elements = assembleElements(p.shape, p.raw);
      if (elements.length) out.push(change('elements', p.action, { family: p.family, table: p.table, set: p.set, elements }));
    }
    this.intervals.clear();
    return out;
  }
}

/** @internal a layout for elements of an unknown set: keys and data stay raw bytes. */
export function rawShape(keyLength: number, dataLength: number): SetShape {
  return {
    keyFields: [undefined],
    keyFieldLengths: [keyLength],
    keyLength,
    map: dataLength ? 'data' : 'none',
    dataFields: dataLength ? [undefined] : [],
    dataFieldLengths: dataLength ? [dataLength] : [],
    dataLength,
    dataInterval: false,
    interval: false,
  };
}
