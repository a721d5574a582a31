// Shared by the "container networking from scratch" steps: every step runs in
// throw-away namespaces ("host", "c1", "c2", and "internet" for NAT) that are
// always deleted afterwards.
import * as nlkit from 'nlkit';

export async function withLab(names, fn) {
  const tag = `fs${process.pid}`;
  const ns = Object.fromEntries(names.map((n) => [n, `${tag}-${n}`]));
  const handles = {};
  try {
    for (const n of names) {
      await nlkit.createNetns(ns[n]);
      handles[n] = await nlkit.open({ netns: ns[n] });
      await handles[n].links.set('lo', { up: true });
    }
    return await fn({ ns, h: handles });
  } finally {
    for (const h of Object.values(handles)) h.close();
    for (const n of names) await nlkit.deleteNetns(ns[n], { missingOk: true });
  }
}

/** Connects to host:port from inside a namespace and returns what the server sent. */
export async function fetchText(netns, host, port) {
  const sock = await nlkit.connectTcp({ netns, host, port, timeoutMs: 2000 });
  return new Promise((resolve, reject) => {
    let data = '';
    sock.on('data', (d) => (data += d));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

/** Steps 2-3 as one call: br0 (10.0.0.1/24) in host, c1 at 10.0.0.2 behind it with a default route. */
export async function bridgeWithC1({ ns, h }) {
  await h.host.links.add({ name: 'br0', kind: 'bridge', up: true });
  await h.host.addresses.add('br0', '10.0.0.1/24');
  await h.host.links.add({ name: 'veth-c1', kind: 'veth', master: 'br0', up: true, peer: { name: 'eth0', netns: ns.c1 } });
  await h.c1.links.set('eth0', { up: true });
  await h.c1.addresses.add('eth0', '10.0.0.2/24');
  await h.c1.routes.add({ dst: 'default', gateway: '10.0.0.1' });
}

/** An uplink from host (192.0.2.1) to the "internet" namespace (192.0.2.2), with forwarding on in host. */
export async function uplink({ ns, h }) {
  await h.host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: ns.internet } });
  await h.host.addresses.add('uplink', '192.0.2.1/24');
  await h.internet.links.set('eth0', { up: true });
  await h.internet.addresses.add('eth0', '192.0.2.2/24');
  await nlkit.setSysctl(ns.host, 'net.ipv4.ip_forward', 1);
}
