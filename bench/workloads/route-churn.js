'use strict';
/**
 * Route churn: add N /32 routes through one link, then delete them, with
 * every nlkit API shape and with the two ways people do it from a shell.
 * The rate counts route operations (N adds + N deletes) per second.
 */

const { mnl, go, runPeer, recordPeer } = require('../peers/peers');
const { withCpuHogs } = require('../lib/cpu-contention');
const { alternate, roundsResult, pairedRatios, ratioAtLeast: pairedAtLeast } = require('../lib/rounds');
const { median } = require('../lib/stats');

const GROUP = 'route churn (add 5,000 /32 routes, then delete them)';
const CONTENDED = 'route churn under CPU contention (a busy-looping process on every core)';
const CONCURRENT = 'nlkit, concurrent (all calls in flight)';
const BULK = 'nlkit, bulk (routes.add(list), routes.delete(list))';
const LIBMNL = 'libmnl (C, all requests sent in 64 KiB sendmsg()s, then their acks)';
const GO = 'Go vishvananda/netlink (one call after another)';

/**
 * nlkit's concurrent and bulk churn and libmnl's, in turns: per round one timed run of each (libmnl a new
 * process whose first run is untimed), the order reversed every other round, after the runner's warm-up
 * of the two nlkit shapes; recorded in `group` with the rounds kept for the paired targets.
 */
async function againstLibmnl(ctx, { group, ns, n, ops, concurrent, bulk, libmnl }) {
  for (let i = 0; i < ctx.warmup; i++) {
    await concurrent();
    await bulk();
  }
  const rate = async (fn) => {
    const t0 = process.hrtime.bigint();
    await fn();
    return [ops / (Number(process.hrtime.bigint() - t0) / 1e9)];
  };
  const batches = [() => rate(concurrent), () => rate(bulk)];
  if (libmnl.bin)
    batches.push(async () => {
      const out = await runPeer(ns, libmnl.bin, ['churn', 'd0', String(n), '2']);
      return [ops / (out.ms[1] / 1e3)];
    });
  const [c, b, m] = await alternate(ctx.runs, 1, batches);
  const row = (variant, impl, entry, note) =>
    ctx.record({ group, variant, impl, kind: 'rate', unit: 'routes/s', ops, runs: ctx.runs, warmup: ctx.warmup + 1, note, ...roundsResult(entry) });
  row(CONCURRENT, 'nlkit', c, 'alternated round by round with the bulk row and libmnl');
  row(BULK, 'nlkit', b, 'alternated round by round with the concurrent row and libmnl');
  if (m) row(LIBMNL, 'alternative', m, "a new process per round (its first run untimed), alternated with nlkit's rows");
}

function routes(n, index) {
  const out = [];
  for (let i = 0; i < n; i++) out.push({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link: index });
  return out;
}

module.exports = {
  name: 'route-churn',
  order: 10,
  description: 'rtnetlink route add/delete: nlkit sequential, concurrent and sync vs `ip` per route and `ip -batch`',

  async run(ctx) {
    const { nlkit } = ctx;
    const n = 5000; // also in quick mode: fewer routes would mostly measure the JIT warming up
    const sample = ctx.quick ? 50 : 200;
    const group = GROUP;
    const ns = await ctx.netns('routes');
    const h = await nlkit.open({ netns: ns });
    const s = nlkit.openSync({ netns: ns });
    try {
      await h.links.add({ name: 'd0', kind: 'bridge', up: true });
      const index = (await h.links.get('d0')).index;
      const list = routes(n, index);
      const ops = 2 * n;

      await ctx.measure({
        group,
        variant: 'nlkit, sequential (await each call)',
        ops,
        unit: 'routes/s',
        run: async () => {
          for (const r of list) await h.routes.add(r);
          for (const r of list) await h.routes.delete(r);
        },
      });
      const concurrent = async () => {
        await Promise.all(list.map((r) => h.routes.add(r)));
        await Promise.all(list.map((r) => h.routes.delete(r)));
      };
      // One call for all routes: validated first, sent back to back, failures reported by index.
      const bulk = async () => {
        await h.routes.add(list);
        await h.routes.delete(list);
      };
      // Concurrent, bulk and libmnl take turns (bench/lib/rounds.js): the targets compare them.
      const libmnl = mnl(ctx.log);
      await againstLibmnl(ctx, { group, ns, n, ops, concurrent, bulk, libmnl });
      // The same concurrent churn as the first thing a new process does.
      await ctx.fresh({ group, variant: CONCURRENT, ops, unit: 'routes/s', script: 'route-churn.js', args: [ns, n, index] });
      await ctx.fresh({ group, variant: BULK, ops, unit: 'routes/s', script: 'route-churn.js', args: [ns, n, index, 'bulk'] });
      await ctx.measure({
        group,
        variant: 'nlkit, sync API (openSync)',
        ops,
        unit: 'routes/s',
        run: () => {
          for (const r of list) s.routes.add(r);
          for (const r of list) s.routes.delete(r);
        },
      });

      // The alternatives, inside the same namespace, in the same run.
      const cmds = (verb) => list.map((r) => `route ${verb} ${r.dst} dev d0\n`).join('');
      const addFile = ctx.tmpFile('routes-add.batch', cmds('add'));
      const delFile = ctx.tmpFile('routes-del.batch', cmds('del'));
      await ctx.measure({
        group,
        variant: '`ip -batch` (one process, file of commands)',
        impl: 'alternative',
        ops,
        unit: 'routes/s',
        run: async () => {
          await ctx.ipQuiet(ns, ['-batch', addFile]);
          await ctx.ipQuiet(ns, ['-batch', delFile]);
        },
      });
      // The Go peer (bench/peers), timed by itself in the same namespace.
      const peerRuns = String(ctx.warmup + ctx.runs);
      const vish = go(ctx.log);
      if (vish.bin) {
        const out = await runPeer(ns, vish.bin, ['churn', 'd0', String(n), peerRuns]);
        recordPeer(ctx, { group, variant: GO, ops, unit: 'routes/s', warmup: ctx.warmup }, out.ms);
      }
      // Under contention: nlkit's ratio to libmnl, against its quiet ratio above.
      await withCpuHogs(() => againstLibmnl(ctx, { group: CONTENDED, ns, n, ops, concurrent, bulk, libmnl }));

      const few = list.slice(0, sample);
      await ctx.measure({
        group,
        variant: '`ip route add/del` spawned per route',
        impl: 'alternative',
        ops: 2 * few.length,
        unit: 'routes/s',
        runs: ctx.quick ? 1 : 3,
        warmup: 1,
        note: `measured on ${few.length} routes (${2 * few.length} processes, one awaited at a time) and reported as a rate`,
        run: async () => {
          for (const r of few) await ctx.ipQuiet(ns, ['route', 'add', r.dst, 'dev', 'd0']);
          for (const r of few) await ctx.ipQuiet(ns, ['route', 'del', r.dst, 'dev', 'd0']);
        },
      });
    } finally {
      s.close();
      h.close();
    }
  },

  targets: [
    {
      text: 'route churn ≥ 1.0× libmnl (nlkit concurrent, warm)',
      evaluate: (r) => pairedAtLeast(r(CONCURRENT), r(LIBMNL), 1),
    },
    {
      text: 'bulk route churn ≥ 1.0× libmnl (nlkit routes.add(list), warm)',
      evaluate: (r) => pairedAtLeast(r(BULK), r(LIBMNL), 1),
    },
    {
      text: 'fresh process: bulk route churn ≥ 1.0× `ip -batch`',
      evaluate: (r) => ratioAtLeast(r(BULK, 'fresh'), r('`ip -batch` (one process, file of commands)'), 1),
    },
    {
      text: 'under CPU contention, the ratio to libmnl no worse than 1.5× below the quiet one',
      evaluate: (_, all) => {
        const r = (variant, group) => all.find((x) => x.variant === variant && x.group === group);
        const quiet = r(CONCURRENT, GROUP);
        const busy = r(CONCURRENT, CONTENDED);
        const mnlQuiet = r(LIBMNL, GROUP);
        const mnlBusy = r(LIBMNL, CONTENDED);
        if (!quiet || !busy || !mnlQuiet || !mnlBusy) return { met: false, value: 'not measured' };
        // The median of each block's per-round ratios (the rounds alternate nlkit and libmnl).
        const paired = (a, b) => {
          const p = pairedRatios(a, b);
          return p ? median(p) : a.median / b.median;
        };
        const q = paired(quiet, mnlQuiet);
        const b = paired(busy, mnlBusy);
        return { met: b * 1.5 >= q, value: `${q.toFixed(2)}× quiet, ${b.toFixed(2)}× contended (paired per-round ratios, medians)` };
      },
    },
    {
      text: 'route churn ≥ 100,000 routes/s, concurrent or batched',
      evaluate: (r) => atLeast(best(r, ['nlkit, concurrent (all calls in flight)', BULK]), 100_000),
    },
    {
      text: 'route churn ≥ 60,000 routes/s, sequential awaited calls',
      evaluate: (r) => atLeast(r('nlkit, sequential (await each call)'), 60_000),
    },
    {
      text: '≥ 150× faster than spawning `ip` per route (nlkit concurrent)',
      evaluate: (r) => ratioAtLeast(r('nlkit, concurrent (all calls in flight)'), r('`ip route add/del` spawned per route'), 150),
    },
    {
      text: 'fresh process: route churn ≥ 1.0× `ip -batch` (nlkit concurrent)',
      evaluate: (r) => ratioAtLeast(r('nlkit, concurrent (all calls in flight)', 'fresh'), r('`ip -batch` (one process, file of commands)'), 1),
    },
    {
      text: 'faster than `ip -batch` (nlkit concurrent)',
      evaluate: (r) => ratioAtLeast(r('nlkit, concurrent (all calls in flight)'), r('`ip -batch` (one process, file of commands)'), 1),
    },
  ],
};

function best(r, variants) {
  return variants
    .map((v) => r(v))
    .filter(Boolean)
    .sort((a, b) => b.median - a.median)[0];
}

function atLeast(result, min) {
  if (!result) return { met: false, value: 'not measured' };
  return { met: result.median >= min, value: `${Math.round(result.median).toLocaleString('en-US')} ${result.unit} (${result.variant})` };
}

function ratioAtLeast(a, b, min) {
  if (!a || !b) return { met: false, value: 'not measured' };
  const ratio = a.median / b.median;
  return { met: ratio >= min, value: `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}×` };
}
