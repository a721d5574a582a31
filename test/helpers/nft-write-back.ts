// Writes a listed ruleset back as a user would (tables, chains, sets with
// their elements, objects, rules, in that order): what a listing returns must
// be accepted by the transaction that made it.
import type { NftSet, Ruleset, Transaction } from '../../lib/nftables';

/** Queues every object of `listed` on `tx`, in the order their references need. */
export function queueListedRuleset(tx: Transaction, listed: Ruleset): void {
  for (const table of listed.tables) tx.addTable(table);
  for (const c of listed.chains) tx.addChain(c);
  for (const s of listed.sets) tx.addSet(s as NftSet);
  for (const o of listed.objects) tx.addObject(o);
  for (const r of listed.rules) tx.addRule(r);
}
