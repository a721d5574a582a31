'use strict';
/**
 * CPU time per container attach, for A/B runs of builds on a busy machine:
 * `node bench/attach-cpu.js [dist dir ...]` (default: this checkout's dist/).
 * For each build, in turn, a new process creates a host namespace and 40
 * sandbox namespaces (all deleted afterwards), attaches 5 sandboxes and
 * detaches them (warm-up), then attaches the 40 one after another and
 * reports process.cpuUsage() (all threads) per attach, and the wall time
 * (which the load moves much more). State on /dev/shm.
 * The builds alternate 5 times; medians and ranges are printed.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const N = 40;
const ROUNDS = 5;

/** One measurement in this process (the child side). */
async function measure(dist) {
  const fs = require('node:fs');
  const nl = require(path.resolve(dist, 'index.js'));
  const prefix = `nlbench-${process.pid}-acpu`;
  const host = `${prefix}-h`;
  const sandboxes = Array.from({ length: N }, (_, i) => `${prefix}-s${i}`);
  const dir = fs.mkdtempSync('/dev/shm/nlbench-state-');
  let nets;
  try {
    await nl.createNetns(host);
    for (const s of sandboxes) await nl.createNetns(s);
    nets = await nl.networks({ host, stateDir: dir });
    await nets.create({ name: 'b', subnet: '10.79.0.0/16' });
    for (let i = 0; i < 5; i++) await nets.attach('b', { sandbox: sandboxes[i] });
    await nets.detach('b', sandboxes.slice(0, 5));
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const s of sandboxes) await nets.attach('b', { sandbox: s });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    console.log(JSON.stringify({ cpuMsPerAttach: (c.user + c.system) / 1000 / N, wallMsPerAttach: wallMs / N }));
  } finally {
    nets?.close();
    for (const s of sandboxes) await nl.deleteNetns(s, { missingOk: true });
    await nl.deleteNetns(host, { missingOk: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  const dists = process.argv.length > 2 ? process.argv.slice(2) : [path.join(__dirname, '..', 'dist')];
  const samples = dists.map(() => []);
  const walls = dists.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    dists.forEach((dist, i) => {
      const out = JSON.parse(execFileSync(process.execPath, [__filename, '--child', dist], { encoding: 'utf8' }));
      samples[i].push(out.cpuMsPerAttach);
      walls[i].push(out.wallMsPerAttach);
    });
  }
  const range = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return `${s[s.length >> 1].toFixed(2)} ms (${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)})`;
  };
  dists.forEach((dist, i) => {
    console.log(`${dist}: CPU per attach ${range(samples[i])}, wall ${range(walls[i])}, ${ROUNDS} runs of ${N}`);
  });
}

if (process.argv[2] === '--child') {
  measure(process.argv[3]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else main();
