'use strict';
/**
 * CPU time of `h.conntrack.flush(filter)` against `conntrack -D` deleting the
 * same 10,000 entries, for A/B runs of builds on a busy machine:
 * `node bench/conntrack-cpu.js [--among] [dist dir ...]` (default: this
 * checkout's dist/). For each build, a new process in a network namespace of
 * its own (`unshare -n`, gone when it exits) creates 10,000 UDP flows to
 * port 9, flushes them with nlkit (process.cpuUsage(): all threads, kernel
 * time included), creates them again and runs `conntrack -D -p udp --dport 9`
 * under `perf stat` (task-clock), alternately, 5 times (ROUNDS=n) after a warm-up.
 * `--among`: 90,000 other entries (ports 10-18) stay in the table throughout.
 * Needs root, python3, conntrack and perf.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');

const N = 10000;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const OTHER_PORTS = [10, 11, 12, 13, 14, 15, 16, 17, 18];

/** A Python script: one datagram from each of n fresh sockets to each port. */
const flows = (n, ports) =>
  `import resource,socket\nresource.setrlimit(resource.RLIMIT_NOFILE,(${n + 100},${n + 100}))\nk=[]\nfor i in range(${n}):\n s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n for p in ${JSON.stringify(ports)}: s.sendto(b'x',('127.0.0.1',p))\n k.append(s)\n`;

/** `conntrack -D` under perf stat: [wall ms, CPU ms]. */
function conntrackDelete() {
  const r = spawnSync('perf', ['stat', '-e', 'task-clock', 'conntrack', '-D', '-p', 'udp', '--dport', '9'], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const cpu = /([\d.]+) msec task-clock/.exec(r.stderr);
  const wall = /([\d.]+) seconds time elapsed/.exec(r.stderr);
  if (!cpu || !wall) throw new Error(`perf stat conntrack -D: ${r.error ?? r.stderr}`);
  return [Number(wall[1]) * 1000, Number(cpu[1])];
}

/** One build, in this process (the child side, already in its own namespace). */
async function measure(dist, among) {
  const nl = require(path.resolve(dist, 'index.js'));
  const h = await nl.open();
  try {
    await h.links.set('lo', { up: true });
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 't' });
    tx.addChain({ family: 'inet', table: 't', name: 'out', type: 'filter', hook: 'output', priority: 'filter' });
    tx.addRule({ family: 'inet', table: 't', chain: 'out', rule: nl.rule().ct({ state: 'new' }).counter() });
    await tx.commit();
    if (among) {
      execFileSync('sysctl', ['-qw', 'net.netfilter.nf_conntrack_udp_timeout=600']);
      execFileSync('python3', ['-c', flows(N, OTHER_PORTS)]);
    }
    const filter = { protocol: 'udp', original: { dport: 9 } };
    const out = { nlkit: [], conntrack: [] };
    for (let round = 0; round <= ROUNDS; round++) {
      execFileSync('python3', ['-c', flows(N, [9])]);
      const t = performance.now();
      const c = process.cpuUsage();
      const n = await h.conntrack.flush(filter);
      const cpu = process.cpuUsage(c);
      const wall = performance.now() - t;
      if (n !== N) throw new Error(`flush deleted ${n}, expected ${N}`);
      execFileSync('python3', ['-c', flows(N, [9])]);
      const ct = conntrackDelete();
      if ((await h.conntrack.list(filter)).length !== 0) throw new Error('conntrack -D left entries');
      if (round === 0) continue; // warm-up
      out.nlkit.push([wall, (cpu.user + cpu.system) / 1000]);
      out.conntrack.push(ct);
    }
    console.log(JSON.stringify(out));
  } finally {
    h.close();
  }
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const ms = (a) => `${median(a).toFixed(1)} ms (${Math.min(...a).toFixed(1)}–${Math.max(...a).toFixed(1)})`;

function main() {
  const args = process.argv.slice(2);
  const among = args.includes('--among');
  const dists = args.filter((a) => a !== '--among');
  if (dists.length === 0) dists.push(path.join(__dirname, '..', 'dist'));
  console.log(`flush of ${N} entries${among ? ` among ${10 * N}` : ''}, ${ROUNDS} runs after a warm-up, alternating with conntrack -D`);
  for (const dist of dists) {
    const r = JSON.parse(execFileSync('unshare', ['-n', process.execPath, __filename, '--child', dist, String(among)], { encoding: 'utf8' }));
    const ratio = r.nlkit.map((x, i) => x[1] / r.conntrack[i][1]);
    console.log(`${dist}:`);
    console.log(`  nlkit flush   CPU ${ms(r.nlkit.map((x) => x[1]))}, wall ${ms(r.nlkit.map((x) => x[0]))}`);
    console.log(`  conntrack -D  CPU ${ms(r.conntrack.map((x) => x[1]))}, wall ${ms(r.conntrack.map((x) => x[0]))}`);
    console.log(`  CPU nlkit / conntrack -D, same round: ${ratio.map((x) => x.toFixed(2)).join(' ')}`);
  }
}

if (process.argv[2] === '--child') {
  measure(process.argv[3], process.argv[4] === 'true').catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else main();
