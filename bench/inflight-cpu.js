'use strict';
/**
 * CPU and memory per request of the warm hot paths, for A/B runs of two
 * builds on a busy machine (numbers that load does not change much):
 * `node bench/inflight-cpu.js [dist dir ...]` (default: this checkout's dist/).
 * For each build, in turn, a new process in its own network namespace
 * (`unshare -n`) measures
 * - heap kept alive per in-flight request: 5,000 `routes.add` (then
 *   `routes.delete`) made at once, heap after a full GC minus before;
 * - CPU time (process.cpuUsage, all threads) per route of a concurrent churn
 *   (5,000 adds, then 5,000 deletes), median of 8 warm rounds;
 * - CPU time of `routes.list()` of those 5,000 routes, median of 30 warm dumps.
 * The builds alternate 3 times so that the machine's load hits each alike.
 */
const { childOrMain } = require('./lib/child-main');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');

const N = 5000;

async function child(dist) {
  const nlkit = require(dist);
  const h = await nlkit.open();
  await h.links.add({ name: 'b0', kind: 'bridge', up: true });
  const link = (await h.links.get('b0')).index;
  const list = [];
  for (let i = 0; i < N; i++) list.push({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link });
  const churn = async () => {
    await Promise.all(list.map((r) => h.routes.add(r)));
    await Promise.all(list.map((r) => h.routes.delete(r)));
  };
  for (let i = 0; i < 3; i++) await churn(); // warm-up: optimised code
  const inFlight = async (verb) => {
    global.gc();
    global.gc();
    const before = process.memoryUsage().heapUsed;
    const pending = list.map((r) => h.routes[verb](r));
    global.gc();
    const bytes = (process.memoryUsage().heapUsed - before) / N;
    await Promise.all(pending);
    return bytes;
  };
  const addBytes = await inFlight('add');
  const deleteBytes = await inFlight('delete');
  const cpu = [];
  for (let i = 0; i < 8; i++) {
    const c0 = process.cpuUsage();
    await churn();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / (2 * N));
  }
  await Promise.all(list.map((r) => h.routes.add(r)));
  const dump = [];
  for (let i = 0; i < 35; i++) {
    const c0 = process.cpuUsage();
    await h.routes.list({ family: 4 });
    const c = process.cpuUsage(c0);
    if (i >= 5) dump.push((c.user + c.system) / 1000);
  }
  h.close();
  return { addBytes, deleteBytes, churnUs: median(cpu), dumpMs: median(dump) };
}

function main() {
  const builds = process.argv.slice(2).map((d) => path.resolve(d));
  if (builds.length === 0) builds.push(path.join(__dirname, '..', 'dist'));
  const rows = new Map(builds.map((b) => [b, []]));
  for (let round = 0; round < 3; round++) {
    for (const b of builds) {
      const out = execFileSync('unshare', ['-n', process.execPath, '--expose-gc', __filename, '--child', b], { encoding: 'utf8' });
      rows.get(b).push(JSON.parse(out));
    }
  }
  for (const [b, r] of rows) {
    const m = (k) => median(r.map((x) => x[k]));
    console.log(
      `${b}: in flight ${m('addBytes').toFixed(0)} B/add ${m('deleteBytes').toFixed(0)} B/delete; ` +
        `churn ${m('churnUs').toFixed(2)} us CPU/route; dump of ${N} routes ${m('dumpMs').toFixed(2)} ms CPU`,
    );
  }
}

childOrMain(child, main);
