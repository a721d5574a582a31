'use strict';
/** Dumping 200 veth links: `links.list()` vs streaming vs `ip -j link show`. */
const { measureDump } = require('../lib/dump');
const { NetlinkWriter } = require('../../dist/netlink/writer');
const { decodeLink } = require('../../dist/rtnetlink/link');

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLM_F_DUMP = 0x300;

/** The request `links.list()` sends without filters. */
function request() {
  const w = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP);
  w.struct(16);
  return { kind: 'dump', message: w.end().finish(), operation: 'stream links' };
}

module.exports = {
  name: 'dump-links',
  order: 31,
  description: 'rtnetlink link dump: 200 veth links (peers in another namespace) listed and decoded, collected vs streamed vs `ip -j link show`',

  async run(ctx) {
    const { nlkit } = ctx;
    const n = 200;
    const ns = await ctx.netns('ldump');
    const peers = await ctx.netns('lpeers');
    const h = await nlkit.open({ netns: ns });
    try {
      await Promise.all(Array.from({ length: n }, (_, i) => h.links.add({ name: `veth${i}`, kind: 'veth', peer: { name: `eth${i}`, netns: peers } })));
      await measureDump(ctx, h, ns, {
        group: 'link dump (200 veth links + lo, listed and decoded)',
        memoryGroup: 'link dump memory (200 veth links + lo)',
        atLeast: n + 1,
        list: (hh) => hh.links.list(),
        request,
        accept: (m) => m.type === RTM_NEWLINK,
        decode: decodeLink,
        ipArgs: ['link', 'show'],
      });
    } finally {
      h.close();
    }
  },

  targets: [
    {
      text: 'dump 200 veth links decoded ≤ 3 ms (`list()`)',
      evaluate: (r) => {
        const x = r('nlkit, `list()` (collected, decoded)');
        if (!x) return { met: false, value: 'not measured' };
        return { met: x.median <= 3, value: `${x.median.toFixed(2)} ms` };
      },
      limit:
        'each link message carries ~45 attributes, ~20 of which nlkit does not decode but keeps (`unknownAttributes`, one Buffer view each); the kernel fills in every statistics block (~0.6 ms for the dump itself).',
    },
  ],
};
