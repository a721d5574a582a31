'use strict';
/**
 * The first single-call route churn of a new process (what
 * bench/fresh/route-churn.js times in the route-churn workload), for A/B runs
 * of builds on a busy machine: `node bench/fresh-churn-cpu.js OLD NEW`
 * (package roots, each with its dist/bundle; default: this checkout).
 * `MODE=bulk` times `routes.add(list)` / `routes.delete(list)` instead.
 *
 * One throw-away network namespace (`unshare -n`) gets a bridge (`ip`); then new Node
 * processes, alternating between the builds (ROUNDS, default 6, each), load
 * the bundle (as `require('nlkit')` does: code cache included), open a handle,
 * build 5,000 `{ dst, link }` routes (untimed) and time their first
 * `Promise.all` of 5,000 `routes.add(r)`, then of 5,000 `routes.delete(r)`:
 * CPU time of the whole process (all threads: the I/O thread or pool job
 * sending, V8's compiler and GC helpers) and of the event loop's thread alone
 * (/proc/thread-self/schedstat), the CPU of the tick that makes the
 * 5,000 add calls (JavaScript only: nothing is sent before it ends), and wall
 * time. Each round also runs `ip -batch` of the same routes (add file, then
 * del file, process start included, as the workload times it; CPU from
 * `perf stat -e task-clock`) and prints nlkit's rate as a multiple of ip's in
 * that round. Prints the median and range per build; CPU is what the
 * machine's load changes least.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { median } = require('./lib/stats');
const { abMain } = require('./lib/ab-main');

const N = 5000;
const ROUNDS = Number(process.env.ROUNDS || 6);
const MODE = process.env.MODE === 'bulk' ? 'bulk' : 'single';

const cpuMs = (c) => (c.user + c.system) / 1000;
/** CPU time of the calling thread (the event loop), ms. */
const threadMs = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

/** The child: one first churn in this new process. */
async function child(root) {
  const nlkit = require(path.join(root, 'dist', 'bundle', 'index.js'));
  const h = await nlkit.open();
  const link = (await h.links.get('b0')).index;
  const list = [];
  for (let i = 0; i < N; i++) list.push({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link });
  const m0 = threadMs();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let addTick;
  if (MODE === 'bulk') {
    await h.routes.add(list);
    await h.routes.delete(list);
  } else {
    const adds = list.map((r) => h.routes.add(r));
    addTick = cpuMs(process.cpuUsage(c0));
    await Promise.all(adds);
    await Promise.all(list.map((r) => h.routes.delete(r)));
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = cpuMs(process.cpuUsage(c0));
  const mainMs = threadMs() - m0;
  h.close();
  process.stdout.write(JSON.stringify({ ms, cpuMs: cpu, mainMs, addTickMs: addTick }));
}

/** `ip -batch` of the same adds, then deletes, as the workload times it (process start included): wall and CPU (perf stat's task-clock), ms. */
function ipBatch(addFile, delFile) {
  let ms = 0;
  let cpuMs = 0;
  for (const file of [addFile, delFile]) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('perf', ['stat', '-x', ',', '-e', 'task-clock', 'ip', '-batch', file], { encoding: 'utf8' });
    ms += Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`ip -batch ${file}: ${r.stderr}`);
    cpuMs += Number(/^([\d.]+),msec,task-clock/m.exec(r.stderr)?.[1] ?? NaN);
  }
  return { ms, cpuMs };
}

/** Inside the namespace: the alternated fresh processes, and `ip -batch` doing the same in the same rounds. */
function inNamespace(roots) {
  execFileSync('ip', ['link', 'add', 'b0', 'type', 'bridge']);
  execFileSync('ip', ['link', 'set', 'b0', 'up']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-'));
  const batch = (verb) => Array.from({ length: N }, (_, i) => `route ${verb} 10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 dev b0\n`).join('');
  const addFile = path.join(dir, 'add');
  const delFile = path.join(dir, 'del');
  fs.writeFileSync(addFile, batch('add'));
  fs.writeFileSync(delFile, batch('del'));
  const rows = new Map(roots.map((r) => [r, []]));
  const ip = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of roots) rows.get(r).push(JSON.parse(execFileSync(process.execPath, [__filename, '--child', r], { encoding: 'utf8' })));
      ip.push(ipBatch(addFile, delFile));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const stat = (xs, k) =>
    `${median(xs.map((x) => x[k])).toFixed(1)} ms (${Math.min(...xs.map((x) => x[k])).toFixed(1)}-${Math.max(...xs.map((x) => x[k])).toFixed(1)})`;
  for (const [r, xs] of rows) {
    const tick = MODE === 'single' ? `, the tick of the 5,000 add calls ${stat(xs, 'addTickMs')}` : '';
    // Per round: ip -batch's wall time over nlkit's, i.e. nlkit's rate as a multiple of ip's (the workload's ratio).
    const ratios = xs.map((x, i) => (ip[i].ms / x.ms).toFixed(2)).join(', ');
    console.log(
      `${r}: first ${MODE} churn (${N} adds + ${N} deletes) CPU ${stat(xs, 'cpuMs')} (event loop ${stat(xs, 'mainMs')})${tick}, ` +
        `wall ${stat(xs, 'ms')}; rate vs ip -batch in the same round ${ratios}; ${xs.length} processes`,
    );
  }
  console.log(`ip -batch (add file, then del file; process start included): CPU ${stat(ip, 'cpuMs')}, wall ${stat(ip, 'ms')}`);
}

abMain(__filename, child, inNamespace);
