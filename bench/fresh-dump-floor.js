'use strict';
/**
 * The floor under issue #14's "fresh dump ≤ 3× libmnl": `node bench/fresh-dump-floor.js`.
 *
 * A new Node process runs its first decode in V8's interpreter (the code cache holds bytecode, never
 * compiled code). This measures, in turns (ROUNDS, default 10, each a new process):
 * - libmnl: the first dump of 5,000 routes in a new process (bench/peers/mnl-routes.c `dump 1`: the
 *   dump, and each route's attributes parsed);
 * - the floor: a new `node` process whose first act is to read 5,000 route messages already in memory
 *   (made up, in the kernel's layout, fewer attributes than the kernel's) into one plain object each
 *   with a dotted-quad `dst` string — no socket, no kernel, no library: the least any JavaScript decoder
 *   returning objects does, timed around that loop alone;
 * - nlkit: the first `routes.list()` of a new process (bench/fresh/dump-routes.js, as the dump-routes
 *   workload's fresh column).
 * and prints the medians and each one's ratio to libmnl. When the floor alone is above 3× libmnl, the
 * target is out of reach for a decoder in JavaScript, whatever it does.
 * One throw-away namespace (nlbench-PID-floor) holds a bridge and the routes; it is deleted at the end.
 */
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');
const { mnl, runPeer } = require('./peers/peers');
const { runFreshProcess } = require('./lib/fresh');

const N = 5000;
const ROUNDS = Number(process.env.ROUNDS || 10);

/** The child: the floor decode, the first thing this process does after building its input. */
function floorChild() {
  const L = 16 + 12 + 8 + 8 + 8; // nlmsghdr, rtmsg, RTA_TABLE, RTA_DST, RTA_OIF
  const buf = Buffer.alloc(N * L);
  for (let i = 0; i < N; i++) {
    const o = i * L;
    buf.writeUInt32LE(L, o);
    buf.writeUInt16LE(24, o + 4); // RTM_NEWROUTE
    buf.set([2, 32, 0, 0, 254, 3, 253, 1], o + 16); // AF_INET /32, main, boot, link, unicast
    buf.set([8, 0, 15, 0, 254, 0, 0, 0], o + 28); // RTA_TABLE 254
    buf.set([8, 0, 1, 0, 10, 64, (i >> 8) & 255, i & 255], o + 36); // RTA_DST
    buf.set([8, 0, 4, 0, 7, 0, 0, 0], o + 44); // RTA_OIF 7
  }
  const t0 = process.hrtime.bigint();
  const out = [];
  for (let o = 0; o < buf.length;) {
    const len = buf[o] | (buf[o + 1] << 8);
    const r = { family: buf[o + 16], dstLen: buf[o + 17], table: buf[o + 20], protocol: buf[o + 21], scope: buf[o + 22], type: buf[o + 23], dst: '', link: 0 };
    for (let a = o + 28; a < o + len;) {
      const alen = buf[a] | (buf[a + 1] << 8);
      const type = buf[a + 2];
      if (type === 1) r.dst = `${buf[a + 4]}.${buf[a + 5]}.${buf[a + 6]}.${buf[a + 7]}/${r.dstLen}`;
      else if (type === 4) r.link = buf[a + 4] | (buf[a + 5] << 8);
      else if (type === 15) r.table = buf[a + 4];
      a += (alen + 3) & ~3;
    }
    out.push(r);
    o += len;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (out.length !== N) throw new Error(`decoded ${out.length}`);
  console.log(JSON.stringify({ ms }));
}

async function main() {
  const nlkit = require('../dist/index.js');
  const libmnl = mnl(() => undefined);
  if (!libmnl.bin) throw new Error(`the libmnl peer could not be built: ${libmnl.reason}`);
  const ns = `nlbench-${process.pid}-floor`;
  await nlkit.createNetns(ns);
  try {
    const h = await nlkit.open({ netns: ns });
    try {
      await h.links.add({ name: 'd0', kind: 'bridge', up: true });
      const { index } = await h.links.get('d0');
      await h.routes.add(Array.from({ length: N }, (_, i) => ({ dst: `10.64.${i >> 8}.${i & 255}/32`, link: index })));
    } finally {
      h.close();
    }
    const fresh = path.join(__dirname, 'fresh', 'dump-routes.js');
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS; // every new process would pay for parsing it
    const got = { libmnl: [], floor: [], nlkit: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const out = await runPeer(ns, libmnl.bin, ['dump', '1']);
      if (out.routes < N) throw new Error(`libmnl dumped ${out.routes} routes`);
      got.libmnl.push(out.ms[0]);
      got.floor.push(JSON.parse(execFileSync(process.execPath, [__filename, '--floor'], { encoding: 'utf8', env })).ms);
      got.nlkit.push((await runFreshProcess(fresh, [ns, String(N)], { env })).workMs);
    }
    const m = Object.fromEntries(Object.entries(got).map(([k, v]) => [k, median(v)]));
    const range = (v) => `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}`;
    const load = require('node:os')
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    console.log(`first dump of ${N} routes in a new process, ${ROUNDS} rounds alternated, load ${load}`);
    console.log(`  libmnl (dump + parse)              ${m.libmnl.toFixed(2)} ms (${range(got.libmnl)})`);
    console.log(`  JS floor (decode only, no I/O)     ${m.floor.toFixed(2)} ms (${range(got.floor)})  ${(m.floor / m.libmnl).toFixed(1)}× libmnl`);
    console.log(`  nlkit routes.list() (first call)   ${m.nlkit.toFixed(2)} ms (${range(got.nlkit)})  ${(m.nlkit / m.libmnl).toFixed(1)}× libmnl`);
  } finally {
    await nlkit.deleteNetns(ns, { missingOk: true });
  }
}

if (process.argv[2] === '--floor') floorChild();
else
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
