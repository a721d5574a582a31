'use strict';
/**
 * CPU time of a short-lived handle in a namespace (what the sandbox side of
 * an attach, a CLI command or a CNI call does), for A/B runs of builds:
 * `node bench/open-request-cpu.js [dist dir ...]` (default: this checkout's dist/).
 * For each build, in turn, a new process creates a namespace (deleted
 * afterwards), warms up, then times 1,000 cycles of `open({ netns })`, three
 * requests at once (`links.set('lo', { up: true })`), `close()`, and reports
 * process.cpuUsage() per cycle (all threads: the kernel's work, the I/O
 * thread's or libuv's pool's). The builds alternate 5 times; medians and
 * ranges are printed. A build given as `DIR:short` opens with
 * `{ shortLived: true }` (its socket made by the first round's pool job);
 * ROUNDS2=1 makes each cycle two rounds (`links.get('lo')` with a set, then three
 * sets: the sandbox side of the low-level attach row).
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const N = 1000;
const WARMUP = 100;
const ROUNDS = 5;

/** One measurement in this process (the child side). */
async function measure(spec) {
  const [dist, mode] = spec.split(':');
  const nl = require(path.resolve(dist, 'index.js'));
  const opts = mode === 'short' ? { shortLived: true } : {};
  const two = process.env.ROUNDS2 === '1';
  const name = `nlbench-${process.pid}-orc`;
  await nl.createNetns(name);
  const ns = nl.openNetnsSync(name);
  try {
    const cycle = async () => {
      const h = await nl.open({ netns: ns, ...opts });
      try {
        if (two) await Promise.all([h.links.get('lo'), h.links.set('lo', { up: true })]);
        await Promise.all([h.links.set('lo', { up: true }), h.links.set('lo', { up: true }), h.links.set('lo', { up: true })]);
      } finally {
        h.close();
      }
    };
    for (let i = 0; i < WARMUP; i++) await cycle();
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await cycle();
    const c = process.cpuUsage(c0);
    console.log(JSON.stringify({ cpuUsPerCycle: (c.user + c.system) / N }));
  } finally {
    ns.close();
    await nl.deleteNetns(name, { missingOk: true });
  }
}

function main() {
  const dists = process.argv.length > 2 ? process.argv.slice(2) : [path.join(__dirname, '..', 'dist')];
  const samples = dists.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    dists.forEach((dist, i) => {
      const out = execFileSync(process.execPath, [__filename, '--child', dist], { encoding: 'utf8' });
      samples[i].push(JSON.parse(out).cpuUsPerCycle);
    });
  }
  dists.forEach((dist, i) => {
    const s = samples[i].sort((a, b) => a - b);
    console.log(
      `${dist}: CPU per open + ${process.env.ROUNDS2 === '1' ? '2 + ' : ''}3 requests + close ${s[s.length >> 1].toFixed(0)} µs (${s[0].toFixed(0)}–${s[s.length - 1].toFixed(0)}), ${ROUNDS} runs of ${N}`,
    );
  });
}

if (process.argv[2] === '--child') {
  measure(process.argv[3]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else main();
