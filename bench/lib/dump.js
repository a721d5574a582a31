'use strict';
/**
 * Shared body of the dump workloads: list a namespace's objects collected
 * (the `list()` API) and streamed (`h.rtnetlink.stream()`, decoding each
 * message and dropping it), against `ip -j ... show`; time and memory.
 */
const { summarize } = require('./stats');
const { alternate, roundsResult } = require('./rounds');

const LIST = 'nlkit, `list()` (collected, decoded)';

const MB = 2 ** 20;

/**
 * spec: { group, memoryGroup, list(h), request() -> NetlinkCall, accept(m) -> boolean,
 *         decode(m), ipArgs, atLeast, runs, peer? }
 * peer: { variant, batch(n) -> Promise<ms[]> }, a program doing the same dump (n timed dumps per
 * batch): measured in rounds alternated with list(), for a paired ratio.
 */
async function measureDump(ctx, h, ns, spec) {
  const runs = spec.runs ?? (ctx.quick ? 5 : 30);
  const warmup = ctx.quick ? 2 : 5;
  let count = 0;

  // Every variant must see the same objects (the namespace also has a few of its own).
  const expected = (await spec.list(h)).length;
  if (expected < spec.atLeast) throw new Error(`${spec.group}: listed ${expected}, expected at least ${spec.atLeast}`);

  const stream = async (onItem) => {
    let n = 0;
    for await (const m of h.rtnetlink.stream(spec.request())) {
      if (!spec.accept(m)) continue;
      spec.decode(m);
      n++;
      if (onItem) onItem(n);
    }
    return n;
  };

  const listed = async () => {
    const t0 = process.hrtime.bigint();
    count = (await spec.list(h)).length;
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  if (spec.peer) {
    // The peer's target ratio: list() and the peer take turns, `warmup` dumps each per round (bench/lib/rounds.js).
    const per = warmup;
    const rounds = Math.max(2, Math.round(runs / per));
    const [own, peer] = await alternate(rounds, 1, [
      async () => {
        const ms = [];
        for (let i = 0; i < per; i++) ms.push(await listed());
        return ms;
      },
      () => spec.peer.batch(per),
    ]);
    const row = (variant, impl, entry, note) =>
      ctx.record({ group: spec.group, variant, impl, kind: 'time', unit: 'ms', runs: rounds * per, warmup: per, note, ...roundsResult(entry) });
    row(LIST, 'nlkit', own, `alternated with ${spec.peer.variant}, ${per} dumps each per round`);
    row(spec.peer.variant, 'alternative', peer, `a new process per round (its first dump untimed), alternated with nlkit's list()`);
  } else {
    await ctx.measure({
      group: spec.group,
      variant: LIST,
      kind: 'time',
      unit: 'ms',
      runs,
      warmup,
      run: async () => {
        count = (await spec.list(h)).length;
      },
    });
  }
  if (count !== expected) throw new Error(`${spec.group}: listed ${count}, expected ${expected}`);
  // spec.fresh { script, args }: the same list() as the first thing a new process does
  if (spec.fresh) await ctx.fresh({ group: spec.group, variant: LIST, kind: 'time', unit: 'ms', ...spec.fresh });
  await ctx.measure({
    group: spec.group,
    variant: 'nlkit, `rtnetlink.stream()` (decoded one by one)',
    kind: 'time',
    unit: 'ms',
    runs,
    warmup,
    run: async () => {
      count = await stream();
    },
  });
  if (count !== expected) throw new Error(`${spec.group}: streamed ${count}, expected ${expected}`);
  await ctx.measure({
    group: spec.group,
    variant: `\`ip -j ${spec.ipArgs.join(' ')}\` + JSON.parse`,
    impl: 'alternative',
    kind: 'time',
    unit: 'ms',
    runs: ctx.quick ? 3 : 10,
    warmup: 1,
    run: async () => {
      count = JSON.parse(await ctx.ip(ns, ['-j', ...spec.ipArgs])).length;
    },
  });

  // Memory: live heap + Buffers over a GC'd baseline (GC forced at each
  // sample, so garbage not yet collected does not count), and RSS growth.
  const memRuns = ctx.quick ? 3 : 7;
  const sampleEvery = Math.max(1, Math.floor(expected / 20));
  const delta = (a, b) => (b.heapUsed + b.external - (a.heapUsed + a.external)) / MB;
  const collectedPeak = [];
  const collectedRss = [];
  const streamPeak = [];
  const streamRss = [];
  // Let the previous step's promises and frames unwind before a baseline.
  const quiesce = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    ctx.gc();
  };
  for (let i = 0; i < memRuns; i++) {
    await quiesce();
    let base = ctx.memory();
    let list = await spec.list(h);
    ctx.gc();
    let after = ctx.memory();
    collectedPeak.push(delta(base, after));
    collectedRss.push((after.rss - base.rss) / MB);
    list = undefined;
    await quiesce();
    base = ctx.memory();
    let peak = base;
    await stream((n) => {
      if (n % sampleEvery === 0) {
        ctx.gc();
        const m = ctx.memory();
        if (m.heapUsed + m.external > peak.heapUsed + peak.external) peak = m;
      }
    });
    streamPeak.push(delta(base, peak));
    streamRss.push((peak.rss - base.rss) / MB);
    void list;
  }
  const mem = (variant, samples, note) => ctx.record({ group: spec.memoryGroup, variant, kind: 'value', unit: 'MB', note, ...summarize(samples) });
  mem('nlkit, `list()`: live heap + Buffers', collectedPeak, 'the decoded objects list() returns, still held; GC forced before sampling');
  mem('nlkit, `list()`: RSS change', collectedRss, 'RSS moves in pages and allocator caches: coarse, can be negative');
  mem(
    'nlkit, `stream()`: live heap + Buffers, peak',
    streamPeak,
    `sampled (after a forced GC) every ${sampleEvery} objects while streaming; each decoded object dropped at once`,
  );
  mem('nlkit, `stream()`: RSS change, peak', streamRss);
}

module.exports = { measureDump };
