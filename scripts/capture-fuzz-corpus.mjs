#!/usr/bin/env node
// Captures the fuzz corpus (test/fuzz/corpus/*.bin): the raw netlink messages
// the kernel sends, exactly as received, for every kind of message nlkit
// decodes. Inside throw-away namespaces it builds representative state —
// links of every kind nlkit models, addresses, routes (multipath too),
// neighbours, FDB entries, policy rules, the reference nftables ruleset of
// test/helpers/nft-cases.ts, conntrack entries from real traffic — and
// records the dump replies, `get` replies, error replies (with extack) and
// the rtnetlink and nftables notifications the building caused.
//
// Requests are nlkit's own (its list/get operations), sent on plain blocking
// sockets so every datagram is kept byte for byte. Needs root and the
// compiled library:   npm run build:ts && node scripts/capture-fuzz-corpus.mjs [outdir]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => require(path.join(root, 'dist', p));
const nl = dist('index.js');
const { native } = dist('native/binding.js');
const { parseMessages } = dist('netlink/parser.js');
const { NetlinkWriter } = dist('netlink/writer.js');
const { runSync } = dist('netlink/operation.js');
const { decodeErrorMessage, decodeDoneMessage } = dist('netlink/extack.js');
const NC = dist('netlink/constants.js');
const RC = dist('rtnetlink/constants.js');
const FC = dist('nftables/constants.js');
const { nftTableOps, nftChainOps, nftRuleOps, nftSetOps, nftElementOps, nftObjectOps, nftGenerationOps } = nl.nft;
const { Transaction } = dist('nftables/transaction.js');
const { linkOps, addressOps, routeOps, neighbourOps, fdbOps, ruleOps, conntrackOps, qdiscOps, tcClassOps } = nl;

const outDir = path.resolve(process.argv[2] ?? path.join(root, 'test', 'fuzz', 'corpus'));
if (process.getuid?.() !== 0) throw new Error('capture-fuzz-corpus needs root (namespaces, nftables, conntrack)');

/** test/helpers/nft-cases.ts, compiled on the fly against dist/ (one reference ruleset for tests and corpus). */
function loadNftCases() {
  const ts = require('typescript');
  const file = path.join(root, 'test', 'helpers', 'nft-cases.ts');
  const js = ts
    .transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } })
    .outputText.replace(/require\("\.\.\/\.\.\/lib"\)/g, `require(${JSON.stringify(path.join(root, 'dist', 'index.js'))})`);
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', js)(mod, mod.exports, require);
  return mod.exports;
}

// --- raw exchange -------------------------------------------------------------

/** What was received, per corpus file ("route-links", "netfilter-rules", ...). */
const corpus = new Map();
function record(name, bytes) {
  if (!bytes.length) return;
  const list = corpus.get(name) ?? [];
  list.push(bytes);
  corpus.set(name, list);
}

let seq = 1000;

/** A blocking netlink socket in the namespace (no I/O thread: recv hands over raw datagrams). */
function socket(protocol, nsFd) {
  return new (native().NetlinkSyncSocket)(protocol, nsFd, {});
}

/**
 * A socket joined to multicast groups (only the async socket joins groups):
 * what the kernel sends it is kept byte for byte until drained.
 */
function eventSocket(protocol, nsFd, groups) {
  const received = [];
  let overruns = 0;
  const sock = new (native().NetlinkSocket)(protocol, nsFd, { groups }, (kind, payload) => {
    if (kind === 0 /* messages: whole datagrams, concatenated */) received.push(payload);
    if (kind === 3 /* overrun */) overruns++;
  });
  return {
    received,
    overruns: () => overruns,
    close: () => sock.close(),
  };
}

/**
 * Sends a request (stamping sequence numbers as the connection does) and
 * returns every byte received for it: until its NLMSG_DONE or final
 * NLMSG_ERROR, or for batches until the kernel has been quiet for 300 ms.
 */
function exchange(sock, call) {
  const buf = Buffer.from(call.message);
  let last = 0;
  for (let off = 0; off + 16 <= buf.length;) {
    const len = buf.readUInt32LE(off);
    last = ++seq;
    buf.writeUInt32LE(last, off + 8);
    if (call.kind === 'ack') buf.writeUInt16LE(buf.readUInt16LE(off + 6) | NC.NLM_F_ACK, off + 6);
    if (len < 16) break;
    off += (len + 3) & ~3;
  }
  sock.send(buf);
  const parts = [];
  for (;;) {
    const got = sock.recv(call.kind === 'batch' ? 300 : 5000);
    if (!got.length) {
      if (call.kind === 'batch') break;
      throw new Error(`${call.operation}: no reply`);
    }
    parts.push(got);
    const done = parseMessages(got).some((m) => m.seq === last && (m.type === NC.NLMSG_DONE || m.type === NC.NLMSG_ERROR));
    if (done && call.kind !== 'batch') break;
  }
  return Buffer.concat(parts);
}

/** Runs an nlkit operation on a raw socket, recording every reply under `name`; throws on a kernel error like a handle. */
function run(sock, name, op) {
  return runSync(
    {
      executeSync(call) {
        const raw = exchange(sock, call);
        record(name, raw);
        const msgs = parseMessages(raw);
        for (const m of msgs) {
          const e = m.type === NC.NLMSG_ERROR ? decodeErrorMessage(m) : m.type === NC.NLMSG_DONE ? decodeDoneMessage(m) : undefined;
          if (e && e.errno) throw new nl.NetlinkError({ ...e, operation: call.operation });
        }
        return msgs.filter((m) => m.type >= NC.NLMSG_MIN_TYPE);
      },
    },
    op,
  );
}

/** The same, for a request that must fail: returns the error. */
function runFailing(sock, name, op) {
  try {
    run(sock, name, op);
  } catch (e) {
    if (e instanceof nl.NetlinkError || e instanceof nl.ValidationError) return e;
    throw e;
  }
  throw new Error(`${name}: expected the kernel to refuse`);
}

/** A hand-made request (for dumps nlkit has no operation for, and malformed requests). */
function request(type, flags, fill) {
  const w = new NetlinkWriter().begin(type, flags);
  fill(w);
  return w.end().finish();
}

/** Everything an event socket received, once the kernel has been quiet for 300 ms. */
async function drain(events, name) {
  for (let before = -1; events.received.length !== before;) {
    before = events.received.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  if (events.overruns()) throw new Error(`${name}: notifications were lost (overrun)`);
  for (const got of events.received.splice(0)) record(name, got);
}

function sh(ns, ...args) {
  return execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

// --- the capture -----------------------------------------------------------------

const tag = `fz${process.pid}`;
const names = { a: `${tag}-a`, b: `${tag}-b`, c: `${tag}-c` };
const handles = [];
const fds = [];
const sockets = [];

async function main() {
  for (const n of Object.values(names)) await nl.createNetns(n);
  const fdOf = (n) => {
    const fd = fs.openSync(`/run/netns/${n}`, 'r');
    fds.push(fd);
    return fd;
  };
  const A = await nl.open({ netns: names.a });
  const B = await nl.open({ netns: names.b });
  const Cn = await nl.open({ netns: names.c });
  handles.push(A, B, Cn);
  const aFd = fdOf(names.a);
  const bFd = fdOf(names.b);
  const route = socket(NC.NETLINK_ROUTE, aFd);
  const nf = socket(NC.NETLINK_NETFILTER, aFd);
  const nfB = socket(NC.NETLINK_NETFILTER, bFd);
  const rtEvents = eventSocket(NC.NETLINK_ROUTE, aFd, [
    RC.RTNLGRP_LINK,
    RC.RTNLGRP_NEIGH,
    RC.RTNLGRP_IPV4_IFADDR,
    RC.RTNLGRP_IPV4_ROUTE,
    RC.RTNLGRP_IPV4_RULE,
    RC.RTNLGRP_IPV6_IFADDR,
    RC.RTNLGRP_IPV6_ROUTE,
    RC.RTNLGRP_IPV6_RULE,
  ]);
  const nfEvents = eventSocket(NC.NETLINK_NETFILTER, aFd, [FC.NFNLGRP_NFTABLES]);
  sockets.push(route, nf, nfB, rtEvents, nfEvents);

  // rtnetlink state: every link kind, addresses, routes, neighbours, FDB, rules.
  await A.links.set('lo', { up: true });
  await A.links.add({ name: 'br0', kind: 'bridge', up: true, forwardDelay: 4, priority: 4096, ageingTime: 120, multicastSnooping: false });
  await A.links.add({ name: 'v0', kind: 'veth', peer: { name: 'eth0', netns: names.b }, master: 'br0', up: true });
  await A.links.set('v0', { port: { hairpin: true, learning: false, isolated: true } });
  await A.links.add({ name: 'lower0', kind: 'veth', peer: { name: 'lower1' }, up: true, mtu: 1600, alias: 'uplink' });
  await A.links.set('lower1', { up: true });
  await A.links.add({ name: 'mv0', kind: 'macvlan', parent: 'lower0', mode: 'bridge' });
  await A.links.add({ name: 'mv1', kind: 'macvlan', parent: 'lower0', mode: 'private', nopromisc: true });
  await A.links.add({
    name: 'vx0',
    kind: 'vxlan',
    vni: 4242,
    local: '10.60.0.1',
    remote: '10.60.0.2',
    dstPort: 4790,
    dev: 'lower0',
    ttl: 9,
    srcPortRange: { low: 1000, high: 2000 },
  });
  await A.links.add({ name: 'vx6', kind: 'vxlan', vni: 600, local: 'fd60::1', remote: 'fd60::2', udp6ZeroChecksumTx: true });
  await A.links.add({ name: 'vxm', kind: 'vxlan', vni: 7, multicastGroup: '239.1.1.7', dev: 'lower0', ttl: 'inherit', master: 'br0' });
  await A.links.add({ name: 'tun0', kind: 'tun', mode: 'tun', up: true });
  await A.links.add({ name: 'tap0', kind: 'tun', mode: 'tap', multiQueue: true, master: 'br0' });
  await A.addresses.add('br0', '10.50.0.1/24');
  await A.addresses.add('br0', 'fd50::1/64', { nodad: true });
  await A.addresses.add('lower0', '10.60.0.1/24');
  await A.addresses.add('lower0', 'fd60::1/64', { nodad: true });
  await A.addresses.add('lo', '10.255.0.1/32');
  await A.routes.add({ dst: '10.70.0.0/16', gateway: '10.50.0.2', metric: 50, mtu: 1400 });
  await A.routes.add({
    dst: '10.71.0.0/16',
    multipath: [
      { gateway: '10.50.0.2', link: 'br0', weight: 3 },
      { gateway: '10.60.0.2', link: 'lower0' },
    ],
  });
  await A.routes.add({ dst: 'default', gateway: '10.60.0.254', table: 100, prefsrc: '10.60.0.1' });
  await A.routes.add({ dst: '10.72.0.0/16', type: 'blackhole' });
  await A.routes.add({ dst: '10.73.0.0/16', type: 'unreachable', table: 200 });
  await A.routes.add({ dst: '10.74.0.0/16', link: 'br0', scope: 'link', protocol: 'static' });
  await A.routes.add({ dst: 'fd70::/48', gateway: 'fd50::2', pref: 'high' });
  await A.routes.add({
    dst: 'fd71::/48',
    multipath: [
      { gateway: 'fd50::2', link: 'br0' },
      { gateway: 'fd60::2', link: 'lower0', weight: 2 },
    ],
  });
  await A.routes.add({ dst: 'fd72::/48', src: 'fd50::/64', link: 'br0' });
  await A.routes.add({ dst: 'fd73::/48', type: 'prohibit' });
  await A.neighbours.add({ link: 'br0', address: '10.50.0.9', mac: '02:00:00:00:00:09' });
  await A.neighbours.add({ link: 'br0', address: 'fd50::9', mac: '02:00:00:00:00:19', router: true, state: 'reachable' });
  await A.neighbours.add({ link: 'lower0', address: '10.60.0.77', proxy: true });
  await A.fdb.add({ mac: '02:00:00:00:00:f1', link: 'v0', bridge: 'br0', state: 'static' });
  await A.fdb.add({ mac: '02:00:00:00:00:a1', link: 'vx0', dst: '10.60.0.3', self: true, state: 'permanent' });
  await A.rules.add({ priority: 100, src: '10.50.0.0/24', table: 100 });
  await A.rules.add({ priority: 101, dst: 'fd70::/48', iif: 'br0', table: 200, invert: true });
  await A.rules.add({ priority: 102, fwmark: 7, fwmask: 0xff, table: 'main', suppressPrefixLength: 0 });
  await A.rules.add({ priority: 103, oif: 'lower0', action: 'goto', goto: 200 });
  await A.rules.add({ priority: 200, action: 'blackhole', tos: 4 });

  // Dumps and gets, as nlkit requests them.
  run(route, 'route-links', linkOps.list());
  run(route, 'route-links', linkOps.get('vx0'));
  run(route, 'route-links', dumpOf(RC.RTM_GETLINK, 7 /* AF_BRIDGE: bridge ports */, RC.IFINFOMSG_LEN));
  run(route, 'route-addresses', addressOps.list());
  for (const family of [4, 6]) run(route, 'route-routes', routeOps.list({ family, table: 'all' }));
  run(route, 'route-routes', routeOps.lookup('10.71.0.9'));
  run(route, 'route-routes', routeOps.lookup('fd72::1', { from: 'fd50::1' }));
  run(route, 'route-routes', routeOps.lookup('10.70.0.9', { fibMatch: true }));
  run(route, 'route-neighbours', neighbourOps.list());
  run(route, 'route-neighbours', neighbourOps.list({ proxy: true }));
  run(route, 'route-neighbours', fdbOps.list());
  run(route, 'route-rules', ruleOps.list());

  // Traffic control: typed kinds (TBF with a peak rate and a 64-bit rate, HTB and its classes, ingress, clsact) and raw ones.
  await A.qdiscs.add({ link: 'lower0', kind: 'htb', handle: '1:', options: { default: 0x10, directQlen: 50 } });
  await A.classes.add({ link: 'lower0', classid: '1:1', kind: 'htb', options: { rate: '100gbit' } });
  await A.classes.add({ link: 'lower0', classid: '1:10', parent: '1:1', kind: 'htb', options: { rate: '5mbit', ceil: '60gbit', prio: 2 } });
  await A.qdiscs.add({
    link: 'lower0',
    parent: '1:10',
    handle: '10:',
    kind: 'tbf',
    options: { rate: '3mbit', burst: '10kb', latency: '70ms', peakrate: '4mbit', mtu: 1540 },
  });
  await A.qdiscs.add({ link: 'lower1', kind: 'tbf', options: { rate: '40gbit', burst: '1mb', limit: '10mb' } });
  await A.qdiscs.add({ link: 'lower1', kind: 'ingress' });
  await A.qdiscs.add({ link: 'br0', kind: 'clsact' });
  sh(names.a, 'tc', 'qdisc', 'add', 'dev', 'v0', 'root', 'handle', '7:', 'pfifo', 'limit', '100');
  run(route, 'route-tc', qdiscOps.list());
  run(route, 'route-tc', tcClassOps.list({ link: 'lower0' }));

  // Refusals: extack text, an offset into the request, a failed dump, plain errnos.
  runFailing(route, 'route-errors', routeOps.add({ dst: '10.99.0.0/16', gateway: '192.0.2.1' }));
  runFailing(route, 'route-errors', addressOps.add('br0', '10.50.0.1/24'));
  runFailing(route, 'route-errors', routeOps.list({ family: 4, table: 4242 }));
  runFailing(route, 'route-errors', routeOps.list({ family: 6, table: 4242 }));
  runFailing(route, 'route-errors', linkOps.delete(9999));
  runFailing(route, 'route-errors', linkOps.add({ name: 'lower0', kind: 'bridge' }));
  runFailing(route, 'route-errors', neighbourOps.delete({ link: 'br0', address: '10.50.0.200' }));
  // A link request whose IFLA_MTU is 2 bytes: "Attribute failed policy validation" at an offset.
  runFailing(
    route,
    'route-errors',
    callOf(
      'ack',
      request(RC.RTM_NEWLINK, 0, (w) => {
        const off = w.struct(RC.IFINFOMSG_LEN);
        w.view.writeInt32LE(1, off + 4);
        w.attr(RC.IFLA_MTU, Buffer.from([0, 5]));
      }),
    ),
  );
  // A route dump with a filter strict checking refuses ("Invalid values in header for FIB dump request").
  runFailing(
    route,
    'route-errors',
    callOf(
      'dump',
      request(RC.RTM_GETROUTE, NC.NLM_F_DUMP, (w) => {
        const off = w.struct(RC.RTMSG_LEN);
        w.view.writeUInt8(2, off);
        w.view.writeUInt8(24, off + 1);
      }),
    ),
  );
  // More extack texts: a neighbour without an address, an address without a local one, trailing bytes.
  runFailing(
    route,
    'route-errors',
    callOf(
      'ack',
      request(RC.RTM_NEWNEIGH, NC.NLM_F_CREATE, (w) => {
        const off = w.struct(12);
        w.view.writeUInt8(2, off);
        w.view.writeInt32LE(1, off + 4);
        w.view.writeUInt16LE(0x80, off + 8);
      }),
    ),
  );
  runFailing(
    route,
    'route-errors',
    callOf(
      'ack',
      request(RC.RTM_NEWADDR, NC.NLM_F_CREATE, (w) => {
        const off = w.struct(8);
        w.view.writeUInt8(2, off);
        w.view.writeUInt8(24, off + 1);
        w.view.writeInt32LE(1, off + 4);
      }),
    ),
  );
  runFailing(
    route,
    'route-errors',
    callOf(
      'ack',
      request(82 /* RTM_GETNETCONF */, 0, (w) => {
        const off = w.struct(8);
        w.view.writeUInt8(2, off);
      }),
    ),
  );
  // Acks (errno 0) of a plain change.
  run(route, 'route-errors', linkOps.set('mv1', { up: true }));

  // nftables: the reference ruleset loaded with nft, the same table written by nlkit.
  const cases = loadNftCases();
  execFileSync('ip', ['netns', 'exec', names.a, 'nft', '-f', '-'], { input: cases.nftSource('ref') });
  const def = cases.nlkitDefinition('nlk');
  const tx = A.nft.transaction();
  tx.addTable({ family: 'inet', name: 'nlk', comment: def.comment, flags: ['dormant'] });
  for (const o of def.objects) tx.addObject(o);
  for (const c of def.chains) tx.addChain(c);
  for (const [s, els] of def.sets) tx.addSet(s, els);
  for (const [chain, , r] of cases.RULE_CASES)
    tx.addRule({ family: 'inet', table: 'nlk', chain, ...(Array.isArray(r) ? { expressions: r } : { rule: r }), comment: `case ${chain}` });
  await tx.commit();
  const nd = A.nft.transaction();
  nd.addTable({ family: 'netdev', name: 'ingress' });
  nd.addChain({ family: 'netdev', table: 'ingress', name: 'in', type: 'filter', hook: 'ingress', devices: ['lower0', 'br0'], priority: -10 });
  nd.addChain({ family: 'netdev', table: 'ingress', name: 'in1', type: 'filter', hook: 'ingress', device: 'lower1' });
  nd.addTable({ family: 'ip', name: 'v4', comment: 'x' });
  nd.addTable({ family: 'bridge', name: 'br' });
  nd.addTable({ family: 'arp', name: 'arp' });
  nd.addObject({ family: 'inet', table: 'nlk', name: 'spare', type: 'counter', packets: 5n, bytes: 500n, comment: 'spare' });
  nd.addObject({ family: 'inet', table: 'nlk', name: 'lim', type: 'limit', rate: 10, unit: 60, burst: 5, limitType: 'packets' });
  nd.addObject({ family: 'inet', table: 'nlk', name: 'q2', type: 'quota', bytes: 1000n, invert: true });
  await nd.commit();
  sh(names.a, 'nft', 'add', 'element', 'inet', 'ref', 'seen', '{ 10.9.9.9 }');

  run(nf, 'netfilter-tables', nftTableOps.list());
  run(nf, 'netfilter-chains', nftChainOps.list());
  run(nf, 'netfilter-rules', nftRuleOps.list());
  run(nf, 'netfilter-sets', nftSetOps.list());
  const sets = run(nf, 'netfilter-sets', nftSetOps.list());
  for (const s of sets) run(nf, 'netfilter-elements', nftElementOps.list(s));
  run(nf, 'netfilter-objects', nftObjectOps.list());
  run(nf, 'netfilter-tables', nftGenerationOps.get());

  // nftables refusals: a rule in a missing chain (offset into the batch), a duplicate table, a bad set.
  for (const build of [
    (t) => t.addRule({ family: 'inet', table: 'ref', chain: 'missing', rule: nl.rule().accept() }),
    (t) => t.addTable({ family: 'inet', name: 'ref' }, { exclusive: true }),
    (t) => t.addRule({ family: 'inet', table: 'ref', chain: 'f', rule: nl.rule().jump('nochain') }),
    (t) => t.addSet({ family: 'inet', table: 'nope', name: 's', keyType: 'ipv4_addr' }),
    (t) => t.addRule({ family: 'inet', table: 'ref', chain: 'f', rule: nl.rule().tcp({ dport: '@nosuchset' }).accept() }),
  ]) {
    const t = new Transaction(() => Promise.reject(new Error('unused')));
    build(t);
    runFailing(nf, 'netfilter-errors', t.commitOperation());
  }
  runFailing(nf, 'netfilter-errors', nftSetOps.get({ family: 'inet', table: 'ref', name: 'missing' }));

  // Conntrack from real traffic between b (server) and c (client), with NAT in b.
  await B.links.set('lo', { up: true });
  await B.links.add({ name: 'cb', kind: 'veth', peer: { name: 'bc', netns: names.c }, up: true });
  await Cn.links.set('bc', { up: true });
  await B.addresses.add('cb', '10.80.0.1/24');
  await B.addresses.add('cb', 'fd80::1/64', { nodad: true });
  await Cn.addresses.add('bc', '10.80.0.2/24');
  await Cn.addresses.add('bc', 'fd80::2/64', { nodad: true });
  const ct = B.nft.transaction();
  ct.addTable({ family: 'inet', name: 'ct' });
  ct.addChain({ family: 'inet', table: 'ct', name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
  ct.addChain({ family: 'inet', table: 'ct', name: 'in', type: 'filter', hook: 'input', priority: 'filter' });
  ct.addRule({ family: 'inet', table: 'ct', chain: 'pre', rule: nl.rule().tcp({ dport: 8080 }).redirect({ port: 80 }) });
  ct.addRule({
    family: 'inet',
    table: 'ct',
    chain: 'in',
    rule: nl
      .rule()
      .ct({ state: ['established', 'related'] })
      .counter()
      .accept(),
  });
  ct.addRule({ family: 'inet', table: 'ct', chain: 'in', rule: nl.rule().ct({ mark: 0 }).setCtMark(42) });
  await ct.commit();
  const servers = [];
  for (const host of ['10.80.0.1', 'fd80::1']) {
    const server = await nl.listenTcp({ netns: names.b, host, port: 80 });
    server.on('connection', (s) => s.end('hi'));
    servers.push(server);
  }
  const udp = await nl.bindUdp({ netns: names.b, host: '10.80.0.1', port: 5353 });
  udp.on('message', (msg, from) => udp.send(msg, from.port, from.address));
  for (const [host, port] of [
    ['10.80.0.1', 80],
    ['10.80.0.1', 8080],
    ['fd80::1', 80],
  ]) {
    const s = await nl.connectTcp({ netns: names.c, host, port });
    await new Promise((r) => s.on('close', r).resume());
  }
  const client = await nl.bindUdp({ netns: names.c, host: '10.80.0.2' });
  await new Promise((r) => {
    client.once('message', r);
    client.send('ping', 5353, '10.80.0.1');
  });
  client.close();
  // ICMP and ICMPv6 entries (no ping here) and one with a mark and a zone, inserted with conntrack(8).
  sh(names.b, 'conntrack', '-I', '-p', 'icmp', '-s', '10.80.0.2', '-d', '10.80.0.1', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '77', '-t', '60');
  sh(
    names.b,
    'conntrack',
    '-I',
    '-p',
    'icmpv6',
    '-s',
    'fd80::2',
    '-d',
    'fd80::1',
    '--icmpv6-type',
    '128',
    '--icmpv6-code',
    '0',
    '--icmpv6-id',
    '78',
    '-t',
    '60',
  );
  sh(
    names.b,
    'conntrack',
    '-I',
    '-p',
    'udp',
    '-s',
    '10.80.0.2',
    '-d',
    '10.80.0.1',
    '--sport',
    '9',
    '--dport',
    '10',
    '-t',
    '60',
    '-u',
    'SEEN_REPLY',
    '-m',
    '5',
    '-w',
    '3',
  );
  udp.close();
  for (const s of servers) s.close();
  const entries = run(nfB, 'netfilter-conntrack', conntrackOps.list());
  if (entries.length < 5) throw new Error(`expected conntrack entries from the traffic, got ${entries.length}`);
  // An entry that is not there: the kernel's ENOENT reply is recorded (missingOk: the operation then resolves to false).
  run(
    nfB,
    'netfilter-conntrack',
    conntrackOps.delete({ family: 4, protocol: 'tcp', original: { src: '10.80.0.9', dst: '10.80.0.1', sport: 1, dport: 2 } }, { missingOk: true }),
  );

  // Notifications caused by all of the above, and by deleting part of it.
  await A.routes.delete({ dst: '10.70.0.0/16' });
  await A.rules.delete({ priority: 103 });
  await A.neighbours.delete({ link: 'br0', address: '10.50.0.9' });
  await A.links.set('v0', { master: null });
  await A.links.delete('mv1');
  await A.addresses.delete('lower0', 'fd60::1/64');
  await drain(rtEvents, 'route-events');
  const del = A.nft.transaction();
  del.deleteElements({ family: 'inet', name: 'v6', table: 'ref' }, [{ key: 'fd00::2' }]);
  const [first] = await A.nft.rules.list({ family: 'inet', table: 'nlk', chain: 'f' });
  del.deleteRule({ family: 'inet', table: 'nlk', chain: 'f', handle: first.handle });
  del.deleteObject({ family: 'inet', table: 'nlk', name: 'spare', type: 'counter' });
  del.deleteTable({ family: 'ip', name: 'v4' });
  await del.commit();
  sh(names.a, 'nft', 'delete', 'table', 'inet', 'ref');
  await drain(nfEvents, 'netfilter-events');
}

/** A dump request for a family and header nlkit has no list operation for. */
function dumpOf(type, family, headerLength) {
  return callOf(
    'dump',
    request(type, NC.NLM_F_DUMP, (w) => {
      const off = w.struct(headerLength);
      w.view.writeUInt8(family, off);
    }),
  );
}

/** An operation that makes one call. */
function callOf(kind, message) {
  return (function* () {
    return yield { kind, message, operation: 'capture' };
  })();
}

function save() {
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of fs.readdirSync(outDir)) if (f.endsWith('.bin')) fs.rmSync(path.join(outDir, f));
  let total = 0;
  for (const [name, parts] of [...corpus].sort()) {
    const bytes = Buffer.concat(parts);
    fs.writeFileSync(path.join(outDir, `${name}.bin`), bytes);
    total += bytes.length;
    console.log(`${name}.bin: ${parseMessages(bytes).length} messages, ${bytes.length} bytes`);
  }
  console.log(`corpus: ${total} bytes in ${outDir}`);
}

try {
  await main();
  save();
} finally {
  for (const s of sockets) s.close();
  for (const h of handles) h.close();
  for (const fd of fds) fs.closeSync(fd);
  for (const n of Object.values(names)) await nl.deleteNetns(n, { missingOk: true });
}
