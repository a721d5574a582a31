'use strict';
/**
 * Warm `routes.list()` of 5,000 routes against the libmnl peer dumping the
 * same table, alternated in the same namespace, for A/B runs of builds on a
 * busy machine: `node bench/dump-ratio.js [dist dir ...]` (default: this
 * checkout's dist/). For each build, in turn, a new process in its own
 * network namespace (`unshare -n`) runs 6 rounds of 100 `list()` calls, each
 * followed by `mnl-routes dump 105` (its first 5 dropped), and reports
 * - the ratio of the medians (what the dump-routes workload reports) and of
 *   the 10th percentiles (the runs the machine's load did not hit), medians
 *   over the rounds;
 * - CPU time (process.cpuUsage, all threads) per `list()`.
 * The builds alternate 3 times. Needs the libmnl peer (bench/README.md).
 */
const { childOrMain } = require('./lib/child-main');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');
const { mnl } = require('./peers/peers');

const N = 5000;
const ROUNDS = 6;
const CALLS = 100;

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)];

async function child(dist, bin) {
  const nlkit = require(dist);
  const h = await nlkit.open();
  try {
    await h.links.add({ name: 'b0', kind: 'bridge', up: true });
    const link = (await h.links.get('b0')).index;
    await Promise.all(Array.from({ length: N }, (_, i) => h.routes.add({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link })));
    for (let i = 0; i < 20; i++) await h.routes.list();
    const ratio = [];
    const p10 = [];
    const cpu = [];
    const wall = [];
    const peer = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = [];
      for (let i = 0; i < CALLS; i++) {
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const routes = await h.routes.list();
        t.push(Number(process.hrtime.bigint() - t0) / 1e6);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
        if (routes.length < N) throw new Error(`listed ${routes.length} routes`);
      }
      const out = JSON.parse(execFileSync(bin, ['dump', String(CALLS + 5)], { encoding: 'utf8' }));
      if (out.routes < N) throw new Error(`libmnl dumped ${out.routes} routes`);
      const m = out.ms.slice(5);
      wall.push(median(t));
      peer.push(median(m));
      ratio.push(median(t) / median(m));
      p10.push(quantile(t, 0.1) / quantile(m, 0.1));
    }
    return { ms: median(wall), mnlMs: median(peer), ratio: median(ratio), p10Ratio: median(p10), cpuMs: median(cpu) };
  } finally {
    h.close();
  }
}

function main() {
  const { bin, reason } = mnl(console.log);
  if (!bin) throw new Error(`no libmnl peer: ${reason}`);
  const builds = process.argv.slice(2).map((d) => path.resolve(d));
  if (builds.length === 0) builds.push(path.join(__dirname, '..', 'dist'));
  const rows = new Map(builds.map((b) => [b, []]));
  for (let round = 0; round < 3; round++) {
    for (const b of builds) {
      const out = execFileSync('unshare', ['-n', process.execPath, __filename, '--child', b, bin], { encoding: 'utf8' });
      rows.get(b).push(JSON.parse(out));
    }
  }
  for (const [b, r] of rows) {
    const m = (k) => median(r.map((x) => x[k]));
    const range = (k) => `${Math.min(...r.map((x) => x[k])).toFixed(2)}-${Math.max(...r.map((x) => x[k])).toFixed(2)}`;
    console.log(
      `${b}: list() ${m('ms').toFixed(2)} ms vs libmnl ${m('mnlMs').toFixed(2)} ms: ${m('ratio').toFixed(2)}× (${range('ratio')}), ` +
        `p10 ${m('p10Ratio').toFixed(2)}× (${range('p10Ratio')}); ${m('cpuMs').toFixed(2)} ms CPU per list() (${range('cpuMs')})`,
    );
  }
}

childOrMain(child, main);
