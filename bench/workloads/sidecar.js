'use strict';
/**
 * Sidecar interception in a pod namespace: setting it up and removing it
 * (`intercept()` in REDIRECT and TPROXY mode, against loading the same table
 * with `nft -f` as an init container's script would), check(), and the cost
 * a connection pays for going through a sidecar (connect, one answer, close:
 * direct vs. REDIRECT vs. TPROXY, the sidecar being an in-process Node proxy).
 */
const SETUP = 'set up and remove an interception';
const CHECK = 'check() an interception (no drift)';
const CONNECT = 'connect, read one answer, close';
const MARK = 0x539;

/** The same table as `intercept({ mode: 'redirect', outboundPort: 15001, inboundPort: 15006, exclude: { marks: [MARK] } })`, as nft text. */
const NFT_REDIRECT = `table inet nlkit-sidecar {
  chain output {
    type nat hook output priority -100; policy accept;
    ct direction reply return
    oifname "lo" return
    fib daddr type local return
    meta mark { ${MARK} } return
    meta l4proto tcp redirect to :15001
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "lo" return
    meta l4proto tcp redirect to :15006
  }
}
`;

module.exports = {
  name: 'sidecar',
  order: 60,
  description: 'sidecar interception: intercept()/remove() (REDIRECT, TPROXY) vs `nft -f`, check(), and a connection through the sidecar vs direct',

  async run(ctx) {
    const { nlkit } = ctx;
    const pod = await ctx.netns('pod');
    const svc = await ctx.netns('svc');
    const h = await nlkit.open({ netns: pod });
    const hs = await nlkit.open({ netns: svc });
    const servers = [];
    const runs = ctx.quick ? 20 : 200;
    const warmup = ctx.quick ? 5 : 20;
    const opts = (mode) => ({ netns: pod, mode, outboundPort: mode === 'redirect' ? 15001 : 15101, inboundPort: 15006, exclude: { marks: [MARK] } });
    try {
      await h.links.set('lo', { up: true });
      await hs.links.set('lo', { up: true });
      await h.links.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0', netns: svc }, up: true });
      await h.addresses.add('eth0', '10.62.0.2/24');
      await hs.links.set('eth0', { up: true });
      await hs.addresses.add('eth0', '10.62.0.1/24');
      servers.push(await nlkit.listenTcp({ netns: svc, port: 80 }, (s) => s.end('B')));
      for (const [port, transparent] of [
        [15001, false],
        [15101, true],
      ]) {
        servers.push(
          await nlkit.listenTcp({ netns: pod, port, transparent }, (client) => {
            client.on('error', () => client.destroy());
            const dst = nlkit.originalDestination(client);
            nlkit.connectTcp({ netns: pod, host: dst.address, port: dst.port, mark: MARK }).then(
              (up) => {
                up.on('error', () => client.destroy());
                up.pipe(client);
                client.pipe(up);
              },
              () => client.destroy(),
            );
          }),
        );
      }

      const time = { kind: 'time', unit: 'ms', runs, warmup };
      let icpt;
      for (const mode of ['redirect', 'tproxy']) {
        await ctx.measure({
          ...time,
          group: SETUP,
          variant: `nlkit, \`intercept({ mode: '${mode}' })\` + \`remove()\``,
          run: async () => {
            const i = await nlkit.intercept(opts(mode));
            await i.remove();
          },
        });
      }
      const file = ctx.tmpFile('sidecar.nft', NFT_REDIRECT);
      await ctx.measure({
        ...time,
        runs: ctx.quick ? 5 : 20,
        warmup: 1,
        group: SETUP,
        variant: '`nft -f` of the REDIRECT table + `nft delete table`',
        impl: 'alternative',
        run: async () => {
          await ctx.spawnQuiet(pod, 'nft', ['-f', file]);
          await ctx.spawnQuiet(pod, 'nft', ['delete', 'table', 'inet', 'nlkit-sidecar']);
        },
      });

      const read = async (host, port) => {
        const s = await nlkit.connectTcp({ netns: pod, host, port });
        await new Promise((resolve, reject) => {
          s.on('error', reject);
          s.on('close', resolve);
          s.resume();
        });
      };
      await ctx.measure({ ...time, group: CONNECT, variant: 'direct (no interception)', run: () => read('10.62.0.1', 80) });
      for (const mode of ['redirect', 'tproxy']) {
        icpt = await nlkit.intercept(opts(mode));
        try {
          await ctx.measure({ ...time, group: CHECK, variant: `nlkit, ${mode}`, run: () => icpt.check() });
          await ctx.measure({ ...time, group: CONNECT, variant: `through the sidecar, ${mode}`, run: () => read('10.62.0.1', 80) });
        } finally {
          await icpt.remove();
        }
      }
    } finally {
      servers.forEach((s) => s.close());
      h.close();
      hs.close();
    }
  },
  targets: [],
};
