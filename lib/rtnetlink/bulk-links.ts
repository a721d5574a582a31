/**
 * Bulk writes of rtnetlink objects that name links (see lib/netlink/bulk.ts):
 * each link name is looked up once, however many items name it, also when
 * the lookup fails (every item naming a missing link fails with its error).
 * @module
 */
import type { BulkWriter } from '../netlink/bulk';
import { NetlinkError } from '../netlink/errors';
import type { Operation } from '../netlink/operation';
import type { NetlinkWriter } from '../netlink/writer';
import { checkRef, resolveLinkIndex } from './link-ref';
import type { LinkRef } from './link-types';

/** The link indexes (or lookup refusals) of one bulk call's names. */
export class BulkLinkIndexes {
  private readonly indexes = new Map<string, number | NetlinkError>();

  /** The index of a link named by an item (a NotFoundError fails that item, and every other item naming it). */
  *index(name: string): Operation<number> {
    const known = this.indexes.get(name);
    if (known instanceof NetlinkError) throw known;
    if (known !== undefined) return known;
    try {
      const index = yield* resolveLinkIndex(name);
      this.indexes.set(name, index);
      return index;
    } catch (e) {
      // Only the kernel's answer is kept (a missing link); anything else (closed, overrun) ends the call anyway.
      if (e instanceof NetlinkError) this.indexes.set(name, e);
      throw e;
    }
  }
}

/** How a family writes one item on one link, for {@link OneLinkBulkWriter}. */
export interface OneLinkItemWriter<I, P extends { link: LinkRef }> {
  /** Validates an item (its link too, by {@link checkRef}). */
  plan(item: I): P;
  /** Appends the item's request, on the link of that index. */
  encode(w: NetlinkWriter, plan: P, index: number): void;
  /** The item's operation, for its error. */
  describe(item: I): string;
}

/** A bulk writer for items on one link each (neighbours, addresses): link names looked up once per name. */
export class OneLinkBulkWriter<I, P extends { link: LinkRef }> implements BulkWriter<I, { plan: P; index: number }> {
  private readonly links = new BulkLinkIndexes();

  constructor(private readonly items: OneLinkItemWriter<I, P>) {}

  plan(item: I): { plan: P; index: number } {
    const plan = this.items.plan(item);
    const link = checkRef(plan.link, 'link'); // names are checked here (the single calls check them when they look them up)
    return { plan, index: typeof link === 'number' ? link : 0 };
  }

  prepare(item: { plan: P; index: number }): Operation<void> | undefined {
    return typeof item.plan.link === 'string' ? this.resolve(item, item.plan.link) : undefined;
  }

  private *resolve(item: { plan: P; index: number }, name: string): Operation<void> {
    item.index = yield* this.links.index(name);
  }

  encode(w: NetlinkWriter, item: { plan: P; index: number }): void {
    this.items.encode(w, item.plan, item.index);
  }

  describe(item: I): string {
    return this.items.describe(item);
  }
}
