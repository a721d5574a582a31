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
 */
const fs = require('node:fs');
const path = require('node:path');
// The same services as the bench's services workload.
const { serviceSpec } = require('./workloads/services');

const BLOCK = 50;
const BLOCKS = 8; // per mode
const cpuMs = (c) => (c.user + c.system) / 1000;
const pct = (s, p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];

async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const dist = process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist');
  const nl = require(path.resolve(dist, 'index.js'));
  const host = `nlbench-${process.pid}-svcev`;
  const dir = fs.mkdtempSync('/dev/shm/nlbench-svcev-');
  let svcs;
  try {
    await nl.createNetns(host);
    svcs = await nl.services({ host, stateDir: dir });
    await svcs.apply(Array.from({ length: n }, (_, i) => serviceSpec(i)));
    const target = `s${Math.floor(n / 2)}`;
    let shift = 0;
    const change = () => {
      shift = shift === 0 ? 10 : 0;
      return svcs.set(target, { endpoints: serviceSpec(Math.floor(n / 2), shift).endpoints }, { cutFlows: false });
    };
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
    svcs?.close();
    await nl.deleteNetns(host, { missingOk: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
