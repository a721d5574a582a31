'use strict';
/**
 * CPU time per `svcs.set()` of one service's 10 endpoints (`cutFlows: false`)
 * after `apply()` of N services, for A/B runs on a busy machine:
 * `node bench/services-set-cpu.js [N ...]` (default 100 1000 3000 10000).
 * For each N a new process creates a host namespace (deleted afterwards),
 * applies N services (bench/workloads/services.js's specs; its wall and CPU
 * time are printed), then times process.cpuUsage() (all threads: the kernel's
 * work on a batch is in the sending thread) around each of 300 set() calls
 * alternating between two endpoint sets, after WARMUP (default 20) unmeasured
 * ones: the default measures a fresh process (its optimising compiler still
 * at work in the measured calls), WARMUP=1000 a daemon's steady state. It
 * prints how many calls took over 2 ms. It also prints the main thread's CPU
 * per call (/proc/thread-self/schedstat): the process's figure includes V8's
 * helper threads (compiling, parallel scavenges) and nlkit's I/O thread (the
 * kernel's commit), and the difference says which a p99 comes from. And the
 * wall time per call, with the main thread's time runnable but waiting for a
 * CPU and asleep (a blocking syscall, the I/O thread's reply); PER_CALL=<file>
 * writes the per-call figures as JSON. The state directory is on /dev/shm
 * (tmpfs); STATE_BASE=/tmp puts it on the disk's file system. With
 * PERF_OUT=<file> the set() phase is recorded by `perf record -g` (to see
 * where the kernel's time goes).
 */
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SAMPLES = 300;
// The same services and change as the bench's services workload.
const { openServicesRun } = require('./lib/services-churn');

const cpuMs = (c) => (c.user + c.system) / 1000;
const pct = (s, p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];

/** One measurement in this process (the child side). */
async function measure(dist, n) {
  const run = await openServicesRun(dist, 'svc');
  const { change } = run;
  try {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await run.apply(n);
    const applyWall = Number(process.hrtime.bigint() - t0) / 1e9;
    const applyCpu = cpuMs(process.cpuUsage(c0)) / 1000;
    const warmup = Number(process.env.WARMUP ?? 20);
    for (let i = 0; i < warmup; i++) await change();
    let perf;
    if (process.env.PERF_OUT) {
      perf = spawn('perf', ['record', '-g', '-p', String(process.pid), '-o', process.env.PERF_OUT], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 1500));
    }
    const samples = [];
    const kernel = [];
    const main = [];
    const wall = [];
    const queued = [];
    const blocked = [];
    // The main thread's schedstat: time on a CPU, time runnable but waiting for one (ns).
    const sched = () => fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ').slice(0, 2).map(Number);
    for (let i = 0; i < SAMPLES; i++) {
      const [m, q] = sched();
      const c = process.cpuUsage();
      const t = process.hrtime.bigint();
      await change();
      const w = Number(process.hrtime.bigint() - t) / 1e6;
      const d = process.cpuUsage(c);
      const [m1, q1] = sched();
      const on = (m1 - m) / 1e6;
      const waitCpu = (q1 - q) / 1e6;
      main.push(on);
      wall.push(w);
      queued.push(waitCpu);
      // Neither on a CPU nor waiting for one: asleep (a syscall that blocks, the I/O thread's reply, an idle loop turn).
      blocked.push(Math.max(0, w - on - waitCpu));
      samples.push(cpuMs(d));
      kernel.push(d.system / 1000);
    }
    if (process.env.PER_CALL) fs.writeFileSync(process.env.PER_CALL, JSON.stringify({ wall, main, queued, blocked }));
    if (perf) {
      perf.kill('SIGINT');
      await new Promise((r) => perf.on('exit', r));
    }
    samples.sort((a, b) => a - b);
    kernel.sort((a, b) => a - b);
    main.sort((a, b) => a - b);
    for (const a of [wall, queued, blocked]) a.sort((x, y) => x - y);
    console.log(
      JSON.stringify({
        n,
        p50: pct(samples, 50),
        p99: pct(samples, 99),
        over2: samples.filter((x) => x > 2).length,
        sys50: pct(kernel, 50),
        sys99: pct(kernel, 99),
        main50: pct(main, 50),
        main99: pct(main, 99),
        mainOver2: main.filter((x) => x > 2).length,
        wall50: pct(wall, 50),
        wall99: pct(wall, 99),
        wallOver2: wall.filter((x) => x > 2).length,
        queued99: pct(queued, 99),
        blocked50: pct(blocked, 50),
        blocked99: pct(blocked, 99),
        applyWall,
        applyCpu,
      }),
    );
  } finally {
    await run.close();
  }
}

function main() {
  const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [100, 1000, 3000, 10000];
  const dist = process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist');
  for (const n of sizes) {
    const r = JSON.parse(execFileSync(process.execPath, [__filename, '--child', dist, String(n)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
    console.log(
      `${n} services: set() CPU p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.over2} over 2 ms (system p50 ${r.sys50.toFixed(2)}, p99 ${r.sys99.toFixed(2)}; ${SAMPLES} calls); ` +
        `main thread p50 ${r.main50.toFixed(2)} ms, p99 ${r.main99.toFixed(2)} ms, ${r.mainOver2} over 2 ms; ` +
        `wall p50 ${r.wall50.toFixed(2)} ms, p99 ${r.wall99.toFixed(2)} ms, ${r.wallOver2} over 2 ms ` +
        `(main thread waiting for a CPU p99 ${r.queued99.toFixed(2)} ms, asleep p50 ${r.blocked50.toFixed(2)} / p99 ${r.blocked99.toFixed(2)} ms; load ${require('node:os').loadavg()[0].toFixed(1)}); ` +
        `apply() ${r.applyWall.toFixed(1)} s wall, ${r.applyCpu.toFixed(1)} s CPU`,
    );
  }
}

if (process.argv[2] === '--child') {
  measure(process.argv[3], Number(process.argv[4])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else main();
