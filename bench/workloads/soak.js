'use strict';
/**
 * Soak: 100,000 handle open/close cycles and 10,000 container attach/detach
 * cycles in one process. Descriptors (/proc/self/fd), threads
 * (/proc/self/status) and RSS are read after a warm-up and at the end, with
 * samples in between; closing must give everything back: no descriptor or
 * thread growth, RSS within +50 MB. Long: runs only with --only soak.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { slope } = require('../lib/stats');

const MB = 2 ** 20;
const RSS_BUDGET_MB = 50;
const HANDLES = 'handles';
const ATTACH = 'attach';

function usage() {
  const threads = Number(fs.readFileSync('/proc/self/status', 'utf8').match(/^Threads:\s+(\d+)/m)[1]);
  return { fds: fs.readdirSync('/proc/self/fd').length, threads, rss: process.memoryUsage().rss };
}

/** Usage once closing has finished in the background (threads exit after close returns): up to 3 s, then a GC. */
async function settledUsage(ctx, target) {
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const u = usage();
    if (!target || (u.fds <= target.fds && u.threads <= target.threads)) break;
  }
  ctx.gc();
  return usage();
}

/**
 * Runs `cycle` `total` times after `warmup` untimed ones, sampling usage 20
 * times; records start, end, growth and slope of each, and the cycle rate.
 */
async function soak(ctx, { key, title, total, warmup, cycle }) {
  for (let i = 0; i < warmup; i++) await cycle(i);
  const start = await settledUsage(ctx);
  const xs = [0];
  const rss = [start.rss];
  const every = Math.max(1, Math.floor(total / 20));
  let busySeconds = 0;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < total; i++) {
    await cycle(warmup + i);
    if ((i + 1) % every === 0 && i + 1 < total) {
      busySeconds += Number(process.hrtime.bigint() - t0) / 1e9;
      const u = await settledUsage(ctx);
      xs.push(i + 1);
      rss.push(u.rss);
      t0 = process.hrtime.bigint();
    }
  }
  busySeconds += Number(process.hrtime.bigint() - t0) / 1e9;
  const end = await settledUsage(ctx, start);
  xs.push(total);
  rss.push(end.rss);

  const group = `${title} (after ${warmup.toLocaleString('en-US')} warm-up)`;
  const value = (variant, v, unit, note) =>
    ctx.record({ group, variant: `${key}: ${variant}`, kind: 'value', unit, median: v, min: v, max: v, samples: [v], note });
  value('RSS at the start', start.rss / MB, 'MB');
  value('RSS at the end', end.rss / MB, 'MB');
  value('RSS growth', (end.rss - start.rss) / MB, 'MB');
  value('RSS slope', (slope(xs, rss) * 10_000) / MB, 'MB per 10,000 cycles', `least squares over ${xs.length} samples (forced GC before each)`);
  value('descriptors at the start', start.fds, 'fds');
  value('descriptor growth', end.fds - start.fds, 'fds', 'after closing finished (threads and sockets are released in the background)');
  value('threads at the start', start.threads, 'threads');
  value('thread growth', end.threads - start.threads, 'threads');
  value('cycles per second', total / busySeconds, 'cycles/s', 'excludes the sampling pauses');
}

module.exports = {
  name: 'soak',
  order: 95,
  optional: true,
  description: 'soak: 100,000 handle open/close cycles and 10,000 container attach/detach cycles; descriptors, threads and RSS at the start and the end',

  async run(ctx) {
    const { nlkit } = ctx;
    const handleCycles = ctx.quick ? 10_000 : 100_000;
    const attachCycles = ctx.quick ? 1_000 : 10_000;

    const ns = await ctx.netns('soak');
    await soak(ctx, {
      key: HANDLES,
      title: `${handleCycles.toLocaleString('en-US')} cycles of \`await open({ netns })\` + \`h.close()\``,
      total: handleCycles,
      warmup: 200,
      cycle: async () => {
        const h = await nlkit.open({ netns: ns });
        h.close();
      },
    });

    const host = await ctx.netns('soakhost');
    const sandbox = await ctx.netns('soaksb');
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-soak-'));
    const nets = await nlkit.networks({ host, stateDir });
    try {
      await nets.create({ name: 'soak', subnet: '10.79.0.0/16' });
      await soak(ctx, {
        key: ATTACH,
        title: `${attachCycles.toLocaleString('en-US')} cycles of \`nets.attach()\` + \`nets.detach()\` (one sandbox)`,
        total: attachCycles,
        warmup: 20,
        cycle: async (i) => {
          const a = await nets.attach('soak', { sandbox });
          if (!a.ipv4) throw new Error(`attach ${i}: no address`);
          if (!(await nets.detach('soak', sandbox))) throw new Error(`detach ${i}: was not attached`);
        },
      });
    } finally {
      await nets.delete('soak').catch(() => undefined);
      nets.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  },

  targets: [HANDLES, ATTACH].map((key) => ({
    text: `${key === HANDLES ? 'handle open/close' : 'attach/detach'} soak: RSS within +${RSS_BUDGET_MB} MB, no descriptor or thread growth`,
    evaluate: (r) => {
      const rss = r(`${key}: RSS growth`);
      const fds = r(`${key}: descriptor growth`);
      const threads = r(`${key}: thread growth`);
      if (!rss || !fds || !threads) return { met: false, value: 'not measured' };
      return {
        met: rss.median <= RSS_BUDGET_MB && fds.median <= 0 && threads.median <= 0,
        value: `RSS ${rss.median >= 0 ? '+' : ''}${rss.median.toFixed(1)} MB, descriptors ${fds.median >= 0 ? '+' : ''}${fds.median}, threads ${threads.median >= 0 ? '+' : ''}${threads.median}`,
      };
    },
    limit: 'growth means something is kept per handle or per attachment (sockets, I/O threads, pending-request maps, state files).',
  })),
};
