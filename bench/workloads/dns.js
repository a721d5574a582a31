'use strict';
/**
 * The embedded DNS responder (`dnsResponder`) under load: a client process in
 * a container namespace asks the network's gateway for a container name over
 * UDP, as fast as answers come back (a Node flood client keeping 64 queries
 * in flight; and dnsperf where installed). Queries/s and p50/p99 latency.
 * The responder runs in the benchmark process, as it would in a runtime.
 */
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const GROUP = 'DNS responder: A queries for a container name over UDP';

function run(cmd, args) {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout))),
  );
}

module.exports = {
  name: 'dns',
  order: 60,
  description: 'DNS: queries/s and p99 latency of the embedded responder against a UDP flood client in a container namespace',

  async run(ctx) {
    const { nlkit } = ctx;
    const total = ctx.quick ? 20_000 : 200_000;
    const host = await ctx.netns('dnshost');
    const client = await ctx.netns('dnsclient');
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-dns-'));
    const nets = await nlkit.networks({ host, stateDir });
    let responder;
    try {
      await nets.create({ name: 'bench', subnet: '10.199.0.0/24' });
      await nets.attach('bench', { sandbox: client, names: ['client'] });
      for (let i = 0; i < 10; i++) await nets.attach('bench', { sandbox: await ctx.netns(`dnsc${i}`), names: [`web${i}`] });
      responder = await nlkit.dnsResponder({ manager: nets, host, networks: ['bench'], domain: 'nlkit.internal' });
      const flood = path.join(__dirname, '..', 'lib', 'dns-flood.js');
      const samples = [];
      for (let i = 0; i < (ctx.quick ? 1 : 3); i++) {
        const out = await run('ip', ['netns', 'exec', client, process.execPath, flood, '10.199.0.1', 'web3.nlkit.internal', String(total), '64']);
        samples.push(JSON.parse(out));
      }
      const median = (k) => samples.map((s) => s[k]).sort((a, b) => a - b)[Math.floor(samples.length / 2)];
      const note = `${total.toLocaleString('en-US')} queries per run, 64 in flight, ${samples.length} runs; lost: ${samples.map((s) => s.lost).join(', ')}`;
      ctx.record({ group: GROUP, variant: 'queries/s (Node flood client)', kind: 'value', unit: 'queries/s', median: median('qps'), note });
      ctx.record({ group: GROUP, variant: 'p50 latency (Node flood client)', kind: 'value', unit: 'ms', median: median('p50') });
      ctx.record({ group: GROUP, variant: 'p99 latency (Node flood client)', kind: 'value', unit: 'ms', median: median('p99') });
      const hasDnsperf = await run('dnsperf', ['-h']).then(
        () => true,
        (e) => !/ENOENT/.test(e.message),
      );
      if (hasDnsperf) {
        const file = ctx.tmpFile('queries.txt', 'web3.nlkit.internal A\nclient.nlkit.internal A\n');
        const out = await run('ip', ['netns', 'exec', client, 'dnsperf', '-s', '10.199.0.1', '-d', file, '-l', ctx.quick ? '3' : '10', '-q', '64']);
        const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]);
        const avg = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(out)?.[1]) * 1e3;
        ctx.record({ group: GROUP, variant: 'queries/s (dnsperf, 64 in flight)', impl: 'nlkit', kind: 'value', unit: 'queries/s', median: qps });
        ctx.record({ group: GROUP, variant: 'average latency (dnsperf)', kind: 'value', unit: 'ms', median: avg });
      }
      ctx.log(`  stats: ${JSON.stringify(responder.stats())}`);
    } finally {
      await responder?.close();
      await nets.delete('bench', { missingOk: true }).catch(() => undefined);
      nets.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  },
};
