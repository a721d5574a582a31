// Step 3: routing. Containers get a default route via the bridge address; the
// host forwards (a per-namespace sysctl) between the bridge and an uplink to
// a second network, which routes back to the container subnet.
import * as nlkit from 'nlkit';
import { fetchText, withLab } from './lab.mjs';

await withLab(['host', 'c1', 'internet'], async ({ ns, h }) => {
  await h.host.links.add({ name: 'br0', kind: 'bridge', up: true });
  await h.host.addresses.add('br0', '10.0.0.1/24');
  await h.host.links.add({ name: 'veth-c1', kind: 'veth', master: 'br0', up: true, peer: { name: 'eth0', netns: ns.c1 } });
  await h.c1.links.set('eth0', { up: true });
  await h.c1.addresses.add('eth0', '10.0.0.2/24');
  await h.c1.routes.add({ dst: 'default', gateway: '10.0.0.1' });

  // the uplink: host <-> "internet"
  await h.host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: ns.internet } });
  await h.host.addresses.add('uplink', '192.168.100.1/24');
  await h.internet.links.set('eth0', { up: true });
  await h.internet.addresses.add('eth0', '192.168.100.2/24');
  await nlkit.setSysctl(ns.host, 'net.ipv4.ip_forward', 1);

  // Without NAT, the far side needs a route back to 10.0.0.0/24.
  await h.internet.routes.add({ dst: '10.0.0.0/24', gateway: '192.168.100.1' });
  const server = await nlkit.listenTcp({ netns: ns.internet, port: 80 }, (s) => s.end(`you are ${s.remoteAddress}\n`));
  console.log('c1 -> internet (routed):', (await fetchText(ns.c1, '192.168.100.2', 80)).trim());
  const r = await h.c1.routes.lookup('192.168.100.2');
  console.log(`c1's route to 192.168.100.2: via ${r.gateway} dev ${r.linkName} src ${r.prefsrc}`);
  server.close();
});
