/**
 * nlkit's own nftables table (`inet nlkit`) in the host namespace: outbound
 * masquerade, the closed-by-default forward path, isolation between
 * networks, internal networks, hairpin, published ports, and the user's
 * chain. Laid out so the frequent changes are small:
 * - attaching a container changes no rule at all;
 * - publishing a port to one backend adds one map element (constant time,
 *   whatever else is published); several weighted backends, a port range or
 *   a drained publication add one rule, re-weighting replaces it atomically;
 * - creating or deleting a network (rare) rewrites nlkit's chains and sets
 *   in one atomic transaction, keeping the user's chain and its rules.
 * What the table holds is described once (firewall/layout.ts); check()
 * compares it with the kernel object by object and repair() undoes exactly
 * the differences (firewall/compare.ts).
 * @module
 */
import type { Handle } from '../handle';
import type { NetworkNamespace } from '../netns/namespace';
import { GenerationMismatchError } from '../nftables';
import type { Transaction } from '../nftables/transaction';
import { compareTable, queueOwnedRemoval, queueRemoval, queueTable } from './firewall/compare';
import { TABLE, layout, mapElements, publicationRules, pubComment, toSetElement, usesMap } from './firewall/layout';
import { listTable, type Listing } from './firewall/listing';
import { applySysctls, checkSysctls } from './firewall/sysctls';
import type { Drift } from './reconcile';
import type { HostState, PublicationRecord } from './state';

export { FIREWALL_TABLE, USER_CHAIN, usesMap } from './firewall/layout';

/** Attempts of a listing-based change while other processes commit in between. */
const ATTEMPTS = 8;

export class Firewall {
  constructor(
    private readonly host: Handle,
    private readonly hostRef?: NetworkNamespace, // the namespace the manager opened, not its name
  ) {}

  /** Rewrites nlkit's chains and sets from `st`, atomically; the user's chain keeps its rules. */
  async rebuild(st: HostState): Promise<void> {
    await this.commitListed((tx, listing) => {
      if (listing.ruleset) queueOwnedRemoval(tx, listing.ruleset);
      queueTable(tx, layout(st));
    });
  }

  /** Removes nlkit's table (no network left); the user's chain stays while it holds rules. */
  async remove(): Promise<void> {
    await this.commitListed((tx, listing) => {
      if (listing.ruleset) queueRemoval(tx, listing.ruleset);
    });
  }

  /** Adds a publication: one element, or its rules. */
  async publish(p: PublicationRecord): Promise<void> {
    const tx = this.host.nft.transaction();
    this.writePublication(tx, p);
    await tx.commit({ echo: 'none' });
  }

  /** Removes a publication. */
  async unpublish(p: PublicationRecord): Promise<void> {
    await this.changePublication(p);
  }

  /** Replaces a publication's backends in one transaction (established flows keep theirs). */
  async replace(before: PublicationRecord, after: PublicationRecord): Promise<void> {
    await this.changePublication(before, after);
  }

  /** Every difference between the table and sysctls `st` wants and the kernel's, one entry each. */
  async check(st: HostState): Promise<Drift[]> {
    const listing = await listTable(this.host, (l) => compareTable(st, l).drift.length === 0);
    return [...compareTable(st, listing).drift, ...(await checkSysctls(this.hostRef, st))];
  }

  /**
   * Repairs what check() reports: the sysctls, and the table's differences
   * in one transaction (not a rebuild), committed only if nobody changed
   * the ruleset since it was listed (else listed and compared again).
   * The bridge sysctls of the networks in `leave` are not set (their bridge name reaches another's link).
   */
  async repair(st: HostState, leave?: ReadonlySet<string>): Promise<void> {
    await applySysctls(this.hostRef, st, leave);
    await this.commitListed((tx, listing) => compareTable(st, listing).repair(tx));
  }

  /** Lists the table, queues changes based on it, and commits them if the ruleset did not change meanwhile. */
  private async commitListed(queue: (tx: Transaction, listing: Listing) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const listing = await listTable(this.host);
      const tx = this.host.nft.transaction();
      queue(tx, listing);
      if (tx.size === 0) return;
      try {
        await tx.commit({ echo: 'none', expectGeneration: listing.generation });
        return;
      } catch (e) {
        if (!(e instanceof GenerationMismatchError) || attempt >= ATTEMPTS) throw e;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt));
      }
    }
  }

  private writePublication(tx: Transaction, p: PublicationRecord): void {
    if (usesMap(p)) for (const e of mapElements(p)) tx.addElements({ ...TABLE, name: e.map }, [toSetElement(e)]);
    else for (const r of publicationRules(p)) tx.insertRule({ ...TABLE, chain: 'publish', rule: r });
  }

  /**
   * Removes a publication (and writes its successor) in one transaction. A
   * map element needs no listing; rules are found by their comment, and the
   * commit then expects the generation they were listed in (a rebuild in
   * between gives them new handles), listing again if it changed.
   */
  private async changePublication(before: PublicationRecord, after?: PublicationRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const tx = this.host.nft.transaction();
      let generation: number | undefined;
      if (usesMap(before)) for (const e of mapElements(before)) tx.deleteElements({ ...TABLE, name: e.map }, [{ key: e.key }]);
      else {
        generation = (await this.host.nft.generation.get()).id;
        const rules = await this.host.nft.rules.list({ ...TABLE, chain: 'publish' });
        for (const r of rules) if (r.comment === pubComment(before) && r.handle !== undefined) tx.deleteRule({ ...TABLE, chain: 'publish', handle: r.handle });
      }
      if (after) this.writePublication(tx, after);
      try {
        await tx.commit({ echo: 'none', expectGeneration: generation });
        return;
      } catch (e) {
        if (!(e instanceof GenerationMismatchError) || attempt >= ATTEMPTS) throw e;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt));
      }
    }
  }
}
