'use strict';
/**
 * Where a warm `routes.list()` of 5,000 routes spends its wall time, per
 * build: `node bench/dump-phases.js [dist dir ...]`. For each build, in turn,
 * a new process in its own network namespace (`unshare -n`) repeats, 600
 * times, alternating: the whole `list()`; the same strict dump with nothing
 * kept (transport: send, the kernel, the I/O thread, the hand-offs); the
 * link-name step alone for the one link the routes use (`resolveLinkNames`).
 * `list()` minus the two is the decode. Medians of per-call wall and CPU
 * (process.cpuUsage, all threads); the builds alternate 3 times; the
 * 1-minute load is printed.
 */
const { childOrMain } = require('./lib/child-main');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');

const N = 5000;
const CALLS = 600;

async function child(dist) {
  const nlkit = require(dist);
  const { dumpCollected } = require(path.join(dist, 'netlink/operation.js'));
  const { NetlinkWriter } = require(path.join(dist, 'netlink/writer.js'));
  const { resolveLinkNames } = require(path.join(dist, 'rtnetlink/link-names.js'));
  const h = await nlkit.open();
  try {
    await h.links.add({ name: 'b0', kind: 'bridge', up: true });
    const link = (await h.links.get('b0')).index;
    await Promise.all(Array.from({ length: N }, (_, i) => h.routes.add({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link })));
    // The list's own request (main table, strict), nothing decoded or kept.
    const rawDump = () => {
      const w = new NetlinkWriter().begin(26 /* RTM_GETROUTE */, 0x300 /* NLM_F_DUMP */);
      w.struct(12);
      w.view.writeUInt8(254, 16 + 4);
      w.u32(15 /* RTA_TABLE */, 254);
      return dumpCollected(
        w.end().finish(),
        'raw route dump',
        () => undefined,
        () => undefined,
      );
    };
    for (let i = 0; i < 30; i++) {
      await h.routes.list();
      await h.run(rawDump());
      await h.run(resolveLinkNames([link]));
    }
    const phases = { list: [], dump: [], names: [] };
    const cpu = { list: [], dump: [], names: [] };
    const time = async (k, f) => {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const out = await f();
      phases[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu[k].push((c.user + c.system) / 1000);
      return out;
    };
    for (let i = 0; i < CALLS; i++) {
      const routes = await time('list', () => h.routes.list());
      if (routes.length < N || routes[0].linkName !== 'b0') throw new Error(`listed ${routes.length} routes, first named ${routes[0].linkName}`);
      await time('dump', () => h.run(rawDump()));
      const names = await time('names', () => h.run(resolveLinkNames([link])));
      if (names.get(link) !== 'b0') throw new Error('no name for b0');
    }
    const m = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, median(v)]));
    return { wall: m(phases), cpu: m(cpu) };
  } finally {
    h.close();
  }
}

function main() {
  const builds = process.argv.slice(2).map((d) => path.resolve(d));
  if (builds.length === 0) builds.push(path.join(__dirname, '..', 'dist'));
  console.log(`load ${os.loadavg()[0].toFixed(2)}`);
  const rows = new Map(builds.map((b) => [b, []]));
  for (let round = 0; round < 3; round++) {
    for (const b of builds) rows.get(b).push(JSON.parse(execFileSync('unshare', ['-n', process.execPath, __filename, '--child', b], { encoding: 'utf8' })));
  }
  for (const [b, r] of rows) {
    const f = (kind, k) => {
      const xs = r.map((x) => x[kind][k]);
      return `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`;
    };
    const decode = r.map((x) => x.wall.list - x.wall.dump - x.wall.names);
    console.log(
      `${b}: wall ms per call: list() ${f('wall', 'list')}, dump alone ${f('wall', 'dump')}, names alone ${f('wall', 'names')}, list − dump − names ${median(decode).toFixed(3)}`,
    );
    console.log(`${' '.repeat(b.length)}  CPU ms per call:  list() ${f('cpu', 'list')}, dump alone ${f('cpu', 'dump')}, names alone ${f('cpu', 'names')}`);
  }
  console.log(`load ${os.loadavg()[0].toFixed(2)}`);
}

childOrMain(child, main);
