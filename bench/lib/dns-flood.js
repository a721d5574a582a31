'use strict';
/**
 * A DNS load generator, run as its own process inside a client namespace by
 * bench/workloads/dns.js: keeps `inFlight` queries outstanding over one UDP
 * socket until `total` were answered, and prints queries/s and latency
 * percentiles as JSON. Usage: node dns-flood.js SERVER NAME TOTAL INFLIGHT
 */
const dgram = require('node:dgram');
const dnsPacket = require('dns-packet');

const [server, name, totalArg, inFlightArg] = process.argv.slice(2);
const total = Number(totalArg);
const inFlight = Number(inFlightArg);
const sock = dgram.createSocket('udp4');
const sentAt = new Map();
const latencies = [];
let sent = 0;
let lost = 0;
const query = (id) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });

function send() {
  if (sent >= total) return;
  const id = sent++ & 0xffff;
  sentAt.set(id, process.hrtime.bigint());
  sock.send(query(id), 53, server);
}

let t0;
sock.on('message', (msg) => {
  const id = msg.readUInt16BE(0);
  const at = sentAt.get(id);
  if (at === undefined) return;
  sentAt.delete(id);
  latencies.push(Number(process.hrtime.bigint() - at) / 1e6);
  if (latencies.length + lost >= total) finish();
  else send();
});

// A query unanswered for a second is lost (UDP): replace it so the load stays constant.
const sweeper = setInterval(() => {
  const now = process.hrtime.bigint();
  for (const [id, at] of sentAt)
    if (now - at > 1_000_000_000n) {
      sentAt.delete(id);
      lost++;
      send();
    }
  if (latencies.length + lost >= total) finish();
}, 200);

function finish() {
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(sweeper);
  sock.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  process.stdout.write(JSON.stringify({ qps: latencies.length / seconds, p50: pct(50), p99: pct(99), answered: latencies.length, lost }) + '\n');
  process.exit(0);
}

sock.bind(0, () => {
  t0 = process.hrtime.bigint();
  for (let i = 0; i < inFlight; i++) send();
});
