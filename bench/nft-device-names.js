'use strict';
/**
 * What naming an interface in a rule costs (`fwd('lo')`, looked up with one
 * RTM_GETLINK when the transaction is committed) against giving its index
 * (`fwd(1)`): `node bench/nft-device-names.js [commits]` (default 300).
 * Runs itself again under `unshare -n` (a throw-away namespace with only
 * loopback), commits one-rule transactions into a netdev ingress chain on lo,
 * the two variants alternating 5 times, and prints process.cpuUsage() (all
 * threads) per commit: medians and every run.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const N = Number(process.argv[2] ?? 300);
const ROUNDS = 5;

async function measure() {
  const { open, rule } = require(path.resolve(__dirname, '..', 'dist'));
  const h = await open();
  try {
    await h.links.set('lo', { up: true });
    const setup = h.nft.transaction();
    setup.addTable({ family: 'netdev', name: 'bench' });
    setup.addChain({ family: 'netdev', table: 'bench', name: 'in', type: 'filter', hook: 'ingress', device: 'lo', priority: 0, policy: 'accept' });
    await setup.commit();
    /** CPU µs per commit of `commits` transactions of `rules` rules each. */
    const run = async (make, commits = N, rules = 1) => {
      const before = process.cpuUsage();
      for (let i = 0; i < commits; i++) {
        const tx = h.nft.transaction();
        for (let r = 0; r < rules; r++) tx.addRule({ family: 'netdev', table: 'bench', chain: 'in', rule: make() });
        await tx.commit({ echo: 'none' });
      }
      const used = process.cpuUsage(before);
      const flush = h.nft.transaction();
      flush.flushChain({ family: 'netdev', table: 'bench', name: 'in' });
      await flush.commit();
      return (used.user + used.system) / commits;
    };
    const byIndex = [];
    const byName = [];
    for (let r = 0; r < ROUNDS; r++) {
      byIndex.push(await run(() => rule().fwd(1)));
      byName.push(await run(() => rule().fwd('lo')));
    }
    const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
    const us = (a) => a.map((x) => Math.round(x));
    console.log(`one-rule commits, CPU µs per commit (median of ${ROUNDS} runs of ${N}):`);
    console.log(`  fwd(1)    ${Math.round(median(byIndex))}  runs ${us(byIndex).join(' ')}`);
    console.log(`  fwd('lo') ${Math.round(median(byName))}  runs ${us(byName).join(' ')}`);
    console.log(`  name / index: ${(median(byName) / median(byIndex)).toFixed(2)}`);
    const bigIndex = [];
    const bigName = [];
    for (let r = 0; r < ROUNDS; r++) {
      bigIndex.push(await run(() => rule().udp({ dport: 53 }).fwd(1), 3, 1000));
      bigName.push(await run(() => rule().udp({ dport: 53 }).fwd('lo'), 3, 1000));
    }
    console.log(`1,000-rule commits (one name looked up once), CPU ms per commit (median of ${ROUNDS} runs of 3):`);
    console.log(`  fwd(1)    ${(median(bigIndex) / 1000).toFixed(1)}  runs ${bigIndex.map((x) => (x / 1000).toFixed(1)).join(' ')}`);
    console.log(`  fwd('lo') ${(median(bigName) / 1000).toFixed(1)}  runs ${bigName.map((x) => (x / 1000).toFixed(1)).join(' ')}`);
    console.log(`  name / index: ${(median(bigName) / median(bigIndex)).toFixed(2)}`);
  } finally {
    h.close();
  }
}

if (process.env.NLKIT_BENCH_ISOLATED) {
  measure().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  execFileSync('unshare', ['-n', process.execPath, __filename, String(N)], { stdio: 'inherit', env: { ...process.env, NLKIT_BENCH_ISOLATED: '1' } });
}
