'use strict';
/**
 * The nft-rules ruleset for a fresh process (bench/fresh/nft-rules.js): table
 * `ip bench`, a nat prerouting chain and N rules `tcp dport P dnat to A:80`,
 * built and committed in one transaction; shared by workloads/nft-rules.js (warm) and
 * bench/fresh/nft-rules.js (a fresh process).
 */
const FAMILY = 'ip';
const TABLE = 'bench';
const CHAIN = 'prerouting';

const port = (i) => 10000 + i;
const backend = (i) => `10.88.${(i >> 8) & 255}.${i & 255 || 1}`;

function commitDnatRules(h, rule, n, echo) {
  const tx = h.nft.transaction();
  tx.addTable({ family: FAMILY, name: TABLE });
  tx.addChain({ family: FAMILY, table: TABLE, name: CHAIN, type: 'nat', hook: 'prerouting', priority: 'dstnat' });
  // Object literals, as in the guide: on Node 20, `{ ...T, chain, rule }` gives every object
  // a map of its own (~1 µs each, and megamorphic property reads in the library after it).
  for (let i = 0; i < n; i++) {
    tx.addRule({
      family: FAMILY,
      table: TABLE,
      chain: CHAIN,
      rule: rule()
        .tcp({ dport: port(i) })
        .dnat({ to: backend(i), port: 80 }),
    });
  }
  return tx.commit(echo ? { echo } : undefined);
}

module.exports = { FAMILY, TABLE, CHAIN, port, backend, commitDnatRules };
