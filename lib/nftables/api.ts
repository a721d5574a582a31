/**
 * `handle.nft`: nftables over the handle's netfilter socket — atomic
 * transactions, listing, and change events, all inside the handle's
 * network namespace.
 * @module
 */
import { bindAsync, type AsyncOps } from '../netlink/bind';
import type { NetlinkConnection } from '../netlink/connection';
import { runAsync } from '../netlink/operation';
import { NftEventStream } from './events';
import { getSetMessage, nftListOps, shapeOfMessage } from './list';
import { Transaction } from './transaction';

/** Default receive buffer of netlink sockets (see ConnectionOptions). */
const DEFAULT_RCVBUF = 4 << 20;

export interface Nftables extends AsyncOps<typeof nftListOps> {}

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
  ) {
    Object.assign(this, bindAsync(conn, nftListOps));
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
   * @example
   * const events = h.nft.events();
   * for await (const e of events) {
   *   if (e.kind === 'rule') console.log(e.change, e.rule.chain, e.rule.handle);
   * }
   */
  events(): NftEventStream {
    const s = new NftEventStream(this.netnsFd, async (ref) => shapeOfMessage(await runAsync(this.conn, getSetMessage(ref))), this.receiveBufferBytes, () => this.streams.delete(s));
    this.streams.add(s);
    return s;
  }

  /** @internal ends every event stream (the handle is closing). */
  closeAll(): void {
    for (const s of [...this.streams]) s.close();
  }
}
