'use strict';
/**
 * Memory over a long run: 1,000,000 route operations (add, kernel lookup,
 * delete, in rounds of 1,000 concurrent calls) on one handle. RSS and the
 * live heap are sampled (after a forced GC) from the end of a warm-up to the
 * end; a leak shows as a positive slope. Long: runs only with --only memory.
 */
const { slope } = require('../lib/stats');

const MB = 2 ** 20;

module.exports = {
  name: 'memory',
  order: 90,
  optional: true,
  description: 'memory over 1,000,000 route operations (add / lookup / delete): RSS and live heap after warm-up vs at the end, slope',

  async run(ctx) {
    const { nlkit } = ctx;
    const total = ctx.quick ? 100_000 : 1_000_000;
    const round = 1000;
    const opsPerRound = 3 * round;
    const rounds = Math.ceil(total / opsPerRound);
    const warmupRounds = Math.ceil(rounds / 10);
    const sampleEvery = Math.max(1, Math.floor((rounds - warmupRounds) / 20));
    const ns = await ctx.netns('memory');
    const h = await nlkit.open({ netns: ns });
    try {
      await h.links.add({ name: 'd0', kind: 'bridge', up: true });
      await h.addresses.add('d0', '10.63.0.1/16');
      const index = (await h.links.get('d0')).index;
      const routes = Array.from({ length: round }, (_, i) => ({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link: index }));
      const lookups = routes.map((r) => r.dst.slice(0, -3));
      const xs = [];
      const rss = [];
      const live = [];
      const sample = async (ops) => {
        await new Promise((resolve) => setImmediate(resolve));
        ctx.gc();
        const m = ctx.memory();
        xs.push(ops);
        rss.push(m.rss);
        live.push(m.heapUsed + m.external);
      };
      let ops = 0;
      let timedOps = 0;
      let t0 = 0n;
      for (let i = 0; i < rounds; i++) {
        if (i === warmupRounds) {
          await sample(ops);
          t0 = process.hrtime.bigint();
          timedOps = ops;
        }
        await Promise.all(routes.map((r) => h.routes.add(r)));
        const found = await Promise.all(lookups.map((a) => h.routes.lookup(a)));
        if (found[found.length - 1].link !== index) throw new Error('route lookup went elsewhere');
        await Promise.all(routes.map((r) => h.routes.delete(r)));
        ops += opsPerRound;
        if (i > warmupRounds && (i - warmupRounds) % sampleEvery === 0) await sample(ops);
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      await sample(ops);
      const group = `memory over ${ops.toLocaleString('en-US')} route operations (after ${(warmupRounds * opsPerRound).toLocaleString('en-US')} warm-up)`;
      const value = (variant, v, unit, note) => ctx.record({ group, variant, kind: 'value', unit, median: v, min: v, max: v, samples: [v], note });
      value('RSS after warm-up', rss[0] / MB, 'MB');
      value('RSS at the end', rss[rss.length - 1] / MB, 'MB');
      value('RSS slope', (slope(xs, rss) * 1e6) / MB, 'MB per 1M ops', `least squares over ${xs.length} samples`);
      value('live heap + Buffers after warm-up', live[0] / MB, 'MB');
      value('live heap + Buffers at the end', live[live.length - 1] / MB, 'MB');
      value('live heap + Buffers slope', (slope(xs, live) * 1e6) / MB, 'MB per 1M ops', 'forced GC before each sample');
      value('throughput while measuring', (ops - timedOps) / seconds, 'ops/s', 'includes the forced GCs of the samples');
    } finally {
      h.close();
    }
  },

  targets: [
    {
      text: 'no memory growth over 1,000,000 operations (live heap slope < 1 MB and RSS slope < 4 MB per 1M ops)',
      evaluate: (r) => {
        const heap = r('live heap + Buffers slope');
        const rss = r('RSS slope');
        if (!heap || !rss) return { met: false, value: 'not measured' };
        return { met: heap.median < 1 && rss.median < 4, value: `heap ${heap.median.toFixed(2)}, RSS ${rss.median.toFixed(2)} MB per 1M ops` };
      },
      limit: 'a positive slope would mean something retains memory per request (pending-request maps, listeners, native queues).',
    },
  ],
};
