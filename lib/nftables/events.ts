/**
 * Ruleset change notifications (the NFNLGRP_NFTABLES multicast group) as an
 * async iterable of typed events: every table, chain, rule, set, element and
 * object added or deleted by anyone (nft, other processes, this one), and a
 * `generation` event closing each committed transaction.
 * @module
 */
import { NETLINK_NETFILTER } from '../netlink/constants';
import { NetlinkOverrunError } from '../netlink/errors';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkSubscription, OVERRUN, type Overrun } from '../netlink/subscription';
import { decodeChain, type Chain } from './chain';
import * as C from './constants';
import { assembleElements, decodeElementMessage, type SetElement } from './elements';
import { decodeGeneration, setKey, shapeOfMessage, type Generation } from './list';
import { familyName, messageFamily, nftCommand, type NftFamily } from './message';
import { decodeObject, type NftObject } from './object';
import { decodeRule, type Rule } from './rule';
import { decodeSet, type NftSet, type SetRef, type SetShape } from './set';
import { decodeTable, type Table } from './table';

/** What changed: "add" for NEW messages, "delete" for DEL messages. */
export type NftChange = 'add' | 'delete';

/** A table was added or deleted. */
export interface NftTableEvent {
  /** Added or deleted. */
  change: NftChange;
  /** Discriminant. */
  kind: 'table';
  /** The table. */
  table: Table;
}

/** A chain was added (or changed) or deleted. */
export interface NftChainEvent {
  /** Added or deleted. */
  change: NftChange;
  /** Discriminant. */
  kind: 'chain';
  /** The chain. */
  chain: Chain;
}

/** A rule was added (or replaced) or deleted. */
export interface NftRuleEvent {
  /** Added or deleted. */
  change: NftChange;
  /** Discriminant. */
  kind: 'rule';
  /** The rule, with its handle and decoded expressions. */
  rule: Rule;
}

/** A set or map was added or deleted. */
export interface NftSetEvent {
  /** Added or deleted. */
  change: NftChange;
  /** Discriminant. */
  kind: 'set';
  /** The set definition. */
  set: NftSet;
}

/** Elements were added to or deleted from a set or map. */
export interface NftElementsEvent {
  /** Added or deleted. */
  change: NftChange;
  /** Discriminant. */
  kind: 'elements';
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
export interface NftObjectEvent {
  /** Added or deleted. */
  change: NftChange;
  /** Discriminant. */
  kind: 'object';
  /** The object. */
  object: NftObject;
}

/** A transaction was committed; `generation.id` is the new ruleset generation. */
export interface NftGenerationEvent {
  /** Always "add". */
  change: 'add';
  /** Discriminant. */
  kind: 'generation';
  /** The new generation and who committed it. */
  generation: Generation;
}

/** One ruleset change; switch on `kind`. */
export type NftEvent =
  | NftTableEvent
  | NftChainEvent
  | NftRuleEvent
  | NftSetEvent
  | NftElementsEvent
  | NftObjectEvent
  | NftGenerationEvent;

/** @internal looks up a set's layout when its definition was not seen in the stream. */
export type ShapeResolver = (ref: SetRef) => Promise<SetShape | undefined>;

/**
 * A subscription; iterate it with `for await`. It has its own socket, so
 * it never mixes with requests. Stop with `close()` or by leaving the loop.
 * If notifications were lost (the kernel's receive buffer overran, or the
 * consumer fell too far behind), iteration delivers what came before the gap
 * and then throws NetlinkOverrunError: list the ruleset again and resubscribe.
 */
export class NftEventStream implements AsyncIterableIterator<NftEvent> {
  private readonly sub: NetlinkSubscription;
  private readonly shapes = new Map<string, SetShape>();
  private closed = false;

  /** @internal use `h.nft.events()` */
  constructor(
    netnsFd: number,
    private readonly resolveShape: ShapeResolver,
    limits: { receiveBufferBytes?: number; maxQueued?: number },
    private readonly onClose?: () => void,
  ) {
    this.sub = new NetlinkSubscription({ protocol: NETLINK_NETFILTER, netnsFd, groups: [C.NFNLGRP_NFTABLES], ...limits });
  }

  /** The stream is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next event; waits for one. Throws NetlinkOverrunError once notifications were lost.
   * @example
   * const { value, done } = await events.next();
   */
  async next(): Promise<IteratorResult<NftEvent>> {
    for (;;) {
      let m: NetlinkMessage | Overrun | undefined;
      try {
        m = await this.sub.next();
      } catch (e) {
        this.close();
        throw e;
      }
      if (m === undefined) return { value: undefined, done: true };
      if (m === OVERRUN) {
        this.close();
        throw new NetlinkOverrunError('nftables events', 'notifications were lost (receive buffer overrun, or the consumer fell too far behind): list the ruleset again and subscribe again');
      }
      if (m.type >> 8 !== C.NFNL_SUBSYS_NFTABLES) continue;
      const e = await this.decode(m);
      if (e) return { value: e, done: false };
    }
  }

  /**
   * Ends the iteration and closes the socket (what `break` in `for await` calls).
   * @example
   * await events.return();
   */
  async return(): Promise<IteratorResult<NftEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  /**
   * Stops the subscription; a pending `next()` ends the iteration.
   * @example
   * const events = h.nft.events();
   * setTimeout(() => events.close(), 10_000); // the for-await loop below then ends
   * for await (const e of events) console.log(e.kind, e.change);
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub.close();
    this.onClose?.();
  }

  private async decode(m: NetlinkMessage): Promise<NftEvent | undefined> {
    const cmd = nftCommand(m);
    switch (cmd) {
      case C.NFT_MSG_NEWTABLE:
      case C.NFT_MSG_DELTABLE:
        return { change: cmd === C.NFT_MSG_NEWTABLE ? 'add' : 'delete', kind: 'table', table: decodeTable(m) };
      case C.NFT_MSG_NEWCHAIN:
      case C.NFT_MSG_DELCHAIN:
        return { change: cmd === C.NFT_MSG_NEWCHAIN ? 'add' : 'delete', kind: 'chain', chain: decodeChain(m) };
      case C.NFT_MSG_NEWRULE:
      case C.NFT_MSG_DELRULE:
        return { change: cmd === C.NFT_MSG_NEWRULE ? 'add' : 'delete', kind: 'rule', rule: decodeRule(m) };
      case C.NFT_MSG_NEWSET:
      case C.NFT_MSG_DELSET: {
        const set = decodeSet(m);
        if (cmd === C.NFT_MSG_NEWSET) this.shapes.set(setKey(set), shapeOfMessage(m));
        return { change: cmd === C.NFT_MSG_NEWSET ? 'add' : 'delete', kind: 'set', set };
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
        return { change: cmd === C.NFT_MSG_NEWSETELEM ? 'add' : 'delete', kind: 'elements', family, table, set, elements: assembleElements(shape, elements) };
      }
      case C.NFT_MSG_NEWOBJ:
      case C.NFT_MSG_DELOBJ:
        return { change: cmd === C.NFT_MSG_NEWOBJ ? 'add' : 'delete', kind: 'object', object: decodeObject(m) };
      case C.NFT_MSG_NEWGEN:
        return { change: 'add', kind: 'generation', generation: decodeGeneration(m) };
      default:
        return undefined;
    }
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
    interval: false,
  };
}
