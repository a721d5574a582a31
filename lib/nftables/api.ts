/**
 * `handle.nft`: nftables over the handle's netfilter socket — atomic
 * transactions, listing, and change events, all inside the handle's
 * network namespace.
 * @module
 */
import type { NetlinkConnection } from '../netlink/connection';
import { ClosedError } from '../netlink/errors';
import { runAsync } from '../netlink/operation';
import type { Chain } from './chain';
import type { SetElement } from './elements';
import { NftEventStream } from './events';
import { getSetMessage, nftListOps, shapeOfMessage, type Generation, type NftFilter, type Ruleset } from './list';
import type { NftObject } from './object';
import type { ObjectType } from './object-types';
import type { Rule } from './rule';
import type { NftSet, SetRef } from './set';
import type { Table } from './table';
import { Transaction } from './transaction';

/** Default receive buffer of netlink sockets (see ConnectionOptions). */
const DEFAULT_RCVBUF = 4 << 20;

/**
 * nftables in one namespace. Obtain it as `h.nft`.
 * @example
 * const tx = h.nft.transaction();
 * tx.addTable({ family: 'inet', name: 'nat' });
 * tx.addChain({ family: 'inet', table: 'nat', name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
 * tx.addRule({ family: 'inet', table: 'nat', chain: 'postrouting', rule: rule().ip({ saddr: '10.88.0.0/16' }).oifname(not('cni0')).masquerade() });
 * await tx.commit();
 */
export class Nftables {
  private readonly streams = new Set<NftEventStream>();

  /** @internal created by the handle */
  constructor(
    private readonly conn: NetlinkConnection,
    private readonly netnsFd: number,
    private readonly receiveBufferBytes = DEFAULT_RCVBUF,
  ) {}

  /**
   * Lists tables.
   * @example
   * const tables = await h.nft.listTables({ family: 'inet' });
   */
  listTables(filter?: NftFilter): Promise<Table[]> {
    return runAsync(this.conn, nftListOps.listTables(filter));
  }

  /**
   * Lists chains, optionally of one table.
   * @example
   * const chains = await h.nft.listChains({ family: 'inet', table: 'nat' });
   */
  listChains(filter?: NftFilter): Promise<Chain[]> {
    return runAsync(this.conn, nftListOps.listChains(filter));
  }

  /**
   * Lists rules with their decoded expressions, optionally of one table or chain.
   * @example
   * const rules = await h.nft.listRules({ family: 'inet', table: 'nat', chain: 'postrouting' });
   */
  listRules(filter?: NftFilter): Promise<Rule[]> {
    return runAsync(this.conn, nftListOps.listRules(filter));
  }

  /**
   * Lists sets and maps (without elements; see {@link Nftables.listElements}).
   * @example
   * const sets = await h.nft.listSets({ family: 'inet', table: 'filter' });
   */
  listSets(filter?: NftFilter): Promise<NftSet[]> {
    return runAsync(this.conn, nftListOps.listSets(filter));
  }

  /**
   * Gets one set or map definition.
   * @example
   * const set = await h.nft.getSet({ family: 'inet', table: 'filter', name: 'allowed' });
   */
  getSet(ref: SetRef): Promise<NftSet> {
    return runAsync(this.conn, nftListOps.getSet(ref));
  }

  /**
   * Lists the elements of a set or map, typed by the set's key and data types.
   * @example
   * const els = await h.nft.listElements({ family: 'inet', table: 'filter', name: 'allowed' });
   * // [{ key: '10.0.0.0/8' }, { key: '192.168.1.1' }]
   */
  listElements(ref: SetRef): Promise<SetElement[]> {
    return runAsync(this.conn, nftListOps.listElements(ref));
  }

  /**
   * Lists named objects (counters, quotas, limits, ...).
   * @example
   * const counters = await h.nft.listObjects({ family: 'inet', table: 'filter', type: 'counter' });
   */
  listObjects(filter?: NftFilter & { type?: ObjectType }): Promise<NftObject[]> {
    return runAsync(this.conn, nftListOps.listObjects(filter));
  }

  /**
   * Lists everything: tables, chains, rules, sets with their elements, objects.
   * @example
   * const { tables, chains, rules, sets } = await h.nft.listRuleset();
   */
  listRuleset(filter?: Pick<NftFilter, 'family' | 'table'>): Promise<Ruleset> {
    return runAsync(this.conn, nftListOps.listRuleset(filter));
  }

  /**
   * Reads the ruleset generation (for optimistic concurrency: pass its `id`
   * to `tx.commit({ expectGeneration })`).
   * @example
   * const { id } = await h.nft.generation();
   */
  generation(): Promise<Generation> {
    return runAsync(this.conn, nftListOps.generation());
  }

  /**
   * Starts a transaction; nothing is sent until `commit()`.
   * @example
   * const tx = h.nft.transaction();
   * tx.addTable({ family: 'inet', name: 'filter' });
   * const { results } = await tx.commit();
   */
  transaction(): Transaction {
    return new Transaction((op) => runAsync(this.conn, op), Math.floor(this.receiveBufferBytes / 4));
  }

  /**
   * Subscribes to ruleset changes in this namespace.
   * @param opts.maxQueued most notifications kept for a consumer that does not
   *   keep up (default 100,000); past it the stream throws NetlinkOverrunError
   * @example
   * const events = h.nft.events();
   * for await (const e of events) {
   *   if (e.kind === 'rule') console.log(e.change, e.rule.chain, e.rule.handle);
   * }
   */
  events(opts: { maxQueued?: number } = {}): NftEventStream {
    if (this.closed) throw new ClosedError('subscribe to nftables events');
    const s = new NftEventStream(this.netnsFd, async (ref) => shapeOfMessage(await runAsync(this.conn, getSetMessage(ref))), { receiveBufferBytes: this.receiveBufferBytes, maxQueued: opts.maxQueued }, () => this.streams.delete(s));
    this.streams.add(s);
    return s;
  }

  /** @internal ends every event stream (the handle is closing). */
  closeAll(): void {
    this.closed = true;
    for (const s of [...this.streams]) s.close();
  }
  private closed = false;
}
