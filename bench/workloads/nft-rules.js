'use strict';
/**
 * nftables rules: 1,000 DNAT rules (`tcp dport P dnat to A:80`) committed in
 * one transaction by nlkit vs `nft -f` of the same ruleset vs one `nft`
 * process per rule; then listing them back with decoded expressions vs
 * `nft -j list ruleset`. Every `nft` runs inside the bench namespace
 * (`ip netns exec`).
 */
const { summarize } = require('../lib/stats');
const { FAMILY, TABLE, CHAIN, port, backend, commitDnatRules } = require('../lib/dnat-rules');

const COMMIT = 'commit 1,000 DNAT rules (one transaction, table and chain included)';
const LIST = 'list 1,000 DNAT rules back';

module.exports = {
  name: 'nft-rules',
  order: 40,
  description: 'nftables: 1,000 DNAT rules in one transaction vs `nft -f` and `nft` per rule; listing them back vs `nft -j list ruleset`',

  async run(ctx) {
    const { nlkit } = ctx;
    const { rule } = nlkit;
    const n = 1000;
    const sample = ctx.quick ? 20 : 50;
    const ns = await ctx.netns('nftrules');
    const h = await nlkit.open({ netns: ns });

    const commitAll = (echo) => commitDnatRules(h, rule, n, echo);
    const dropTable = async () => {
      const tx = h.nft.transaction();
      tx.deleteTable({ family: FAMILY, name: TABLE });
      await tx.commit({ echo: 'none' }).catch(() => undefined);
    };
    const header = `table ${FAMILY} ${TABLE} {\n  chain ${CHAIN} { type nat hook prerouting priority dstnat; }\n}\n`;
    const ruleLine = (i) => `add rule ${FAMILY} ${TABLE} ${CHAIN} tcp dport ${port(i)} dnat to ${backend(i)}:80\n`;
    const file = ctx.tmpFile('dnat.nft', header + Array.from({ length: n }, (_, i) => ruleLine(i)).join(''));
    const headerFile = ctx.tmpFile('dnat-header.nft', header);
    const nft = (args) => ctx.spawnQuiet(ns, 'nft', args);
    // Runs are short: more of them, and enough warm-up for the JIT (a daemon commits many times).
    const many = { runs: ctx.quick ? 5 : 20, warmup: ctx.quick ? 3 : 10 };

    try {
      await dropTable();
      await ctx.measure({
        group: COMMIT,
        variant: 'nlkit, one transaction (handles echoed)',
        kind: 'time',
        unit: 'ms',
        ...many,
        note: 'includes building the 1,000 rules with `rule()`',
        run: () => commitAll(),
        teardown: dropTable,
      });
      await ctx.measure({
        group: COMMIT,
        variant: "nlkit, one transaction (`echo: 'none'`)",
        kind: 'time',
        unit: 'ms',
        ...many,
        run: () => commitAll('none'),
        teardown: dropTable,
      });
      await ctx.measure({
        group: COMMIT,
        variant: '`nft -f` (same ruleset, one process)',
        impl: 'alternative',
        kind: 'time',
        unit: 'ms',
        ...many,
        run: () => nft(['-f', file]),
        teardown: dropTable,
      });
      // The same commit as the first thing a new process does (a CLI, a CNI plugin).
      await ctx.fresh({
        group: COMMIT,
        variant: "nlkit, one transaction (`echo: 'none'`)",
        kind: 'time',
        unit: 'ms',
        script: 'nft-rules.js',
        args: [ns, n],
        teardown: dropTable,
      });

      // One process per rule: a sample of rules, scaled to 1,000.
      const runs = ctx.quick ? 1 : 3;
      const samples = [];
      for (let r = 0; r < runs + 1; r++) {
        await nft(['-f', headerFile]);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < sample; i++) {
          await nft(['add', 'rule', FAMILY, TABLE, CHAIN, 'tcp', 'dport', String(port(i)), 'dnat', 'to', `${backend(i)}:80`]);
        }
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        await dropTable();
        if (r > 0) samples.push((ms * n) / sample);
      }
      ctx.record({
        group: COMMIT,
        variant: '`nft add rule` spawned per rule',
        impl: 'alternative',
        kind: 'time',
        unit: 'ms',
        runs,
        warmup: 1,
        note: `measured on ${sample} rules (${sample} processes, one awaited at a time) and scaled to 1,000`,
        ...summarize(samples),
      });

      // Listing back.
      await commitAll('none');
      const listed = await h.nft.rules.list({ family: FAMILY, table: TABLE });
      if (listed.length !== n) throw new Error(`listed ${listed.length} rules, expected ${n}`);
      await ctx.measure({
        group: LIST,
        variant: 'nlkit, `h.nft.rules.list()` (decoded expressions)',
        kind: 'time',
        unit: 'ms',
        ...many,
        run: () => h.nft.rules.list({ family: FAMILY, table: TABLE }),
      });
      await ctx.measure({
        group: LIST,
        variant: 'nlkit, `h.nft.ruleset.get()` (everything)',
        kind: 'time',
        unit: 'ms',
        ...many,
        run: () => h.nft.ruleset.get(),
      });
      await ctx.measure({
        group: LIST,
        variant: '`nft -j list ruleset`',
        impl: 'alternative',
        kind: 'time',
        unit: 'ms',
        ...many,
        run: () => nft(['-j', 'list', 'ruleset']),
      });
      await ctx.measure({
        group: LIST,
        variant: '`nft list ruleset` (text)',
        impl: 'alternative',
        kind: 'time',
        unit: 'ms',
        ...many,
        run: () => nft(['list', 'ruleset']),
      });
      await dropTable();
    } finally {
      h.close();
    }
  },

  targets: [
    {
      text: '1,000 DNAT rules committed ≤ 15 ms',
      evaluate: (r) => atMost(r('nlkit, one transaction (handles echoed)'), 15),
      limit: 'see the notes below',
    },
    {
      text: 'fresh process: 1,000-rule commit ≤ 1.0× `nft -f`',
      evaluate: (r) => timeRatio(r("nlkit, one transaction (`echo: 'none'`)", 'fresh'), r('`nft -f` (same ruleset, one process)'), 1),
    },
    {
      text: '1,000 DNAT rules listed back (decoded) ≤ 10 ms',
      evaluate: (r) => atMost(r('nlkit, `h.nft.rules.list()` (decoded expressions)'), 10),
      limit: 'see the notes below',
    },
  ],
};

/** nlkit's time as a multiple of the alternative's (≤ max is met). */
function timeRatio(result, alternative, max) {
  if (!result || !alternative) return { met: false, value: 'not measured' };
  const x = result.median / alternative.median;
  return { met: x <= max, value: `${x.toFixed(2)}× (${result.median.toFixed(1)} vs ${alternative.median.toFixed(1)} ms)` };
}

function atMost(result, max) {
  if (!result) return { met: false, value: 'not measured' };
  return { met: result.median <= max, value: `${result.median.toFixed(2)} ms` };
}
