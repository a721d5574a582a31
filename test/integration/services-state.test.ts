// Services as a daemon's watch loop drives them: apply() commits only the
// difference (read back with `nft -j`), check() finds what someone's `nft`
// changed, reconcile() repairs it, bad input is refused before anything is
// sent. Plus UDP and IPv6 virtual IPs with real packets.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, deleteNetns, listenTcp, NotFoundError, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { services, type ServiceManager } from '../../lib/services/manager';
import { PICK_SLOTS } from '../../lib/services/slots';
import type { ServiceSpec } from '../../lib/services/spec';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

function nft(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });
}

const slot = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** Every rule of the services table as `nft -j` lists it: chain → rule handles. */
function ruleHandles(ns: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const items = (JSON.parse(nft(ns, '-j', 'list', 'table', 'inet', 'nlkit-svc')) as { nftables: Array<Record<string, { chain: string; handle: number }>> })
    .nftables;
  for (const i of items) if (i.rule) (out[i.rule.chain] ??= []).push(i.rule.handle);
  return out;
}

describe('services: apply, check and reconcile', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let svcs: ServiceManager;
  let stateDir: string;
  const c = { client: uniqueNetnsName('cl'), e1: uniqueNetnsName('e1') };
  let e1 = '';
  let e1v6 = '';
  const closers: Array<() => void> = [];

  const spec = (name: string, vip: string, endpoints: ServiceSpec['endpoints']): ServiceSpec => ({
    name,
    vips: [vip],
    ports: [{ port: 80, targetPort: 8080 }],
    endpoints,
  });

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-svcs-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    svcs = await services({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'svc2', subnet: '10.98.0.0/24', subnet6: 'fd00:98::/64' });
    await nets.attach('svc2', { sandbox: c.client, create: true });
    const a = await nets.attach('svc2', { sandbox: c.e1, create: true });
    e1 = (a.ipv4 ?? '').split('/')[0];
    e1v6 = (a.ipv6 ?? '').split('/')[0];
    const srv = await listenTcp({ netns: c.e1, port: 8080, host: '::' }, (s) => s.end('e1')); // both families
    closers.push(() => srv.close());
    const udp = await bindUdp({ netns: c.e1, port: 5353 });
    udp.on('message', (m, r) => udp.send(`e1:${String(m)}`, r.port, r.address));
    closers.push(() => udp.close());
  });
  afterAll(async () => {
    closers.forEach((f) => f());
    await svcs?.apply([]).catch(() => undefined);
    svcs?.close();
    await nets?.delete('svc2', { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('apply() adds what is missing and is idempotent: the same list again sends nothing', async () => {
    const desired = [spec('a', '10.96.8.1', [{ ip: e1 }]), spec('b', '10.96.8.2', [{ ip: e1 }]), spec('c', '10.96.8.3', [])];
    expect(await svcs.apply(desired)).toEqual({ added: ['a', 'b', 'c'], changed: [], removed: [], unchanged: 0 });
    expect(await hello(c.client, '10.96.8.2', 80)).toBe('e1');
    const gen = (await box.h('host').nft.generation.get()).id;
    expect(await svcs.apply(desired)).toEqual({ added: [], changed: [], removed: [], unchanged: 3 });
    expect((await box.h('host').nft.generation.get()).id).toBe(gen);
  });

  it("apply() changes services' map elements only: no chain per service, every rule keeps its handle", async () => {
    const ns = box.ns('host');
    const before = ruleHandles(ns);
    // Every service port goes to a shared chain (c, without endpoints, to the one that refuses): the table has no chain per service.
    expect(Object.keys(before).filter((chain) => chain.startsWith('svc-'))).toEqual([]);
    const vips = nft(ns, 'list', 'map', 'inet', 'nlkit-svc', 'vips4');
    expect(vips).toContain('10.96.8.2 . tcp . 80 : goto pick4-tcp-64');
    expect(vips).toContain('10.96.8.3 . tcp . 80 : goto no-endpoints');
    const desired = [spec('a', '10.96.8.1', [{ ip: e1, weight: 2 }]), spec('b', '10.96.8.2', [{ ip: e1 }])];
    expect(await svcs.apply(desired)).toEqual({ added: [], changed: ['a'], removed: ['c'], unchanged: 1 });
    expect(ruleHandles(ns)).toEqual(before);
    expect(nft(ns, 'list', 'map', 'inet', 'nlkit-svc', 'vips4')).not.toContain('10.96.8.3');
    expect(await hello(c.client, '10.96.8.1', 80)).toBe('e1');
    expect(await hello(c.client, '10.96.8.3', 80, 700)).toMatch(/^error:/);
  });

  it("changing a service's endpoints changes set elements only: no rule of any chain is rewritten", async () => {
    const before = ruleHandles(box.ns('host'));
    await svcs.set('a', {
      endpoints: [
        { ip: e1, weight: 3 },
        { ip: '10.98.0.99', weight: 0 },
      ],
    });
    await svcs.set('a', { endpoints: [{ ip: e1 }] });
    expect(ruleHandles(box.ns('host'))).toEqual(before);
    const eps = nft(box.ns('host'), 'list', 'map', 'inet', 'nlkit-svc', 'endpoints4');
    // Every slot of a's port leads to e1, the only endpoint left (and the same slots are there as before: only their data changed).
    for (const n of [0, 1, PICK_SLOTS - 1]) expect(eps).toContain(`10.96.8.1 . tcp . 80 . ${slot(n)} : ${e1} . 8080`);
    expect(eps).not.toContain(`10.96.8.1 . tcp . 80 . ${slot(PICK_SLOTS)}`);
    expect(eps).not.toContain('10.98.0.99');
    expect(await hello(c.client, '10.96.8.1', 80)).toBe('e1');
  });

  it('check() finds what `nft` changed behind its back, and reconcile() repairs it', async () => {
    expect(await svcs.check()).toEqual([]);
    const ns = box.ns('host');
    // A shared chain's rules, a's dispatch element led to the refusing chain, b's one gone, a chain nlkit did not write.
    nft(ns, 'flush', 'chain', 'inet', 'nlkit-svc', 'pick4-tcp-64');
    nft(ns, 'delete', 'element', 'inet', 'nlkit-svc', 'vips4', '{ 10.96.8.1 . tcp . 80 }');
    nft(ns, 'add', 'element', 'inet', 'nlkit-svc', 'vips4', '{ 10.96.8.1 . tcp . 80 : goto no-endpoints }');
    nft(ns, 'delete', 'element', 'inet', 'nlkit-svc', 'vips4', '{ 10.96.8.2 . tcp . 80 }');
    nft(ns, 'add', 'chain', 'inet', 'nlkit-svc', 'svc-stray');
    // Service b's elements in the shared maps (a's stay): two of its slots and its endpoint's hairpin entry.
    nft(ns, 'delete', 'element', 'inet', 'nlkit-svc', 'endpoints4', `{ 10.96.8.2 . tcp . 80 . ${slot(0)}, 10.96.8.2 . tcp . 80 . ${slot(7)} }`);
    nft(ns, 'delete', 'element', 'inet', 'nlkit-svc', 'hairpin4', `{ ${e1} . 10.96.8.2 . tcp . 80 }`);
    // a's slot 3 leads elsewhere, a slot a does not have, and a slot of no service's address.
    nft(ns, 'delete', 'element', 'inet', 'nlkit-svc', 'endpoints4', `{ 10.96.8.1 . tcp . 80 . ${slot(3)} }`);
    nft(ns, 'add', 'element', 'inet', 'nlkit-svc', 'endpoints4', `{ 10.96.8.1 . tcp . 80 . ${slot(3)} : 10.98.0.7 . 8080 }`);
    nft(ns, 'add', 'element', 'inet', 'nlkit-svc', 'endpoints4', `{ 10.96.8.1 . tcp . 80 . ${slot(PICK_SLOTS + 9)} : 10.98.0.7 . 8080 }`);
    nft(ns, 'add', 'element', 'inet', 'nlkit-svc', 'endpoints4', `{ 10.96.8.99 . tcp . 80 . ${slot(0)} : 10.98.0.7 . 8080 }`);
    const drift = await svcs.check();
    expect(drift.map((d) => `${d.service}:${d.kind}`).sort()).toEqual([
      ':chain-unexpected',
      ':element-unexpected',
      ':rules-wrong',
      'a:element-unexpected',
      'a:element-wrong',
      'a:element-wrong',
      'b:element-missing',
      'b:element-missing',
      'b:element-missing',
      'b:element-missing',
    ]);
    expect(await hello(c.client, '10.96.8.1', 80, 700)).toMatch(/^error:/);
    expect(await hello(c.client, '10.96.8.2', 80, 700)).toMatch(/^error:/);
    expect((await svcs.reconcile()).length).toBe(10);
    expect(await svcs.check()).toEqual([]);
    expect(await hello(c.client, '10.96.8.1', 80)).toBe('e1');
    expect(await hello(c.client, '10.96.8.2', 80)).toBe('e1');
    expect(nft(ns, 'list', 'map', 'inet', 'nlkit-svc', 'endpoints4')).not.toContain('10.98.0.7');
  });

  it('rebuilds the whole table after someone deletes it', async () => {
    nft(box.ns('host'), 'delete', 'table', 'inet', 'nlkit-svc');
    expect((await svcs.check()).map((d) => d.kind)).toEqual(['table-missing']);
    await svcs.reconcile();
    expect(await svcs.check()).toEqual([]);
    expect(await hello(c.client, '10.96.8.2', 80)).toBe('e1');
  });

  it('rebuilds a table of an older nlkit (sets per service; chains per service) in the shared-chain layout', async () => {
    const ns = box.ns('host');
    nft(ns, 'delete', 'table', 'inet', 'nlkit-svc');
    nft(ns, 'add', 'table', 'inet', 'nlkit-svc');
    nft(ns, 'add', 'map', 'inet', 'nlkit-svc', 'eps-a-tcp80-v4', '{ type inet_service : ipv4_addr . inet_service; flags interval; }');
    expect((await svcs.check()).map((d) => `${d.kind}: ${d.detail}`)).toEqual([
      "table-missing: table inet nlkit-svc has an older nlkit's layout (sets or chains per service)",
    ]);
    await svcs.reconcile();
    expect(await svcs.check()).toEqual([]);
    expect(nft(ns, 'list', 'table', 'inet', 'nlkit-svc')).not.toContain('eps-a-tcp80-v4');
    expect(await hello(c.client, '10.96.8.2', 80)).toBe('e1');
    // The first change after an upgrade rebuilds it too: here a table with shared maps but a chain per service port (hairpin by port number).
    nft(ns, 'delete', 'table', 'inet', 'nlkit-svc');
    nft(ns, 'add', 'table', 'inet', 'nlkit-svc');
    nft(ns, 'add', 'map', 'inet', 'nlkit-svc', 'endpoints4', '{ type ipv4_addr . inet_proto . inet_service . mark : ipv4_addr . inet_service; }');
    nft(ns, 'add', 'set', 'inet', 'nlkit-svc', 'hairpin4', '{ type ipv4_addr . mark; }');
    nft(ns, 'add', 'chain', 'inet', 'nlkit-svc', 'svc-a-tcp80-v4');
    const fresh = await services({ host: ns, stateDir });
    try {
      await fresh.set('a', { endpoints: [{ ip: e1, weight: 2 }] });
      expect(await fresh.check()).toEqual([]);
      expect(await hello(c.client, '10.96.8.1', 80)).toBe('e1');
    } finally {
      fresh.close();
    }
  });

  it('serves UDP and IPv6 virtual IPs', async () => {
    await svcs.add({
      name: 'dns',
      vips: ['10.96.8.53', 'fd00:96::53'],
      ports: [
        { protocol: 'udp', port: 53, targetPort: 5353 },
        { port: 80, targetPort: 8080 },
      ],
      endpoints: [{ ip: e1 }, { ip: e1v6 }],
    });
    const client = await bindUdp({ netns: c.client });
    const answer = new Promise<string>((resolve) => client.once('message', (m) => resolve(String(m))));
    client.send('q', 53, '10.96.8.53');
    expect(await answer).toBe('e1:q');
    client.close();
    // 5 s: the first IPv6 connection waits for neighbour discovery on a fresh bridge
    expect(await hello(c.client, 'fd00:96::53', 80, 5000)).toBe('e1');
    expect(await svcs.check()).toEqual([]);
  });

  it('refuses bad specs with a ValidationError naming the field, before anything is sent', async () => {
    const gen = (await box.h('host').nft.generation.get()).id;
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => svcs.add({ ...spec('x', '10.96.8.9', []), vips: ['10.96.8.300'] }), 'vips'],
      [() => svcs.add({ ...spec('x', '10.96.8.9', []), ports: [{ port: 0 }] }), 'port'],
      [() => svcs.add({ ...spec('x', '10.96.8.9', []), ports: [{ port: 80, protocol: 'icmp' as never }] }), 'protocol'],
      [() => svcs.add(spec('x', '10.96.8.9', [{ ip: e1, weight: -1 }])), 'weight'],
      [() => svcs.add(spec('Bad Name', '10.96.8.9', [])), 'service name'],
      [() => svcs.add({ ...spec('x', '10.96.8.9', []), colour: 'red' } as never), 'service'],
      [() => svcs.add(spec('a', '10.96.8.9', [])), 'name'],
      [() => svcs.set('a', { endpoints: [{ ip: e1, ready: 'yes' as never }] }), 'ready'],
      [() => svcs.apply([spec('a', '10.96.8.1', []), spec('a', '10.96.8.1', [])]), 'name'],
    ];
    for (const [call, field] of cases) {
      const err = await call().catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
    expect((await box.h('host').nft.generation.get()).id).toBe(gen);
    await expect(svcs.get('nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(await svcs.find('nope')).toBeUndefined();
    await expect(svcs.delete('nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(await svcs.delete('nope', { missingOk: true })).toBe(false);
  });

  it('refuses an address and port, or a NodePort, that another service holds; the holder keeps answering', async () => {
    // Before: the second add shared the first one's dispatch element, and deleting either took it from both.
    await svcs.add({ ...spec('holder', '10.96.9.1', [{ ip: e1 }]), ports: [{ port: 80, targetPort: 8080, nodePort: 30091 }] });
    const gen = (await box.h('host').nft.generation.get()).id;
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => svcs.add(spec('taker', '10.96.9.1', [{ ip: e1 }])), 'vips'],
      [() => svcs.add({ ...spec('taker', '10.96.9.2', [{ ip: e1 }]), externalIps: ['10.96.9.1'] }), 'externalIps'],
      [() => svcs.add({ ...spec('taker', '10.96.9.2', [{ ip: e1 }]), ports: [{ port: 80, targetPort: 8080, nodePort: 30091 }] }), 'nodePort'],
      [() => svcs.apply([spec('p', '10.96.9.3', []), spec('q', '10.96.9.3', [])]), 'vips'],
    ];
    for (const [call, field] of cases) {
      const err = await call().catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
      expect((err as ValidationError).message).toMatch(/service "holder"|service "p"/);
    }
    expect((await box.h('host').nft.generation.get()).id).toBe(gen);
    // another port of the same address, and the NodePort over UDP, are free
    await svcs.add({
      ...spec('neighbour', '10.96.9.1', [{ ip: e1 }]),
      ports: [
        { port: 81, targetPort: 8080 },
        { port: 80, targetPort: 5353, protocol: 'udp', nodePort: 30091 },
      ],
    });
    await expect(svcs.set('neighbour', { ports: [{ port: 80, targetPort: 8080 }] })).rejects.toBeInstanceOf(ValidationError);
    await svcs.delete('neighbour');
    expect(await hello(c.client, '10.96.9.1', 80)).toBe('e1');
    expect(await svcs.check()).toEqual([]);
    await svcs.delete('holder');
  });
});
