'use strict';
/**
 * How long the kernel keeps tearing down a deleted namespace, and which
 * signal says it is done (bench/lib/settle.js uses the answer):
 * `node bench/netns-teardown.js [entries]` (default 100,000 conntrack entries,
 * the conntrack-flush workload's second shape).
 *
 * A namespace gets `entries` tracked UDP flows (a `ct state` rule, a Python
 * script sending from fresh sockets over loopback), then is deleted. Every
 * 50 ms until 2 s after the last sign of teardown, it prints: the kworkers
 * running netns work (`+netns` in their comm), the round trip of an
 * rtnl_lock-taking request (a veth pair added and deleted in a probe
 * namespace, what an attach does) and, with NSPROBE=1, of a namespace add +
 * delete (its own teardown then shows as netns work too). Both
 * namespaces are deleted at the end, also on failure.
 */
const { execFileSync } = require('node:child_process');
const nlkit = require('..');
const { netnsWorkers } = require('./lib/settle');

const ENTRIES = Number(process.argv[2]) || 100000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main() {
  const heavy = `nlbench-${process.pid}-tdheavy`;
  const probe = `nlbench-${process.pid}-tdprobe`;
  const spare = `nlbench-${process.pid}-tdspare`;
  let heavyLive = false;
  await nlkit.createNetns(probe);
  try {
    await nlkit.createNetns(heavy);
    heavyLive = true;
    const h = await nlkit.open({ netns: heavy });
    try {
      await h.links.set('lo', { up: true });
      await nlkit.setSysctl(heavy, 'net.netfilter.nf_conntrack_udp_timeout', 600);
      const tx = h.nft.transaction();
      tx.addTable({ family: 'inet', name: 't' });
      tx.addChain({ family: 'inet', table: 't', name: 'out', type: 'filter', hook: 'output', priority: 'filter' });
      tx.addRule({ family: 'inet', table: 't', chain: 'out', rule: nlkit.rule().ct({ state: 'new' }).counter() });
      await tx.commit();
      const per = 10000;
      const ports = Array.from({ length: Math.ceil(ENTRIES / per) }, (_, i) => 9 + i);
      const py = `import resource,socket\nresource.setrlimit(resource.RLIMIT_NOFILE,(${per + 100},${per + 100}))\nk=[]\nfor i in range(${per}):\n s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n for p in ${JSON.stringify(ports)}: s.sendto(b'x',('127.0.0.1',p))\n k.append(s)\n`;
      execFileSync('ip', ['netns', 'exec', heavy, 'python3', '-c', py]);
      console.log(`${await h.conntrack.count()} conntrack entries in ${heavy}; load ${require('node:os').loadavg()[0].toFixed(2)}`);
    } finally {
      h.close();
    }
    const p = await nlkit.open({ netns: probe });
    try {
      const probeOnce = async () => {
        const t0 = process.hrtime.bigint();
        await p.links.add({ name: 'pa', kind: 'veth', peer: { name: 'pb' } });
        await p.links.delete('pa');
        return ms(t0);
      };
      const nsOnce = async () => {
        const t0 = process.hrtime.bigint();
        await nlkit.createNetns(spare);
        await nlkit.deleteNetns(spare);
        return ms(t0);
      };
      const before = [await probeOnce(), await probeOnce(), await probeOnce()];
      console.log(`before: veth add+del ${before.map((x) => x.toFixed(1)).join(' ')} ms`);
      const t0 = process.hrtime.bigint();
      await nlkit.deleteNetns(heavy);
      heavyLive = false;
      let lastBusy = 0;
      console.log('t ms\tnetns workers\tveth add+del ms\tnetns add+del ms');
      for (;;) {
        const workers = netnsWorkers();
        const now = ms(t0);
        if (workers.length) lastBusy = now;
        const v = await probeOnce();
        const n = process.env.NSPROBE ? await nsOnce() : NaN;
        console.log(`${now.toFixed(0)}\t${workers.join(',') || '-'}\t${v.toFixed(1)}\t${n.toFixed(1)}`);
        if (now - lastBusy > 2000) break;
        await sleep(50);
      }
      console.log(`teardown seen running until ${lastBusy.toFixed(0)} ms after the delete`);
    } finally {
      p.close();
    }
  } finally {
    if (heavyLive) await nlkit.deleteNetns(heavy).catch(() => undefined);
    await nlkit.deleteNetns(spare).catch(() => undefined);
    await nlkit.deleteNetns(probe);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
