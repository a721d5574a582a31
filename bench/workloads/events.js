'use strict';
/**
 * Events throughput: rtnetlink route events delivered to an
 * `h.events.subscribe()` consumer (decoded) while another handle churns
 * 5,000 routes (add all, delete all: 10,000 events), vs reading
 * `ip monitor route` line by line from Node. The rate is events received per
 * second, from the first request of the churn to the last event received.
 */
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { summarize } = require('../lib/stats');

const GROUP = 'route events delivered while 5,000 routes are added and deleted (10,000 events)';

module.exports = {
  name: 'events',
  order: 60,
  description: 'rtnetlink events: route events per second delivered to a subscriber during route churn, vs `ip monitor route`',

  async run(ctx) {
    const { nlkit } = ctx;
    const n = 5000;
    const expected = 2 * n;
    const ns = await ctx.netns('events');
    const h = await nlkit.open({ netns: ns });
    const churn = await nlkit.open({ netns: ns });
    try {
      await h.links.add({ name: 'd0', kind: 'bridge', up: true });
      const index = (await h.links.get('d0')).index;
      const list = Array.from({ length: n }, (_, i) => ({ dst: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, link: index }));
      const doChurn = async () => {
        await Promise.all(list.map((r) => churn.routes.add(r)));
        await Promise.all(list.map((r) => churn.routes.delete(r)));
      };

      let overruns = 0;
      await ctx.measure({
        group: GROUP,
        variant: "nlkit, `h.events.subscribe({ groups: ['route'] })` (decoded events)",
        ops: expected,
        unit: 'events/s',
        run: async () => {
          const events = h.events.subscribe({ groups: ['route'], family: 4 });
          let seen = 0;
          const consumed = (async () => {
            for await (const e of events) {
              if (e.type === 'overrun') overruns++;
              if (e.type === 'route' && e.route.link === index) seen++;
              if (seen === expected) break;
            }
          })();
          await events.ready; // joined before the churn starts (the socket is made off the event loop)
          await doChurn();
          await consumed;
        },
      });
      if (overruns) throw new Error(`the subscriber saw ${overruns} overruns`);

      // `ip monitor`: timed from the first request of the churn (its start-up is not counted).
      const samples = [];
      const runs = ctx.runs;
      let lost = 0;
      for (let i = 0; i < ctx.warmup + runs; i++) {
        const child = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
        const lines = readline.createInterface({ input: child.stdout });
        const PROBE = '10.255.255.255';
        let seen = 0;
        let ready;
        const isReady = new Promise((r) => (ready = r));
        let finished;
        const done = new Promise((r) => (finished = r));
        let last = 0n;
        lines.on('line', (l) => {
          if (l.includes(PROBE)) return ready();
          if (!l.includes('dev d0')) return;
          last = process.hrtime.bigint();
          if (++seen === expected) finished();
        });
        child.on('exit', () => finished());
        // ip needs a moment to subscribe: poke a probe route until it reports one.
        const probe = { dst: `${PROBE}/32`, link: index };
        const poke = setInterval(() => churn.routes.replace(probe).catch(() => undefined), 5);
        await isReady;
        clearInterval(poke);
        await churn.routes.delete(probe).catch(() => undefined);
        const t0 = process.hrtime.bigint();
        await doChurn();
        // ip may lose events (its socket buffer overflows): stop waiting once it has been quiet for 0.5 s.
        for (let before = -1; seen < expected && seen !== before;) {
          before = seen;
          await Promise.race([done, new Promise((r) => setTimeout(r, 500))]);
        }
        const seconds = Number(last - t0) / 1e9;
        child.kill();
        if (seen < expected) lost = Math.max(lost, expected - seen);
        if (i >= ctx.warmup) samples.push(seen / seconds);
      }
      ctx.record({
        group: GROUP,
        variant: '`ip monitor route`, lines read from its stdout',
        impl: 'alternative',
        kind: 'rate',
        unit: 'events/s',
        ops: expected,
        runs,
        warmup: ctx.warmup,
        ...summarize(samples),
        note: `lines (one per event) are counted, not parsed; the rate is events received per second${lost ? `; ip lost up to ${lost.toLocaleString('en-US')} of the ${expected.toLocaleString('en-US')} events in a run (its socket buffer overflowed)` : ''}`,
      });
    } finally {
      churn.close();
      h.close();
    }
  },
  // No target in the issue beyond "events throughput"; the note says what limits it.
};
