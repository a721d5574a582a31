/**
 * Reading nlkit's table back consistently: the whole table between two
 * reads of the ruleset generation, again if another process committed in
 * between (a listing takes several dumps; a commit between them would mix
 * two rulesets). Rules are read as canonical text (`describeNftRule`, with
 * the table's sets so anonymous ones print inline), which is also how the
 * rules nlkit wants are described: comparing the two compares expressions.
 * @module
 */
import type { Handle } from '../../handle';
import { NetlinkError } from '../../netlink/errors';
import type { RuleBuilder, Ruleset, SetElement, SetWithElements } from '../../nftables';
import type { Expression } from '../../nftables';
import { describe as describeRule } from '../../nftables/describe';
import { FAMILY, FIREWALL_TABLE } from './layout';

/** The table as listed (no ruleset: there is no table). */
export interface Listing {
  /** The generation when the listing began. */
  generation: number;
  ruleset?: Ruleset;
  /** No commit happened while it was read: one consistent ruleset. */
  stable: boolean;
}

const ATTEMPTS = 20;

/**
 * Lists nlkit's table under one nftables generation, reading again (after
 * a growing, jittered wait) while others commit in between. Under a steady
 * stream of commits a stable window may never come: a listing that
 * `acceptable` approves (check(): one that shows no drift, since a mixed
 * read can only invent differences) ends the wait early, and after
 * ATTEMPTS the last listing is returned as it is (marked not stable).
 */
export async function listTable(host: Handle, acceptable?: (listing: Listing) => boolean): Promise<Listing> {
  for (let attempt = 1; ; attempt++) {
    const before = (await host.nft.generation.get()).id;
    let ruleset: Ruleset | undefined;
    try {
      if (await host.nft.tables.find({ family: FAMILY, name: FIREWALL_TABLE })) ruleset = await host.nft.ruleset.get({ family: FAMILY, table: FIREWALL_TABLE });
    } catch (e) {
      // The table went away between two dumps: read again.
      if (!(e instanceof NetlinkError && e.code === 'ENOENT') || attempt >= ATTEMPTS) throw e;
      continue;
    }
    const after = (await host.nft.generation.get()).id;
    const listing: Listing = { generation: before, ruleset, stable: before === after };
    if (listing.stable || attempt >= ATTEMPTS || acceptable?.(listing)) return listing;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
  }
}

/** Rule text with the elements of each inline set in one order (the kernel lists interval sets sorted, hash sets as it likes). */
function canonical(text: string): string {
  return text.replace(/\{ ([^{}]*) \}/g, (_m, items: string) => `{ ${items.split(', ').sort().join(', ')} }`);
}

/** A listed rule as canonical text (`table`: another inet table compared the same way). */
export function listedText(r: { expressions: readonly Expression[]; comment?: string }, sets: readonly SetWithElements[], table = FIREWALL_TABLE): string {
  return canonical(describeRule({ expressions: r.expressions, family: FAMILY, table, comment: r.comment }, { sets }));
}

/** A rule nlkit wants, as the same canonical text its listing will have. */
export function desiredText(r: RuleBuilder, namedSets: readonly SetWithElements[], table = FIREWALL_TABLE): string {
  let next = 0;
  const built = r.build(FAMILY, { setId: () => ++next });
  // Anonymous sets as a listing shows them: named, in the rule's table, with their elements
  // (a numgen map's host-order keys read back as big-endian numbers).
  const names = new Map(built.anonymousSets.map((a, i) => [a.id, `__${a.set.dataType === undefined ? 'set' : 'map'}${i}`]));
  const asListed = (k: SetElement['key']) => (Buffer.isBuffer(k) && k.length === 4 ? k.readUInt32BE(0) : k);
  const sets: SetWithElements[] = [
    ...namedSets,
    ...built.anonymousSets.map((a) => ({
      ...a.set,
      table,
      name: names.get(a.id) ?? '',
      elements: a.elements.map((e) => ({ ...e, key: asListed(e.key) })),
    })),
  ];
  const expressions = built.expressions.map((e) => (e.type === 'lookup' && e.setId !== undefined ? { ...e, set: names.get(e.setId) ?? e.set } : e));
  return canonical(describeRule({ expressions, family: FAMILY, table, comment: built.comment }, { sets }));
}
