'use strict';
/** Fresh process: build and commit N DNAT rules, table and chain in one transaction (nft-rules). */
const { commitDnatRules } = require('../lib/dnat-rules');

require('../lib/fresh-child').freshChild(async (nlkit, [ns, n]) => {
  const h = await nlkit.open({ netns: ns });
  return {
    work: () => commitDnatRules(h, nlkit.rule, Number(n), 'none'),
    close: () => h.close(),
  };
});
