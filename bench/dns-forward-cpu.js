'use strict';
/**
 * CPU time of one forwarded DNS query through the responder's handler
 * (handleMessage with a real Upstreams over UDP on loopback), for a busy
 * machine: process.cpuUsage() of this one process, which also runs the fake
 * upstream (the same work in every version, so differences are the
 * responder's). Run it in a namespace of its own:
 * `bash /work/tools/isolated.sh node bench/dns-forward-cpu.js [queries] [rounds]`.
 * Two replies: one A record, and 40 name-compressed A records (~700 bytes).
 * Also the reply's handling on its own (no sockets): before (wire.rcodeOf there) a dns-packet
 * decode of query and reply for the question check, then two layouts; after (wire.readMessage), one.
 * Medians and ranges of `rounds`, µs per query.
 */
const dgram = require('node:dgram');
const path = require('node:path');
const dnsPacket = require('dns-packet');
const dist = path.join(process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist'), 'dns'); // NLKIT_DIST: another build to compare
const { emptyStats, handleMessage } = require(path.join(dist, 'handler'));
const { Upstreams } = require(path.join(dist, 'upstream'));
const { NameTable } = require(path.join(dist, 'name-table'));
const wire = require(path.join(dist, 'wire'));

const QUERIES = Number(process.argv[2] ?? 5000);
const ROUNDS = Number(process.argv[3] ?? 7);
const FLIGHT = 32;
const PORT = 5391;

const cpuUs = (c) => c.user + c.system;
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

/** A reply to `query` with `count` A records, owners "h<i>.<qname>" compressed against the question (as real servers write them). */
function reply(query, count) {
  const q = dnsPacket.decode(query);
  const head = Buffer.from(dnsPacket.encode({ id: q.id, type: 'response', flags: 0, questions: q.questions }));
  const parts = [head];
  for (let i = 0; i < count; i++) {
    const label = Buffer.from(`h${i}`);
    const rr = Buffer.alloc(1 + label.length + 16);
    rr[0] = label.length;
    label.copy(rr, 1);
    let o = 1 + label.length;
    o = rr.writeUInt16BE(0xc00c, o);
    o = rr.writeUInt16BE(1, o);
    o = rr.writeUInt16BE(1, o);
    o = rr.writeUInt32BE(60, o);
    o = rr.writeUInt16BE(4, o);
    Buffer.from([192, 0, 2, i & 0xff]).copy(rr, o);
    parts.push(rr);
  }
  const out = Buffer.concat(parts);
  out.writeUInt16BE(count, 6);
  return out;
}

async function main() {
  const up = dgram.createSocket('udp4');
  await new Promise((resolve) => up.bind(PORT, '127.0.0.1', resolve));
  let count = 1;
  up.on('message', (msg, r) => up.send(reply(msg, count), r.port, r.address));
  const upstreams = new Upstreams([{ host: '127.0.0.1', port: PORT }], undefined, 2000);
  const ctx = {
    stats: emptyStats(),
    ttl: 5,
    maxUdpReply: 1232,
    upstreams,
    table: () => Promise.resolve(new NameTable([], '')),
    ownsReverse: () => Promise.resolve(false),
  };
  const query = Buffer.from(
    dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'www.example.test', class: 'IN' }] }),
  );
  const run = async (n) => {
    const c0 = process.cpuUsage();
    for (let done = 0; done < n; done += FLIGHT) await Promise.all(Array.from({ length: FLIGHT }, () => handleMessage(ctx, query, false, true)));
    return cpuUs(process.cpuUsage(c0)) / n;
  };
  const rows = [];
  for (const records of [1, 40]) {
    count = records;
    await run(1000); // warm up
    const us = [];
    for (let r = 0; r < ROUNDS; r++) us.push(await run(QUERIES));
    rows.push({ reply: `${records} A`, 'cpu µs/query median': median(us).toFixed(1), min: Math.min(...us).toFixed(1), max: Math.max(...us).toFixed(1) });
  }
  if (ctx.stats.upstreamFailures > 0) throw new Error(`${ctx.stats.upstreamFailures} forwards failed`);
  upstreams.close();
  up.close();
  // The reply's parse alone: what the responder reads of it (question, response code) and its cut to the client's size.
  const big = reply(query, 40);
  const parse = [];
  if (wire.rcodeOf)
    parse.push([
      'dns-packet question check + rcodeOf + fitMessage (before)',
      () => {
        dnsPacket.decode(query); // the question asked
        dnsPacket.decode(big); // the question answered
        wire.rcodeOf(big);
        wire.fitMessage(big, undefined, 1232);
      },
    ]);
  if (wire.readMessage)
    parse.push([
      'questionOf + readMessage + fitMessage of it (after)',
      () => {
        const read = wire.readMessage(big);
        if (read.question !== wire.questionOf(query)) throw new Error('question');
        wire.fitMessage(read, undefined, 1232);
      },
    ]);
  for (const [name, fn] of parse) {
    for (let i = 0; i < 20000; i++) fn();
    const us = [];
    for (let r = 0; r < ROUNDS; r++) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < 50000; i++) fn();
      us.push(cpuUs(process.cpuUsage(c0)) / 50000);
    }
    rows.push({
      reply: `parse of 40 A: ${name}`,
      'cpu µs/query median': median(us).toFixed(2),
      min: Math.min(...us).toFixed(2),
      max: Math.max(...us).toFixed(2),
    });
  }
  console.table(rows);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
