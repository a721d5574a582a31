'use strict';
/**
 * Deleting 10,000 conntrack entries that match a filter: `h.conntrack.flush()`
 * (listed, then one delete request each, sent at once), the blocking handle
 * (one after another), and `conntrack -D` doing the same in the same run.
 * The flows are real: UDP datagrams from 10,000 sockets over loopback in a
 * namespace where a `ct state` rule makes conntrack track them.
 */
const N = 10000;
const GROUP = `delete ${N.toLocaleString('en-US')} matching conntrack entries`;
const ASYNC = 'nlkit, `conntrack.flush(filter)`';
const SYNC = 'nlkit, blocking handle `conntrack.flush(filter)`';

/** A Python one-liner run in the namespace: one datagram from each of n fresh sockets. */
const flows = (n) =>
  `import resource,socket\nresource.setrlimit(resource.RLIMIT_NOFILE,(${n + 100},${n + 100}))\nk=[]\nfor i in range(${n}):\n s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n s.sendto(b'x',('127.0.0.1',9))\n k.append(s)\n`;

module.exports = {
  name: 'conntrack-flush',
  order: 45,
  description: `conntrack: ${N.toLocaleString('en-US')} entries matching a filter deleted (async handle, blocking handle, \`conntrack -D\`)`,

  async run(ctx) {
    const { nlkit } = ctx;
    const n = ctx.quick ? 2000 : N;
    const ns = await ctx.netns('ctflush');
    const h = await nlkit.open({ netns: ns });
    const sync = nlkit.openSync({ netns: ns });
    try {
      await h.links.set('lo', { up: true });
      const tx = h.nft.transaction();
      tx.addTable({ family: 'inet', name: 't' });
      tx.addChain({ family: 'inet', table: 't', name: 'out', type: 'filter', hook: 'output', priority: 'filter' });
      tx.addRule({ family: 'inet', table: 't', chain: 'out', rule: nlkit.rule().ct({ state: 'new' }).counter() });
      await tx.commit();
      const filter = { protocol: 'udp', original: { dport: 9 } };
      const setup = async () => {
        await ctx.spawnQuiet(ns, 'python3', ['-c', flows(n)]);
        const have = (await h.conntrack.list(filter)).length;
        if (have !== n) throw new Error(`expected ${n} tracked flows, found ${have}`);
      };
      const check = async () => {
        const left = (await h.conntrack.list(filter)).length;
        if (left !== 0) throw new Error(`${left} entries left after the flush`);
      };
      const common = { group: GROUP, kind: 'time', runs: ctx.quick ? 2 : 5, warmup: 1, setup, teardown: check };
      await ctx.measure({ ...common, variant: ASYNC, run: () => h.conntrack.flush(filter) });
      await ctx.measure({ ...common, variant: SYNC, run: () => sync.conntrack.flush(filter) });
      await ctx.measure({
        ...common,
        variant: '`conntrack -D -p udp --dport 9`',
        impl: 'alternative',
        run: () => ctx.spawnQuiet(ns, 'conntrack', ['-D', '-p', 'udp', '--dport', '9']),
      });
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
        const c = r('`conntrack -D -p udp --dport 9`');
        if (!a || !c) return { met: false, value: 'not measured' };
        return { met: a.median <= c.median, value: `${a.median.toFixed(1)} ms vs ${c.median.toFixed(1)} ms` };
      },
      limit:
        'one ctnetlink dump (walks the whole conntrack hash table, shared by every namespace), then one delete request per entry; the I/O thread pipelines the deletes',
    },
  ],
};
