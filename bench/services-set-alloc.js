'use strict';
/**
 * Where one `svcs.set()` allocates, for the p99 work (young-generation GC):
 * `node bench/services-set-alloc.js [N]` (default 1000) applies N services
 * in a namespace it creates (and deletes), runs WARMUP (default 1000)
 * unmeasured set() calls of one service's 10 endpoints (`cutFlows: false`),
 * then over CALLS (default 300) calls prints
 * - bytes allocated per call on the JS heap (used-heap growth between calls,
 *   calls with a collection in between left out) and the scavenges and
 *   mark-compacts seen (PerformanceObserver 'gc');
 * - a sampled allocation profile (inspector HeapProfiler, objects already
 *   collected included), bytes per call by allocating function (self) and
 *   by nlkit function on the stack (inclusive), largest first.
 * NLKIT_DIST picks the build (default dist/). TOP=n rows (default 25).
 */
const path = require('node:path');
const inspector = require('node:inspector');
const { countGcs } = require('./lib/gc-count');
const { openServicesRun } = require('./lib/services-churn');

const post = (s, m, p) => new Promise((res, rej) => s.post(m, p, (e, r) => (e ? rej(e) : res(r))));

async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const warmup = Number(process.env.WARMUP ?? 1000);
  const calls = Number(process.env.CALLS ?? 300);
  const top = Number(process.env.TOP ?? 25);
  const dist = process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist');
  const run = await openServicesRun(dist, 'alloc');
  const { change } = run;
  try {
    await run.apply(n);
    for (let i = 0; i < warmup; i++) await change();

    // 1. Exact heap growth per call, and the collections.
    const gc = countGcs();
    const gcs = gc.counts;
    const v8 = require('node:v8');
    const grew = [];
    for (let i = 0; i < calls; i++) {
      const before = v8.getHeapStatistics().used_heap_size;
      await change();
      const after = v8.getHeapStatistics().used_heap_size;
      if (after > before) grew.push(after - before);
    }
    await new Promise((r) => setImmediate(r));
    gc.stop();
    grew.sort((a, b) => a - b);
    const med = grew[grew.length >> 1];

    // 2. Sampled allocations by function, collected objects included.
    const s = new inspector.Session();
    s.connect();
    await post(s, 'HeapProfiler.enable');
    await post(s, 'HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    for (let i = 0; i < calls; i++) await change();
    const { profile } = await post(s, 'HeapProfiler.stopSampling');
    s.disconnect();
    const self = new Map();
    const incl = new Map();
    let total = 0;
    const label = (f) => `${f.functionName || '(anonymous)'} ${path.relative(process.cwd(), f.url.replace('file://', '')) || '(native)'}:${f.lineNumber + 1}`;
    const walk = (node, stack) => {
      const here = label(node.callFrame);
      const own = node.selfSize;
      total += own;
      self.set(here, (self.get(here) ?? 0) + own);
      const next = stack.concat(node.callFrame.url.includes('/dist/') ? [here] : []);
      for (const f of new Set(next)) incl.set(f, (incl.get(f) ?? 0) + own);
      for (const c of node.children) walk(c, next);
    };
    walk(profile.head, []);
    const kib = (b) => (b / calls / 1024).toFixed(1);
    console.log(
      `${n} services, ${calls} calls after ${warmup}: heap growth per call median ${(med / 1024).toFixed(1)} KiB ` +
        `(${grew.length} calls without a collection); scavenges ${gcs.minor} (${gcs.minorMs.toFixed(0)} ms), mark-compacts ${gcs.major} (${gcs.majorMs.toFixed(0)} ms); ` +
        `sampled ${kib(total)} KiB per call`,
    );
    console.log('\nself, KiB per call:');
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${kib(v).padStart(8)}  ${k}`);
    console.log('\ninclusive (nlkit functions), KiB per call:');
    for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${kib(v).padStart(8)}  ${k}`);
  } finally {
    await run.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
