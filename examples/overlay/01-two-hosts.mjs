// Two "hosts" (namespaces on a shared underlay bridge), each with its own
// container network and a container, joined by a VXLAN overlay whose
// membership comes from a shared JSON file: each host publishes itself into
// the file and applies the file whenever it changes. The containers then
// reach each other with their own source addresses (no masquerade inside
// the cluster CIDR). Run as root: node examples/overlay/01-two-hosts.mjs
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nlkit from 'nlkit';

const CLUSTER = '10.244.0.0/16';
const tag = `ov${process.pid}`;
const underlayNs = `${tag}-underlay`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-overlay-'));
const membership = path.join(dir, 'hosts.json'); // the shared store: etcd or Kubernetes Node objects in a real cluster
fs.writeFileSync(membership, '[]');

/** The store's two operations: publish this host, and watch the list (here: a file and fs.watch). */
const store = {
  publish(peer) {
    const list = JSON.parse(fs.readFileSync(membership, 'utf8')).filter((p) => p.name !== peer.name);
    fs.writeFileSync(`${membership}.tmp`, JSON.stringify([...list, peer], null, 2));
    fs.renameSync(`${membership}.tmp`, membership); // readers never see half a file
  },
  watch(onChange) {
    const read = () => onChange(JSON.parse(fs.readFileSync(membership, 'utf8')));
    const watcher = fs.watch(dir, () => read());
    read();
    return () => watcher.close();
  },
};

/** One host: its underlay port, its container network, its side of the overlay, fed by the store. */
async function startHost(ul, n) {
  const ns = `${tag}-host${n}`;
  await nlkit.createNetns(ns);
  const h = await nlkit.open({ netns: ns });
  await h.links.set('lo', { up: true });
  await ul.links.add({ name: `port${n}`, kind: 'veth', master: 'br0', up: true, peer: { name: 'eth1', netns: ns } });
  await h.links.set('eth1', { up: true });
  await h.addresses.add('eth1', `192.168.50.${n}/24`);

  const subnet = `10.244.${n}.0/24`;
  const stateDir = fs.mkdtempSync(path.join(dir, `state${n}-`));
  const nets = await nlkit.networks({ host: ns, stateDir });
  // routed: peers' containers may open connections to ours; masqueradeExclude: cluster traffic keeps its source address.
  await nets.create({ name: 'pods', subnet, routed: true, masqueradeExclude: [CLUSTER], mtu: nlkit.overlayMtu(1500, 4) });
  const pod = await nets.attach('pods', { sandbox: `${ns}-pod`, create: true });

  const overlay = await nlkit.createOverlay(h, { clusterCidr: CLUSTER, subnet, underlay: { link: 'eth1', address: `192.168.50.${n}` } });
  store.publish(overlay.self(`host${n}`));
  let applying = Promise.resolve();
  const stopWatch = store.watch((peers) => (applying = applying.then(() => overlay.apply(peers)).catch((e) => console.error('apply:', e.message))));
  return { n, ns, h, nets, overlay, pod: { ns: `${ns}-pod`, ip: pod.ipv4.split('/')[0] }, stop: () => (stopWatch(), applying) };
}

async function ask(netns, host, port) {
  const sock = await nlkit.connectTcp({ netns, host, port, timeoutMs: 3000 });
  return new Promise((resolve, reject) => {
    let data = '';
    sock.on('data', (d) => (data += d));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

async function until(what, ok) {
  for (let i = 0; i < 100; i++)
    if (await ok()) return;
    else await new Promise((r) => setTimeout(r, 50));
  throw new Error(`timed out waiting for ${what}`);
}

await nlkit.createNetns(underlayNs);
const ul = await nlkit.open({ netns: underlayNs });
const hosts = [];
try {
  await ul.links.add({ name: 'br0', kind: 'bridge', up: true });
  hosts.push(await startHost(ul, 1), await startHost(ul, 2));
  await until('both hosts to see each other', () => hosts.every((x) => x.overlay.peers().length === 1));
  console.log('membership file:', fs.readFileSync(membership, 'utf8').replace(/\s+/g, ' '));

  const [a, b] = hosts;
  const server = await nlkit.listenTcp({ netns: b.pod.ns, port: 8080 }, (s) => s.end(`${s.remoteAddress}`));
  const seen = await ask(a.pod.ns, b.pod.ip, 8080);
  console.log(`pod on host1 (${a.pod.ip}) -> pod on host2 (${b.pod.ip}): host2's pod saw ${seen}`);
  if (seen !== a.pod.ip) throw new Error(`source address not preserved: ${seen}`);
  server.close();
  const r = (await a.h.routes.list({ link: 'nlk-vx1', family: 4 })).map((x) => `${x.dst} via ${x.gateway} onlink`);
  console.log('host1 routes over the overlay:', r.join(', '));
  console.log('host1 drift:', JSON.stringify(await a.overlay.check()));
} finally {
  for (const x of hosts) {
    await x.stop();
    await x.overlay.delete();
    await x.nets.delete('pods');
    x.nets.close();
    x.h.close();
    await nlkit.deleteNetns(x.ns, { missingOk: true });
  }
  ul.close();
  await nlkit.deleteNetns(underlayNs, { missingOk: true });
  fs.rmSync(dir, { recursive: true, force: true });
}
