'use strict';
/**
 * The I/O model's costs (docs/architecture.md, "Threading model"): what an
 * open handle costs in threads while busy and once idle, what the first
 * request on an idle handle pays to start its I/O thread, and how fast a
 * handle can be opened, used once and closed.
 */
const fs = require('node:fs');

const HANDLES = 1000;
const IDLE_MS = 2500; // the I/O thread exits after 2 s without work

function threads() {
  return Number(fs.readFileSync('/proc/self/status', 'utf8').match(/^Threads:\s+(\d+)/m)[1]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = {
  name: 'io-model',
  order: 90,
  description: `I/O model: threads of ${HANDLES.toLocaleString('en-US')} open handles (busy, then idle), first request on an idle handle, open/use/close cycles`,

  async run(ctx) {
    const ns = await ctx.netns('io');
    const group = `${HANDLES.toLocaleString('en-US')} open handles`;
    const base = threads();
    const hs = [];
    for (let i = 0; i < HANDLES; i++) hs.push(await ctx.nlkit.open({ netns: ns }));
    try {
      ctx.record({ group, variant: 'extra threads, just opened', kind: 'value', unit: 'threads', median: threads() - base });
      await Promise.all(hs.map((h) => h.links.get('lo')));
      ctx.record({ group, variant: 'extra threads, right after a request on each', kind: 'value', unit: 'threads', median: threads() - base });
      await sleep(IDLE_MS);
      ctx.record({
        group,
        variant: `extra threads, after ${IDLE_MS / 1000} s idle`,
        kind: 'value',
        unit: 'threads',
        median: threads() - base,
        note: 'before this change: one I/O thread per open socket, always',
      });

      const h = hs[0];
      await ctx.measure({
        group: 'one request (get link lo)',
        variant: 'on a busy handle (I/O thread running)',
        kind: 'time',
        unit: 'ms',
        runs: 20,
        warmup: 3,
        setup: () => h.links.get('lo'),
        run: () => h.links.get('lo'),
      });
      await ctx.measure({
        group: 'one request (get link lo)',
        variant: 'on an idle handle (starts its I/O thread)',
        kind: 'time',
        unit: 'ms',
        runs: ctx.quick ? 3 : 8,
        warmup: 1,
        setup: () => sleep(IDLE_MS),
        run: () => h.links.get('lo'),
      });
    } finally {
      for (const h of hs) h.close();
    }
    await ctx.measure({
      group: 'handle lifecycle',
      variant: 'open, get link lo, close',
      ops: 1000,
      unit: 'cycles/s',
      run: async () => {
        for (let i = 0; i < 1000; i++) {
          const h = await ctx.nlkit.open({ netns: ns });
          await h.links.get('lo');
          h.close();
        }
      },
    });
  },
};
