'use strict';
/**
 * Cross-host overlay convergence: N simulated hosts (namespaces on a shared
 * underlay bridge, each with its VXLAN device and every other host as a
 * peer); one more host joins: every existing host writes its entries
 * (`overlay.join`) and the newcomer applies the whole membership
 * (`overlay.apply`). Timed until all N + 1 hosts have converged, at 10, 20
 * and 50 hosts; the cost per host must stay constant (linear in total).
 * Also the cost of one peer in `apply` (three kernel writes).
 */
const { summarize } = require('../lib/stats');

const SIZES = [10, 20, 50];
const CLUSTER = '10.244.0.0/16';
const JOIN = 'a host joins: all hosts converged (total)';
const PER_HOST = 'a host joins: per existing host';
const APPLY = '`overlay.apply()` on a new host: per peer';

const underlayOf = (i) => `172.30.${i >> 8}.${(i & 255) + 1}`;

async function timed(ctx, spec) {
  const samples = [];
  for (let i = 0; i < ctx.warmup + ctx.runs; i++) {
    const t0 = process.hrtime.bigint();
    await spec.run();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await spec.teardown();
    if (i >= ctx.warmup) samples.push(ms / spec.per);
  }
  return ctx.record({ group: spec.group, variant: spec.variant, kind: 'time', unit: 'ms', runs: ctx.runs, warmup: ctx.warmup, ...summarize(samples) });
}

module.exports = {
  name: 'overlay',
  order: 60,
  description:
    'cross-host overlay: convergence of a join at 10, 20 and 50 simulated hosts (each a namespace on a shared underlay bridge), and the cost of one peer in apply',

  async run(ctx) {
    const { nlkit } = ctx;
    const sizes = ctx.quick ? [5, 10] : SIZES;
    const max = sizes[sizes.length - 1];
    const ulNs = await ctx.netns('ovul');
    const ul = await nlkit.open({ netns: ulNs });
    await ul.links.add({ name: 'br0', kind: 'bridge', up: true });
    const hosts = [];
    try {
      // max + 1 hosts: the first `size` are the cluster, host `size` is the one joining.
      for (let i = 0; i <= max; i++) {
        const ns = await ctx.netns(`ovh${i}`);
        const h = await nlkit.open({ netns: ns });
        await ul.links.add({ name: `p${i}`, kind: 'veth', master: 'br0', up: true, peer: { name: 'ul0', netns: ns } });
        await h.links.set('ul0', { up: true });
        await h.addresses.add('ul0', `${underlayOf(i)}/16`);
        const overlay = await nlkit.createOverlay(h, {
          clusterCidr: CLUSTER,
          subnet: `10.244.${i + 1}.0/24`,
          underlay: { link: 'ul0', address: underlayOf(i) },
        });
        hosts.push({ h, overlay, peer: overlay.self(`host-${i}`) });
      }
      for (const size of sizes) {
        const cluster = hosts.slice(0, size);
        const newcomer = hosts[size];
        const members = cluster.map((x) => x.peer);
        await Promise.all(cluster.map((x) => x.overlay.apply(members)));
        const join = () => Promise.all([newcomer.overlay.apply([...members, newcomer.peer]), ...cluster.map((x) => x.overlay.join(newcomer.peer))]);
        const leave = () => Promise.all([newcomer.overlay.apply([]), ...cluster.map((x) => x.overlay.leave(newcomer.peer.name))]);
        await timed(ctx, { group: JOIN, variant: `${size} hosts`, per: 1, run: join, teardown: leave });
        await timed(ctx, { group: PER_HOST, variant: `${size} hosts`, per: size, run: join, teardown: leave });
        await timed(ctx, {
          group: APPLY,
          variant: `${size} peers`,
          per: size,
          run: () => newcomer.overlay.apply(members),
          teardown: () => newcomer.overlay.apply([]),
        });
      }
      await Promise.all(hosts.map((x) => x.overlay.apply([])));
    } finally {
      for (const x of hosts) x.h.close();
      ul.close();
    }
  },

  targets: [
    {
      text: 'a join converges in time linear in the hosts: per host at 50 hosts ≤ 2× per host at 10',
      evaluate: (_r, results) => {
        const small = results.find((x) => x.group === PER_HOST && x.variant === '10 hosts');
        const large = results.find((x) => x.group === PER_HOST && x.variant === '50 hosts');
        if (!small || !large) return { met: false, value: 'not measured' };
        return { met: large.median <= 2 * small.median, value: `${large.median.toFixed(3)} ms vs ${small.median.toFixed(3)} ms per host` };
      },
      limit: 'see the notes',
    },
  ],
};
