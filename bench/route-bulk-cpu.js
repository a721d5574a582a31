'use strict';
/**
 * CPU per route of route churn (5,000 /32 routes added, then deleted), for
 * runs on a busy machine: nlkit's bulk call (`routes.add(list)`,
 * `routes.delete(list)`), nlkit with every call in flight, and the libmnl
 * peer, alternating in the same namespace. `node bench/route-bulk-cpu.js
 * [rounds] [dist]` (default: this checkout's dist/) runs each round in a new
 * process (`unshare -n`), which reports
 * - the first bulk churn of the process (the fresh path), CPU and wall time;
 * - warm: median CPU per route (process.cpuUsage, all threads, kernel work
 *   included) of 8 bulk and 8 concurrent churns, alternating;
 * - the libmnl peer's CPU per route in the same namespace (its own
 *   CLOCK_PROCESS_CPUTIME_ID, 8 runs), and the wall time per churn of it
 *   and of the concurrent churn (medians; the same seconds, not the same load);
 * - the wall time of `ip -batch` adding and deleting the same routes (its
 *   process start included, as in the workload), against the first bulk.
 */
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');
const { mnl } = require('./peers/peers');

const N = 5000;

async function child(dist, mnlBin) {
  const t0 = process.hrtime.bigint();
  const nlkit = require(dist);
  const h = await nlkit.open();
  await h.links.add({ name: 'b0', kind: 'bridge', up: true });
  const link = (await h.links.get('b0')).index;
  const list = [];
  for (let i = 0; i < N; i++) list.push({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link });
  const bulk = async () => {
    await h.routes.add(list);
    await h.routes.delete(list);
  };
  const concurrent = async () => {
    await Promise.all(list.map((r) => h.routes.add(r)));
    await Promise.all(list.map((r) => h.routes.delete(r)));
  };
  const cpuOf = async (fn) => {
    const c0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    await fn();
    const c = process.cpuUsage(c0);
    return { us: (c.user + c.system) / (2 * N), sysUs: c.system / (2 * N), ms: Number(process.hrtime.bigint() - w0) / 1e6 };
  };
  const first = await cpuOf(bulk);
  const sinceStart = Number(process.hrtime.bigint() - t0) / 1e6;
  for (let i = 0; i < 3; i++) {
    await bulk();
    await concurrent();
  }
  const b = [];
  const c = [];
  for (let i = 0; i < 8; i++) {
    b.push(await cpuOf(bulk));
    c.push(await cpuOf(concurrent));
  }
  h.close();
  // `ip -batch` in the same namespace: wall time of the process, start included (as the workload times it).
  const fs = require('node:fs');
  const os = require('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-rb-'));
  let ipMs;
  try {
    const file = (verb) => {
      const f = path.join(dir, verb);
      fs.writeFileSync(f, list.map((r) => `route ${verb} ${r.dst} dev b0\n`).join(''));
      return f;
    };
    const add = file('add');
    const del = file('del');
    const w0 = process.hrtime.bigint();
    execFileSync('ip', ['-batch', add]);
    execFileSync('ip', ['-batch', del]);
    ipMs = Number(process.hrtime.bigint() - w0) / 1e6;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  let mnlUs;
  let mnlMs;
  if (mnlBin) {
    const out = JSON.parse(execFileSync(mnlBin, ['churn', 'b0', String(N), '8'], { encoding: 'utf8' }));
    mnlUs = median(out.cpu.map((ms) => (ms * 1000) / (2 * N)));
    mnlMs = median(out.ms);
  }
  return {
    firstUs: first.us,
    firstMs: first.ms,
    sinceStart,
    bulkUs: median(b.map((x) => x.us)),
    bulkSysUs: median(b.map((x) => x.sysUs)),
    bulkMs: median(b.map((x) => x.ms)),
    concurrentUs: median(c.map((x) => x.us)),
    concurrentMs: median(c.map((x) => x.ms)),
    mnlUs,
    mnlMs,
    ipMs,
  };
}

function main() {
  const rounds = Number(process.argv[2] ?? 3);
  const dist = path.resolve(process.argv[3] ?? path.join(__dirname, '..', 'dist'));
  const bin = mnl(console.log).bin;
  const rows = [];
  for (let round = 0; round < rounds; round++) {
    const out = execFileSync('unshare', ['-n', process.execPath, __filename, '--child', dist, bin ?? ''], { encoding: 'utf8' });
    rows.push(JSON.parse(out));
  }
  const f = (x, d = 2) => (x === undefined ? '-' : x.toFixed(d));
  for (const r of rows) {
    console.log(
      `bulk warm ${f(r.bulkUs)} us CPU/route (system ${f(r.bulkSysUs)}), ${f(r.bulkMs, 1)} ms/churn; ` +
        `concurrent warm ${f(r.concurrentUs)} us, ${f(r.concurrentMs, 1)} ms/churn; libmnl ${f(r.mnlUs)} us, ${f(r.mnlMs, 1)} ms/churn; ` +
        `first bulk in the process ${f(r.firstUs)} us CPU/route, ${f(r.firstMs, 1)} ms (${f(r.sinceStart, 1)} ms with require and open); ` +
        `\`ip -batch\` ${f(r.ipMs, 1)} ms (fresh ratio ${f(r.ipMs / r.firstMs)}×)`,
    );
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4] || undefined).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
} else main();
