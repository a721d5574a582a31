// Several containers behind one port, with weights: a 90/10 canary, counted,
// then shifted to 50/50 and finally 0/100 (the canary is promoted).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nlkit from 'nlkit';

const tag = `canary${process.pid}`;
const hostNs = `${tag}-host`;
const clientNs = `${tag}-client`;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-canary-'));
await nlkit.createNetns(hostNs);
await nlkit.createNetns(clientNs);
const host = await nlkit.open({ netns: hostNs });
const nets = await nlkit.networks({ host: hostNs, stateDir });
const servers = [];
try {
  // a client namespace in front of the host
  await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: clientNs } });
  await host.addresses.add('uplink', '192.0.2.1/24');
  const client = await nlkit.open({ netns: clientNs });
  await client.links.set('eth0', { up: true });
  await client.addresses.add('eth0', '192.0.2.2/24');
  client.close();

  await nets.create({ name: 'app', subnet: '10.77.0.0/24' });
  const stable = `${tag}-stable`;
  const canary = `${tag}-canary`;
  for (const [id, version] of [
    [stable, 'v1'],
    [canary, 'v2'],
  ]) {
    await nets.attach('app', { sandbox: id, create: true });
    servers.push(await nlkit.listenTcp({ netns: id, port: 8080 }, (s) => s.end(version)));
  }

  const sample = async (n) => {
    const hits = { v1: 0, v2: 0 };
    for (let i = 0; i < n; i++) {
      const s = await nlkit.connectTcp({ netns: clientNs, host: '192.0.2.1', port: 80 });
      const v = await new Promise((r) => {
        let d = '';
        s.on('data', (x) => (d += x));
        s.on('end', () => r(d));
      });
      hits[v]++;
    }
    return hits;
  };

  await nets.publish({
    network: 'app',
    hostPort: 80,
    containerPort: 8080,
    backends: [
      { id: stable, weight: 90 },
      { id: canary, weight: 10 },
    ],
  });
  console.log('90/10:', await sample(500));

  await nets.setBackends({ hostPort: 80 }, [
    { id: stable, weight: 50 },
    { id: canary, weight: 50 },
  ]);
  console.log('50/50:', await sample(500));

  // promote the canary: the stable backend is removed and its flows are cut
  await nets.setBackends({ hostPort: 80 }, [{ id: canary, weight: 1 }]);
  console.log('0/100:', await sample(100));
  console.log(
    'publications:',
    (await nets.publications.list()).map((p) => `${p.key} -> ${p.backends.map((b) => `${b.ipv4}:${b.port}x${b.weight}`).join(', ')}`),
  );
} finally {
  servers.forEach((s) => s.close());
  await nets.delete('app').catch((e) => console.error(e));
  nets.close();
  host.close();
  await nlkit.deleteNetns(clientNs);
  await nlkit.deleteNetns(hostNs);
  fs.rmSync(stateDir, { recursive: true, force: true });
}
