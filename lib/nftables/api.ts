/**
 * `handle.nft`: nftables over the handle's netfilter socket — atomic
 * transactions, listing, and change events, all inside the handle's
 * network namespace.
 * @module
 */
import { bindAsync, type AsyncOps } from '../netlink/bind';
import type { NetlinkConnection } from '../netlink/connection';
import { runAsync } from '../netlink/operation';
import type { Chain } from './chain';
import type { SetElement } from './elements';
import { nftEvents, type NftEvents } from './events';
import {
  getSetMessage,
  nftChainOps,
  nftElementOps,
  nftGenerationOps,
  nftObjectOps,
  nftRuleOps,
  nftRulesetOps,
  nftSetOps,
  nftTableOps,
  shapeOfMessage,
  type Generation,
  type NftFilter,
  type Ruleset,
} from './list';
import type { NftObject } from './object';
import { nftObjectResetOps, nftRuleResetOps } from './reset';
import { nftElementGetOps } from './element-get';
import { nftFlowtableOps } from './flowtable-list';
import type { ObjectType } from './object-types';
import type { Rule } from './rule';
import type { DeviceResolver } from './rule-devices';
import type { NftSet, SetRef } from './set';
import type { Table } from './table';
import { Transaction } from './transaction';

/** Default receive buffer of netlink sockets (see ConnectionOptions). */
const DEFAULT_RCVBUF = 4 << 20;

/**
 * nftables in one namespace. Obtain it as `h.nft`. Reading follows the verbs
 * of every family (`list` many, `get` one or NotFoundError, `find` one or
 * undefined): `h.nft.tables`, `chains`, `rules`, `sets`, `elements`,
 * `objects`, `ruleset`, `generation`. Changes go through transactions.
 * @example
 * const tx = h.nft.transaction();
 * tx.addTable({ family: 'inet', name: 'nat' });
 * tx.addChain({ family: 'inet', table: 'nat', name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
 * tx.addRule({ family: 'inet', table: 'nat', chain: 'postrouting', rule: rule().ip({ saddr: '10.88.0.0/16' }).oifname(not('cni0')).masquerade() });
 * await tx.commit();
 * const rules = await h.nft.rules.list({ family: 'inet', table: 'nat', chain: 'postrouting' });
 */
export class Nftables {
  /** Tables: `list(filter)`, `get(ref)`, `find(ref)`. */
  readonly tables: AsyncOps<typeof nftTableOps>;
  /** Chains: `list(filter)`, `get(ref)`, `find(ref)`. */
  readonly chains: AsyncOps<typeof nftChainOps>;
  /** Rules with decoded expressions: `list(filter)`, `get(ref)` (by handle), `find(ref)`, `reset(ref)`. */
  readonly rules: AsyncOps<typeof nftRuleOps & typeof nftRuleResetOps>;
  /** Sets and maps (definitions): `list(filter)`, `get(ref)`, `find(ref)`. */
  readonly sets: AsyncOps<typeof nftSetOps>;
  /** Elements of one set or map: `list(ref)`, `get(ref & { key })`, `find(ref & { key })`. */
  readonly elements: AsyncOps<typeof nftElementOps & typeof nftElementGetOps>;
  /** Named objects (counters, quotas, limits, ct helpers, ...): `list(filter)`, `get(ref)`, `find(ref)`, `reset(ref)`. */
  readonly objects: AsyncOps<typeof nftObjectOps & typeof nftObjectResetOps>;
  /** Everything at once: `get(filter)`. */
  readonly ruleset: AsyncOps<typeof nftRulesetOps>;
  /** Flowtables: `list(filter)`, `get(ref)`, `find(ref)` (added and deleted in transactions). */
  readonly flowtables: AsyncOps<typeof nftFlowtableOps>;
  /**
   * The ruleset generation: `get()` (for optimistic concurrency: pass its
   * `id` to `tx.commit({ expectGeneration })`). Calling `generation()`
   * itself is the deprecated form of `generation.get()`.
   */
  readonly generation: NftGeneration;
  /** Ruleset changes: `subscribe(opts)` (calling `events()` itself is deprecated). */
  readonly events: NftEvents;
  private readonly streams: { closeAll(): void; refuseNew(): void };
  private readonly generationOps: AsyncOps<typeof nftGenerationOps>;

  /**
   * @internal created by the handle
   * @param resolveDevice looks up an interface index by name in the handle's namespace (for rules naming interfaces)
   */
  constructor(
    private readonly conn: NetlinkConnection,
    netnsFd: number,
    private readonly receiveBufferBytes = DEFAULT_RCVBUF,
    private readonly resolveDevice?: DeviceResolver,
  ) {
    this.tables = bindAsync(conn, nftTableOps);
    this.chains = bindAsync(conn, nftChainOps);
    this.rules = bindAsync(conn, { ...nftRuleOps, ...nftRuleResetOps });
    this.sets = bindAsync(conn, nftSetOps);
    this.elements = bindAsync(conn, { ...nftElementOps, ...nftElementGetOps });
    this.objects = bindAsync(conn, { ...nftObjectOps, ...nftObjectResetOps });
    this.ruleset = bindAsync(conn, nftRulesetOps);
    this.flowtables = bindAsync(conn, nftFlowtableOps);
    this.generationOps = bindAsync(conn, nftGenerationOps);
    const streams = nftEvents({
      netnsFd,
      receiveBufferBytes,
      run: (op) => runAsync(conn, op),
      resolveShape: async (ref) => shapeOfMessage(await runAsync(conn, getSetMessage(ref))),
    });
    this.events = streams.events;
    this.streams = streams;
    // `generation` is both the deprecated method and the `{ get }` family.
    const generation = (() => this.generationOps.get()) as NftGeneration;
    generation.get = () => this.generationOps.get();
    this.generation = generation;
  }

  /**
   * Starts a transaction; nothing is sent until `commit()`.
   * @example
   * const tx = h.nft.transaction();
   * tx.addTable({ family: 'inet', name: 'filter' });
   * const { results } = await tx.commit();
   */
  transaction(): Transaction {
    return new Transaction((op) => runAsync(this.conn, op), Math.floor(this.receiveBufferBytes / 4), this.resolveDevice);
  }

  /**
   * @deprecated use `h.nft.tables.list(filter)`
   * @example
   * const tables = await h.nft.tables.list({ family: 'inet' });
   */
  listTables(filter?: NftFilter): Promise<Table[]> {
    return this.tables.list(only(filter, 'family', 'table'));
  }

  /**
   * @deprecated use `h.nft.chains.list(filter)`
   * @example
   * const chains = await h.nft.chains.list({ family: 'inet', table: 'nat' });
   */
  listChains(filter?: NftFilter): Promise<Chain[]> {
    return this.chains.list(filter);
  }

  /**
   * @deprecated use `h.nft.rules.list(filter)`
   * @example
   * const rules = await h.nft.rules.list({ family: 'inet', table: 'nat', chain: 'postrouting' });
   */
  listRules(filter?: NftFilter): Promise<Rule[]> {
    return this.rules.list(filter);
  }

  /**
   * @deprecated use `h.nft.sets.list(filter)`
   * @example
   * const sets = await h.nft.sets.list({ family: 'inet', table: 'filter' });
   */
  listSets(filter?: NftFilter): Promise<NftSet[]> {
    return this.sets.list(only(filter, 'family', 'table'));
  }

  /**
   * @deprecated use `h.nft.sets.get(ref)`
   * @example
   * const set = await h.nft.sets.get({ family: 'inet', table: 'filter', name: 'allowed' });
   */
  getSet(ref: SetRef): Promise<NftSet> {
    return this.sets.get(ref);
  }

  /**
   * @deprecated use `h.nft.elements.list(ref)`
   * @example
   * const els = await h.nft.elements.list({ family: 'inet', table: 'filter', name: 'allowed' });
   */
  listElements(ref: SetRef): Promise<SetElement[]> {
    return this.elements.list(ref);
  }

  /**
   * @deprecated use `h.nft.objects.list(filter)`
   * @example
   * const counters = await h.nft.objects.list({ family: 'inet', table: 'filter', type: 'counter' });
   */
  listObjects(filter?: NftFilter & { type?: ObjectType }): Promise<NftObject[]> {
    return this.objects.list(only(filter, 'family', 'table', 'type'));
  }

  /**
   * @deprecated use `h.nft.ruleset.get(filter)`
   * @example
   * const { tables, chains, rules, sets } = await h.nft.ruleset.get();
   */
  listRuleset(filter?: Pick<NftFilter, 'family' | 'table'>): Promise<Ruleset> {
    return this.ruleset.get(filter);
  }

  /** @internal ends every event stream (the handle is closing). */
  closeAll(): void {
    this.streams.closeAll();
  }

  /** @internal refuses new event subscriptions, the live ones going on (the handle's `close({ drain: true })` has begun). */
  refuseNew(): void {
    this.streams.refuseNew();
  }
}

/** The deprecated list calls ignored filter keys that do not apply; the new ones refuse them. */
function only<F extends object>(filter: F | undefined, ...keys: string[]): F | undefined {
  if (filter === undefined) return undefined;
  return Object.fromEntries(Object.entries(filter).filter(([k]) => keys.includes(k))) as F;
}

/** `h.nft.generation`: `get()`; calling it is the deprecated form. */
export interface NftGeneration {
  /**
   * @deprecated use `h.nft.generation.get()`
   * @example
   * const { id } = await h.nft.generation.get();
   */
  (): Promise<Generation>;
  /**
   * Gets the ruleset generation (pass its `id` to `tx.commit({ expectGeneration })`).
   * @example
   * const { id } = await h.nft.generation.get();
   * tx.commit({ expectGeneration: id });
   */
  get(): Promise<Generation>;
}
