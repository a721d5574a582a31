'use strict';
/**
 * Where the first 1,000-rule commit of a new process spends its CPU, for A/B runs of builds on a
 * busy machine: `node bench/fresh-commit-phases.js [rounds] [dist dir ...]` (default: 9 rounds, this
 * checkout's dist/). With `--warm` first: the warm commit instead (10 commits, then the CPU of 20
 * more, per commit, with `echo: 'none'` and the default echo).
 *
 * Each round runs, for each build, one new node process that loads the bundle, opens a handle and
 * builds the nft-rules workload's transaction (bench/lib/dnat-rules.js): the first 3 rules (the
 * second makes the shape's template), the other 997, and `commit({ echo: 'none' })`. Per phase:
 * CPU of all threads (process.cpuUsage(): the optimising compiler's threads and the socket's I/O
 * thread included) and of the main thread (/proc/thread-self/schedstat). Medians; one namespace
 * made for the run and deleted after it.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { FAMILY, TABLE, CHAIN, port, backend, commitDnatRules } = require('./lib/dnat-rules');

const N = 1000;
const mainMs = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function fresh(nlkit, h) {
  const marks = [];
  const mark = () => marks.push([cpuMs(), mainMs()]);
  mark();
  const tx = h.nft.transaction();
  tx.addTable({ family: FAMILY, name: TABLE });
  tx.addChain({ family: FAMILY, table: TABLE, name: CHAIN, type: 'nat', hook: 'prerouting', priority: 'dstnat' });
  const add = (i) =>
    tx.addRule({
      family: FAMILY,
      table: TABLE,
      chain: CHAIN,
      rule: nlkit
        .rule()
        .tcp({ dport: port(i) })
        .dnat({ to: backend(i), port: 80 }),
    });
  for (let i = 0; i < 3; i++) add(i);
  mark();
  for (let i = 3; i < N; i++) add(i);
  mark();
  await tx.commit({ echo: 'none' });
  mark();
  const phase = (a, k) => marks[a + 1][k] - marks[a][k];
  return {
    first3Cpu: phase(0, 0),
    first3Main: phase(0, 1),
    restCpu: phase(1, 0),
    restMain: phase(1, 1),
    commitCpu: phase(2, 0),
    commitMain: phase(2, 1),
  };
}

async function warm(nlkit, h) {
  const out = {};
  const drop = async () => {
    const tx = h.nft.transaction();
    tx.deleteTable({ family: FAMILY, name: TABLE });
    await tx.commit();
  };
  for (const echo of ['none', 'auto']) {
    for (let i = 0; i < 10; i++) {
      await commitDnatRules(h, nlkit.rule, N, echo);
      await drop();
    }
    let cpu = 0;
    let main = 0;
    for (let i = 0; i < 20; i++) {
      const c0 = cpuMs();
      const m0 = mainMs();
      await commitDnatRules(h, nlkit.rule, N, echo);
      cpu += cpuMs() - c0;
      main += mainMs() - m0;
      await drop();
    }
    out[`${echo}Cpu`] = cpu / 20;
    out[`${echo}Main`] = main / 20;
  }
  return out;
}

async function child(mode, dist, ns) {
  const nlkit = require(path.resolve(dist, 'bundle', 'index.js'));
  const h = await nlkit.open({ netns: ns });
  try {
    process.stdout.write(JSON.stringify(await (mode === 'warm' ? warm : fresh)(nlkit, h)));
  } finally {
    h.close();
  }
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

function main() {
  const args = process.argv.slice(2);
  const mode = args[0] === '--warm' ? (args.shift(), 'warm') : 'fresh';
  const rounds = Number(args[0] || 9);
  const dists = args.length > 1 ? args.slice(1) : [path.join(__dirname, '..', 'dist')];
  const ns = `nlbench-${process.pid}-fcp`;
  const results = dists.map(() => []);
  const load = os.loadavg()[0];
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    for (let r = 0; r < rounds; r++)
      dists.forEach((dist, i) => {
        results[i].push(JSON.parse(execFileSync(process.execPath, [__filename, '--child', mode, dist, ns], { encoding: 'utf8' })));
        if (mode === 'fresh') execFileSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', FAMILY, TABLE]);
      });
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  console.log(`${mode}; load ${load.toFixed(1)} → ${os.loadavg()[0].toFixed(1)}; ${rounds} rounds; medians, ms`);
  dists.forEach((dist, i) => {
    const keys = Object.keys(results[i][0]);
    console.log(`${dist}: ${keys.map((k) => `${k} ${median(results[i].map((x) => x[k])).toFixed(2)}`).join(', ')}`);
  });
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  main();
}
