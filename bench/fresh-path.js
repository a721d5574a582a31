'use strict';
/**
 * The fresh path, standalone (until the runner's fresh-process mode):
 * `node bench/fresh-path.js [--cpu-prof]` starts one new Node process per
 * work (route churn: 5,000 concurrent adds then deletes; dump of 5,000 routes;
 * commit of 1,000 DNAT rules) which does it 6 times and reports the first
 * run against the warm ones (median of runs 3-6) in CPU time of the whole
 * process (all threads: V8's background compilers and GC helpers too) and
 * wall time. CPU time is what other load on a shared machine does not change.
 * With --cpu-prof each child writes a V8 CPU profile into bench/results/profiles.
 */
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');

const RUNS = Number(process.env.FRESH_RUNS || 6); // FRESH_RUNS=1: profile the first run alone
const WORKS = ['churn', 'dump', 'commit'];

async function child(work) {
  const nlkit = require(process.env.NLKIT_DIR || '..');
  const ns = `nlbench-${process.pid}-fresh`;
  await nlkit.createNetns(ns);
  const h = await nlkit.open({ netns: ns });
  try {
    await h.links.add({ name: 'd0', kind: 'bridge', up: true });
    const index = (await h.links.get('d0')).index;
    const routes = Array.from({ length: 5000 }, (_, i) => ({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link: index }));
    const works = {
      churn: async () => {
        await Promise.all(routes.map((r) => h.routes.add(r)));
        await Promise.all(routes.map((r) => h.routes.delete(r)));
      },
      dump: () => h.routes.list(),
      commit: async () => {
        const tx = h.nft.transaction();
        tx.addTable({ family: 'ip', name: 'bench' });
        tx.addChain({ family: 'ip', table: 'bench', name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
        for (let i = 0; i < 1000; i++) {
          const to = `10.88.${(i >> 8) & 255}.${i & 255 || 1}`;
          tx.addRule({
            family: 'ip',
            table: 'bench',
            chain: 'pre',
            rule: nlkit
              .rule()
              .tcp({ dport: 10000 + i })
              .dnat({ to, port: 80 }),
          });
        }
        await tx.commit();
        const del = h.nft.transaction();
        del.deleteTable({ family: 'ip', name: 'bench' });
        await del.commit({ echo: 'none' });
      },
    };
    if (work === 'dump') await Promise.all(routes.map((r) => h.routes.add(r)));
    const out = [];
    for (let i = 0; i < RUNS; i++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await works[work]();
      const c = process.cpuUsage(c0);
      out.push({ cpu: (c.user + c.system) / 1e3, wall: Number(process.hrtime.bigint() - t0) / 1e6 });
    }
    process.stdout.write(JSON.stringify(out));
  } finally {
    h.close();
    await nlkit.deleteNetns(ns);
  }
}

function main() {
  const prof = process.argv.includes('--cpu-prof');
  const dir = path.join(__dirname, 'results', 'profiles');
  for (const work of WORKS) {
    const flags = prof ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `fresh-${work}.cpuprofile`] : [];
    const runs = JSON.parse(execFileSync(process.execPath, [...flags, __filename, '--child', work], { encoding: 'utf8' }));
    const warm = runs.slice(2);
    const f = (x) => x.toFixed(1);
    const cpuWarm = median(warm.map((r) => r.cpu));
    const wallWarm = median(warm.map((r) => r.wall));
    console.log(
      `${work.padEnd(6)} first: ${f(runs[0].cpu)} ms CPU, ${f(runs[0].wall)} ms wall; warm: ${f(cpuWarm)} ms CPU, ${f(wallWarm)} ms wall; ` +
        `first/warm ${(runs[0].cpu / cpuWarm).toFixed(1)}× CPU`,
    );
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  main();
}
