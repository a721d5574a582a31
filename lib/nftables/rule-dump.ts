/**
 * Listing rules chain by chain. The kernel resumes a rule dump by walking
 * the table's rules from the first one up to where the last part stopped,
 * so one dump of a whole table costs (parts × rules) — quadratic: 100,000
 * rules in one table took 10–40 s, against 1–2 s dumped one chain at a time.
 * @module
 */
import type { Operation } from '../netlink/operation';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { dumpCommand } from './dump';
import type { NftFamily } from './message';
import { decodeRule, type Rule } from './rule';

/** The rules of one chain, in order (none if the chain does not exist). */
export function* dumpChainRules(family: NftFamily | undefined, table: string, chain: string): Operation<Rule[]> {
  const msgs = yield* dumpCommand(C.NFT_MSG_GETRULE, family, 'rules', (w) => {
    // The kernel filters rule dumps by table and chain itself.
    w.string(C.NFTA_RULE_TABLE, validateNftName(table, 'table'));
    w.string(C.NFTA_RULE_CHAIN, validateNftName(chain, 'chain'));
  });
  return msgs.map(decodeRule);
}

/**
 * The rules of several chains, one dump each, in the order given. Each
 * chain's rules converge on their own (see dumpCommand); a chain deleted
 * meanwhile lists as empty.
 */
export function* dumpRulesOfChains(chains: ReadonlyArray<{ family: NftFamily; table: string; name: string }>): Operation<Rule[]> {
  const rules: Rule[] = [];
  for (const c of chains) for (const r of yield* dumpChainRules(c.family, c.table, c.name)) rules.push(r);
  return rules;
}
