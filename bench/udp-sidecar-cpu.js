'use strict';
/**
 * CPU time of UDP through a sidecar, for a busy machine (process.cpuUsage(),
 * all threads, this one process: client, sidecar and server all run here,
 * and the kernel's work shows as system time of the sending thread):
 * `node bench/udp-sidecar-cpu.js [queries] [rounds]`.
 * - receive: N datagrams (in flights of 50) from a dgram client to a plain
 *   Node dgram socket vs. to nlkit's listenUdp() (recvmsg + IP_ORIGDSTADDR
 *   by a thread of the addon), in the same namespace, alternately;
 * - query: one UDP question and its answer, A → B: direct, and through an
 *   in-process sidecar under REDIRECT (originalDestination() from conntrack,
 *   remembered per client) and TPROXY (the datagram's own destination; the
 *   answer from a transparent socket made for it).
 * Namespaces are created and always deleted. Medians and ranges of `rounds`.
 */
const path = require('node:path');
const nl = require(path.join(__dirname, '..', 'dist'));

const QUERIES = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 5);
const MARK = 0x539;
const FLIGHT = 50;

const cpuMs = (c) => (c.user + c.system) / 1000;
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

/** Sends `n` datagrams to port in flights, each flight answered (counted) by the receiver; returns CPU ms. */
async function blast(client, port, n, received) {
  const c0 = process.cpuUsage();
  for (let sent = 0; sent < n; sent += FLIGHT) {
    const want = received.count + FLIGHT;
    const arrived = new Promise((resolve) => (received.onCount = (c) => c >= want && resolve()));
    for (let i = 0; i < FLIGHT; i++) client.send('x', port, '127.0.0.1');
    await arrived;
  }
  return cpuMs(process.cpuUsage(c0));
}

/** One question from the pod to B and its answer. */
function ask(sock, host, port) {
  return new Promise((resolve) => {
    sock.once('message', resolve);
    sock.send('q', port, host);
  });
}

async function main() {
  const pod = `nlbench-${process.pid}-udp-pod`;
  const svc = `nlbench-${process.pid}-udp-svc`;
  const stateDir = require('node:fs').mkdtempSync('/dev/shm/nlbench-udp-');
  const closers = [];
  try {
    await nl.createNetns(pod);
    await nl.createNetns(svc);
    const h = await nl.open({ netns: pod });
    const hs = await nl.open({ netns: svc });
    closers.push(h, hs);
    await h.links.set('lo', { up: true });
    await hs.links.set('lo', { up: true });
    await h.links.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0', netns: svc }, up: true });
    await h.addresses.add('eth0', '10.64.0.2/24');
    await hs.links.set('eth0', { up: true });
    await hs.addresses.add('eth0', '10.64.0.1/24');

    // receive: plain dgram vs listenUdp
    const plainCount = { count: 0, onCount: () => {} };
    const nlkitCount = { count: 0, onCount: () => {} };
    const plain = await nl.bindUdp({ netns: pod, host: '127.0.0.1', port: 16001 });
    plain.on('message', () => plainCount.onCount(++plainCount.count));
    const listener = await nl.listenUdp({ netns: pod, host: '127.0.0.1', port: 16002 });
    listener.on('message', () => nlkitCount.onCount(++nlkitCount.count));
    const client = await nl.bindUdp({ netns: pod, host: '127.0.0.1' });
    closers.push(plain, listener, client);
    const recv = { dgram: [], listenUdp: [] };
    await blast(client, 16001, 1000, plainCount);
    await blast(client, 16002, 1000, nlkitCount);
    for (let r = 0; r < ROUNDS; r++) {
      recv.dgram.push((await blast(client, 16001, QUERIES * 5, plainCount)) / (QUERIES * 5));
      recv.listenUdp.push((await blast(client, 16002, QUERIES * 5, nlkitCount)) / (QUERIES * 5));
    }

    // query: direct vs REDIRECT vs TPROXY sidecar
    const server = await nl.bindUdp({ netns: svc, port: 5353 });
    server.on('message', (m, r) => server.send(m, r.port, r.address));
    closers.push(server);
    for (const [port, transparent] of [
      [15053, false],
      [15153, true],
    ]) {
      const l = await nl.listenUdp({ netns: pod, port, transparent });
      const upstream = await nl.bindUdp({ netns: pod, mark: MARK });
      const pending = [];
      upstream.on('message', (answer) => {
        const d = pending.shift();
        if (d) void l.reply(d, answer);
      });
      l.on('message', async (d) => {
        const dst = await l.originalDestination(d);
        pending.push(d);
        upstream.send(d.data, dst.port, dst.address);
      });
      closers.push(l, upstream);
    }
    const query = { direct: [], redirect: [], tproxy: [] };
    const wall = { direct: [], redirect: [], tproxy: [] };
    const modes = { direct: undefined, redirect: 15053, tproxy: 15153 };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [mode, udpPort] of Object.entries(modes)) {
        const icpt = udpPort
          ? await nl.intercept({ netns: pod, mode, outboundPort: 15001, udp: { outboundPort: udpPort, ports: [5353] }, exclude: { marks: [MARK] }, stateDir })
          : undefined;
        // a new client port per round: a flow REDIRECTed in the round before keeps its NAT in conntrack
        const app = await nl.bindUdp({ netns: pod });
        for (let i = 0; i < 50; i++) await ask(app, '10.64.0.1', 5353);
        const t0 = process.hrtime.bigint();
        const c0 = process.cpuUsage();
        for (let i = 0; i < QUERIES; i++) await ask(app, '10.64.0.1', 5353);
        query[mode].push(cpuMs(process.cpuUsage(c0)) / QUERIES);
        wall[mode].push(Number(process.hrtime.bigint() - t0) / 1e6 / QUERIES);
        app.close();
        await icpt?.remove();
      }
    }
    const fmt = (a) => `${(median(a) * 1000).toFixed(1)} µs (${(Math.min(...a) * 1000).toFixed(1)}–${(Math.max(...a) * 1000).toFixed(1)})`;
    console.log(`receive, CPU per datagram (send + receive, ${ROUNDS} rounds of ${QUERIES * 5}):`);
    for (const [k, v] of Object.entries(recv)) console.log(`  ${k.padEnd(10)} ${fmt(v)}`);
    console.log(`UDP query A → B and answer, CPU per query (${ROUNDS} rounds of ${QUERIES}; wall median in brackets):`);
    for (const [k, v] of Object.entries(query)) console.log(`  ${k.padEnd(10)} ${fmt(v)}  [wall ${(median(wall[k]) * 1000).toFixed(0)} µs]`);
  } finally {
    closers.forEach((c) => c.close());
    await nl.deleteNetns(pod, { missingOk: true });
    await nl.deleteNetns(svc, { missingOk: true });
    require('node:fs').rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
