'use strict';
/**
 * The first `routes.list()` of 5,000 routes in a new process, for A/B runs of
 * builds on a busy machine: `node bench/fresh-dump-cpu.js OLD NEW` (package
 * roots, each with its dist/bundle; default: this checkout). One throw-away
 * network namespace (`unshare -n`) gets a bridge and 5,000 /32 routes
 * (`ip -batch`); then new Node processes, alternating between the builds
 * (ROUNDS, default 6, each), load the bundle, open a handle, and time their
 * first list() alone: CPU time of the whole process during it (all threads:
 * the pool job that reads the dump, V8's compiler and GC helpers), CPU time of
 * the event loop's thread alone, and wall time. Prints the median and range per build; CPU is what the machine's load
 * changes least.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');
const { abMain } = require('./lib/ab-main');

const N = 5000;
const ROUNDS = Number(process.env.ROUNDS || 6);

/** CPU time of the calling thread (the event loop's: JavaScript, its GC share), from the scheduler. */
function mainThreadNs() {
  return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

/** The child: one first list() in this new process. */
async function child(root) {
  const nlkit = require(path.join(root, 'dist', 'bundle', 'index.js'));
  const h = await nlkit.open();
  const s0 = mainThreadNs();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const routes = await h.routes.list();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  const mainMs = (mainThreadNs() - s0) / 1e6;
  h.close();
  if (routes.length < N) throw new Error(`listed ${routes.length} routes`);
  process.stdout.write(JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, mainMs }));
}

/** Inside the namespace: the routes, then the alternated fresh processes. */
function inNamespace(roots) {
  execFileSync('ip', ['link', 'add', 'b0', 'type', 'bridge']);
  execFileSync('ip', ['link', 'set', 'b0', 'up']);
  const batch = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-')), 'routes');
  fs.writeFileSync(batch, Array.from({ length: N }, (_, i) => `route add 10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 dev b0\n`).join(''));
  try {
    execFileSync('ip', ['-batch', batch]);
  } finally {
    fs.rmSync(path.dirname(batch), { recursive: true, force: true });
  }
  const rows = new Map(roots.map((r) => [r, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of roots) rows.get(r).push(JSON.parse(execFileSync(process.execPath, [__filename, '--child', r], { encoding: 'utf8' })));
  }
  for (const [r, xs] of rows) {
    const stat = (k) =>
      `${median(xs.map((x) => x[k])).toFixed(1)} ms (${Math.min(...xs.map((x) => x[k])).toFixed(1)}-${Math.max(...xs.map((x) => x[k])).toFixed(1)})`;
    console.log(`${r}: first list() CPU ${stat('cpuMs')} (event loop thread ${stat('mainMs')}), wall ${stat('ms')}; ${xs.length} processes`);
  }
}

abMain(__filename, child, inNamespace);
