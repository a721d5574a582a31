// Service B: two instances behind one virtual IP, reached from a container
// (A) and from the host itself. A canary moves 90/10 → 50/50 → 0/100 while
// clients keep connecting and long-lived connections keep talking: not one
// connection is dropped (weight 0 drains: established flows go on).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nlkit from 'nlkit';

const tag = `svc${process.pid}`;
const hostNs = `${tag}-host`;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-services-'));
const VIP = '10.96.0.10';
await nlkit.createNetns(hostNs);
const host = await nlkit.open({ netns: hostNs });
const nets = await nlkit.networks({ host: hostNs, stateDir });
const svcs = await nlkit.services({ host: hostNs, stateDir });
const servers = [];
const ids = { a: `${tag}-a`, v1: `${tag}-b1`, v2: `${tag}-b2` };
try {
  await nets.create({ name: 'app', subnet: '10.77.0.0/24' });
  const ip = {};
  for (const [name, id] of Object.entries(ids)) ip[name] = (await nets.attach('app', { sandbox: id, create: true })).ipv4.split('/')[0];
  // each instance of B says its version, and echoes on long-lived connections
  for (const v of ['v1', 'v2']) servers.push(await nlkit.listenTcp({ netns: ids[v], port: 8080 }, (s) => s.on('data', (d) => s.write(`${v}:${d}`))));
  // the host reaches service addresses through any route; the DNAT happens before the packet leaves
  await host.routes.add({ dst: '10.96.0.0/12', link: 'nlk-app' });

  const endpoints = (w1, w2) => [
    { ip: ip.v1, weight: w1 },
    { ip: ip.v2, weight: w2 },
  ];
  await svcs.add({ name: 'b', vips: [VIP], ports: [{ port: 80, targetPort: 8080 }], endpoints: endpoints(90, 10) });

  const talk = async (netns) => {
    const s = await nlkit.connectTcp({ netns, host: VIP, port: 80 });
    s.on('error', () => undefined);
    return {
      say: (text) =>
        new Promise((resolve, reject) => {
          s.once('data', (d) => resolve(String(d)));
          s.once('close', () => reject(new Error('closed')));
          s.write(text);
        }),
      end: () => s.destroy(),
    };
  };
  const sample = async (n) => {
    const hits = { v1: 0, v2: 0, failed: 0 };
    for (let i = 0; i < n; i++) {
      const from = i % 2 ? ids.a : hostNs; // half from container A, half from the host
      try {
        const c = await talk(from);
        hits[(await c.say('hi')).split(':')[0]]++;
        c.end();
      } catch {
        hits.failed++;
      }
    }
    return hits;
  };

  // long-lived connections opened at 90/10, kept through every step
  const kept = [];
  for (let i = 0; i < 10; i++) kept.push(await talk(i % 2 ? ids.a : hostNs));
  const stillTalking = async () =>
    (
      await Promise.all(
        kept.map((c) =>
          c.say('ping').then(
            () => 1,
            () => 0,
          ),
        ),
      )
    ).reduce((a, b) => a + b, 0);

  const step = async (label, n) => {
    const hits = await sample(n);
    const answering = await stillTalking();
    console.log(`${label}:`, hits, 'long-lived answering:', answering, '/ 10');
    if (hits.failed || answering !== kept.length) throw new Error(`${label}: a connection was dropped`);
    return hits;
  };
  await step('90/10', 200);
  await svcs.set('b', { endpoints: endpoints(50, 50) });
  await step('50/50', 200);
  await svcs.set('b', { endpoints: endpoints(0, 1) }); // v1 drains: no new connections, established ones go on
  if ((await step('0/100', 100)).v1) throw new Error('a drained instance got a new connection');
  kept.forEach((c) => c.end());
  // v1 has no connection left: remove it for good (cutting would change nothing now)
  await svcs.set('b', { endpoints: [{ ip: ip.v2 }] });
  console.log('service:', JSON.stringify(await svcs.get('b')));
  console.log('drift:', await svcs.check());
} finally {
  servers.forEach((s) => s.close());
  await svcs.delete('b', { missingOk: true }).catch((e) => console.error(e));
  svcs.close();
  await nets.delete('app').catch((e) => console.error(e));
  nets.close();
  host.close();
  await nlkit.deleteNetns(hostNs);
  fs.rmSync(stateDir, { recursive: true, force: true });
}
