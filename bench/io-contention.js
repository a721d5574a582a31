'use strict';
/**
 * The I/O model under CPU contention, standalone (node bench/io-contention.js
 * [rounds]): route churn (5,000 adds then deletes) by nlkit concurrent, nlkit
 * sequential and the libmnl peer, alternated run by run so each round's
 * ratios compare runs a few milliseconds apart, first quiet, then with a
 * busy-looping process on every core. Prints the median of the per-round
 * ratios and the CPU time per route (all threads of the process), which
 * other load on the machine does not change.
 */
const nlkit = require(process.env.NLKIT_DIR || '..');
const { withCpuHogs } = require('./lib/cpu-contention');
const { mnl, runPeer } = require('./peers/peers');
const { median } = require('./lib/stats');

const N = 5000;
const ROUNDS = Number(process.argv[2] || 7);

async function main() {
  const bin = mnl(console.log).bin;
  if (!bin) throw new Error('the libmnl peer is needed (bench/README.md)');
  const ns = `nlbench-${process.pid}-contention`;
  await nlkit.createNetns(ns);
  const h = await nlkit.open({ netns: ns });
  try {
    await h.links.add({ name: 'd0', kind: 'bridge', up: true });
    const index = (await h.links.get('d0')).index;
    const list = Array.from({ length: N }, (_, i) => ({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link: index }));
    const variants = {
      concurrent: async () => {
        await Promise.all(list.map((r) => h.routes.add(r)));
        await Promise.all(list.map((r) => h.routes.delete(r)));
      },
      sequential: async () => {
        for (const r of list) await h.routes.add(r);
        for (const r of list) await h.routes.delete(r);
      },
    };
    const timed = async (fn) => {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await fn();
      const c = process.cpuUsage(c0);
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, cpu: (c.user + c.system) / 1e3 };
    };
    for (const fn of Object.values(variants)) await fn(); // warm-up
    const measure = async (label) => {
      const ratio = { concurrent: [], sequential: [] };
      const cpu = { concurrent: [], sequential: [], libmnl: [] };
      for (let i = 0; i < ROUNDS; i++) {
        const peer = await runPeer(ns, bin, ['churn', 'd0', String(N), '2']); // first run: warm-up
        const mnlMs = peer.ms[1];
        cpu.libmnl.push(peer.cpu[1]);
        for (const [name, fn] of Object.entries(variants)) {
          const r = await timed(fn);
          ratio[name].push(mnlMs / r.ms);
          cpu[name].push(r.cpu);
        }
      }
      const us = (ms) => ((median(ms) * 1e3) / (2 * N)).toFixed(2);
      console.log(
        `${label}: nlkit/libmnl throughput: concurrent ${median(ratio.concurrent).toFixed(2)}×, sequential ${median(ratio.sequential).toFixed(2)}×; ` +
          `CPU µs per route: concurrent ${us(cpu.concurrent)}, sequential ${us(cpu.sequential)}, libmnl ${us(cpu.libmnl)}`,
      );
    };
    await measure('quiet    ');
    await withCpuHogs(() => measure('contended'));
  } finally {
    h.close();
    await nlkit.deleteNetns(ns);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
