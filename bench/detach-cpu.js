'use strict';
/**
 * CPU time per container detach, for A/B runs of builds on a busy machine:
 * `node bench/detach-cpu.js [OLD/dist] [dist]` (default: this checkout's dist/).
 * For each build, in turn, a new process creates a host namespace and 41
 * sandbox namespaces (all deleted afterwards), attaches the 41 and measures
 * process.cpuUsage() (all threads; its system part too) and the event loop thread's own CPU time
 * (/proc/thread-self/schedstat) of two partial detaches (one sandbox stays
 * attached, so neither is the whole network's group delete):
 *   - one by one: `nets.detach('b', s)` for 20 sandboxes, one after another;
 *   - bulk: `nets.detach('b', ids)` of the other 20 in one call.
 *   - whole network: `nets.detach('b', all)` of the 41 (attached again) in one call: the
 *     interface group's path (bench/workloads/attach.js times its wall as the teardown of 50).
 * The builds alternate 5 times (ROUNDS=n for more); medians and ranges are
 * printed. NS_TAG=t names the namespaces nlbench-t-PID-dcpu-…. State on /dev/shm.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { openBenchNetwork } = require('./lib/bench-network');

const HALF = 20;
const ROUNDS = Number(process.env.ROUNDS) || 5;

async function measure(dist) {
  const fs = require('node:fs');
  const nl = require(path.resolve(dist, 'index.js'));
  const env = await openBenchNetwork(nl, 'dcpu', 2 * HALF + 1);
  const { sandboxes, nets } = env;
  try {
    // Warm-up: a partial detach of each kind once.
    for (const s of sandboxes.slice(0, 3)) await nets.attach('b', { sandbox: s });
    await nets.detach('b', sandboxes[0]);
    await nets.detach('b', sandboxes.slice(1, 3));
    for (const s of sandboxes) await nets.attach('b', { sandbox: s });
    const timed = async (fn, n) => {
      const m0 = mainThreadNs(fs);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await fn();
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      const c = process.cpuUsage(c0);
      return { cpu: (c.user + c.system) / 1000 / n, sys: c.system / 1000 / n, main: (mainThreadNs(fs) - m0) / 1e6 / n, wall: wall / n };
    };
    const one = await timed(async () => {
      for (const s of sandboxes.slice(0, HALF)) await nets.detach('b', s);
    }, HALF);
    const bulk = await timed(() => nets.detach('b', sandboxes.slice(HALF, 2 * HALF)), HALF);
    const left = (await nets.get('b')).attachments.length;
    if (left !== 1) throw new Error(`expected 1 attachment left, found ${left}`);
    // The whole network: every sandbox in one call (the interface group's path), after attaching the 40 again.
    for (const s of sandboxes.slice(0, 2 * HALF)) await nets.attach('b', { sandbox: s });
    const whole = await timed(() => nets.detach('b', sandboxes), 2 * HALF + 1);
    if ((await nets.get('b')).attachments.length !== 0) throw new Error('expected no attachment left');
    console.log(JSON.stringify({ one, bulk, whole }));
  } finally {
    await env.close();
  }
}

/** CPU time of the calling thread (the event loop) in ns, from the scheduler's accounting. */
function mainThreadNs(fs) {
  return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

function main() {
  const args = process.argv.slice(2);
  const dists = args.length > 0 ? args : [path.join(__dirname, '..', 'dist')];
  const runs = dists.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    dists.forEach((dist, i) => {
      runs[i].push(JSON.parse(execFileSync(process.execPath, [__filename, '--child', dist], { encoding: 'utf8' })));
    });
  }
  const range = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return `${s[s.length >> 1].toFixed(2)} ms (${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)})`;
  };
  dists.forEach((dist, i) => {
    for (const kind of ['one', 'bulk', 'whole']) {
      const r = runs[i].map((x) => x[kind]).filter(Boolean);
      if (r.length === 0) continue;
      const what =
        kind === 'one' ? 'partial detach one by one, 20 calls' : kind === 'bulk' ? 'partial detach, one call of 20' : 'whole-network detach, one call of 41';
      console.log(
        `${dist}: ${what}: CPU per sandbox ${range(r.map((x) => x.cpu))} (system ${range(r.map((x) => x.sys))}; event loop thread ${range(r.map((x) => x.main))}), wall ${range(r.map((x) => x.wall))}, ${ROUNDS} runs`,
      );
    }
  });
}

if (process.argv[2] === '--child') {
  measure(process.argv[3]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else main();
