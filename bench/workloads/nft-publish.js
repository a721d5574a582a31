'use strict';
/**
 * Publishing one port, and unpublishing it, while many ports are already
 * published (100 vs 10,000): the high-level `nets.publish()` /
 * `nets.unpublish()` (state, conflict checks, one map element, conntrack cut)
 * and the raw map-element add/delete in one nftables transaction, against
 * `nft add element` / `nft delete element` run in the namespace.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BASE_PORT = 20000;
const SIZES = [100, 10000];
const publishGroup = (n) => `publish one port, ${n.toLocaleString('en-US')} already published`;
const unpublishGroup = (n) => `unpublish one port, ${n.toLocaleString('en-US')} already published`;
const PUBLISH = 'nlkit, `nets.publish()`';
const UNPUBLISH = 'nlkit, `nets.unpublish()` (no tracked connection in the host namespace)';
const UNPUBLISH_TRACKED = 'nlkit, `nets.unpublish()` (tracked connections in the host namespace)';
const RAW_ADD = 'nlkit, raw map element add (one transaction)';
const RAW_DEL = 'nlkit, raw map element delete (one transaction)';
const find = (all, group, variant) => all.find((x) => x.group === group && x.variant === variant);

module.exports = {
  name: 'nft-publish',
  order: 42,
  description: 'nftables port publishing: one publish and one unpublish with 100 vs 10,000 ports already published (high-level API, raw map elements, `nft`)',

  async run(ctx) {
    const { nlkit } = ctx;
    const { networks } = nlkit;
    const sizes = ctx.quick ? [100, 2000] : SIZES;
    const host = await ctx.netns('pubhost');
    const sandbox = await ctx.netns('pubsb');
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-state-'));
    const nets = await networks({ host, stateDir });
    const h = nets.hostHandle;
    const runs = ctx.quick ? 20 : 200;
    const warmup = ctx.quick ? 5 : 20;
    try {
      await nets.create({ name: 'bench', subnet: '10.77.0.0/16' });
      await nets.attach('bench', { sandbox });
      // A map of our own for the raw variant, the same layout as nlkit's `pub4`.
      const M = { family: 'inet', table: 'rawbench', name: 'pub4' };
      const tx = h.nft.transaction();
      tx.addTable({ family: 'inet', name: 'rawbench' });
      tx.addSet({ family: 'inet', table: 'rawbench', name: 'pub4', keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] });
      await tx.commit();

      let published = 0;
      const fill = async (n) => {
        for (; published < n; published++) {
          await nets.publish({ network: 'bench', hostPort: BASE_PORT + published, containerPort: 80, to: sandbox });
        }
        const els = [];
        for (let i = 0; i < n; i++) els.push({ key: [6, BASE_PORT + i], value: ['10.77.0.2', 80] });
        const t = h.nft.transaction();
        t.flushSet(M);
        t.addElements(M, els);
        await t.commit({ echo: 'none' });
      };
      const port = 1000; // below BASE_PORT: never one of the pre-published ports

      // A tracked connection in the host namespace (a UDP datagram to the sandbox): with one,
      // cutting a publication's flows means a conntrack dump, which walks the kernel's whole table.
      const udp = await nlkit.bindUdp({ netns: host });
      const track = () => new Promise((resolve, reject) => udp.send('x', 9, '10.77.0.2', (e) => (e ? reject(e) : resolve())));
      const untrack = () => h.conntrack.flush();

      for (const n of sizes) {
        const started = Date.now();
        await fill(n);
        ctx.log(`  (published ${n} ports in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
        const pub = { group: publishGroup(n), kind: 'time', unit: 'ms', runs, warmup };
        const unpub = { group: unpublishGroup(n), kind: 'time', unit: 'ms', runs, warmup };
        const publishOne = () => nets.publish({ network: 'bench', hostPort: port, containerPort: 80, to: sandbox });
        const unpublishOne = () => nets.unpublish({ hostPort: port });
        const addEl = () => {
          const t = h.nft.transaction();
          t.addElements(M, [{ key: [6, port], value: ['10.77.0.2', 80] }]);
          return t.commit();
        };
        const delEl = () => {
          const t = h.nft.transaction();
          t.deleteElements(M, [{ key: [6, port] }]);
          return t.commit();
        };
        const nftRuns = { runs: ctx.quick ? 3 : 10, warmup: 1 };

        await ctx.measure({ ...pub, variant: PUBLISH, run: publishOne, teardown: unpublishOne });
        await ctx.measure({ ...pub, variant: RAW_ADD, run: addEl, teardown: delEl });
        await ctx.measure({
          ...pub,
          ...nftRuns,
          variant: '`nft add element`',
          impl: 'alternative',
          run: () => ctx.spawnQuiet(host, 'nft', ['add', 'element', 'inet', 'rawbench', 'pub4', `{ tcp . ${port} : 10.77.0.2 . 80 }`]),
          teardown: delEl,
        });

        await untrack();
        await ctx.measure({ ...unpub, variant: UNPUBLISH, setup: publishOne, run: unpublishOne });
        await ctx.measure({
          ...unpub,
          variant: UNPUBLISH_TRACKED,
          runs: Math.min(runs, 50),
          note: 'a UDP datagram sent from the host namespace before each run leaves one conntrack entry there, so the flow cut must dump the table',
          setup: async () => {
            await publishOne();
            await track();
          },
          run: unpublishOne,
          teardown: untrack,
        });
        await ctx.measure({ ...unpub, variant: RAW_DEL, setup: addEl, run: delEl });
        await ctx.measure({
          ...unpub,
          ...nftRuns,
          variant: '`nft delete element`',
          impl: 'alternative',
          setup: addEl,
          run: () => ctx.spawnQuiet(host, 'nft', ['delete', 'element', 'inet', 'rawbench', 'pub4', `{ tcp . ${port} }`]),
        });
      }
      udp.close();
    } finally {
      await nets.delete('bench').catch(() => undefined);
      nets.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  },

  targets: [
    {
      text: 'one publish with 10,000 ports published ≤ 1 ms (`nets.publish()`)',
      evaluate: (r, all) => atMost(find(all, publishGroup(10000), PUBLISH), 1),
      limit: 'see the notes below',
    },
    {
      text: 'one unpublish with 10,000 ports published ≤ 1 ms (`nets.unpublish()`, no tracked connection)',
      evaluate: (r, all) => atMost(find(all, unpublishGroup(10000), UNPUBLISH), 1),
      limit: 'see the notes below',
    },
    {
      text: 'one unpublish with 10,000 ports published ≤ 1 ms (`nets.unpublish()`, tracked connections in the host namespace)',
      evaluate: (r, all) => atMost(find(all, unpublishGroup(10000), UNPUBLISH_TRACKED), 1),
      limit:
        'the kernel: cutting the flows of the unpublished port needs a ctnetlink dump, which walks every bucket of the conntrack hash table shared by all namespaces (262,144 here, ~3.5 ms) however few entries match; nothing to do with the number of ports published (see the notes)',
    },
    {
      text: 'raw map element add / delete with 10,000 published ≤ 1 ms',
      evaluate: (r, all) => {
        const a = find(all, publishGroup(10000), RAW_ADD);
        const d = find(all, unpublishGroup(10000), RAW_DEL);
        if (!a || !d) return { met: false, value: 'not measured' };
        return { met: a.median <= 1 && d.median <= 1, value: `${a.median.toFixed(3)} / ${d.median.toFixed(3)} ms` };
      },
      limit: 'see the notes below',
    },
    {
      text: 'independent of how many exist: 10,000 vs 100 published within 1.5× (publish, unpublish)',
      evaluate: (r, all) => {
        const ratios = [
          [publishGroup, PUBLISH],
          [unpublishGroup, UNPUBLISH],
        ].map(([g, v]) => {
          const a = find(all, g(100), v);
          const b = find(all, g(10000), v);
          return a && b ? b.median / a.median : NaN;
        });
        if (ratios.some((x) => Number.isNaN(x))) return { met: false, value: 'not measured' };
        return { met: ratios.every((x) => x <= 1.5), value: `${ratios.map((x) => x.toFixed(2) + '×').join(' / ')}` };
      },
      limit: 'see the notes below',
    },
  ],
};

function atMost(result, max) {
  if (!result) return { met: false, value: 'not measured' };
  return { met: result.median <= max, value: `${result.median.toFixed(3)} ms` };
}
