// Services (virtual IPs) proven with real connections: from a container and
// from the host, NodePort, weights, affinity, zero endpoints, terminating
// endpoints, hairpin, and endpoint removal that cuts or drains.
// "host" plays the machine (an nlkit network with containers), "outside" a
// neighbour behind its uplink (also its default route, which VIPs follow).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTcp, deleteNetns, listenTcp } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { services, type ServiceManager } from '../../lib/services/manager';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

const UPLINK = '192.168.104.1';
const OUTSIDE = '192.168.104.2';
const VIP = '10.96.7.10';

/** Who answers `count` new connections: name → how many. */
async function tally(ns: string, host: string, port: number, count: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const who = (await hello(ns, host, port)).split(' ')[0];
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}

describe('services: virtual IPs with real traffic', () => {
  const box = useNetns('host', 'outside');
  let nets: NetworkManager;
  let svcs: ServiceManager;
  let stateDir: string;
  const c = { client: uniqueNetnsName('cl'), e1: uniqueNetnsName('e1'), e2: uniqueNetnsName('e2') };
  const ip: Record<string, string> = {};
  const servers: net.Server[] = [];

  beforeAll(async () => {
    const host = box.h('host');
    await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: box.ns('outside') } });
    await host.addresses.add('uplink', `${UPLINK}/24`);
    await host.routes.add({ dst: 'default', gateway: OUTSIDE });
    await box.h('outside').links.set('eth0', { up: true });
    await box.h('outside').addresses.add('eth0', `${OUTSIDE}/24`);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-svc-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    svcs = await services({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'svc', subnet: '10.97.0.0/24' });
    for (const [name, ns] of Object.entries(c)) {
      const a = await nets.attach('svc', { sandbox: ns, create: true });
      ip[name] = (a.ipv4 ?? '').split('/')[0];
    }
    // every endpoint answers with its name and the address it sees, on 8080 (and echoes on 9000)
    for (const name of ['e1', 'e2'] as const) {
      servers.push(await listenTcp({ netns: c[name], port: 8080 }, (s) => s.end(`${name} sees ${s.remoteAddress?.replace('::ffff:', '')}`)));
      servers.push(await listenTcp({ netns: c[name], port: 9000 }, (s) => s.on('data', (d) => s.write(`${name}:${d}`))));
    }
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    for (const s of (await svcs?.list()) ?? []) await svcs.delete(s.name).catch(() => undefined);
    svcs?.close();
    await nets?.delete('svc', { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('reaches the endpoints through the VIP from a container and from the host; the VIP is on no interface', async () => {
    await svcs.add({ name: 'web', vips: [VIP], ports: [{ port: 80, targetPort: 8080 }], endpoints: [{ ip: ip.e1 }] });
    expect(await hello(c.client, VIP, 80)).toMatch(/^e1 sees /);
    expect(await hello(box.ns('host'), VIP, 80)).toBe(`e1 sees ${UPLINK}`);
    const hostAddrs = await box.h('host').addresses.list();
    expect(hostAddrs.some((a) => a.address === VIP)).toBe(false);
  });

  it('spreads new connections by weight, and weight 0 takes none', async () => {
    await svcs.set('web', {
      endpoints: [
        { ip: ip.e1, weight: 9 },
        { ip: ip.e2, weight: 1 },
      ],
    });
    const seen = await tally(c.client, VIP, 80, 100);
    expect(seen.e1).toBeGreaterThanOrEqual(70); // expected 90
    expect(seen.e2).toBeGreaterThanOrEqual(1); // expected 10; none at all has probability 0.9^100
    await svcs.set('web', {
      endpoints: [
        { ip: ip.e1, weight: 0 },
        { ip: ip.e2, weight: 1 },
      ],
    });
    expect(await tally(c.client, VIP, 80, 10)).toEqual({ e2: 10 });
  });

  it('keeps a client on its endpoint with session affinity', async () => {
    await svcs.set('web', { endpoints: [{ ip: ip.e1 }, { ip: ip.e2 }], sessionAffinity: { timeoutSeconds: 60 } });
    const fromClient = await tally(c.client, VIP, 80, 20);
    expect(Object.values(fromClient)).toEqual([20]);
    const fromHost = await tally(box.ns('host'), VIP, 80, 20);
    expect(Object.values(fromHost)).toEqual([20]);
    // the kernel's affinity map holds both clients, with the timeout asked for
    const aff = execFileSync('ip', ['netns', 'exec', box.ns('host'), 'nft', 'list', 'map', 'inet', 'nlkit-svc', 'aff-web-tcp80-v4'], { encoding: 'utf8' });
    expect(aff).toMatch(/timeout 1m\n/);
    for (const client of [ip.client, UPLINK]) expect(aff).toMatch(new RegExp(`${client.replace(/\./g, '\\.')} expires [0-9ms]+ : 10\\.97\\.0\\.\\d+ \\. 8080`));
    await svcs.set('web', { sessionAffinity: undefined });
    const spread = await tally(c.client, VIP, 80, 40);
    expect(Object.keys(spread).sort()).toEqual(['e1', 'e2']);
  });

  it('refuses at once when a service has no endpoint (TCP reset, not a timeout)', async () => {
    await svcs.add({ name: 'empty', vips: [VIP], ports: [{ port: 81 }] });
    expect(await hello(c.client, VIP, 81, 5000)).toBe('error:ECONNREFUSED');
    expect(await hello(box.ns('host'), VIP, 81, 5000)).toBe('error:ECONNREFUSED');
  });

  it('refuses at once when the last endpoint leaves and serves again when one returns (the port moves between shared chains)', async () => {
    const vips = () => execFileSync('ip', ['netns', 'exec', box.ns('host'), 'nft', 'list', 'map', 'inet', 'nlkit-svc', 'vips4'], { encoding: 'utf8' });
    await svcs.add({ name: 'flip', vips: [VIP], ports: [{ port: 82, targetPort: 8080 }], endpoints: [{ ip: ip.e1 }] });
    expect(await hello(c.client, VIP, 82)).toMatch(/^e1 /);
    await svcs.set('flip', { endpoints: [] }, { cutFlows: false });
    expect(vips()).toContain(`${VIP} . tcp . 82 : goto no-endpoints`);
    expect(await hello(c.client, VIP, 82, 5000)).toBe('error:ECONNREFUSED');
    await svcs.set('flip', { endpoints: [{ ip: ip.e2 }] });
    expect(vips()).toContain(`${VIP} . tcp . 82 : goto pick4-tcp-64`);
    expect(await hello(c.client, VIP, 82)).toMatch(/^e2 /);
    expect(await svcs.check()).toEqual([]);
    await svcs.delete('flip');
  });

  it('sends traffic to serving terminating endpoints only while no endpoint is ready', async () => {
    await svcs.set('web', { endpoints: [{ ip: ip.e1, ready: false, serving: true, terminating: true }] });
    expect(await tally(c.client, VIP, 80, 5)).toEqual({ e1: 5 });
    await svcs.set('web', { endpoints: [{ ip: ip.e1, ready: false, serving: true, terminating: true }, { ip: ip.e2 }] });
    expect(await tally(c.client, VIP, 80, 10)).toEqual({ e2: 10 });
    await svcs.set('web', { endpoints: [{ ip: ip.e1, ready: false, serving: false, terminating: true }] });
    expect(await hello(c.client, VIP, 80, 5000)).toBe('error:ECONNREFUSED');
  });

  it('answers on a NodePort of the host addresses, from outside', async () => {
    await svcs.set('web', { ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }], endpoints: [{ ip: ip.e2 }] });
    expect(await hello(box.ns('outside'), UPLINK, 30080)).toBe(`e2 sees ${OUTSIDE}`);
    expect(await hello(box.ns('outside'), UPLINK, 30081, 700)).toMatch(/^error:/);
  });

  it('masquerades an endpoint reaching its own service (hairpin) so the reply comes back', async () => {
    await svcs.set('web', { ports: [{ port: 80, targetPort: 8080 }], endpoints: [{ ip: ip.e1 }] });
    expect(await hello(c.e1, VIP, 80)).toMatch(/^e1 sees 10\.97\.0\.1$/);
  });

  it('cuts established flows to a removed endpoint, or drains them with cutFlows: false', async () => {
    await svcs.add({ name: 'echo', vips: [VIP], ports: [{ port: 90, targetPort: 9000 }], endpoints: [{ ip: ip.e1 }] });
    const talk = async () => {
      const s = await connectTcp({ netns: c.client, host: VIP, port: 90 });
      const closed = new Promise<string>((resolve) => {
        let code = 'closed';
        s.on('error', (e: NodeJS.ErrnoException) => (code = e.code ?? 'error'));
        s.on('close', () => resolve(code));
      });
      const say = (t: string) =>
        new Promise<string>((resolve, reject) => {
          s.once('data', (d) => resolve(String(d)));
          s.once('error', reject);
          s.write(t);
        });
      return { s, closed, say };
    };
    const drained = await talk();
    expect(await drained.say('a')).toBe('e1:a');
    await svcs.set('echo', { endpoints: [{ ip: ip.e2 }] }, { cutFlows: false });
    expect(await drained.say('b')).toBe('e1:b'); // same connection, old endpoint
    const fresh = await talk();
    expect(await fresh.say('c')).toBe('e2:c'); // new connections: the new endpoint
    drained.s.destroy();
    await svcs.set('echo', { endpoints: [{ ip: ip.e1 }] }); // cuts fresh's flow to e2
    void fresh.say('d').catch(() => undefined);
    expect(await fresh.closed).toBe('ECONNRESET');
  });
});
