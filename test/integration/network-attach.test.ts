// Networks and attachments: bridge + veth + IPAM + routes, proven with real
// traffic; all-or-nothing attach; bulk detach.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressInUseError, bindUdp, connectTcp, createNetns, deleteNetns, listenTcp, NotFoundError, open, ValidationError } from '../../lib';
import { networks, NetworkOperationError, type NetworkManager } from '../../lib/network/manager';
import { ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

async function tcpHello(netns: string, host: string, port: number): Promise<string> {
  const s = await connectTcp({ netns, host, port });
  let d = '';
  s.on('data', (x) => (d += x));
  await new Promise((r) => s.on('close', r));
  return d;
}

describe('network manager: networks and attachments', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let stateDir: string;
  const sandboxes = [uniqueNetnsName('c1'), uniqueNetnsName('c2'), uniqueNetnsName('c3')];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
    nets = await networks({ host: box.ns('host'), stateDir });
  });
  afterAll(async () => {
    await nets?.delete('app').catch(() => undefined);
    nets?.close();
    for (const s of sandboxes) await deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('creates a bridge network with its gateway', async () => {
    const n = await nets.create({ name: 'app', subnet: '10.88.0.0/24', subnet6: 'fd88::/64' });
    expect(n).toMatchObject({ bridge: 'nlk-app', gateway: '10.88.0.1', gateway6: 'fd88::1' });
    const [br] = ipJson(box.ns('host'), 'addr', 'show', 'nlk-app');
    expect(br.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toEqual(expect.arrayContaining(['10.88.0.1/24', 'fd88::1/64']));
    expect(await nets.create({ name: 'app', subnet: '10.88.0.0/24', subnet6: 'fd88::/64' })).toEqual(n); // idempotent
  });

  it('refuses overlapping subnets and bad names, changing nothing', async () => {
    await expect(nets.create({ name: 'other', subnet: '10.88.0.128/25' })).rejects.toThrow(/overlaps network app/);
    await expect(nets.create({ name: 'Bad Name', subnet: '10.99.0.0/24' })).rejects.toBeInstanceOf(ValidationError);
    await expect(nets.create({ name: 'x', subnet: '10.99.0.0/24', gateway: '10.98.0.1' })).rejects.toBeInstanceOf(ValidationError);
    expect((await nets.list()).map((n) => n.name)).toEqual(['app']);
    expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'bridge').map((l: any) => l.ifname)).toEqual(['nlk-app']);
  });

  it('attaches sandboxes that reach each other over TCP and UDP, IPv4 and IPv6', async () => {
    const a1 = await nets.attach('app', { sandbox: sandboxes[0], create: true });
    const a2 = await nets.attach('app', { sandbox: sandboxes[1], create: true, ip: '10.88.0.50' });
    expect(a1).toMatchObject({ ifname: 'eth0', ipv4: '10.88.0.2/24', ipv6: 'fd88::2/64', gateway: '10.88.0.1' });
    expect(a2.ipv4).toBe('10.88.0.50/24');
    // what the sandbox looks like, read by ip
    const [eth0] = ipJson(sandboxes[0], 'addr', 'show', 'eth0');
    expect(eth0.address).toBe(a1.mac);
    expect(eth0.addr_info.map((a: any) => a.local)).toEqual(expect.arrayContaining(['10.88.0.2', 'fd88::2']));
    expect(ipJson(sandboxes[0], 'route', 'show', 'default')[0].gateway).toBe('10.88.0.1');
    expect(ipJson(box.ns('host'), 'link', 'show', a1.hostIfname)[0].master).toBe('nlk-app');

    const srv = await listenTcp({ netns: sandboxes[1], port: 8080, host: '::' }, (s) => s.end(`hi ${s.remoteAddress}`));
    const udp = await bindUdp({ netns: sandboxes[1], port: 5353 });
    udp.on('message', (m, r) => udp.send(m, r.port, r.address));
    try {
      expect(await tcpHello(sandboxes[0], '10.88.0.50', 8080)).toBe('hi ::ffff:10.88.0.2');
      expect(await tcpHello(sandboxes[0], 'fd88::3', 8080)).toBe('hi fd88::2');
      const c = await bindUdp({ netns: sandboxes[0] });
      const echoed = new Promise<string>((r) => c.once('message', (m) => r(String(m))));
      c.send('ping', 5353, '10.88.0.50');
      expect(await echoed).toBe('ping');
      c.close();
      // the gateway (host) answers too
      const hostSrv = await listenTcp({ netns: box.ns('host'), host: '10.88.0.1', port: 9000 }, (s) => s.end('host'));
      expect(await tcpHello(sandboxes[0], '10.88.0.1', 9000)).toBe('host');
      hostSrv.close();
    } finally {
      srv.close();
      udp.close();
    }
  });

  it('returns the existing attachment when attaching twice', async () => {
    // The lock files' directory, removed meanwhile, is made again (private) when a lock file cannot be made.
    fs.rmSync(path.join(stateDir, 'locks'), { recursive: true });
    const again = await nets.attach('app', { sandbox: sandboxes[0] });
    expect(again.ipv4).toBe('10.88.0.2/24');
    expect(fs.statSync(path.join(stateDir, 'locks')).mode & 0o777).toBe(0o700);
    expect(ipJson(box.ns('host'), 'link', 'show', 'master', 'nlk-app')).toHaveLength(2);
  });

  it('rolls back everything when a step fails mid-attach', async () => {
    await createNetns(sandboxes[2]);
    const h = await open({ netns: sandboxes[2] });
    await h.links.add({ name: 'eth0', kind: 'bridge' }); // the name attach wants is taken
    h.close();
    const before = await nets.state();
    const err = await nets.attach('app', { sandbox: sandboxes[2] }).catch((e) => e);
    expect(err).toBeInstanceOf(NetworkOperationError);
    expect(err.step).toBe('create veth pair');
    expect(err.message).toMatch(/EEXIST/);
    expect(await nets.state()).toEqual(before);
    expect(ipJson(box.ns('host'), 'link', 'show', 'master', 'nlk-app')).toHaveLength(2);
    const ipam = JSON.parse(fs.readFileSync(path.join(stateDir, 'ipam', 'app.json'), 'utf8'));
    expect(Object.values(ipam.allocations)).not.toContain(sandboxes[2]);
  });

  it('refuses a requested address another sandbox holds before it makes a link (AddressInUseError)', async () => {
    const handles = [await open({ netns: box.ns('host') }), await open({ netns: sandboxes[2] })];
    const streams = handles.map((h) => h.events.subscribe({ groups: ['link'] }));
    try {
      await Promise.all(streams.map((s) => s.ready));
      const err = await nets.attach('app', { sandbox: sandboxes[2], ifname: 'eth1', ip: '10.88.0.50' }).catch((e) => e);
      expect(err).toBeInstanceOf(AddressInUseError);
      expect(err).toMatchObject({ address: '10.88.0.50', owner: sandboxes[1] });
      // no veth came and went: the link events up to a marker bridge made afterwards name none
      for (const [i, h] of handles.entries()) {
        await h.links.add({ name: 'nlkmark0', kind: 'bridge' });
        const seen: string[] = [];
        for (;;) {
          const r = await streams[i].next();
          if (r.done) throw new Error('event stream ended');
          if (r.value.type !== 'link') continue;
          if (r.value.link.name === 'nlkmark0') break;
          seen.push(`${r.value.action} ${r.value.link.name} ${r.value.link.kind ?? ''}`);
        }
        await h.links.delete('nlkmark0');
        expect(seen.filter((e) => !e.includes('nlk-app'))).toEqual([]);
      }
      expect(ipJson(sandboxes[2], 'link', 'show').map((l: any) => l.ifname)).not.toContain('eth1');
    } finally {
      for (const s of streams) s.close();
      for (const h of handles) h.close();
    }
  });

  it('detaches exactly what it attached; detaching again is a NotFoundError, or false with missingOk', async () => {
    const a = (await nets.get('app')).attachments.find((x) => x.id === sandboxes[1])!;
    expect(await nets.detach('app', sandboxes[1])).toBe(true);
    await expect(nets.detach('app', sandboxes[1])).rejects.toThrow(NotFoundError);
    expect(await nets.detach('app', sandboxes[1], { missingOk: true })).toBe(false);
    await expect(nets.detach('app', sandboxes[1], { missingOk: 1 } as never)).rejects.toThrow(ValidationError);
    expect(ipJson(box.ns('host'), 'link', 'show').map((l: any) => l.ifname)).not.toContain(a.hostIfname);
    // the sandbox was created by attach, so detach removed it too
    expect(fs.existsSync(`/run/netns/${sandboxes[1]}`)).toBe(false);
    expect((await nets.get('app')).attachments.map((x) => x.id)).toEqual([sandboxes[0]]);
    // A list of sandboxes: one missing one fails the whole call before anything changes.
    await expect(nets.detach('app', [sandboxes[0], 'ghost'])).rejects.toThrow(NotFoundError);
    expect((await nets.get('app')).attachments.map((x) => x.id)).toEqual([sandboxes[0]]);
    // Not a namespace reference: a ValidationError naming it, not "attachment fd-undefined does not exist" or a path out of /run/netns.
    for (const bad of [{ sandbox: sandboxes[0] }, {}, { fd: 'x' }, '../etc']) {
      await expect(nets.detach('app', bad as never), JSON.stringify(bad)).rejects.toMatchObject({
        name: 'ValidationError',
        field: expect.stringMatching(/sandbox|namespace/),
      });
      await expect(nets.attach('app', { sandbox: bad as never }), JSON.stringify(bad)).rejects.toMatchObject({ name: 'ValidationError' });
    }
    expect((await nets.get('app')).attachments.map((x) => x.id)).toEqual([sandboxes[0]]);
  });

  it('reads networks with the verbs of every family: get throws NotFoundError, find returns undefined', async () => {
    expect((await nets.get('app')).name).toBe('app');
    expect((await nets.find('app'))?.subnet).toBe((await nets.get('app')).subnet);
    await expect(nets.get('nope')).rejects.toThrow(NotFoundError);
    expect(await nets.find('nope')).toBeUndefined();
    await expect(nets.attach('nope', { sandbox: sandboxes[0] })).rejects.toThrow(NotFoundError);
    await expect(nets.attach('app', { sandbox: sandboxes[0], ipv4: '10.0.0.1' } as never)).rejects.toThrow(ValidationError);
    // Deprecated: inspect() is find().
    expect(await nets.inspect('app')).toEqual(await nets.find('app'));
    expect(await nets.inspect('nope')).toBeUndefined();
  });

  it('deletes the network with all its sandboxes', async () => {
    expect(await nets.delete('app')).toBe(true);
    await expect(nets.delete('app')).rejects.toThrow(NotFoundError);
    expect(await nets.delete('app', { missingOk: true })).toBe(false);
    expect(ipJson(box.ns('host'), 'link', 'show').map((l: any) => l.ifname)).toEqual(['lo']);
    expect(fs.existsSync(`/run/netns/${sandboxes[0]}`)).toBe(false);
  });
});
