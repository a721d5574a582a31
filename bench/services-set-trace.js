'use strict';
/**
 * What each slow `svcs.set()` is: `node bench/services-set-trace.js [N]`
 * (default 1000 services) runs a child node with `--trace-gc --trace-opt
 * --trace-deopt` that applies N services in a namespace it creates (and
 * deletes), makes WARMUP (default 1000) unmeasured set() calls of one
 * service's 10 endpoints (`cutFlows: false`, as services-set-cpu.js), then
 * CALLS (default 1000) timed ones, writing a marker line before and after
 * each call on stdout, where V8 writes its trace lines too (same stream, in
 * order). Each call over SLOW ms (default 2) is then put down to what its
 * window holds, first match wins:
 * - `gc`: a scavenge or mark-compact ran during the call;
 * - `deopt`: optimised code was thrown away during the call;
 * - `compile`: a TurboFan/Maglev job was started, finished or running in the
 *   background during the call (its background time is on another thread,
 *   which on 2 cores takes a core from the I/O thread or the main thread);
 * - `queued`: the main thread waited for a CPU ≥ half the call (load);
 * - `asleep`: the main thread slept ≥ half the call (the I/O thread's reply,
 *   the kernel's commit, a blocking syscall);
 * - `cpu`: none of these: the main thread's own work.
 * It prints the percentiles of the timed calls (wall, main thread's CPU,
 * process CPU), the count per cause and, with LIST=1, each slow call with its
 * trace lines. NLKIT_DIST picks the build (default dist/); KEEP=<file>
 * keeps the child's raw output; V8_FLAGS="--flag ..." adds V8 flags to the
 * child (e.g. `--trace-gc-nvp`).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pct = (s, p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];

async function child(dist, n) {
  const { openServicesRun } = require('./lib/services-churn');
  const run = await openServicesRun(dist, 'trace');
  const out = (s) => fs.writeSync(1, s + '\n');
  // The main thread's schedstat: time on a CPU, time runnable but waiting for one (ns).
  const sched = () => fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ').slice(0, 2).map(Number);
  try {
    await run.apply(n);
    const warmup = Number(process.env.WARMUP ?? 1000);
    const calls = Number(process.env.CALLS ?? 1000);
    for (let i = 0; i < warmup; i++) await run.change();
    out('@@START');
    for (let i = 0; i < calls; i++) {
      out(`@@B ${i}`);
      const [m, q] = sched();
      const c = process.cpuUsage();
      const t = process.hrtime.bigint();
      await run.change();
      const wall = Number(process.hrtime.bigint() - t) / 1e6;
      const d = process.cpuUsage(c);
      const [m1, q1] = sched();
      out(`@@E ${i} ${wall} ${(m1 - m) / 1e6} ${(q1 - q) / 1e6} ${(d.user + d.system) / 1000} ${d.system / 1000}`);
    }
    out('@@END');
  } finally {
    await run.close();
  }
}

/** Reads the child's output into calls with the trace lines of their windows. */
function parse(text) {
  const lines = text.split('\n');
  const calls = [];
  let cur;
  let started = false;
  const running = new Map(); // compile jobs in flight: sfi address → line
  for (const line of lines) {
    if (line === '@@START') started = true;
    if (!started) {
      trackCompile(running, line);
      continue;
    }
    if (line.startsWith('@@B ')) {
      cur = { index: Number(line.slice(4)), lines: [], compileInFlight: running.size > 0 };
      continue;
    }
    if (line.startsWith('@@E ')) {
      const [, , wall, main, queued, cpu, sys] = line.split(' ');
      Object.assign(cur, { wall: +wall, main: +main, queued: +queued, cpu: +cpu, sys: +sys });
      cur.compileInFlight ||= running.size > 0;
      calls.push(cur);
      cur = undefined;
      continue;
    }
    trackCompile(running, line);
    if (cur && line.trim()) cur.lines.push(line);
  }
  return calls;
}

function trackCompile(running, line) {
  const sfi = /\(sfi = (0x[0-9a-f]+)\)/.exec(line)?.[1];
  if (!sfi) return;
  if (line.startsWith('[compiling method')) running.set(sfi + (line.includes(' OSR') ? 'osr' : ''), line);
  else if (line.startsWith('[completed compiling') || line.startsWith('[aborted') || line.startsWith('[completed optimizing'))
    running.delete(sfi + (line.includes(' OSR') ? 'osr' : ''));
}

function cause(c) {
  if (c.lines.some((l) => /Scavenge|Mark-Compact|Mark-sweep|Minor Mark/.test(l))) return 'gc';
  if (c.lines.some((l) => /deoptimiz|bailout/i.test(l))) return 'deopt';
  if (c.compileInFlight || c.lines.some((l) => /^\[(compiling method|completed compiling|completed optimizing)/.test(l))) return 'compile';
  if (c.queued >= c.wall / 2) return 'queued';
  if (c.wall - c.main - c.queued >= c.wall / 2) return 'asleep';
  return 'cpu';
}

async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const dist = process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist');
  const slow = Number(process.env.SLOW ?? 2);
  const load0 = os.loadavg()[0];
  const p = spawn(
    process.execPath,
    ['--trace-gc', '--trace-opt', '--trace-deopt', ...(process.env.V8_FLAGS ?? '').split(' ').filter(Boolean), __filename, '--child', dist, String(n)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let text = '';
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (d) => (text += d));
  const code = await new Promise((r) => p.on('exit', r));
  if (code !== 0) throw new Error(`child exited with ${code}`);
  if (process.env.KEEP) fs.writeFileSync(process.env.KEEP, text);
  const calls = parse(text);
  const sorted = (k) => calls.map((c) => c[k]).sort((a, b) => a - b);
  const fmt = (k) => {
    const s = sorted(k);
    return `p50 ${pct(s, 50).toFixed(2)} / p99 ${pct(s, 99).toFixed(2)} / p99.9 ${pct(s, 99.9).toFixed(2)} / max ${s[s.length - 1].toFixed(2)} ms`;
  };
  console.log(`${n} services, ${calls.length} calls after ${process.env.WARMUP ?? 1000} (load ${load0.toFixed(1)} → ${os.loadavg()[0].toFixed(1)}):`);
  console.log(`  wall ${fmt('wall')}\n  main-thread CPU ${fmt('main')}\n  process CPU ${fmt('cpu')}`);
  const slowCalls = calls.filter((c) => c.wall > slow);
  const by = new Map();
  for (const c of slowCalls) by.set(cause(c), [...(by.get(cause(c)) ?? []), c]);
  console.log(`  calls over ${slow} ms wall: ${slowCalls.length}: ${[...by].map(([k, v]) => `${k} ${v.length}`).join(', ') || 'none'}`);
  const all = { gc: 0, deopt: 0, compile: 0 };
  for (const c of calls) {
    const k = cause(c);
    if (k in all) all[k]++;
  }
  console.log(`  all timed calls with a gc / deopt / compile in their window: ${all.gc} / ${all.deopt} / ${all.compile}`);
  if (process.env.LIST) {
    for (const c of slowCalls) {
      console.log(
        `  #${c.index} ${cause(c)}: wall ${c.wall.toFixed(2)}, main ${c.main.toFixed(2)}, queued ${c.queued.toFixed(2)}, process CPU ${c.cpu.toFixed(2)} (sys ${c.sys.toFixed(2)}) ms${c.compileInFlight ? ', a compile in flight' : ''}`,
      );
      for (const l of c.lines) console.log(`      ${l.slice(0, 200)}`);
    }
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
