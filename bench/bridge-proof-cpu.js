'use strict';
/**
 * CPU of an attach's bridge read once it proves the bridge nlkit's (trust13): the decode of the RTM_GETLINK reply
 * as getLinkOwnership does it (index, kind, parent, name, alias, group, MAC) plus the proof (bridgeRefOf and
 * notNetworksBridge, lib/network/bridge-owner.ts), against the decode attach did before (index, kind, parent and
 * name only), on the same captured reply of a marked bridge, in one process, alternated 3 times.
 * `node bench/bridge-proof-cpu.js [dist dir]` (default: this checkout's dist/; a build with getLinkOwnership's MAC).
 * The bridge is made in a network namespace of the child's own (`unshare -n`), gone when it exits.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const N = 200000;

async function child(D) {
  const nl = require(path.join(D, 'index.js'));
  const { getLinkMessage } = require(path.join(D, 'rtnetlink/link-ref.js'));
  const { linkIdentityOf } = require(path.join(D, 'rtnetlink/link-added.js'));
  const { Attributes } = require(path.join(D, 'netlink/parser.js'));
  const C = require(path.join(D, 'rtnetlink/constants.js'));
  const { getLinkOwnership } = require(path.join(D, 'rtnetlink/link-identity.js'));
  const { bridgeRefOf, notNetworksBridge } = require(path.join(D, 'network/bridge-owner.js'));
  const { bridgeMark } = require(path.join(D, 'network/names.js'));
  const h = await nl.open();
  try {
    await h.links.add({ name: 'nlk-b', kind: 'bridge' });
    await h.links.set('nlk-b', { alias: bridgeMark('abcd1234', 'b') });
    const m = await h.run(getLinkMessage('nlk-b'));
    // The operation driven by hand with the captured reply: its decode only, no round trip.
    const decodeNow = () => {
      const g = getLinkOwnership('nlk-b');
      g.next();
      return g.next([m]).value;
    };
    const decodeBefore = () => {
      const id = linkIdentityOf(m);
      id.name = new Attributes(m.payload, C.IFINFOMSG_LEN).string(C.IFLA_IFNAME);
      return id;
    };
    const rec = { name: 'b', bridge: 'nlk-b', subnet: '10.78.0.0/24', gateway: '10.78.0.1', mac: decodeNow().mac };
    const proven = () => notNetworksBridge('abcd1234', bridgeRefOf(rec), decodeNow(), undefined);
    if (proven() !== undefined) throw new Error(`the bridge is not proven: ${proven()}`);
    const nsPer = (f) => {
      for (let i = 0; i < 20000; i++) f();
      const t = process.cpuUsage();
      for (let i = 0; i < N; i++) f();
      const u = process.cpuUsage(t);
      return ((u.user + u.system) * 1000) / N;
    };
    for (let r = 0; r < 3; r++) {
      const before = nsPer(decodeBefore);
      const now = nsPer(proven);
      console.log(`round ${r}: decode before ${before.toFixed(0)} ns, decode + proof now ${now.toFixed(0)} ns: +${(now - before).toFixed(0)} ns per attach`);
    }
  } finally {
    h.close();
  }
}

if (process.argv[2] === '--child')
  child(process.argv[3]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
else {
  const dist = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist'));
  console.log(`load ${require('node:fs').readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  execFileSync('unshare', ['-n', process.execPath, __filename, '--child', dist], { stdio: 'inherit' });
}
