// Step 5: publishing a port. A DNAT rule sends the host's port 8080 to
// port 80 in c1, for traffic arriving from outside and (in the output hook)
// from the host itself.
import * as nlkit from 'nlkit';
import { fetchText, withLab } from './lab.mjs';

await withLab(['host', 'c1', 'internet'], async ({ ns, h }) => {
  await h.host.links.add({ name: 'br0', kind: 'bridge', up: true });
  await h.host.addresses.add('br0', '10.0.0.1/24');
  await h.host.links.add({ name: 'veth-c1', kind: 'veth', master: 'br0', up: true, peer: { name: 'eth0', netns: ns.c1 } });
  await h.c1.links.set('eth0', { up: true });
  await h.c1.addresses.add('eth0', '10.0.0.2/24');
  await h.c1.routes.add({ dst: 'default', gateway: '10.0.0.1' });
  await h.host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: ns.internet } });
  await h.host.addresses.add('uplink', '192.0.2.1/24');
  await h.internet.links.set('eth0', { up: true });
  await h.internet.addresses.add('eth0', '192.0.2.2/24');
  await nlkit.setSysctl(ns.host, 'net.ipv4.ip_forward', 1);
  const server = await nlkit.listenTcp({ netns: ns.c1, port: 80 }, (s) => s.end(`c1 answers ${s.remoteAddress}\n`));

  const { rule } = nlkit;
  const tx = h.host.nft.transaction();
  tx.addTable({ family: 'ip', name: 'nat' });
  for (const [name, hook] of [['prerouting', 'prerouting'], ['output', 'output']]) {
    tx.addChain({ family: 'ip', table: 'nat', name, type: 'nat', hook, priority: 'dstnat' });
    tx.addRule({ family: 'ip', table: 'nat', chain: name, rule: rule().fib({ lookup: ['daddr'], type: 'local' }).tcp({ dport: 8080 }).dnat({ to: '10.0.0.2', port: 80 }) });
  }
  const { results } = await tx.commit();
  console.log('kernel handles:', results.filter((r) => r.description.startsWith('add rule')).map((r) => r.handle).join(', '));

  console.log('internet -> host:8080:', (await fetchText(ns.internet, '192.0.2.1', 8080)).trim());
  console.log('host -> host:8080:', (await fetchText(ns.host, '192.0.2.1', 8080)).trim());
  const rules = await h.host.nft.listRules({ family: 'ip', table: 'nat' });
  console.log('rules read back:', rules.map((r) => `${r.chain}#${r.handle}`).join(', '));
  server.close();
});
