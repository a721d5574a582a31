// A sidecar proxy next to service A in one pod namespace, intercepting A's
// connections to service B transparently (A knows nothing of the proxy):
// REDIRECT mode, then TPROXY mode. B has two instances behind a service VIP
// (services()): the sidecar connects to the VIP A dialled, the host's service
// rules pick an instance, and when an instance fails the sidecar retries.
// A's DNS-style UDP queries to B's VIP (port 53) are captured too, as Istio's
// DNS capture does: the sidecar's listenUdp() socket learns where each
// datagram was going and answers as that address.
//
//   host namespace, network "app" (10.78.0.0/24, bridge nlk-app)
//     ├─ pod: app A + sidecar
//     ├─ b1: instance of B (:8080)
//     └─ b2: instance of B (:8080)
//   service b: VIP 10.96.0.10:80 → b1:8080, b2:8080 (no interface has the VIP)
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nlkit from 'nlkit';

const tag = `sc${process.pid}`;
const hostNs = `${tag}-host`;
const ids = { pod: `${tag}-pod`, b1: `${tag}-b1`, b2: `${tag}-b2` };
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sidecars-'));
const VIP = '10.96.0.10';
const PROXY_MARK = 0x539; // the sidecar's own upstream connections carry it: not intercepted
const MAX_ATTEMPTS = 20; // bounded retries: with one of two instances down, all 20 fail with p = 2^-20

/** Reads a connection to its end. */
const readAll = (s) =>
  new Promise((resolve, reject) => {
    let d = '';
    s.on('data', (x) => (d += x));
    s.on('end', () => resolve(d));
    s.on('error', reject);
  });

/** The sidecar: where was A going? connect there (the VIP), retry while an instance refuses. */
async function sidecar(port, transparent, stats) {
  return nlkit.listenTcp({ netns: ids.pod, port, transparent }, async (client) => {
    client.on('error', () => client.destroy());
    const dst = nlkit.originalDestination(client); // the VIP A dialled: { address: '10.96.0.10', port: 80, ... }
    stats.destinations.add(`${dst.address}:${dst.port}`);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        const upstream = await nlkit.connectTcp({ netns: ids.pod, host: dst.address, port: dst.port, mark: PROXY_MARK, timeoutMs: 1000 });
        upstream.on('error', () => client.destroy());
        upstream.pipe(client);
        client.pipe(upstream);
        return;
      } catch (e) {
        stats.retries++; // ECONNREFUSED: the service picked the failed instance; a new connection may get the other
        stats.errors.add(e.code);
      }
    }
    client.end('no instance of B answered\n');
  });
}

/** The sidecar's DNS capture: each datagram forwarded (marked) to where it was going, the answer sent back as from there. */
async function udpSidecar(port, transparent, stats) {
  const listener = await nlkit.listenUdp({ netns: ids.pod, port, transparent });
  listener.on('message', async (d) => {
    const dst = await listener.originalDestination(d); // the VIP A asked: { address: '10.96.0.10', port: 53, ... }
    stats.destinations.add(`${dst.address}:${dst.port}`);
    stats.datagrams++;
    const upstream = await nlkit.bindUdp({ netns: ids.pod, mark: PROXY_MARK });
    upstream.once('message', (answer) => {
      upstream.close();
      void listener.reply(d, answer);
    });
    upstream.send(d.data, dst.port, dst.address);
  });
  return listener;
}

/** A in the pod asks B's VIP over UDP; the answer comes from the VIP, as A expects. */
async function askB() {
  const s = await nlkit.bindUdp({ netns: ids.pod });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no UDP answer')), 3000);
      s.once('message', (msg, rinfo) => {
        clearTimeout(timer);
        resolve(`${String(msg).trim()} from ${rinfo.address}:${rinfo.port}`);
      });
      s.send('who?', 53, VIP);
    });
  } finally {
    s.close();
  }
}

/** A in the pod calls B's VIP; it never sees the proxy. */
async function callB() {
  const s = await nlkit.connectTcp({ netns: ids.pod, host: VIP, port: 80 });
  return (await readAll(s)).trim();
}

/** Starts instance `name` of B: it answers with its name and the peer it sees. */
const serveB = (name) => nlkit.listenTcp({ netns: ids[name], port: 8080 }, (s) => s.end(`B instance ${name} (peer ${s.remoteAddress})\n`));

/** B's UDP side (port 5353 behind the VIP's port 53): answers with the instance's name. */
async function serveBUdp(name) {
  const udp = await nlkit.bindUdp({ netns: ids[name], port: 5353 });
  udp.on('message', (msg, rinfo) => udp.send(`B instance ${name} (udp)`, rinfo.port, rinfo.address));
  return udp;
}

await nlkit.createNetns(hostNs);
const servers = {};
let nets, svcs;
try {
  nets = await nlkit.networks({ host: hostNs, stateDir });
  svcs = await nlkit.services({ host: hostNs, stateDir });
  await nets.create({ name: 'app', subnet: '10.78.0.0/24' });
  const ip = {};
  let gateway;
  for (const [name, id] of Object.entries(ids)) {
    const att = await nets.attach('app', { sandbox: id, create: true });
    ip[name] = att.ipv4.split('/')[0];
    gateway = att.gateway;
  }
  console.log(`pod ${ip.pod}, b1 ${ip.b1}, b2 ${ip.b2}; service b: ${VIP}:80`);
  for (const b of ['b1', 'b2']) servers[b] = await serveB(b);
  for (const b of ['b1', 'b2']) servers[`${b}-udp`] = await serveBUdp(b);
  const endpoints = (b2Ready) => [{ ip: ip.b1 }, { ip: ip.b2, ready: b2Ready }];
  const ports = [
    { port: 80, targetPort: 8080 },
    { port: 53, protocol: 'udp', targetPort: 5353 },
  ];
  await svcs.add({ name: 'b', vips: [VIP], ports, endpoints: endpoints(true) });

  for (const [mode, port] of [
    ['redirect', 15001],
    ['tproxy', 15101],
  ]) {
    console.log(`-- ${mode} mode`);
    const stats = { retries: 0, destinations: new Set(), errors: new Set() };
    const proxy = await sidecar(port, mode === 'tproxy', stats);
    const udpStats = { destinations: new Set(), datagrams: 0 };
    const dnsProxy = await udpSidecar(port + 52, mode === 'tproxy', udpStats);
    const icpt = await nlkit.intercept({
      netns: ids.pod,
      mode,
      outboundPort: port,
      udp: { outboundPort: port + 52, ports: [53] }, // DNS capture: UDP to port 53 goes to the sidecar's port 15053 (15153)
      exclude: { marks: [PROXY_MARK] },
      stateDir,
    });
    try {
      // UDP to the VIP's port 53 goes through the sidecar, which asks the VIP itself and answers as it
      const udpAnswers = [];
      for (let i = 0; i < 10; i++) udpAnswers.push(await askB());
      console.log(`  10 UDP queries to ${VIP}:53 captured by the sidecar (it saw ${[...udpStats.destinations]}): ${udpAnswers[0]}`);
      assert.deepEqual([...udpStats.destinations], [`${VIP}:53`]);
      // Every query went through the sidecar, once: its upstream socket may get the source port of an earlier query
      // still tracked by conntrack (same 5-tuple), and REDIRECT mode tracks the proxy's UDP in a zone of its own so
      // that it does not follow that query's NAT back to the sidecar (udp.zone).
      assert.equal(udpStats.datagrams, 10, `the sidecar saw ${udpStats.datagrams} datagrams`);
      assert.ok(
        udpAnswers.every((a) => /^B instance b[12] \(udp\) from 10\.96\.0\.10:53$/.test(a)),
        udpAnswers.join('\n'),
      );

      // both instances answer (the service picks at random: 20 calls all on one has p = 2^-19);
      // B sees the gateway: A and B share a bridge, so the network SNATs flows through the VIP
      // (its hairpin rule) for the replies to come back through the host's un-DNAT
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push(await callB());
      const count = (name) => answers.filter((a) => a.startsWith(`B instance ${name} `)).length;
      console.log(`  20 calls: b1 answered ${count('b1')}, b2 answered ${count('b2')}; B saw ${answers[0].split('(')[1].slice(0, -1)}`);
      assert.deepEqual([...stats.destinations], [`${VIP}:80`]); // the sidecar recovered the VIP, not an instance
      assert.deepEqual([...new Set(answers.map((a) => a.slice(0, 13)))].sort(), ['B instance b1', 'B instance b2']);
      assert.ok(
        answers.every((a) => a.endsWith(`(peer ${gateway})`)),
        answers.join('\n'),
      );
      assert.equal(stats.retries, 0);

      // b2 fails (its server stops): connections the VIP sends there are refused,
      // the sidecar retries until the service picks b1, and A's calls keep succeeding
      await new Promise((r) => servers.b2.close(r));
      for (let i = 0; i < 20; i++) assert.match(await callB(), /^B instance b1 /);
      console.log(`  b2 down: 20 calls answered by b1, the sidecar retried ${stats.retries} times (${[...stats.errors]})`);
      assert.ok(stats.retries > 0, 'the service never picked the failed instance'); // p = 2^-20

      // the failed endpoint is marked not ready: the service stops picking it, no retry needed
      await svcs.set('b', { endpoints: endpoints(false) });
      stats.retries = 0;
      for (let i = 0; i < 20; i++) assert.match(await callB(), /^B instance b1 /);
      console.log(`  b2 not ready: 20 calls answered by b1, the sidecar retried ${stats.retries} times`);
      assert.equal(stats.retries, 0);

      // b2 comes back and is ready again for the next mode
      servers.b2 = await serveB('b2');
      await svcs.set('b', { endpoints: endpoints(true) });
      assert.deepEqual(await icpt.check(), []);
      assert.deepEqual(await svcs.check(), []);
    } finally {
      await icpt.remove();
      proxy.close();
      dnsProxy.close();
    }
  }
} finally {
  Object.values(servers).forEach((s) => s.close());
  await svcs?.delete('b', { missingOk: true }).catch((e) => console.error(e));
  svcs?.close();
  await nets?.delete('app', { missingOk: true }).catch((e) => console.error(e));
  nets?.close();
  for (const id of Object.values(ids)) await nlkit.deleteNetns(id, { missingOk: true }).catch((e) => console.error(e));
  await nlkit.deleteNetns(hostNs, { missingOk: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
}
