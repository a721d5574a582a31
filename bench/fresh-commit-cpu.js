'use strict';
/**
 * The first 1,000-rule nftables commit of a new process against `nft -f` of the same ruleset, in
 * CPU time and wall time, alternating, for A/B runs of builds on a busy machine:
 * `node bench/fresh-commit-cpu.js [rounds] [dist dir ...]` (default: 9 rounds, this checkout's dist/).
 *
 * Each round runs, for each build, one new node process that loads the bundle (dist/bundle, what
 * the package exports), opens a handle and then, timed, builds and commits the nft-rules workload's
 * transaction (bench/lib/dnat-rules.js, `echo: 'none'`, as the runner's fresh variant); then one
 * `nft -f` of the same ruleset. nlkit's figures are the work only (process.cpuUsage() of all threads:
 * the kernel's commit runs on the socket's I/O thread); nft's are the whole process (`times` of a
 * shell around it: its start-up and parsing are what a user of nft pays). Wall time of nft is taken
 * from a plain `ip netns exec ... nft -f` (as the runner measures it). Everything runs in one
 * namespace made for the run and deleted after it.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { FAMILY, TABLE, CHAIN, port, backend, commitDnatRules } = require('./lib/dnat-rules');

const N = 1000;

/** The child: one fresh process, one commit. */
async function child(dist, ns) {
  const t0 = process.hrtime.bigint();
  const nlkit = require(path.resolve(dist, 'bundle', 'index.js'));
  const { rule } = nlkit; // reads an export: loads the bundle
  const h = await nlkit.open({ netns: ns });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c0 = process.cpuUsage();
  const t1 = process.hrtime.bigint();
  await commitDnatRules(h, rule, N, 'none');
  const workMs = Number(process.hrtime.bigint() - t1) / 1e6;
  const c = process.cpuUsage(c0);
  h.close();
  process.stdout.write(JSON.stringify({ loadMs, workMs, workCpuMs: (c.user + c.system) / 1000 }));
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const range = (a) => `${Math.min(...a).toFixed(1)}–${Math.max(...a).toFixed(1)}`;

function main() {
  const rounds = Number(process.argv[2] || 9);
  const dists = process.argv.length > 3 ? process.argv.slice(3) : [path.join(__dirname, '..', 'dist')];
  const ns = `nlbench-${process.pid}-fcc`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-fcc-'));
  const file = path.join(dir, 'dnat.nft');
  const header = `table ${FAMILY} ${TABLE} {\n  chain ${CHAIN} { type nat hook prerouting priority dstnat; }\n}\n`;
  const lines = Array.from({ length: N }, (_, i) => `add rule ${FAMILY} ${TABLE} ${CHAIN} tcp dport ${port(i)} dnat to ${backend(i)}:80\n`);
  fs.writeFileSync(file, header + lines.join(''));
  const drop = () => spawnSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', FAMILY, TABLE], { stdio: 'ignore' });
  const nlkit = dists.map(() => []);
  const nft = { wall: [], cpu: [] };
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    for (let r = 0; r < rounds; r++) {
      dists.forEach((dist, i) => {
        nlkit[i].push(JSON.parse(execFileSync(process.execPath, [__filename, '--child', dist, ns], { encoding: 'utf8' })));
        drop();
      });
      const t0 = process.hrtime.bigint();
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', file]);
      nft.wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
      drop();
      // bash's `times`: the children's user and system time, to the millisecond.
      const out = execFileSync('ip', ['netns', 'exec', ns, 'bash', '-c', 'nft -f "$0" && times', file], { encoding: 'utf8' });
      const [u, s] = [
        ...out
          .trim()
          .split('\n')
          .pop()
          .matchAll(/(\d+)m([\d.]+)s/g),
      ].map((m) => Number(m[1]) * 60e3 + Number(m[2]) * 1e3);
      nft.cpu.push(u + s);
      drop();
    }
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const nftWall = median(nft.wall);
  const nftCpu = median(nft.cpu);
  console.log(`load ${os.loadavg()[0].toFixed(1)}; ${rounds} rounds; medians (ranges)`);
  console.log(`nft -f: wall ${nftWall.toFixed(1)} ms (${range(nft.wall)}), CPU ${nftCpu.toFixed(1)} ms (${range(nft.cpu)})`);
  dists.forEach((dist, i) => {
    const wall = nlkit[i].map((x) => x.workMs);
    const cpu = nlkit[i].map((x) => x.workCpuMs);
    const wallRatios = wall.map((w, r) => w / nft.wall[r]);
    const cpuRatios = cpu.map((c, r) => c / nft.cpu[r]);
    console.log(
      `${dist}: first commit wall ${median(wall).toFixed(1)} ms (${range(wall)}), CPU ${median(cpu).toFixed(1)} ms (${range(cpu)}); ` +
        `same-round ratio to nft -f: wall ${median(wallRatios).toFixed(2)}×, CPU ${median(cpuRatios).toFixed(2)}×`,
    );
  });
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  main();
}
