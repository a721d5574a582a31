'use strict';
/**
 * Link churn: create 200 veth pairs, then delete them; nlkit vs `ip -batch`,
 * and the bulk group delete (one RTM_DELLINK for the whole group) vs
 * `ip link delete group`.
 */

const GROUP_ID = 77;

module.exports = {
  name: 'link-churn',
  order: 20,
  description: 'rtnetlink veth pairs: create and delete 200 pairs, one by one vs `ip -batch`, and the bulk group delete',

  async run(ctx) {
    const { nlkit } = ctx;
    const n = ctx.quick ? 50 : 200;
    const pairs = `${n} veth pairs`;
    const createGroup = `veth create (${pairs}, both ends in the namespace)`;
    const deleteGroupName = `veth delete (${pairs})`;
    const ns = await ctx.netns('links');
    const h = await nlkit.open({ netns: ns });
    const hasDeleteGroup = typeof h.links.deleteGroup === 'function';
    const names = Array.from({ length: n }, (_, i) => `va${i}`);
    const createAll = () => Promise.all(names.map((name, i) => h.links.add({ name, kind: 'veth', group: GROUP_ID, peer: { name: `vb${i}` } })));
    const deleteAll = () => (hasDeleteGroup ? h.links.deleteGroup(GROUP_ID) : Promise.all(names.map((name) => h.links.delete(name))));
    const addFile = ctx.tmpFile('veth-add.batch', names.map((name, i) => `link add ${name} group ${GROUP_ID} type veth peer name vb${i}\n`).join(''));
    const delFile = ctx.tmpFile('veth-del.batch', names.map((name) => `link del ${name}\n`).join(''));
    // Deleting a veth costs the kernel ~20 ms each (synchronize_net): kernel-bound, fewer runs.
    const slow = { runs: ctx.quick ? 1 : 3, warmup: 0 };
    try {
      await ctx.measure({
        group: createGroup,
        variant: 'nlkit, concurrent',
        ops: n,
        unit: 'pairs/s',
        run: createAll,
        teardown: deleteAll,
      });
      await ctx.measure({
        group: createGroup,
        variant: 'nlkit, sequential (await each call)',
        ops: n,
        unit: 'pairs/s',
        run: async () => {
          for (let i = 0; i < n; i++) await h.links.add({ name: names[i], kind: 'veth', group: GROUP_ID, peer: { name: `vb${i}` } });
        },
        teardown: deleteAll,
      });
      await ctx.measure({
        group: createGroup,
        variant: '`ip -batch`',
        impl: 'alternative',
        ops: n,
        unit: 'pairs/s',
        run: () => ctx.ipQuiet(ns, ['-batch', addFile]),
        teardown: deleteAll,
      });

      if (hasDeleteGroup) {
        await ctx.measure({
          group: deleteGroupName,
          variant: 'nlkit, `links.deleteGroup()` (one request)',
          ops: n,
          unit: 'pairs/s',
          setup: createAll,
          run: () => h.links.deleteGroup(GROUP_ID),
        });
        await ctx.measure({
          group: deleteGroupName,
          variant: '`ip link delete group`',
          impl: 'alternative',
          ops: n,
          unit: 'pairs/s',
          setup: createAll,
          run: () => ctx.ipQuiet(ns, ['link', 'delete', 'group', String(GROUP_ID)]),
        });
      }
      await ctx.measure({
        group: deleteGroupName,
        variant: 'nlkit, concurrent (one request per pair)',
        ops: n,
        unit: 'pairs/s',
        ...slow,
        note: 'kernel-bound (~20 ms per veth): fewer runs, no warm-up',
        setup: createAll,
        run: () => Promise.all(names.map((name) => h.links.delete(name))),
      });
      await ctx.measure({
        group: deleteGroupName,
        variant: '`ip -batch`',
        impl: 'alternative',
        ops: n,
        unit: 'pairs/s',
        ...slow,
        setup: createAll,
        run: () => ctx.ipQuiet(ns, ['-batch', delFile]),
      });
    } finally {
      h.close();
    }
  },

  // No target: creating and deleting veths is kernel-bound (~0.2 ms to create a pair,
  // ~20 ms to delete one), the same for every tool; what nlkit adds is the bulk delete.
};
