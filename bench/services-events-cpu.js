'use strict';
/**
 * What service events cost a change: CPU time per `svcs.set()` of one
 * service's 10 endpoints (`cutFlows: false`) after `apply()` of N services,
 * with no subscriber and with one (a `for await` consumer reading every
 * event), in one process, alternating blocks of 50 calls so that both see
 * the same machine load: `node bench/services-events-cpu.js [N]` (default
 * 1000). Times process.cpuUsage() (all threads) around each call, after
 * WARMUP (default 200) unmeasured ones. A host namespace is created and
 * deleted. NLKIT_DIST selects the build (default ../dist).
 *
 * `node bench/services-events-cpu.js --micro`: the events alone, no kernel:
 * 20,000 committed changes of one 10-endpoint service (alternating between
 * two endpoint sets, one event-loop turn each) with 0, 1 and 3 consumers,
 * CPU time per change, three rounds.
 */
const path = require('node:path');
// The same services as the bench's services workload.
const { openServicesRun } = require('./lib/services-churn');
const { serviceSpec } = require('./workloads/services');

const BLOCK = 50;
const BLOCKS = 8; // per mode
const cpuMs = (c) => (c.user + c.system) / 1000;
const pct = (s, p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];

async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const dist = process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist');
  const run = await openServicesRun(dist, 'svcev');
  const { svcs, change } = run;
  try {
    await run.apply(n);
    const warmup = Number(process.env.WARMUP ?? 200);
    for (let i = 0; i < warmup; i++) await change();
    const samples = { none: [], one: [] };
    let received = 0;
    for (let b = 0; b < BLOCKS * 2; b++) {
      const mode = b % 2 ? 'one' : 'none';
      let stream;
      let consumer;
      if (mode === 'one') {
        stream = await svcs.events.subscribe();
        consumer = (async () => {
          for await (const ev of stream) if (ev.type === 'service') received++;
        })();
      }
      for (let i = 0; i < BLOCK; i++) {
        const c = process.cpuUsage();
        await change();
        // the consumer's own work (reading the event) is counted too: it runs before the next call
        await new Promise((r) => setImmediate(r));
        samples[mode].push(cpuMs(process.cpuUsage(c)));
      }
      stream?.close();
      await consumer;
    }
    if (received !== BLOCK * BLOCKS) throw new Error(`the consumer read ${received} service events, not ${BLOCK * BLOCKS}`);
    for (const [mode, s] of Object.entries(samples)) {
      s.sort((a, b) => a - b);
      console.log(
        `${n} services, ${mode === 'none' ? 'no subscriber' : 'one subscriber'}: set() CPU p50 ${pct(s, 50).toFixed(3)} ms, p90 ${pct(s, 90).toFixed(3)} ms, p99 ${pct(s, 99).toFixed(3)} ms (${s.length} calls)`,
      );
    }
  } finally {
    await run.close();
  }
}

/** The events alone: what building and delivering them costs per change. */
async function micro() {
  const dist = process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist');
  const { ServiceEvents } = require(path.resolve(dist, 'services/events.js'));
  const { toServiceRecord } = require(path.resolve(dist, 'services/spec.js'));
  const a = toServiceRecord(serviceSpec(5, 0));
  const b = toServiceRecord(serviceSpec(5, 10));
  const run = async (subscribers) => {
    const events = new ServiceEvents((read) => Promise.resolve(read(new Map())));
    const loops = [];
    for (let i = 0; i < subscribers; i++) {
      const s = await events.subscribe();
      loops.push(
        (async () => {
          for await (const e of s) void e;
        })(),
      );
    }
    const N = 20000;
    const WARM = 2000;
    let us = 0;
    for (let i = 0; i < N + WARM; i++) {
      const c = process.cpuUsage();
      events.committed([{ before: i % 2 ? a : b, after: i % 2 ? b : a }]);
      await new Promise((r) => setImmediate(r));
      const d = process.cpuUsage(c);
      if (i >= WARM) us += d.user + d.system;
    }
    events.close();
    await Promise.all(loops);
    return (us / N).toFixed(2);
  };
  for (let r = 0; r < 3; r++)
    console.log(`per change (with one event-loop turn): 0 subscribers ${await run(0)} µs, 1 subscriber ${await run(1)} µs, 3 subscribers ${await run(3)} µs`);
}

(process.argv[2] === '--micro' ? micro() : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
