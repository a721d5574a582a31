'use strict';
/**
 * Deleting 10,000 conntrack entries that match a filter: `h.conntrack.flush()`
 * (the kernel filters the dump, the deletes go without acks, 64 KiB at a
 * time), the blocking handle, and `conntrack -D` doing the same in the same
 * run. Two shapes: every entry of the namespace matches, and 10,000 of
 * 100,000 match (what filtering in the kernel saves: conntrack -D reads all).
 * The flows are real: UDP datagrams from 10,000 sockets over loopback in a
 * namespace where a `ct state` rule makes conntrack track them.
 */
const N = 10000;
const GROUP = `delete ${N.toLocaleString('en-US')} matching conntrack entries`;
const GROUP_10 = `delete ${N.toLocaleString('en-US')} of ${(10 * N).toLocaleString('en-US')} conntrack entries (10% match)`;
const ASYNC = 'nlkit, `conntrack.flush(filter)`';
const SYNC = 'nlkit, blocking handle `conntrack.flush(filter)`';
const CONNTRACK = '`conntrack -D -p udp --dport 9`';

/** A Python script run in the namespace: one datagram from each of n fresh sockets to each port. */
const flows = (n, ports) =>
  `import resource,socket\nresource.setrlimit(resource.RLIMIT_NOFILE,(${n + 100},${n + 100}))\nk=[]\nfor i in range(${n}):\n s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n for p in ${JSON.stringify(ports)}: s.sendto(b'x',('127.0.0.1',p))\n k.append(s)\n`;

module.exports = {
  name: 'conntrack-flush',
  order: 58,
  description: `conntrack: ${N.toLocaleString('en-US')} entries matching a filter deleted (async handle, blocking handle, \`conntrack -D\`), alone and among ${(10 * N).toLocaleString('en-US')}`,

  async run(ctx) {
    const { nlkit } = ctx;
    const n = ctx.quick ? 2000 : N;
    const ns = await ctx.netns('ctflush');
    const h = await nlkit.open({ netns: ns });
    const sync = nlkit.openSync({ netns: ns });
    try {
      await h.links.set('lo', { up: true });
      // The other 90% must outlive every run of the second shape (unreplied UDP entries expire after 30 s).
      await nlkit.setSysctl(ns, 'net.netfilter.nf_conntrack_udp_timeout', 600);
      const tx = h.nft.transaction();
      tx.addTable({ family: 'inet', name: 't' });
      tx.addChain({ family: 'inet', table: 't', name: 'out', type: 'filter', hook: 'output', priority: 'filter' });
      tx.addRule({ family: 'inet', table: 't', chain: 'out', rule: nlkit.rule().ct({ state: 'new' }).counter() });
      await tx.commit();
      const filter = { protocol: 'udp', original: { dport: 9 } };
      const setup = async () => {
        await ctx.spawnQuiet(ns, 'python3', ['-c', flows(n, [9])]);
        const have = (await h.conntrack.list(filter)).length;
        if (have !== n) throw new Error(`expected ${n} tracked flows, found ${have}`);
      };
      const check = (others) => async () => {
        const left = (await h.conntrack.list(filter)).length;
        if (left !== 0) throw new Error(`${left} entries left after the flush`);
        const count = await h.conntrack.count();
        if (count !== others) throw new Error(`${count} other entries after the flush, expected ${others}`);
      };
      const shapes = [
        { group: GROUP, others: 0, runs: ctx.quick ? 2 : 5, variants: [ASYNC, SYNC, CONNTRACK] },
        { group: GROUP_10, others: 9 * n, runs: ctx.quick ? 2 : 3, variants: [ASYNC, CONNTRACK] },
      ];
      for (const shape of shapes) {
        // 9 entries per socket to ports 10-18: the 90% that must stay.
        if (shape.others > 0) await ctx.spawnQuiet(ns, 'python3', ['-c', flows(n, [10, 11, 12, 13, 14, 15, 16, 17, 18])]);
        const common = { group: shape.group, kind: 'time', runs: shape.runs, warmup: 1, setup, teardown: check(shape.others) };
        const run = {
          [ASYNC]: () => h.conntrack.flush(filter),
          [SYNC]: () => sync.conntrack.flush(filter),
          [CONNTRACK]: () => ctx.spawnQuiet(ns, 'conntrack', ['-D', '-p', 'udp', '--dport', '9']),
        };
        for (const variant of shape.variants) {
          await ctx.measure({ ...common, variant, impl: variant === CONNTRACK ? 'alternative' : undefined, run: run[variant] });
        }
      }
    } finally {
      sync.close();
      h.close();
    }
  },

  targets: [
    {
      text: 'flush(filter) of 10,000 entries at least as fast as `conntrack -D`',
      evaluate: (r) => {
        const a = r(ASYNC);
        const c = r(CONNTRACK);
        if (!a || !c) return { met: false, value: 'not measured' };
        return { met: a.median <= c.median, value: `${a.median.toFixed(1)} ms vs ${c.median.toFixed(1)} ms` };
      },
      limit:
        'one ctnetlink dump (walks the whole conntrack hash table, shared by every namespace), then the deletes: without acks, 64 KiB per sendmsg, the kernel answers only failures',
    },
    {
      text: 'flush(filter) of 10,000 among 100,000 entries at least as fast as `conntrack -D`',
      evaluate: (_r, results) => {
        const a = results.find((x) => x.group === GROUP_10 && x.variant === ASYNC);
        const c = results.find((x) => x.group === GROUP_10 && x.variant === CONNTRACK);
        if (!a || !c) return { met: false, value: 'not measured' };
        return { met: a.median <= c.median, value: `${a.median.toFixed(1)} ms vs ${c.median.toFixed(1)} ms` };
      },
      limit: 'the kernel filters the dump by protocol and port (CTA_FILTER): the 90,000 others are only walked, not sent',
    },
  ],
};
