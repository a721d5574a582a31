'use strict';
/**
 * Paired A/B of a warm `routes.list()` of 5,000 routes: both builds loaded in
 * one process (`unshare -n`, a namespace of its own), one handle each on the
 * same routes, calls alternated A B / B A, so both see the same machine
 * moment. `node bench/dump-name-ab.js A_DIST B_DIST [processes]` prints per
 * process the medians of wall and CPU (process.cpuUsage, all threads) per
 * call and the median of the paired differences B − A, then their median and
 * range over the processes; the 1-minute load before and after.
 */
const { childOrMain } = require('./lib/child-main');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');

const N = 5000;
const PAIRS = 600;

async function child(distA, distB) {
  const a = await require(distA).open();
  const b = await require(distB).open();
  try {
    await a.links.add({ name: 'b0', kind: 'bridge', up: true });
    const link = (await a.links.get('b0')).index;
    await Promise.all(Array.from({ length: N }, (_, i) => a.routes.add({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link })));
    for (let i = 0; i < 30; i++) {
      await a.routes.list();
      await b.routes.list();
    }
    const out = { a: { wall: [], cpu: [] }, b: { wall: [], cpu: [] } };
    const one = async (k, h) => {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const routes = await h.routes.list();
      out[k].wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      out[k].cpu.push((c.user + c.system) / 1000);
      if (routes.length < N || routes[0].linkName !== 'b0') throw new Error(`listed ${routes.length}, named ${routes[0].linkName}`);
    };
    for (let i = 0; i < PAIRS; i++) {
      if (i & 1) {
        await one('b', b);
        await one('a', a);
      } else {
        await one('a', a);
        await one('b', b);
      }
    }
    const diff = (k) => median(out.b[k].map((x, i) => x - out.a[k][i]));
    return { aWall: median(out.a.wall), bWall: median(out.b.wall), aCpu: median(out.a.cpu), bCpu: median(out.b.cpu), dWall: diff('wall'), dCpu: diff('cpu') };
  } finally {
    a.close();
    b.close();
  }
}

function main() {
  const [A, B] = process.argv.slice(2, 4).map((d) => path.resolve(d));
  const procs = Number(process.argv[4] ?? 3);
  console.log(`A ${A}\nB ${B}\nload ${os.loadavg()[0].toFixed(2)}`);
  const rows = [];
  for (let p = 0; p < procs; p++) {
    // Alternate which build is loaded first.
    const [x, y] = p & 1 ? [B, A] : [A, B];
    const r = JSON.parse(execFileSync('unshare', ['-n', process.execPath, __filename, '--child', x, y], { encoding: 'utf8' }));
    const row = p & 1 ? { aWall: r.bWall, bWall: r.aWall, aCpu: r.bCpu, bCpu: r.aCpu, dWall: -r.dWall, dCpu: -r.dCpu } : r;
    rows.push(row);
    console.log(
      `process ${p}: wall A ${row.aWall.toFixed(3)} B ${row.bWall.toFixed(3)} (B−A paired ${row.dWall.toFixed(3)}) ms; ` +
        `CPU A ${row.aCpu.toFixed(3)} B ${row.bCpu.toFixed(3)} (B−A paired ${row.dCpu.toFixed(3)}) ms`,
    );
  }
  const s = (k) =>
    `${median(rows.map((r) => r[k])).toFixed(3)} (${Math.min(...rows.map((r) => r[k])).toFixed(3)} to ${Math.max(...rows.map((r) => r[k])).toFixed(3)})`;
  console.log(`median over processes: wall A ${s('aWall')} B ${s('bWall')} B−A ${s('dWall')}; CPU A ${s('aCpu')} B ${s('bCpu')} B−A ${s('dCpu')}`);
  console.log(`load ${os.loadavg()[0].toFixed(2)}`);
}

childOrMain(child, main);
