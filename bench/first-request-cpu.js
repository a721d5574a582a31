'use strict';
/**
 * What a new process pays to load the library and for its first small requests, for A/B runs of builds whose
 * code caches differ (bench/notes.md, "The code cache holds the connection path"):
 * `node bench/first-request-cpu.js OLD NEW` (package roots, each with its dist/bundle; default: this checkout).
 * One throw-away network namespace (`unshare -n`) gets a bridge with 8 routes (`ip`); then new Node processes,
 * alternating between the builds (ROUNDS, default 15, each), time one after another: the load (require of the
 * entry point and the first export read: the bundle and its code cache read and compiled), `open()`, a first
 * `routes.list()` (8 routes: the path, not the decoding), a first `routes.add()`, a first `links.get()`, and a
 * short-lived handle's first round (`open({ shortLived: true })`, `links.set` and a route add, awaited together).
 * CPU time of the whole process per phase (process.cpuUsage: all threads) and of the event loop's thread
 * (/proc/thread-self/schedstat); medians and ranges per build; CPU is what the machine's load changes least.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');
const { abMain } = require('./lib/ab-main');

const ROUNDS = Number(process.env.ROUNDS || 15);
const ROUTES = 8;
const PHASES = ['load', 'open', 'list', 'add', 'get', 'shortLived'];

/** CPU time of the calling thread (the event loop's), ms. */
const threadMs = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

/** The child: the phases, each timed alone, in this new process. */
async function child(root) {
  const out = {};
  const timed = async (name, fn) => {
    const s0 = threadMs();
    const c0 = process.cpuUsage();
    const value = await fn();
    const c = process.cpuUsage(c0);
    out[name] = { cpuMs: (c.user + c.system) / 1000, mainMs: threadMs() - s0 };
    return value;
  };
  const open = await timed('load', () => require(path.join(root, 'dist', 'bundle', 'index.js')).open);
  const h = await timed('open', () => open());
  try {
    const routes = await timed('list', () => h.routes.list({ table: 'main' }));
    if (routes.length < ROUTES) throw new Error(`listed ${routes.length} routes`);
    await timed('add', () => h.routes.add({ dst: '10.99.0.1/32', link: 'b0' }));
    await timed('get', () => h.links.get('b0'));
    await timed('shortLived', async () => {
      const s = await open({ shortLived: true });
      try {
        await Promise.all([s.links.set('lo', { up: true }), s.routes.add({ dst: '10.99.0.2/32', link: 'b0' })]);
      } finally {
        s.close();
      }
    });
    await h.routes.delete({ dst: '10.99.0.1/32' });
    await h.routes.delete({ dst: '10.99.0.2/32' });
  } finally {
    h.close();
  }
  process.stdout.write(JSON.stringify(out));
}

/** Inside the namespace: the bridge and its routes, then the alternated fresh processes. */
function inNamespace(roots) {
  execFileSync('ip', ['link', 'add', 'b0', 'type', 'bridge']);
  execFileSync('ip', ['link', 'set', 'b0', 'up']);
  for (let i = 1; i <= ROUTES; i++) execFileSync('ip', ['route', 'add', `10.64.0.${i}/32`, 'dev', 'b0']);
  const rows = new Map(roots.map((r) => [r, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of roots) rows.get(r).push(JSON.parse(execFileSync(process.execPath, [__filename, '--child', r], { encoding: 'utf8' })));
  }
  const stat = (xs) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
  for (const [r, xs] of rows) {
    console.log(`${r}: ${xs.length} processes, CPU ms median (range), all threads / event loop thread`);
    for (const phase of PHASES) console.log(`  ${phase.padEnd(10)} ${stat(xs.map((x) => x[phase].cpuMs))} / ${stat(xs.map((x) => x[phase].mainMs))}`);
    const firsts = xs.map((x) => PHASES.slice(1).reduce((n, p) => n + x[p].cpuMs, 0));
    console.log(`  ${'requests'.padEnd(10)} ${stat(firsts)} (open to shortLived, summed per process)`);
  }
}

abMain(__filename, child, inNamespace);
