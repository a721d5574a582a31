// Step 4: outbound NAT. The "internet" has no route back to the container
// subnet; a masquerade rule in the host's nftables makes c1's traffic leave
// with the host's address.
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
  const server = await nlkit.listenTcp({ netns: ns.internet, port: 80 }, (s) => s.end(`you are ${s.remoteAddress}\n`));

  const before = await fetchText(ns.c1, '192.0.2.2', 80).catch((e) => `no answer (${e.code})`);
  console.log('without NAT:', before.trim());

  // nft equivalent: add table ip nat; add chain ... postrouting; ip saddr 10.0.0.0/24 oifname != "br0" masquerade
  const tx = h.host.nft.transaction();
  tx.addTable({ family: 'ip', name: 'nat' });
  tx.addChain({ family: 'ip', table: 'nat', name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
  tx.addRule({ family: 'ip', table: 'nat', chain: 'postrouting', rule: nlkit.rule().ip({ saddr: '10.0.0.0/24' }).oifname(nlkit.not('br0')).masquerade() });
  await tx.commit();

  console.log('with NAT:', (await fetchText(ns.c1, '192.0.2.2', 80)).trim());
  server.close();
});
