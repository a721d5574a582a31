// Service discovery with the embedded DNS responder: containers on two
// networks find each other by name on their own network only; other names go
// to an upstream server (here a tiny one in its own namespace).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import dnsPacket from 'dns-packet';
import * as nlkit from 'nlkit';

const tag = `dns${process.pid}`;
const hostNs = `${tag}-host`;
const upNs = `${tag}-up`;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-dns-'));
await nlkit.createNetns(hostNs);
await nlkit.createNetns(upNs);
const host = await nlkit.open({ netns: hostNs });
const nets = await nlkit.networks({ host: hostNs, stateDir });
const closers = [];
try {
  // An upstream resolver behind the host: answers "example.org" with 192.0.2.80.
  await host.links.add({ name: 'up0', kind: 'veth', up: true, peer: { name: 'eth0', netns: upNs } });
  await host.addresses.add('up0', '198.51.100.1/30');
  const up = await nlkit.open({ netns: upNs });
  await up.links.set('eth0', { up: true });
  await up.addresses.add('eth0', '198.51.100.2/30');
  up.close();
  const upstream = await nlkit.bindUdp({ netns: upNs, host: '198.51.100.2', port: 53 });
  upstream.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const answers = q.questions[0].name === 'example.org' ? [{ type: 'A', name: 'example.org', ttl: 60, data: '192.0.2.80' }] : [];
    upstream.send(dnsPacket.encode({ id: q.id, type: 'response', flags: answers.length ? 0 : 3, questions: q.questions, answers }), rinfo.port, rinfo.address);
  });
  closers.push(() => upstream.close());

  // Two networks; containers named on attach.
  await nets.create({ name: 'frontend', subnet: '10.71.0.0/24' });
  await nets.create({ name: 'backend', subnet: '10.72.0.0/24' });
  const web = await nets.attach('frontend', { sandbox: `${tag}-web`, create: true, names: ['web'] });
  await nets.attach('frontend', { sandbox: `${tag}-api`, create: true, names: ['api', 'api-v2'] });
  await nets.attach('backend', { sandbox: `${tag}-db`, create: true, names: ['db'] });

  const responder = await nlkit.dnsResponder({
    manager: nets,
    host: hostNs,
    networks: ['frontend', 'backend'],
    domain: 'nlkit.internal',
    upstreams: ['198.51.100.2'],
  });
  closers.push(() => responder.close());

  // What the runtime writes into the web container's /etc/resolv.conf:
  const conf = responder.resolvConf(web);
  console.log(`resolv.conf of web:\n  nameserver ${conf.nameservers.join('\n  nameserver ')}\n  search ${conf.search.join(' ')}`);

  // Ask from inside a container, as its resolver would.
  const ask = async (from, server, name, type = 'A') => {
    const sock = await nlkit.bindUdp({ netns: from });
    try {
      const reply = new Promise((resolve) => sock.once('message', (m) => resolve(dnsPacket.decode(m))));
      sock.send(dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), 53, server);
      const r = await reply;
      return r.rcode === 'NOERROR' ? r.answers.map((a) => a.data).join(' ') : r.rcode;
    } finally {
      sock.close();
    }
  };
  const check = async (from, server, name, expected, type) => {
    const got = await ask(from, server, name, type);
    console.log(`${from.slice(tag.length + 1)} asks ${name} ${type ?? 'A'}: ${got}`);
    if (!expected.test(got)) throw new Error(`expected ${expected}, got ${got}`);
  };
  await check(`${tag}-web`, '10.71.0.1', 'api.nlkit.internal', /^10\.71\.0\.\d+$/);
  await check(`${tag}-web`, '10.71.0.1', 'api-v2', /^10\.71\.0\.\d+$/);
  await check(`${tag}-web`, '10.71.0.1', 'db.nlkit.internal', /^NXDOMAIN$/); // another network's name
  await check(`${tag}-db`, '10.72.0.1', 'db.nlkit.internal', /^10\.72\.0\.\d+$/);
  await check(`${tag}-web`, '10.71.0.1', `${web.ipv4.split('/')[0].split('.').reverse().join('.')}.in-addr.arpa`, /^web\.nlkit\.internal$/, 'PTR');
  await check(`${tag}-web`, '10.71.0.1', 'example.org', /^192\.0\.2\.80$/); // forwarded upstream
  console.log('stats:', responder.stats());
} finally {
  for (const close of closers) await close();
  for (const n of ['frontend', 'backend']) await nets.delete(n, { missingOk: true });
  nets.close();
  host.close();
  for (const ns of [hostNs, upNs]) await nlkit.deleteNetns(ns, { missingOk: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
}
