// A sidecar proxy next to service A in one pod namespace, intercepting A's
// connections to service B transparently (A knows nothing of the proxy):
// REDIRECT mode, then TPROXY mode. B has two instances; the sidecar picks
// one per connection and, when an instance fails, retries the other.
//
//   pod (10.70.0.2: app A + sidecar) ── router ─┬─ b1 (10.70.1.2:8080)
//                                               └─ b2 (10.70.2.2:8080)
// A calls B at its service address 10.96.0.10:80, which no interface has.
import assert from 'node:assert/strict';
import * as nlkit from 'nlkit';

const tag = `sc${process.pid}`;
const ns = { pod: `${tag}-pod`, router: `${tag}-router`, b1: `${tag}-b1`, b2: `${tag}-b2` };
const PROXY_MARK = 0x539; // the sidecar's own upstream connections carry it: not intercepted
const SERVICE = '10.96.0.10:80';
// TODO(#15 services): use a services() VIP for B once it exists; until then
// the sidecar holds B's endpoints itself.
const endpoints = {
  [SERVICE]: [
    { host: '10.70.1.2', port: 8080 },
    { host: '10.70.2.2', port: 8080 },
  ],
};

/** Reads a connection to its end. */
const readAll = (s) =>
  new Promise((resolve, reject) => {
    let d = '';
    s.on('data', (x) => (d += x));
    s.on('end', () => resolve(d));
    s.on('error', reject);
  });

/** The sidecar: where was A going? pick an instance of that service, retry another if it fails. */
async function sidecar(port, transparent) {
  let next = 0;
  return nlkit.listenTcp({ netns: ns.pod, port, transparent }, async (client) => {
    client.on('error', () => client.destroy());
    const dst = nlkit.originalDestination(client);
    const instances = endpoints[`${dst.address}:${dst.port}`] ?? [{ host: dst.address, port: dst.port }];
    for (let attempt = 0; attempt < instances.length; attempt++) {
      const target = instances[next++ % instances.length];
      try {
        const upstream = await nlkit.connectTcp({ netns: ns.pod, host: target.host, port: target.port, mark: PROXY_MARK, timeoutMs: 1000 });
        upstream.pipe(client);
        client.pipe(upstream);
        return;
      } catch (e) {
        console.log(`  sidecar: ${target.host}:${target.port} failed (${e.code}), retrying another instance`);
      }
    }
    client.end('no instance of B answered\n');
  });
}

/** A in the pod calls B's service address; it never sees the proxy. */
async function callB() {
  const s = await nlkit.connectTcp({ netns: ns.pod, host: '10.96.0.10', port: 80 });
  return (await readAll(s)).trim();
}

for (const name of Object.values(ns)) await nlkit.createNetns(name);
const handles = [];
const servers = [];
try {
  const h = {};
  for (const [k, name] of Object.entries(ns)) {
    h[k] = await nlkit.open({ netns: name });
    handles.push(h[k]);
    await h[k].links.set('lo', { up: true });
  }
  // router ── pod, b1, b2 (one /24 each); the router forwards between them
  for (const [k, i] of [
    ['pod', 0],
    ['b1', 1],
    ['b2', 2],
  ]) {
    await h.router.links.add({ name: k, kind: 'veth', up: true, peer: { name: 'eth0', netns: ns[k] } });
    await h.router.addresses.add(k, `10.70.${i}.1/24`);
    await h[k].links.set('eth0', { up: true });
    await h[k].addresses.add('eth0', `10.70.${i}.2/24`);
    await h[k].routes.add({ dst: 'default', gateway: `10.70.${i}.1` });
  }
  await nlkit.setSysctl(ns.router, 'net.ipv4.ip_forward', 1);
  // B's two instances
  for (const b of ['b1', 'b2']) servers.push(await nlkit.listenTcp({ netns: ns[b], port: 8080 }, (s) => s.end(`B instance ${b} (peer ${s.remoteAddress})\n`)));

  for (const [mode, port] of [
    ['redirect', 15001],
    ['tproxy', 15101],
  ]) {
    console.log(`-- ${mode} mode`);
    const proxy = await sidecar(port, mode === 'tproxy');
    const icpt = await nlkit.intercept({ netns: ns.pod, mode, outboundPort: port, exclude: { marks: [PROXY_MARK] } });
    try {
      const answers = [await callB(), await callB()];
      answers.forEach((a) => console.log('  A -> B:', a));
      // one connection to each instance, and B sees A's own address
      assert.deepEqual(answers.map((a) => a.slice(0, 13)).sort(), ['B instance b1', 'B instance b2']);
      assert.ok(answers.every((a) => a.endsWith('(peer 10.70.0.2)')));
      // b2 fails (its server stops): the sidecar's retry hides it from A
      const b2 = servers.pop();
      await new Promise((r) => b2.close(r));
      for (let i = 0; i < 2; i++) {
        const a = await callB();
        console.log('  A -> B:', a);
        assert.match(a, /^B instance b1 /);
      }
      servers.push(await nlkit.listenTcp({ netns: ns.b2, port: 8080 }, (s) => s.end(`B instance b2 (peer ${s.remoteAddress})\n`)));
      assert.deepEqual(await icpt.check(), []);
    } finally {
      await icpt.remove();
      proxy.close();
    }
  }
} finally {
  servers.forEach((s) => s.close());
  handles.forEach((x) => x.close());
  for (const name of Object.values(ns)) await nlkit.deleteNetns(name, { missingOk: true });
}
