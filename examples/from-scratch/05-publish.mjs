// Step 5: publishing a port. A DNAT rule sends the host's port 8080 to
// port 80 in c1, for traffic arriving from outside and (in the output hook)
// from the host itself.
import * as nlkit from 'nlkit';
import { bridgeWithC1, fetchText, uplink, withLab } from './lab.mjs';

await withLab(['host', 'c1', 'internet'], async ({ ns, h }) => {
  await bridgeWithC1({ ns, h }); // steps 2-3 (see 02-bridge.mjs, 03-routing.mjs)
  await uplink({ ns, h });
  const server = await nlkit.listenTcp({ netns: ns.c1, port: 80 }, (s) => s.end(`c1 answers ${s.remoteAddress}\n`));

  const { rule } = nlkit;
  const tx = h.host.nft.transaction();
  tx.addTable({ family: 'ip', name: 'nat' });
  for (const [name, hook] of [
    ['prerouting', 'prerouting'],
    ['output', 'output'],
  ]) {
    tx.addChain({ family: 'ip', table: 'nat', name, type: 'nat', hook, priority: 'dstnat' });
    tx.addRule({
      family: 'ip',
      table: 'nat',
      chain: name,
      rule: rule()
        .fib({ lookup: ['daddr'], type: 'local' })
        .tcp({ dport: 8080 })
        .dnat({ to: '10.0.0.2', port: 80 }),
    });
  }
  const { results } = await tx.commit();
  console.log(
    'kernel handles:',
    results
      .filter((r) => r.description.startsWith('add rule'))
      .map((r) => r.handle)
      .join(', '),
  );

  console.log('internet -> host:8080:', (await fetchText(ns.internet, '192.0.2.1', 8080)).trim());
  console.log('host -> host:8080:', (await fetchText(ns.host, '192.0.2.1', 8080)).trim());
  const rules = await h.host.nft.rules.list({ family: 'ip', table: 'nat' });
  console.log('rules read back:', rules.map((r) => `${r.chain}#${r.handle}`).join(', '));
  server.close();
});
