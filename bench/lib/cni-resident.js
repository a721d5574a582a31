'use strict';
/**
 * What a resident agent would pay per call: one process (run by the cni
 * workload inside its bench host namespace) loads nlkit-cni once, then runs
 * ADD and DEL for each container through runCni, timing each call. Prints
 * { add: [ms...], del: [ms...] } as JSON.
 *   node cni-resident.js CONFLIST_JSON CONTAINER_NETNS...
 */
const path = require('node:path');
const { runCni } = require(path.join(__dirname, '..', '..', 'dist', 'cni', 'main.js'));

async function main() {
  const [config, ...netnses] = process.argv.slice(2);
  const out = { add: [], del: [] };
  for (const round of [0, 1]) {
    for (const cmd of ['ADD', 'DEL']) {
      for (const [i, netns] of netnses.entries()) {
        const env = { CNI_COMMAND: cmd, CNI_CONTAINERID: `agent${i}`, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '' };
        const t0 = process.hrtime.bigint();
        const r = await runCni(env, config);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stdout}`);
        if (round === 1) out[cmd === 'ADD' ? 'add' : 'del'].push(ms); // round 0 warms up
      }
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
