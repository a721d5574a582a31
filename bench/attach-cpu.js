'use strict';
/**
 * CPU time per container attach, for A/B runs of builds on a busy machine:
 * `node bench/attach-cpu.js [--plumb] [dist dir | go ...]` (default: this checkout's dist/).
 * `go` measures the Go peer (bench/peers/go-netlink.go) in the same setup, by its
 * own getrusage around its loop, for a CPU ratio that the load moves less than wall time.
 * With --plumb, the low-level plumbing of the Go peer instead of `nets.attach()`
 * (bench/lib/attach-plumb.js: a host handle opened once, a fresh short-lived handle per
 * sandbox; a build given as `DIR:open`, or SHORT_LIVED=0 for all, opens it with a plain `open()`,
 * which a build without the option does anyway; `DIR:get` runs the row's earlier definition, the
 * sandbox in two rounds with eth0's index read back, which a build whose links.add() resolves to
 * nothing runs anyway).
 * For each build, in turn, a new process creates a host namespace and 40
 * sandbox namespaces (all deleted afterwards), attaches 5 sandboxes and
 * detaches them (warm-up), then attaches the 40 one after another and
 * reports process.cpuUsage() (all threads) per attach, and the wall time
 * (which the load moves much more). State on /dev/shm. NS_TAG=t names the
 * namespaces nlbench-t-PID-acpu-…. WARMUP=n warms up with
 * n rounds of all 40 sandboxes instead (the steady state of a long-lived runtime).
 * The builds alternate 5 times (ROUNDS=n for more); medians and ranges are
 * printed, with the event loop thread's own CPU time (/proc/thread-self/schedstat),
 * and for each build after the first the median of its per-round differences to the first
 * (paired: each round runs the builds one right after the other).
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { openBenchNetwork } = require('./lib/bench-network');

const N = 40;
const ROUNDS = Number(process.env.ROUNDS) || 5;
const CYCLES = Number(process.env.WARMUP) || 0;

/** One measurement in this process (the child side). */
async function measure(spec, mode) {
  const [dist, variant] = spec.split(':');
  const plumb = mode === 'plumb';
  const fs = require('node:fs');
  const nl = require(path.resolve(dist, 'index.js'));
  // The peers run only in nlbench-* namespaces (bench/lib/bench-network.js names them).
  const env = await openBenchNetwork(nl, 'acpu', N);
  const { host, sandboxes, nets } = env;
  let hostHandle;
  try {
    if (mode === 'go') return await measureGo(nl, host, sandboxes);
    let attachOne = (s) => nets.attach('b', { sandbox: s });
    if (plumb) {
      const { plumbSandbox } = require('./lib/attach-plumb');
      hostHandle = await nl.open({ netns: host });
      const shortLived = process.env.SHORT_LIVED !== '0' && variant !== 'open';
      const readBack = variant === 'get';
      attachOne = (s) => plumbSandbox(nl, hostHandle, s, sandboxes.indexOf(s), { bridge: 'nlk-b', gateway: '10.78.0.1', shortLived, readBack });
    }
    // Warm-up: 5 sandboxes, or WARMUP rounds of all 40 (the steady state of a long-lived runtime).
    const warm = CYCLES > 0 ? sandboxes : sandboxes.slice(0, 5);
    for (let c = 0; c < Math.max(1, CYCLES); c++) {
      for (const s of warm) await attachOne(s);
      if (plumb) for (let i = 0; i < warm.length; i++) await hostHandle.links.delete(`lv${i}`);
      else await nets.detach('b', warm);
    }
    const m0 = mainThreadNs(fs);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const s of sandboxes) await attachOne(s);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    const mainMs = (mainThreadNs(fs) - m0) / 1e6;
    console.log(JSON.stringify({ cpuMsPerAttach: (c.user + c.system) / 1000 / N, mainMsPerAttach: mainMs / N, wallMsPerAttach: wallMs / N }));
  } finally {
    hostHandle?.close();
    await env.close();
  }
}

/**
 * The Go peer (bench/peers/go-netlink.go `attach`) into the same setup: its own
 * CPU time around its loop of attaches (getrusage, all threads; process start
 * and the untimed deletes not counted), after a warm-up run of 5 sandboxes.
 */
async function measureGo(nl, host, sandboxes) {
  const { go, runPeer } = require('./peers/peers');
  const vish = go(() => undefined);
  if (!vish.bin) throw new Error(`the Go peer could not be built: ${vish.reason}`);
  const paths = sandboxes.map((s) => path.join(nl.NETNS_RUN_DIR, s));
  await runPeer(host, vish.bin, ['attach', 'nlk-b', '10.78.0.1', ...paths.slice(0, 5)]);
  const out = await runPeer(host, vish.bin, ['attach', 'nlk-b', '10.78.0.1', ...paths]);
  const wall = out.ms.reduce((a, b) => a + b, 0) / out.ms.length;
  console.log(JSON.stringify({ cpuMsPerAttach: out.cpuMs / paths.length, mainMsPerAttach: NaN, wallMsPerAttach: wall }));
}

/** CPU time of the calling thread (the event loop) in ns, from the scheduler's accounting. */
function mainThreadNs(fs) {
  return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

function main() {
  const args = process.argv.slice(2);
  const plumb = args[0] === '--plumb';
  if (plumb) args.shift();
  const dists = args.length > 0 ? args : [path.join(__dirname, '..', 'dist')];
  const own = path.join(__dirname, '..', 'dist');
  const samples = dists.map(() => []);
  const walls = dists.map(() => []);
  const mains = dists.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    dists.forEach((dist, i) => {
      const out = JSON.parse(
        execFileSync(process.execPath, [__filename, '--child', dist === 'go' ? own : dist, dist === 'go' ? 'go' : plumb ? 'plumb' : 'attach'], {
          encoding: 'utf8',
        }),
      );
      samples[i].push(out.cpuMsPerAttach);
      walls[i].push(out.wallMsPerAttach);
      mains[i].push(out.mainMsPerAttach);
    });
  }
  const range = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return `${s[s.length >> 1].toFixed(2)} ms (${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)})`;
  };
  dists.forEach((dist, i) => {
    const what = dist === 'go' ? 'Go vishvananda peer, ' : plumb ? 'low-level plumbing, ' : '';
    const loop = dist === 'go' ? '' : ` (event loop thread ${range(mains[i])})`;
    console.log(`${dist}: ${what}CPU per attach ${range(samples[i])}${loop}, wall ${range(walls[i])}, ${ROUNDS} runs of ${N}`);
  });
  // Each round ran every build once, one right after the other: the per-round differences against the first
  // build are paired (the load of that moment cancels out more than in the medians above).
  const paired = (v, i) => {
    const d = v[i].map((x, r) => x - v[0][r]);
    const s = [...d].sort((a, b) => a - b);
    return `${s[s.length >> 1] >= 0 ? '+' : ''}${s[s.length >> 1].toFixed(2)} ms (lower in ${d.filter((x) => x < 0).length}/${d.length} rounds)`;
  };
  for (let i = 1; i < dists.length; i++) {
    if (dists[i] === 'go' || dists[0] === 'go') continue;
    console.log(
      `${dists[i]} - ${dists[0]}, median of the rounds' differences: CPU ${paired(samples, i)}, event loop ${paired(mains, i)}, wall ${paired(walls, i)}`,
    );
  }
}

if (process.argv[2] === '--child') {
  measure(process.argv[3], process.argv[4]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else main();
