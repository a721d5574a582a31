// Writes a listed ruleset back as a user would (tables, chains, sets with
// their elements, objects, rules, in that order): what a listing returns must
// be accepted by the transaction that made it.
import { expect } from 'vitest';
import type { Handle } from '../../lib';
import type { NftSet, Ruleset, Transaction } from '../../lib/nftables';
import { nftJson } from './nft';

/** Queues every object of `listed` on `tx`, in the order their references need. */
export function queueListedRuleset(tx: Transaction, listed: Ruleset): void {
  for (const table of listed.tables) tx.addTable(table);
  for (const c of listed.chains) tx.addChain(c);
  for (const s of listed.sets) tx.addSet(s as NftSet);
  for (const o of listed.objects) tx.addObject(o);
  for (const r of listed.rules) tx.addRule(r);
}

/** `nft -j list ruleset` of `netns` as text without handles (allocated anew when a ruleset is written again) and the `more` keys. */
export function rulesetWithoutHandles(netns: string, more: string[] = []): string {
  return JSON.stringify(nftJson(netns), (k, v: unknown) => (k === 'handle' || more.includes(k) ? undefined : v));
}

/** Deletes `table` (the namespace's only one: its ruleset must then be empty) and writes `listed` back in a new transaction. */
export async function writeBackAfterDelete(h: Handle, netns: string, table: { family: 'inet'; name: string }, listed: Ruleset): Promise<void> {
  const drop = h.nft.transaction();
  drop.deleteTable(table);
  await drop.commit();
  expect(nftJson(netns)).toEqual([]);
  const again = h.nft.transaction();
  queueListedRuleset(again, listed);
  await again.commit();
}
