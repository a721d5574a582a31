'use strict';
/**
 * nftables at scale (optional: `--only nft-scale`, `--quick` for a tenth):
 * 100,000 rules in 10 chains committed in one transaction vs `nft -f`
 * (plus the Buffer memory the transaction holds), listed back whole-table
 * vs chain by chain vs `nft -j list table`; a 1,000,000-element set listed
 * vs `nft -j list set`. Every `nft` runs inside the bench namespace.
 */
const FAMILY = 'ip';
const TABLE = 'scale';
const CHAINS = 10;
const MB = 2 ** 20;

const port = (i) => 1024 + (i % 60000);
const addr = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const chainName = (c) => `c${c}`;
const count = (n) => n.toLocaleString('en-US');

module.exports = {
  name: 'nft-scale',
  order: 42,
  optional: true,
  description:
    'nftables at scale: 100,000 rules committed (vs `nft -f`) and listed (vs `nft -j list table`); a 1,000,000-element set listed (vs `nft -j list set`)',

  async run(ctx) {
    const { nlkit } = ctx;
    const { rule } = nlkit;
    const nRules = ctx.quick ? 10_000 : 100_000;
    const nElements = ctx.quick ? 100_000 : 1_000_000;
    const runs = ctx.quick ? 3 : 5;
    const ns = await ctx.netns('nftscale');
    const h = await nlkit.open({ netns: ns });
    const nft = (args) => ctx.spawnQuiet(ns, 'nft', args);
    const COMMIT = `commit ${count(nRules)} rules (one transaction)`;
    const LIST = `list ${count(nRules)} rules of one table`;
    const SET = `list a ${count(nElements)}-element set`;

    const buildTransaction = () => {
      const tx = h.nft.transaction();
      tx.addTable({ family: FAMILY, name: TABLE });
      for (let c = 0; c < CHAINS; c++) tx.addChain({ family: FAMILY, table: TABLE, name: chainName(c) });
      for (let i = 0; i < nRules; i++) {
        tx.addRule({
          family: FAMILY,
          table: TABLE,
          chain: chainName(i % CHAINS),
          rule: rule()
            .ip({ saddr: addr(i) })
            .tcp({ dport: port(i) })
            .counter()
            .accept(),
        });
      }
      return tx;
    };
    const dropTable = async () => {
      const tx = h.nft.transaction();
      tx.deleteTable({ family: FAMILY, name: TABLE });
      await tx.commit({ echo: 'none' }).catch(() => undefined);
    };
    const lines = [`table ${FAMILY} ${TABLE} {\n`];
    for (let c = 0; c < CHAINS; c++) lines.push(`  chain ${chainName(c)} {\n  }\n`);
    lines.push('}\n');
    for (let i = 0; i < nRules; i++)
      lines.push(`add rule ${FAMILY} ${TABLE} ${chainName(i % CHAINS)} ip saddr ${addr(i)} tcp dport ${port(i)} counter accept\n`);
    const rulesFile = ctx.tmpFile('rules.nft', lines.join(''));

    try {
      await dropTable();
      await ctx.measure({
        group: COMMIT,
        variant: 'nlkit, build + commit (handles echoed)',
        kind: 'time',
        runs,
        note: 'includes building the rules with `rule()`',
        run: () => buildTransaction().commit(),
        teardown: dropTable,
      });
      await ctx.measure({
        group: COMMIT,
        variant: "nlkit, build + commit (`echo: 'none'`)",
        kind: 'time',
        runs,
        run: () => buildTransaction().commit({ echo: 'none' }),
        teardown: dropTable,
      });
      await ctx.measure({
        group: COMMIT,
        variant: '`nft -f` (same rules)',
        impl: 'alternative',
        kind: 'time',
        runs,
        run: () => nft(['-f', rulesFile]),
        teardown: dropTable,
      });
      // Buffers the built transaction holds (external memory after a GC), against the batch it encodes to.
      ctx.gc();
      const before = ctx.memory();
      let tx = buildTransaction();
      ctx.gc();
      const held = ctx.memory();
      const batch = tx.encode({ echo: 'none' }).length;
      tx = undefined;
      ctx.record({
        group: COMMIT,
        variant: 'nlkit, Buffers held by the built transaction',
        unit: 'MB',
        note: `the encoded batch is ${(batch / MB).toFixed(1)} MB; heap grew by ${((held.heapUsed - before.heapUsed) / MB).toFixed(0)} MB`,
        median: (held.external - before.external) / MB,
      });

      await nft(['-f', rulesFile]);
      const listed = await h.nft.rules.list({ family: FAMILY, table: TABLE });
      if (listed.length !== nRules) throw new Error(`listed ${listed.length} rules, expected ${nRules}`);
      const listChains = { group: LIST, kind: 'time', runs };
      await ctx.measure({ ...listChains, variant: 'nlkit, `h.nft.rules.list({ table })`', run: () => h.nft.rules.list({ family: FAMILY, table: TABLE }) });
      await ctx.measure({
        ...listChains,
        variant: 'nlkit, chain by chain',
        run: async () => {
          for (let c = 0; c < CHAINS; c++) await h.nft.rules.list({ family: FAMILY, table: TABLE, chain: chainName(c) });
        },
      });
      await ctx.measure({ ...listChains, variant: '`nft -j list table`', impl: 'alternative', run: () => nft(['-j', 'list', 'table', FAMILY, TABLE]) });
      await dropTable();

      const elements = [`table ${FAMILY} ${TABLE} {\n  set s {\n    type ipv4_addr\n    size ${nElements * 2}\n  }\n}\n`];
      for (let i = 0; i < nElements; i += 10_000) {
        const part = [];
        for (let j = i; j < Math.min(nElements, i + 10_000); j++) part.push(addr(j + (1 << 24)));
        elements.push(`add element ${FAMILY} ${TABLE} s { ${part.join(', ')} }\n`);
      }
      await nft(['-f', ctx.tmpFile('set.nft', elements.join(''))]);
      const ref = { family: FAMILY, table: TABLE, name: 's' };
      const got = await h.nft.elements.list(ref);
      if (got.length !== nElements) throw new Error(`listed ${got.length} elements, expected ${nElements}`);
      await ctx.measure({ group: SET, variant: 'nlkit, `h.nft.elements.list()`', kind: 'time', runs, run: () => h.nft.elements.list(ref) });
      await ctx.measure({
        group: SET,
        variant: '`nft -j list set`',
        impl: 'alternative',
        kind: 'time',
        runs,
        run: () => nft(['-j', 'list', 'set', FAMILY, TABLE, 's']),
      });
      await dropTable();
    } finally {
      h.close();
    }
  },

  targets: [
    { text: 'commit at least as fast as `nft -f`', evaluate: (r, all) => notSlower(all, 'nlkit, build + commit (handles echoed)', '`nft -f` (same rules)') },
    {
      text: 'list a table at least as fast as `nft -j list table`',
      evaluate: (r, all) => notSlower(all, 'nlkit, `h.nft.rules.list({ table })`', '`nft -j list table`'),
    },
    { text: 'list a set at least as fast as `nft -j list set`', evaluate: (r, all) => notSlower(all, 'nlkit, `h.nft.elements.list()`', '`nft -j list set`') },
  ],
};

function notSlower(all, ours, theirs) {
  const a = all.find((x) => x.variant === ours);
  const b = all.find((x) => x.variant === theirs);
  if (!a || !b) return { met: false, value: 'not measured' };
  return { met: a.median <= b.median, value: `${a.median.toFixed(0)} ms vs ${b.median.toFixed(0)} ms (${(a.median / b.median).toFixed(2)}×)` };
}
