'use strict';
/**
 * Soak: 100,000 handle open/close cycles, 10,000 container attach/detach
 * cycles and 1,000,000 route operations in one process, as a daemon does them
 * over months. Descriptors (/proc/self/fd), threads (/proc/self/status) and
 * RSS are read after a warm-up and at the end, with 19 samples in between;
 * closing must give everything back: no descriptor or thread growth, RSS
 * within +50 MB. The time per operation is kept per segment between samples
 * (bench/lib/drift.js): the 20th segment must cost what the first did.
 * Long: runs only with --only soak.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { slope } = require('../lib/stats');
const { SegmentClock, recordDrift, driftTarget } = require('../lib/drift');
const { routeRound, ROUTE_OPS_PER_ROUND, routesIn } = require('../lib/route-soak');

const MB = 2 ** 20;
const RSS_BUDGET_MB = 50;
/** RSS flat: the second half of a soak rises by at most this per 10,000 cycles (100,000 route operations). */
const RSS_FLAT_MB = 2;
const SEGMENTS = 20;
/** Untimed cycles after each intermediate sample, as a fraction of a segment (see soak()). */
const REWARM = 0.02;
/**
 * Bound of the state directory in the attach soak: state.journal is folded into state.json after
 * 1,024 lines (~240 KiB of attachment lines; lib/network/state.ts), the intent journal emptied once
 * past 64 KiB with nothing in flight (lib/network/intents.ts); the rest is a few small files. A
 * record kept per attachment would pass it within ~1,000 cycles (2 lines, ~470 bytes, per cycle).
 */
const STATE_DIR_BOUND_KIB = 512;
const STATE_DIR_NOTE = `bounded by design: state.journal folded after 1,024 lines, the intent journal emptied past 64 KiB`;
const HANDLES = 'handles';
const ATTACH = 'attach';
const ROUTES = 'routes';

function usage() {
  const threads = Number(fs.readFileSync('/proc/self/status', 'utf8').match(/^Threads:\s+(\d+)/m)[1]);
  return { fds: fs.readdirSync('/proc/self/fd').length, threads, rss: process.memoryUsage().rss };
}

/** Files and bytes under a directory (the state directory: journal, records, leases). */
function dirUsage(dir) {
  let files = 0;
  let bytes = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    files++;
    bytes += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return { files, bytes };
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
 * Runs `cycle` `total` times after `warmup` untimed ones, sampling usage
 * between 20 segments; records start, end, growth and slope of each, the
 * cycle rate, and the time per operation of each segment (its drift).
 * `opsPerCycle`: operations one cycle does (a route round does 1,000);
 * 2 % of a segment's cycles (at least 3) run untimed after each intermediate sample (its forced
 * GC's after-effects), in addition to `total`.
 * `per`: the operation count RSS and time slopes are given per; `onSample`:
 * called (untimed) with each usage sample, the first after the warm-up.
 */
async function soak(ctx, { key, title, total, warmup, cycle, opsPerCycle = 1, per = 10_000, opName = 'cycle', onSample }) {
  for (let i = 0; i < warmup; i++) await cycle(i);
  const start = await settledUsage(ctx);
  if (onSample) onSample();
  const xs = [0];
  const rss = [start.rss];
  const every = Math.max(1, Math.floor(total / SEGMENTS));
  const rewarm = Math.max(3, Math.ceil(every * REWARM));
  // The first segment too: every segment starts the same way after a sample.
  for (let k = 0; k < rewarm; k++) await cycle(warmup - rewarm + k);
  const clock = new SegmentClock(every + (total % SEGMENTS), opsPerCycle);
  clock.start();
  for (let i = 0; i < total; i++) {
    const t = process.hrtime.bigint();
    await cycle(warmup + i);
    clock.cycle(Number(process.hrtime.bigint() - t));
    if ((i + 1) % every === 0 && i + 1 < total && clock.segments.length < SEGMENTS - 1) {
      clock.end((i + 1) * opsPerCycle);
      const u = await settledUsage(ctx);
      if (onSample) onSample();
      xs.push((i + 1) * opsPerCycle);
      rss.push(u.rss);
      // The sample's forced GC drops type feedback and shrinks the young generation, which a daemon
      // never does: a few untimed cycles let the next segment start as the last one ended.
      for (let k = 0; k < rewarm; k++) await cycle(warmup + i + 1 + k);
      clock.start();
    }
  }
  clock.end(total * opsPerCycle);
  const end = await settledUsage(ctx, start);
  if (onSample) onSample();
  xs.push(total * opsPerCycle);
  rss.push(end.rss);

  const group = `${title} (after ${(warmup * opsPerCycle).toLocaleString('en-US')} warm-up)`;
  const perLabel = per.toLocaleString('en-US');
  const value = (variant, v, unit, note) =>
    ctx.record({ group, variant: `${key}: ${variant}`, kind: 'value', unit, median: v, min: v, max: v, samples: [v], note });
  value('RSS at the start', start.rss / MB, 'MB');
  value('RSS at the end', end.rss / MB, 'MB');
  value('RSS growth', (end.rss - start.rss) / MB, 'MB');
  value(
    'RSS slope',
    (slope(xs, rss) * per) / MB,
    `MB per ${perLabel} ${opsPerCycle === 1 ? 'cycles' : 'ops'}`,
    `least squares over ${xs.length} samples (forced GC before each)`,
  );
  // Flat, not only within budget: the second half's slope (the young generation's growth, V8's and
  // the allocator's early rise, is over by then). A kept object of ~200 bytes per operation is 2 MB
  // per 10,000.
  const half = Math.floor(xs.length / 2);
  value(
    'RSS slope, second half',
    (slope(xs.slice(half), rss.slice(half)) * per) / MB,
    `MB per ${perLabel} ${opsPerCycle === 1 ? 'cycles' : 'ops'}`,
    `least squares over the last ${xs.length - half} samples`,
  );
  ctx.log(`  ${key}: RSS samples (MB): ${rss.map((x) => (x / MB).toFixed(1)).join(' ')}`);
  value('descriptors at the start', start.fds, 'fds');
  value('descriptor growth', end.fds - start.fds, 'fds', 'after closing finished (threads and sockets are released in the background)');
  value('threads at the start', start.threads, 'threads');
  value('thread growth', end.threads - start.threads, 'threads');
  const busySeconds = Number(clock.busyNs) / 1e9;
  if (opsPerCycle === 1) value('cycles per second', total / busySeconds, 'cycles/s', 'excludes the sampling pauses');
  else value('operations per second', (total * opsPerCycle) / busySeconds, 'ops/s', 'excludes the sampling pauses');
  recordDrift(ctx, { group, key, segments: clock.segments, opName, per, rewarm });
  return group;
}

module.exports = {
  name: 'soak',
  order: 95,
  optional: true,
  description:
    'soak: 100,000 handle open/close cycles, 10,000 container attach/detach cycles and 1,000,000 route operations; descriptors, threads and RSS at the start and the end, time per operation along the run',

  async run(ctx) {
    const { nlkit } = ctx;
    const handleCycles = ctx.quick ? 10_000 : 100_000;
    const attachCycles = ctx.quick ? 1_000 : 10_000;
    const routeRounds = ctx.quick ? 100 : 1_000;

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
      const dirSamples = [];
      const group = await soak(ctx, {
        key: ATTACH,
        title: `${attachCycles.toLocaleString('en-US')} cycles of \`nets.attach()\` + \`nets.detach()\` (one sandbox)`,
        total: attachCycles,
        warmup: 20,
        // The state directory whenever the RSS is taken: its journals grow and are emptied in turn.
        onSample: () => dirSamples.push(dirUsage(stateDir)),
        cycle: async (i) => {
          const a = await nets.attach('soak', { sandbox });
          if (!a.ipv4) throw new Error(`attach ${i}: no address`);
          if (!(await nets.detach('soak', sandbox))) throw new Error(`detach ${i}: was not attached`);
        },
      });
      const before = dirSamples[0];
      const after = dirSamples[dirSamples.length - 1];
      const largest = Math.max(...dirSamples.map((d) => d.bytes));
      const value = (variant, v, unit, note) =>
        ctx.record({ group, variant: `${ATTACH}: ${variant}`, kind: 'value', unit, median: v, min: v, max: v, samples: [v], note });
      value('state directory files at the start', before.files, 'files');
      value('state directory file growth', after.files - before.files, 'files', 'records, leases, locks and the intent journal');
      value('state directory bytes at the start', before.bytes / 1024, 'KiB');
      value('state directory byte growth', (after.bytes - before.bytes) / 1024, 'KiB');
      value('state directory bytes, largest sample', largest / 1024, 'KiB', `of ${dirSamples.length} samples; ${STATE_DIR_NOTE}`);
    } finally {
      await nets.delete('soak').catch(() => undefined);
      nets.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }

    const rns = await ctx.netns('soakrt');
    const h = await nlkit.open({ netns: rns });
    try {
      await h.links.add({ name: 'r0', kind: 'bridge', up: true });
      const index = (await h.links.get('r0')).index;
      const before = routesIn(await ctx.ip(rns, ['-4', '-j', 'route', 'show', 'table', 'all']));
      const group = await soak(ctx, {
        key: ROUTES,
        title: `${(routeRounds * ROUTE_OPS_PER_ROUND).toLocaleString('en-US')} route operations: rounds of single calls in flight, replaces, awaited calls, bulk adds and deletes, a dump every 10th round`,
        total: routeRounds,
        warmup: 5,
        opsPerCycle: ROUTE_OPS_PER_ROUND,
        per: 100_000,
        opName: 'round',
        cycle: (i) => routeRound(h, index, i),
      });
      // What `ip` sees, not what nlkit says: every route added was deleted.
      const left = routesIn(await ctx.ip(rns, ['-4', '-j', 'route', 'show', 'table', 'all'])) - before;
      ctx.record({
        group,
        variant: `${ROUTES}: routes left in the namespace`,
        kind: 'value',
        unit: 'routes',
        median: left,
        min: left,
        max: left,
        samples: [left],
        note: '`ip -4 -j route show table all` at the end minus at the start (the routes are IPv4; IPv6 link-local routes come and go with DAD)',
      });
    } finally {
      h.close();
    }
  },

  targets: [
    ...[HANDLES, ATTACH].map((key) => ({
      text: `${key === HANDLES ? 'handle open/close' : 'attach/detach'} soak: RSS within +${RSS_BUDGET_MB} MB, no descriptor or thread growth`,
      evaluate: (r) => flat(r, key),
      limit: 'growth means something is kept per handle or per attachment (sockets, I/O threads, pending-request maps, state files).',
    })),
    {
      text: `route soak (1,000,000 operations): RSS within +${RSS_BUDGET_MB} MB, no descriptor or thread growth, no route left`,
      evaluate: (r) => {
        const left = r(`${ROUTES}: routes left in the namespace`);
        const base = flat(r, ROUTES);
        if (!left) return { met: false, value: base.value };
        return { met: base.met && left.median === 0, value: `${base.value}, routes left ${left.median}` };
      },
      limit: 'growth means something is kept per request (pending-request maps, bulk buffers, caches keyed by route).',
    },
    {
      text: `attach/detach soak: the state directory stays bounded (no file left per attachment; never above ${STATE_DIR_BOUND_KIB} KiB: its journals are folded or emptied)`,
      evaluate: (r) => {
        const files = r(`${ATTACH}: state directory file growth`);
        const largest = r(`${ATTACH}: state directory bytes, largest sample`);
        const growth = r(`${ATTACH}: state directory byte growth`);
        if (!files || !largest || !growth) return { met: false, value: 'not measured' };
        return {
          met: files.median <= 0 && largest.median <= STATE_DIR_BOUND_KIB,
          value: `${files.median >= 0 ? '+' : ''}${files.median} files, largest ${largest.median.toFixed(0)} KiB, end − start ${growth.median >= 0 ? '+' : ''}${growth.median.toFixed(0)} KiB`,
        };
      },
      limit: 'a file or record kept per attachment after detach, or a journal that is never folded or emptied.',
    },
    flatRss(HANDLES, 'handle open/close', '10,000 cycles'),
    flatRss(ATTACH, 'attach/detach', '10,000 cycles'),
    flatRss(ROUTES, 'route', '100,000 operations'),
    driftTarget(HANDLES, 'handle open/close'),
    driftTarget(ATTACH, 'attach/detach'),
    driftTarget(ROUTES, 'route'),
  ],
};

function flat(r, key) {
  const rss = r(`${key}: RSS growth`);
  const fds = r(`${key}: descriptor growth`);
  const threads = r(`${key}: thread growth`);
  if (!rss || !fds || !threads) return { met: false, value: 'not measured' };
  return {
    met: rss.median <= RSS_BUDGET_MB && fds.median <= 0 && threads.median <= 0,
    value: `RSS ${rss.median >= 0 ? '+' : ''}${rss.median.toFixed(1)} MB, descriptors ${fds.median >= 0 ? '+' : ''}${fds.median}, threads ${threads.median >= 0 ? '+' : ''}${threads.median}`,
  };
}

/** RSS flat: the second half's slope within RSS_FLAT_MB per the soak's slope unit. */
function flatRss(key, what, per) {
  return {
    text: `${what} soak: RSS flat (least-squares slope over the second half ≤ ${RSS_FLAT_MB} MB per ${per})`,
    evaluate: (r) => {
      const s = r(`${key}: RSS slope, second half`);
      if (!s) return { met: false, value: 'not measured' };
      return { met: s.median <= RSS_FLAT_MB, value: `${s.median >= 0 ? '+' : ''}${s.median.toFixed(2)} ${s.unit}` };
    },
    limit: 'a steady rise after the first half is memory kept per operation (a record, a closure, a buffer per call).',
  };
}
