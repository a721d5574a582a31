// The README's quick start, runnable: a bridge in a "host" namespace, a
// container namespace attached by a veth pair, and HTTP served from inside it.
// Run as root: node examples/quickstart.mjs
import * as nlkit from 'nlkit';

const hostNs = `qs-host-${process.pid}`;
const c1Ns = `qs-c1-${process.pid}`;
await nlkit.createNetns(hostNs); // like `ip netns add`
await nlkit.createNetns(c1Ns);
const host = await nlkit.open({ netns: hostNs }); // a handle bound to one namespace
const c1 = await nlkit.open({ netns: c1Ns });
try {
  await host.links.add({ name: 'br0', kind: 'bridge', up: true });
  await host.addresses.add('br0', '10.0.0.1/24');
  // The peer is created directly inside c1: no second "move" step.
  await host.links.add({ name: 'veth-c1', kind: 'veth', master: 'br0', up: true, peer: { name: 'eth0', netns: c1Ns } });
  await c1.links.set('eth0', { up: true });
  await c1.addresses.add('eth0', '10.0.0.2/24');
  await c1.routes.add({ dst: 'default', gateway: '10.0.0.1' });

  // Serve from inside c1 and call it from the host namespace, in this process.
  const server = await nlkit.listenTcp({ netns: c1Ns, port: 8080 }, (s) => s.end('hi from c1\n'));
  const sock = await nlkit.connectTcp({ netns: hostNs, host: '10.0.0.2', port: 8080 });
  const reply = await new Promise((r) => {
    let d = '';
    sock.on('data', (x) => (d += x));
    sock.on('end', () => r(d));
  });
  console.log('reply:', String(reply).trim());
  const route = await c1.routes.lookup('192.0.2.1'); // the kernel's own lookup, nothing is sent
  console.log('c1 reaches 192.0.2.1 via', route.gateway, 'from', route.prefsrc);
  server.close();
} finally {
  c1.close();
  host.close();
  await nlkit.deleteNetns(c1Ns);
  await nlkit.deleteNetns(hostNs);
}
