// Step 2: a bridge in a "host" namespace with one veth per container: the
// containers share an L2 segment, and the host is the gateway.
import * as nlkit from 'nlkit';
import { fetchText, withLab } from './lab.mjs';

await withLab(['host', 'c1', 'c2'], async ({ ns, h }) => {
  await h.host.links.add({ name: 'br0', kind: 'bridge', up: true });
  await h.host.addresses.add('br0', '10.0.0.1/24');
  for (const [c, ip] of [
    ['c1', '10.0.0.2'],
    ['c2', '10.0.0.3'],
  ]) {
    await h.host.links.add({ name: `veth-${c}`, kind: 'veth', master: 'br0', up: true, peer: { name: 'eth0', netns: ns[c] } });
    await h[c].links.set('eth0', { up: true });
    await h[c].addresses.add('eth0', `${ip}/24`);
  }
  const server = await nlkit.listenTcp({ netns: ns.c2, port: 80 }, (s) => s.end(`hello ${s.remoteAddress}\n`));
  console.log('c1 -> c2 across br0:', (await fetchText(ns.c1, '10.0.0.3', 80)).trim());
  console.log('ports of br0:', (await h.host.links.list({ master: 'br0' })).map((l) => l.name).join(', '));
  server.close();
});
