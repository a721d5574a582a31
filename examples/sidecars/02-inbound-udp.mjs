// A sidecar intercepting the UDP that reaches its pod: a client in another
// namespace asks the pod's app (UDP port 7000); the sidecar gets each
// datagram first, learns where it was going and hands it to the app, and the
// client gets its answer from the address and port it asked. REDIRECT mode,
// then TPROXY mode; port 7001 (a health check, say) is left to the app.
//
//   client (10.79.0.1, fd79::1) ── pod (10.79.0.2, fd79::2): app on UDP 7000 and 7001 + sidecar
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nlkit from 'nlkit';

const tag = `scu${process.pid}`;
const ns = { pod: `${tag}-pod`, client: `${tag}-client` };
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sidecars-udp-'));
const PROXY_MARK = 0x539; // the sidecar's own datagrams: never intercepted

/** The app: answers who it is and whom it saw (a plain socket: its port cannot be shared). */
async function app(port) {
  const s = await nlkit.listenUdp({ netns: ns.pod, port });
  s.on('message', (d) => void s.reply(d, Buffer.from(`app:${port} saw ${d.from.address}: ${d.data}`)));
  return s;
}

/**
 * REDIRECT: the datagram arrives NATed to the sidecar's port; conntrack knows
 * where it was going. The sidecar asks the app itself and answers with
 * reply(): conntrack turns the source back into the app's address and port.
 */
async function redirectSidecar(port, seen) {
  const listener = await nlkit.listenUdp({ netns: ns.pod, port });
  listener.on('message', async (d) => {
    const dst = await listener.originalDestination(d); // { address: '10.79.0.2', port: 7000, source: 'conntrack' }
    seen.push(`${dst.address}:${dst.port}`);
    const upstream = await nlkit.bindUdp({ netns: ns.pod, family: dst.family, mark: PROXY_MARK });
    upstream.once('message', (answer) => {
      upstream.close();
      void listener.reply(d, Buffer.from(`[via sidecar] ${answer}`));
    });
    upstream.send(d.data, dst.port, dst.address);
  });
  return listener;
}

/**
 * TPROXY: the datagram arrives unchanged on a transparent socket; its
 * destination is the original. The sidecar forwards it from the client's
 * own address and port, so the app sees the client (TPROXY's point) and its
 * answer goes straight back from the app's port.
 */
async function tproxySidecar(port, seen) {
  const listener = await nlkit.listenUdp({ netns: ns.pod, port, transparent: true });
  listener.on('message', async (d) => {
    const dst = await listener.originalDestination(d); // { address: '10.79.0.2', port: 7000, source: 'local-address' }
    seen.push(`${dst.address}:${dst.port}`);
    const asClient = await nlkit.bindUdp({ netns: ns.pod, host: d.from.address, port: d.from.port, transparent: true, reuseAddr: true });
    asClient.send(Buffer.from(`[via sidecar] ${d.data}`), dst.port, dst.address, () => asClient.close());
  });
  return listener;
}

/** One question from the client: "answer <- who answered". */
async function ask(host, port, text) {
  const s = await nlkit.bindUdp({ netns: ns.client, host: host.includes(':') ? '::' : '0.0.0.0' });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${host}:${port}`)), 3000);
      s.once('message', (msg, rinfo) => {
        clearTimeout(timer);
        resolve(`${msg} <- ${rinfo.address}:${rinfo.port}`);
      });
      s.send(text, port, host);
    });
  } finally {
    s.close();
  }
}

for (const n of Object.values(ns)) await nlkit.createNetns(n);
const closers = [];
try {
  const pod = await nlkit.open({ netns: ns.pod });
  const client = await nlkit.open({ netns: ns.client });
  closers.push(pod, client);
  for (const h of [pod, client]) await h.links.set('lo', { up: true });
  await pod.links.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0', netns: ns.client }, up: true });
  await client.links.set('eth0', { up: true });
  await pod.addresses.add('eth0', '10.79.0.2/24');
  await pod.addresses.add('eth0', 'fd79::2/64', { nodad: true });
  await client.addresses.add('eth0', '10.79.0.1/24');
  await client.addresses.add('eth0', 'fd79::1/64', { nodad: true });
  closers.push(await app(7000), await app(7001));

  for (const [mode, port, makeSidecar] of [
    ['redirect', 15006, redirectSidecar],
    ['tproxy', 15106, tproxySidecar],
  ]) {
    console.log(`-- ${mode} mode`);
    const seen = [];
    const sidecar = await makeSidecar(port, seen);
    const icpt = await nlkit.intercept({
      netns: ns.pod,
      mode,
      outboundPort: 15001,
      udp: { inboundPort: port }, // inbound UDP to the sidecar's port (outboundPort: as well, for the pod's own UDP)
      exclude: { marks: [PROXY_MARK], inboundPorts: [7001] }, // 7001 (TCP and UDP) is not intercepted
      stateDir,
    });
    try {
      for (const [host, from] of [
        ['10.79.0.2', '10.79.0.1'],
        ['fd79::2', 'fd79::1'],
      ]) {
        const answer = await ask(host, 7000, 'hello');
        console.log(`  client -> ${host}:7000: ${answer}`);
        // REDIRECT: the app saw the sidecar (the pod's address) and the answer came back through it;
        // TPROXY: the app saw the client and answered it directly. Both from where the client sent to.
        const expected = mode === 'redirect' ? `[via sidecar] app:7000 saw ${host}: hello` : `app:7000 saw ${from}: [via sidecar] hello`;
        assert.equal(answer, `${expected} <- ${host}:7000`);
      }
      const health = await ask('10.79.0.2', 7001, 'ping');
      console.log(`  client -> 10.79.0.2:7001 (excluded): ${health}`);
      assert.equal(health, 'app:7001 saw 10.79.0.1: ping <- 10.79.0.2:7001');
      console.log(`  the sidecar saw ${seen.join(', ')}`);
      assert.deepEqual(seen, ['10.79.0.2:7000', 'fd79::2:7000']); // once each: nothing looped
      assert.deepEqual(await icpt.check(), []);
    } finally {
      await icpt.remove();
      sidecar.close();
    }
  }
} finally {
  closers.forEach((c) => c.close());
  for (const n of Object.values(ns)) await nlkit.deleteNetns(n, { missingOk: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
}
