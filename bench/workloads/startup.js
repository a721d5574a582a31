'use strict';
/**
 * Start-up: what a new process pays before and for its first call, as a CLI,
 * a CNI plugin or a script meets it. Every sample is one new process, timed
 * from spawn to exit; the variants take turns (one process of each per round)
 * so that a change in the machine's load hits them alike.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { timeNodeProcess, timeProcess } = require('../lib/fresh');
const { summarize } = require('../lib/stats');

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'nlkit.js');
const GROUP = 'start a new process, do one thing, exit (wall time per process)';
const CPU = 'the same, CPU time of the node processes (user + system; less distorted by a busy machine)';
const ADDED = 'added to bare `node -e 0` (medians of the same run, wall and CPU time)';
const BARE = 'bare `node -e 0`';
const REQUIRE = '`node -e "require(\'nlkit\')"`';
const HELP = '`nlkit --help`';
const NET_LS = '`nlkit net ls` (no networks)';
const OPEN = 'load nlkit, open a handle in a namespace, get `lo`, exit';

module.exports = {
  name: 'startup',
  order: 5,
  description: "start-up: `require('nlkit')`, `nlkit --help`, `nlkit net ls` and a first call vs bare node, `ip link show` and `nft list ruleset`",

  async run(ctx) {
    const ns = await ctx.netns('startup');
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-state-'));
    const variants = [
      // node processes report their CPU time too (lib/cpu-at-exit.js, preloaded into each of them)
      { variant: BARE, impl: 'baseline', node: ['-e', '0'] },
      { variant: REQUIRE, node: ['-e', "require('nlkit')"] },
      { variant: HELP, node: [BIN, '--help'] },
      { variant: NET_LS, node: [BIN, 'net', 'ls', '--host', ns, '--state-dir', stateDir] },
      { variant: OPEN, node: [path.join(__dirname, '..', 'fresh', 'startup.js'), ns] },
      { variant: '`ip -n NS link show`', impl: 'alternative', run: () => timeProcess('ip', ['-n', ns, 'link', 'show']) },
      {
        variant: '`ip netns exec NS nft list ruleset`',
        impl: 'alternative',
        note: 'includes `ip netns exec` (nft has no option to pick a namespace)',
        run: () => timeProcess('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset']),
      },
    ];
    const runs = ctx.quick ? 5 : 21;
    const warmup = 2; // the page cache and Node's own files, not the JIT: every process is new
    const samples = variants.map(() => []);
    const cpuSamples = variants.map(() => []);
    try {
      for (let round = 0; round < warmup + runs; round++) {
        for (let v = 0; v < variants.length; v++) {
          const { node, run } = variants[v];
          const { wallMs, cpuMs } = node ? await timeNodeProcess(node) : { wallMs: await run() };
          if (round < warmup) continue;
          samples[v].push(wallMs);
          if (cpuMs !== undefined) cpuSamples[v].push(cpuMs);
        }
      }
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
    const results = variants.map((v, i) =>
      ctx.record({
        group: GROUP,
        variant: v.variant,
        impl: v.impl ?? 'nlkit',
        mode: 'process',
        kind: 'time',
        unit: 'ms',
        runs,
        warmup,
        note: v.note,
        ...summarize(samples[i]),
      }),
    );
    const cpu = variants.flatMap((v, i) =>
      cpuSamples[i].length
        ? [
            ctx.record({
              group: CPU,
              variant: v.variant,
              impl: v.impl ?? 'nlkit',
              mode: 'process',
              kind: 'value',
              unit: 'ms',
              runs,
              ...summarize(cpuSamples[i]),
            }),
          ]
        : [],
    );
    for (const [list, label] of [
      [results, 'wall'],
      [cpu, 'CPU'],
    ])
      for (const r of list.slice(1, 5))
        ctx.record({ group: ADDED, variant: `${r.variant}, ${label}`, mode: 'process', kind: 'value', unit: 'ms', median: r.median - list[0].median });
  },

  targets: [
    { text: "`require('nlkit')` adds ≤ 15 ms to bare node (wall)", evaluate: (r) => added(r, REQUIRE, 15) },
    { text: '`nlkit --help` ≤ bare node + 30 ms (wall)', evaluate: (r) => added(r, HELP, 30) },
    { text: '`nlkit net ls` ≤ bare node + 30 ms (wall)', evaluate: (r) => added(r, NET_LS, 30) },
  ],
};

function added(r, variant, max) {
  const result = r(variant);
  const bare = r(BARE);
  if (!result || !bare) return { met: false, value: 'not measured' };
  const x = result.median - bare.median;
  return { met: x <= max, value: `+${x.toFixed(1)} ms (${result.median.toFixed(1)} vs ${bare.median.toFixed(1)} ms)` };
}
