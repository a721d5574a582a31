// Step 1: two "containers" joined by a veth pair, talking over TCP.
import * as nlkit from 'nlkit';
import { fetchText, withLab } from './lab.mjs';

await withLab(['c1', 'c2'], async ({ ns, h }) => {
  // One call makes both ends: veth-c1 in c1, its peer created directly in c2.
  await h.c1.links.add({ name: 'eth0', kind: 'veth', up: true, peer: { name: 'eth0', netns: ns.c2 } });
  await h.c2.links.set('eth0', { up: true });
  await h.c1.addresses.add('eth0', '10.0.0.1/24');
  await h.c2.addresses.add('eth0', '10.0.0.2/24');

  const server = await nlkit.listenTcp({ netns: ns.c2, port: 80 }, (s) => s.end('hello from c2\n'));
  console.log('c1 -> c2:', (await fetchText(ns.c1, '10.0.0.2', 80)).trim());
  server.close();
});
