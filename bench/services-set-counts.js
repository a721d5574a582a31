'use strict';
/**
 * What one steady-state `svcs.set()` does, in counts that do not depend on the
 * machine's load, for comparing two builds on a busy machine:
 * `node bench/services-set-counts.js [N ...]` (default 10000 services).
 * For each N a child process (`--expose-gc`) applies N services in a
 * namespace it creates (and deletes; bench/lib/services-churn.js, the change
 * services-set-cpu.js times), makes WARMUP (default 1000) unmeasured set()
 * calls of one service's 10 endpoints (`cutFlows: false`), then CALLS
 * (default 1000) measured ones, and prints per call:
 * - the heap at N services (used after a full GC) and the RSS;
 * - scavenges and mark-compacts in the window (PerformanceObserver 'gc'),
 *   with their total pause;
 * - per thread (/proc/self/task): CPU (schedstat), voluntary context
 *   switches (a thread going to sleep: each one is a later wake-up) and
 *   involuntary ones (preempted: the load), grouped as the main thread, the
 *   netlink I/O thread (the busiest of the threads made after nlkit loaded:
 *   its sendmsg runs the kernel's commit), the other threads made since
 *   (libuv's pool, nlkit's netns thread) and V8's and node's own;
 * - with STRACE=1 (strace attached to every thread for the window only):
 *   system calls by kind and thread, and the bytes of netlink sendmsg and
 *   recvmsg (the batch's size) and of file writes (the record, the
 *   journal). Under strace the calls are slower, so the counts of
 *   timing-dependent calls (epoll_wait, futex, the loop's polls) are not
 *   those of a real run; the netlink and file counts are.
 * - with CALLGRIND=1 (the child under valgrind's callgrind, instrumented in
 *   the window only): instructions executed per call in user space, by
 *   thread (valgrind runs one thread at a time, so V8's background compiles
 *   and the I/O thread's share are counted, whatever the load; what a JIT
 *   compiles depends on when its jobs finish, so compare a few runs).
 * NLKIT_DIST picks the build (default dist/); NLBENCH_NS_PREFIX names the
 * namespaces; STATE_BASE the state directory's parent (default /dev/shm).
 * JSON=1 prints the raw figures as one JSON line per N; KEEP_TRACE=<file>
 * keeps the strace output.
 */
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

/** Every thread of this process: name, CPU ns, voluntary and involuntary context switches. */
function threads() {
  const out = new Map();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const dir = `/proc/self/task/${tid}`;
      const comm = fs.readFileSync(`${dir}/comm`, 'latin1').trim();
      const cpu = Number(fs.readFileSync(`${dir}/schedstat`, 'latin1').split(' ')[0]);
      const status = fs.readFileSync(`${dir}/status`, 'latin1');
      const vol = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]);
      const invol = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]);
      out.set(Number(tid), { comm, cpu, vol, invol });
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

/** The child: one measurement. */
async function child(dist, n) {
  const { openServicesRun } = require('./lib/services-churn');
  const { countGcs } = require('./lib/gc-count');
  const v8 = require('node:v8');
  // Threads before nlkit loads: V8's platform workers (their names are all "node" in Node 20) and node's own.
  const early = [...threads().keys()].filter((t) => t !== process.pid);
  const run = await openServicesRun(dist, 'cnt');
  const lines = readline.createInterface({ input: process.stdin });
  const next = () => new Promise((r) => lines.once('line', r));
  try {
    await run.apply(n);
    const warmup = Number(process.env.WARMUP ?? 1000);
    const calls = Number(process.env.CALLS ?? 1000);
    for (let i = 0; i < warmup; i++) await run.change();
    global.gc();
    const heapUsed = v8.getHeapStatistics().used_heap_size;
    const rss = process.memoryUsage().rss;
    process.stdout.write(`READY ${process.pid}\n`);
    await next();
    const gc = countGcs();
    const gcs = gc.counts;
    const t0 = threads();
    const c0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await run.change();
    const wall = Number(process.hrtime.bigint() - w0) / 1e6;
    const cpu = process.cpuUsage(c0);
    const t1 = threads();
    await new Promise((r) => setImmediate(r));
    gc.stop();
    const per = [];
    for (const [tid, b] of t1) {
      const a = t0.get(tid) ?? { cpu: 0, vol: 0, invol: 0 };
      per.push({ tid, comm: b.comm, cpu: b.cpu - a.cpu, vol: b.vol - a.vol, invol: b.invol - a.invol });
    }
    const result = {
      n,
      warmup,
      calls,
      heapUsed,
      rss,
      gcs,
      wall,
      cpuUser: cpu.user,
      cpuSystem: cpu.system,
      threads: per,
      main: process.pid,
      early,
      load: os.loadavg()[0],
    };
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    await next(); // the parent's tracer is detached: what closing does is not counted
  } finally {
    lines.close();
    await run.close();
  }
}

/** Waits until every thread of `pid` is traced (TracerPid set), at most ~5 s. */
async function attached(pid) {
  for (let i = 0; i < 500; i++) {
    const all = fs.readdirSync(`/proc/${pid}/task`).every((t) => {
      try {
        return !/TracerPid:\s+0\n/.test(fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'latin1'));
      } catch {
        return true;
      }
    });
    if (all) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('strace did not attach');
}

/** Syscalls by thread and name, and the bytes returned by the ones that move data, from `strace -f -o` output. */
function parseStrace(text) {
  const byThread = new Map();
  const at = (tid) => {
    let t = byThread.get(tid);
    if (!t) byThread.set(tid, (t = { calls: new Map(), bytes: new Map() }));
    return t;
  };
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()/.exec(line);
    if (!m) continue;
    const t = at(Number(m[1]));
    const name = m[2] ?? m[3];
    if (m[3]) add(t.calls, name, 1);
    if (line.endsWith('<unfinished ...>')) continue;
    const r = /\)\s+= (-?\d+)/.exec(line);
    if (!r || Number(r[1]) < 0) continue;
    // What moves data: the netlink socket's batches and replies, the files' writes and reads.
    if (/^(sendmsg|sendto|recvmsg|recvfrom|write|pwrite64|writev|read|pread64)$/.test(name)) add(t.bytes, name, Number(r[1]));
  }
  return byThread;
}

function report(r, strace) {
  const per = (x) => (x / r.calls).toFixed(x / r.calls < 10 ? 3 : 1);
  const main = r.threads.find((t) => t.tid === r.main);
  // V8's and node's threads exist before nlkit loads; of the threads made later (libuv's pool, nlkit's netns
  // thread, the netlink I/O thread) the I/O thread is the busiest: its sendmsg runs the kernel's commit.
  const v8 = r.threads.filter((t) => r.early.includes(t.tid));
  const others = r.threads.filter((t) => t !== main && !v8.includes(t)).sort((a, b) => b.cpu - a.cpu);
  const io = others[0];
  const sum = (ts, k) => ts.reduce((s, t) => s + t[k], 0);
  const line = (label, ts) =>
    ts.length
      ? `  ${label.padEnd(26)} CPU ${(sum(ts, 'cpu') / 1e6 / r.calls).toFixed(3)} ms/call, sleeps ${per(sum(ts, 'vol'))}/call, preempted ${per(sum(ts, 'invol'))}/call (${ts.map((t) => `${t.tid}:${t.comm}`).join(' ')})`
      : `  ${label.padEnd(26)} none`;
  console.log(
    `${r.n} services, ${r.calls} calls after ${r.warmup} (load ${r.load.toFixed(1)}): heap used after a full GC ${(r.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(r.rss / 2 ** 20).toFixed(0)} MiB; ` +
      `wall ${(r.wall / r.calls).toFixed(3)} ms/call, process CPU ${((r.cpuUser + r.cpuSystem) / 1000 / r.calls).toFixed(3)} ms/call (system ${(r.cpuSystem / 1000 / r.calls).toFixed(3)}); ` +
      `scavenges ${r.gcs.minor} (${r.gcs.minorMs.toFixed(1)} ms), mark-compacts ${r.gcs.major} (${r.gcs.majorMs.toFixed(1)} ms)`,
  );
  console.log(line('main thread', [main]));
  console.log(line('I/O thread (busiest new)', io ? [io] : []));
  console.log(line('other new threads', others.slice(1)));
  console.log(line("V8's and node's threads", v8));
  if (r.instructions) {
    const all = Object.values(r.instructions).reduce((a, b) => a + b, 0);
    const each = Object.entries(r.instructions)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k === '1' ? 'main' : `thread ${k}`} ${(v / r.calls / 1e3).toFixed(0)}k`);
    console.log(`  instructions per call (callgrind, user space): ${(all / r.calls / 1e3).toFixed(0)}k (${each.join(', ')})`);
  }
  if (!strace) return;
  for (const [tid, t] of [...strace].sort((a, b) => sum2(b[1].calls) - sum2(a[1].calls))) {
    if (sum2(t.calls) < r.calls / 20) continue; // threads with less than one call in 20 (V8's compile threads)
    const name = tid === r.main ? 'main' : tid === io?.tid ? 'I/O' : r.early.includes(tid) ? 'V8/node' : 'new';
    const calls = [...t.calls].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${per(v)}`);
    const bytes = [...t.bytes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${per(v)} B`);
    console.log(`  syscalls per call, thread ${tid} (${name}): ${calls.join(', ')}${bytes.length ? `; bytes per call: ${bytes.join(', ')}` : ''}`);
  }
}

/** Instructions executed per thread (valgrind's thread numbers: 1 is the main thread) in callgrind's dumps under `dir`. */
function instructionsPerThread(dir) {
  const out = {};
  for (const f of fs.readdirSync(dir)) {
    const thread = /\.\d+-(\d+)$/.exec(f)?.[1]; // the dump's files (cg.out.<part>-<thread>), not the final ones
    if (!thread) continue;
    const text = fs.readFileSync(path.join(dir, f), 'latin1');
    const total = /^totals: (\d+)/m.exec(text);
    if (total) out[Number(thread)] = (out[Number(thread)] ?? 0) + Number(total[1]);
  }
  return out;
}

function sum2(m) {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

async function parent() {
  const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [10000];
  const dist = process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist');
  for (const n of sizes) {
    const grind = process.env.CALLGRIND === '1' ? fs.mkdtempSync(path.join(os.tmpdir(), 'services-set-counts-')) : undefined;
    // Under callgrind, instrumentation is off until the window (apply() and the warm-up run at valgrind's plain speed).
    const argv = ['--expose-gc', __filename, '--child', dist, String(n)];
    const c = grind
      ? spawn(
          'valgrind',
          [
            '--tool=callgrind',
            '--instr-atstart=no',
            '--separate-threads=yes',
            '--smc-check=all-non-file',
            `--callgrind-out-file=${grind}/cg.out`,
            process.execPath,
            ...argv,
          ],
          {
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        )
      : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((r) => c.on('exit', (code) => r(code)));
    // valgrind's own lines (==pid==) are left out of the child's errors
    let stderr = '';
    c.stderr?.on('data', (d) => (stderr += d));
    const out = readline.createInterface({ input: c.stdout });
    let tracer;
    let traceFile;
    let result;
    for await (const l of out) {
      if (l.startsWith('READY ')) {
        const pid = Number(l.slice(6));
        if (process.env.STRACE === '1') {
          traceFile = path.join(os.tmpdir(), `services-set-counts-${process.pid}-${n}.strace`);
          tracer = spawn('strace', ['-f', '-qq', '-s', '0', '-e', 'signal=none', '-o', traceFile, '-p', String(pid)], { stdio: 'ignore' });
          await attached(pid);
        }
        if (grind) execFileSync('callgrind_control', ['-i', 'on', String(pid)], { stdio: 'ignore' });
        c.stdin.write('go\n');
      } else if (l.startsWith('RESULT ')) {
        result = JSON.parse(l.slice(7));
        let parsed;
        if (tracer) {
          const done = new Promise((r) => tracer.on('exit', r));
          tracer.kill('SIGINT');
          await done;
          parsed = parseStrace(fs.readFileSync(traceFile, 'utf8'));
          if (process.env.KEEP_TRACE) fs.renameSync(traceFile, process.env.KEEP_TRACE);
          else fs.rmSync(traceFile, { force: true });
        }
        if (grind) {
          execFileSync('callgrind_control', ['-i', 'off', String(result.main)], { stdio: 'ignore' });
          execFileSync('callgrind_control', ['-d', String(result.main)], { stdio: 'ignore' });
          result.instructions = instructionsPerThread(grind);
        }
        c.stdin.write('bye\n');
        if (process.env.JSON === '1')
          console.log(
            JSON.stringify({
              ...result,
              strace:
                parsed && Object.fromEntries([...parsed].map(([k, v]) => [k, { calls: Object.fromEntries(v.calls), bytes: Object.fromEntries(v.bytes) }])),
            }),
          );
        else report(result, parsed);
      } else console.log(l);
    }
    const code = await exited;
    if (grind) fs.rmSync(grind, { recursive: true, force: true }); // valgrind writes its last files as it exits
    const errors = stderr
      .split('\n')
      .filter((l) => l && !/^==\d+==/.test(l))
      .join('\n');
    if (code !== 0 || !result) throw new Error(`child for ${n} services exited with ${code}${errors ? `:\n${errors}` : ''}`);
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else
  parent().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
