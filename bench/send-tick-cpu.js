#!/usr/bin/env node
'use strict';
/**
 * CPU of a connection's send tick alone (lib/netlink/send-tick.ts), no socket: each tick one ack group joins
 * at the flush, as for an awaited route add, and the hand-off is a no-op. For A/B runs of builds on a busy
 * machine: `node bench/send-tick-cpu.js [dist dir ...]` (default: this checkout's dist/); each build runs in a
 * new process, the builds alternate REPEAT times (default 5). Prints ns of process CPU per tick
 * (process.cpuUsage(); a setImmediate per tick is included, the same for every build) and the load.
 * N (default 200,000) ticks after N/10 to warm up.
 */
const path = require('node:path');
const os = require('node:os');
const { execFileSync } = require('node:child_process');

const N = Number(process.env.N) || 200000;
const REPEAT = Number(process.env.REPEAT) || 5;

if (process.argv[2] === '--child') {
  const { SendTick } = require(path.resolve(process.argv[3], 'netlink/send-tick.js'));
  const msg = Buffer.alloc(40);
  msg.writeUInt32LE(40, 0);
  let seq = 1;
  const group = { firstSeq: 0, sentAs: 0 };
  const tick = new SendTick(
    () => undefined,
    () => {
      if (group.firstSeq !== 0) return;
      group.firstSeq = group.sentAs = seq++;
      tick.push(msg, group);
    },
  );
  const run = async (n) => {
    for (let i = 0; i < n; i++) {
      group.firstSeq = 0;
      tick.schedule();
      await new Promise((r) => setImmediate(r));
    }
  };
  (async () => {
    await run(Math.ceil(N / 10));
    const c0 = process.cpuUsage();
    await run(N);
    const c = process.cpuUsage(c0);
    process.stdout.write(String(((c.user + c.system) / N) * 1000));
  })();
} else {
  const dists = process.argv.slice(2);
  if (dists.length === 0) dists.push(path.join(__dirname, '..', 'dist'));
  const runs = new Map(dists.map((d) => [d, []]));
  for (let r = 0; r < REPEAT; r++) {
    for (const d of dists) {
      const ns = Number(execFileSync(process.execPath, [__filename, '--child', path.resolve(d)], { encoding: 'utf8' }));
      runs.get(d).push(ns);
      console.log(`${d.padEnd(28)} ${ns.toFixed(0).padStart(6)} ns CPU per tick   load ${os.loadavg()[0].toFixed(2)}`);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`\nmedians of ${REPEAT} (load now ${os.loadavg()[0].toFixed(2)}):`);
  for (const [d, a] of runs) console.log(`${d.padEnd(28)} ${median(a).toFixed(0).padStart(6)} ns CPU per tick`);
}
