'use strict';
/**
 * CPU time per request of a handle's plain call path (connection.ts
 * execute(): a request that is neither a dump nor grouped), for A/B runs of
 * builds on a busy machine: `node bench/call-execute-cpu.js [dist dir ...]`
 * (default: this checkout's dist/). Each build, in turn, runs in a new
 * process in its own network namespace (`unshare -n`): 5,000 `links.get(1)`
 * at once, 5 warm rounds, then the median of 10 rounds of
 * process.cpuUsage() (all threads) per request. The builds alternate 4 times.
 */
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { median } = require('./lib/stats');

const N = 5000;

async function child(dist) {
  const nlkit = require(dist);
  const h = await nlkit.open();
  const round = () => Promise.all(Array.from({ length: N }, () => h.links.get(1)));
  for (let i = 0; i < 5; i++) await round();
  const per = [];
  for (let i = 0; i < 10; i++) {
    const c = process.cpuUsage();
    await round();
    const d = process.cpuUsage(c);
    per.push((d.user + d.system) / N);
  }
  h.close();
  console.log(JSON.stringify({ dist, usPerCall: Number(median(per).toFixed(1)) }));
}

if (process.argv[2] === '--child') child(process.argv[3]);
else {
  const dists = process.argv.length > 2 ? process.argv.slice(2).map((d) => path.resolve(d)) : [path.join(__dirname, '..', 'dist')];
  for (let r = 0; r < 4; r++)
    for (const d of dists) process.stdout.write(execFileSync('unshare', ['-n', process.execPath, __filename, '--child', d], { encoding: 'utf8' }));
}
