// Outbound NAT, isolation, and published ports — proven with real traffic.
// "host" plays the machine, "internet" a network routed behind its uplink.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, connectTcp, deleteNetns, listenTcp, NotFoundError, open, setSysctl, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

describe('network manager: NAT, isolation and published ports', () => {
  const box = useNetns('host', 'internet');
  let nets: NetworkManager;
  let stateDir: string;
  const c = { c1: uniqueNetnsName('p1'), c2: uniqueNetnsName('p2'), o1: uniqueNetnsName('o1'), i1: uniqueNetnsName('i1') };
  const servers: net.Server[] = [];
  const UPLINK = '192.168.100.1';

  beforeAll(async () => {
    const host = box.h('host');
    await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: box.ns('internet') } });
    await host.addresses.add('uplink', `${UPLINK}/24`);
    await box.h('internet').links.set('eth0', { up: true });
    await box.h('internet').addresses.add('eth0', '192.168.100.2/24');
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-pub-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'web', subnet: '10.89.0.0/24' });
    await nets.create({ name: 'other', subnet: '10.90.0.0/24' });
    await nets.create({ name: 'sealed', subnet: '10.91.0.0/24', internal: true });
    await nets.attach('web', { sandbox: c.c1, create: true });
    await nets.attach('web', { sandbox: c.c2, create: true });
    await nets.attach('other', { sandbox: c.o1, create: true });
    await nets.attach('sealed', { sandbox: c.i1, create: true });
    // every container and the internet answer with who they are and who asked
    for (const [name, ns] of [
      ['c1', c.c1],
      ['c2', c.c2],
      ['o1', c.o1],
      ['internet', box.ns('internet')],
    ] as const) {
      servers.push(await listenTcp({ netns: ns, port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress?.replace('::ffff:', '')}`)));
    }
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    for (const n of ['web', 'other', 'sealed']) await nets?.delete(n).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('masquerades containers going out, so the internet sees the host', async () => {
    expect(await hello(c.c1, '192.168.100.2', 80)).toBe(`internet sees ${UPLINK}`);
    expect(await hello(c.o1, '192.168.100.2', 80)).toBe(`internet sees ${UPLINK}`);
  });

  it('keeps networks apart and internal networks in', async () => {
    expect(await hello(c.c1, '10.90.0.2', 80, 700)).toMatch(/^error:/);
    expect(await hello(c.o1, '10.89.0.2', 80, 700)).toMatch(/^error:/);
    expect(await hello(c.i1, '192.168.100.2', 80, 700)).toMatch(/^error:/);
    expect(await hello(c.c1, '10.89.0.3', 80)).toBe('c2 sees 10.89.0.2'); // same network: direct
  });

  it('lays its rules out in its own table, readable by nft', () => {
    const text = execFileSync('ip', ['netns', 'exec', box.ns('host'), 'nft', 'list', 'table', 'inet', 'nlkit'], { encoding: 'utf8' });
    expect(text).toMatch(/ip saddr 10\.89\.0\.0\/24 oifname != @bridges masquerade/);
    expect(text).toMatch(/iifname "nlk-sealed" oifname != "nlk-sealed" drop/);
    expect(text).toMatch(/dnat ip to meta l4proto \. th dport map @pub4/);
  });

  it('publishes a port: reachable from the internet, the host, 127.0.0.1, a sibling and itself (hairpin)', async () => {
    await nets.publish({ network: 'web', hostPort: 8080, containerPort: 80, to: c.c1 });
    expect(await hello(box.ns('internet'), UPLINK, 8080)).toBe('c1 sees 192.168.100.2');
    expect(await hello(box.ns('host'), UPLINK, 8080)).toMatch(/^c1 sees /);
    expect(await hello(box.ns('host'), '127.0.0.1', 8080)).toBe('c1 sees 10.89.0.1');
    expect(await hello(c.c2, '10.89.0.1', 8080)).toBe('c1 sees 10.89.0.1');
    expect(await hello(c.c1, UPLINK, 8080)).toBe('c1 sees 10.89.0.1');
    // a container of another network reaches it through the host as well
    expect(await hello(c.o1, UPLINK, 8080)).toMatch(/^c1 sees /);
    // the same port again is refused, changing nothing
    await expect(nets.publish({ network: 'web', hostPort: 8080, to: c.c2 })).rejects.toThrow(/already published/);
  });

  it('publishes on 127.0.0.1 only: the host reaches it, the internet does not', async () => {
    await nets.publish({ network: 'web', hostPort: 9090, hostIp: '127.0.0.1', containerPort: 80, to: c.c2 });
    expect(await hello(box.ns('host'), '127.0.0.1', 9090)).toBe('c2 sees 10.89.0.1');
    expect(await hello(box.ns('internet'), UPLINK, 9090, 700)).toMatch(/^error:/);
    await nets.unpublish({ hostPort: 9090, hostIp: '127.0.0.1' });
    expect(await hello(box.ns('host'), '127.0.0.1', 9090, 700)).toMatch(/^error:/);
  });

  it('publishes a port range as one rule', async () => {
    const extra = await Promise.all([7001, 7002].map((p) => listenTcp({ netns: c.c2, port: p }, (s) => s.end(`c2:${p}`))));
    try {
      await nets.publish({ network: 'web', hostPort: '7000-7010', to: c.c2 });
      expect(await hello(box.ns('internet'), UPLINK, 7001)).toBe('c2:7001');
      expect(await hello(box.ns('internet'), UPLINK, 7002)).toBe('c2:7002');
      // A listed range publication is its own reference (was: silently not found).
      const range = (await nets.publications.list({ network: 'web' })).find((p) => p.hostPortEnd === 7010)!;
      expect(range).toMatchObject({ hostPort: 7000, hostPortEnd: 7010 });
      expect(await nets.publications.get(range)).toEqual(range);
      expect(await nets.unpublish(range)).toBe(true);
      expect(await hello(box.ns('internet'), UPLINK, 7001, 700)).toMatch(/^error:/);
      expect(await nets.publications.find(range)).toBeUndefined();
      await expect(nets.unpublish(range)).rejects.toThrow(NotFoundError);
      expect(await nets.unpublish(range, { missingOk: true })).toBe(false);
      await expect(nets.unpublish({ hostPort: 7000, hostPortEnd: 7000 })).rejects.toThrow(ValidationError);
      await expect(nets.unpublish({ hostPort: '7000-7010', hostPortEnd: 7011 })).rejects.toThrow(ValidationError);
    } finally {
      extra.forEach((s) => s.close());
    }
  });

  it('balances one port across weighted backends and re-weights without dropping established connections', async () => {
    await nets.publish({
      network: 'web',
      hostPort: 80,
      backends: [
        { id: c.c1, weight: 90 },
        { id: c.c2, weight: 10 },
      ],
    });
    const count = async (n: number) => {
      const hits: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const who = (await hello(box.ns('internet'), UPLINK, 80)).split(' ')[0];
        hits[who] = (hits[who] ?? 0) + 1;
      }
      return hits;
    };
    const first = await count(2000);
    expect(first.c1 + first.c2).toBe(2000);
    expect(first.c1 / 2000).toBeGreaterThan(0.86);
    expect(first.c1 / 2000).toBeLessThan(0.94);

    // an established connection to c2's echo service survives the change
    const echo = await listenTcp({ netns: c.c2, port: 81 }, (s) => s.pipe(s));
    await nets.publish({
      network: 'web',
      hostPort: 81,
      backends: [
        { id: c.c2, weight: 1 },
        { id: c.c2, weight: 1 },
      ].slice(0, 1),
    });
    const long = await connectTcp({ netns: box.ns('internet'), host: UPLINK, port: 81 });
    const reply = () => new Promise<string>((r) => long.once('data', (d) => r(String(d))));
    long.write('before');
    expect(await reply()).toBe('before');
    await nets.setBackends({ hostPort: 80 }, [
      { id: c.c1, weight: 10 },
      { id: c.c2, weight: 90 },
    ]);
    await nets.setBackends({ hostPort: 81 }, [{ id: c.c2, weight: 1 }]); // same backend: the flow must survive
    long.write('after');
    expect(await reply()).toBe('after');
    long.destroy();
    echo.close();
    await nets.unpublish({ hostPort: 81 });

    const second = await count(1000);
    expect(second.c2 / 1000).toBeGreaterThan(0.84);
    await nets.unpublish({ hostPort: 80 });
  });

  it('cuts stale UDP flows when a port is re-pointed, so new packets reach the new backend', async () => {
    const udp = await Promise.all(
      [
        ['c1', c.c1],
        ['c2', c.c2],
      ].map(async ([name, ns]) => {
        const s = await bindUdp({ netns: ns, port: 53 });
        s.on('message', (m, r) => s.send(`${name}:${m}`, r.port, r.address));
        return s;
      }),
    );
    const client = await bindUdp({ netns: box.ns('internet'), port: 40000 });
    const ask = (text: string) =>
      new Promise<string>((resolve) => {
        const t = setTimeout(() => resolve('timeout'), 1000);
        client.once('message', (m) => {
          clearTimeout(t);
          resolve(String(m));
        });
        client.send(text, 5353, UPLINK);
      });
    try {
      await nets.publish({ network: 'web', protocol: 'udp', hostPort: 5353, containerPort: 53, to: c.c1 });
      expect(await ask('one')).toBe('c1:one');
      await nets.setBackends({ protocol: 'udp', hostPort: 5353 }, [{ id: c.c2 }]);
      // same client port: without the conntrack cut this would still go to c1
      expect(await ask('two')).toBe('c2:two');
      await nets.unpublish({ protocol: 'udp', hostPort: 5353 });
      const left = await box.h('host').conntrack.list({ protocol: 'udp', original: { dport: 5353 } });
      expect(left).toEqual([]);
    } finally {
      client.close();
      udp.forEach((s) => s.close());
    }
  });

  it('detects an external `nft flush ruleset` and repairs it', async () => {
    await nets.publish({ network: 'web', hostPort: 8443, containerPort: 80, to: c.c2 });
    expect(await nets.check()).toEqual([]);
    execFileSync('ip', ['netns', 'exec', box.ns('host'), 'nft', 'flush', 'ruleset']);
    expect(await hello(box.ns('internet'), UPLINK, 8443, 700)).toMatch(/^error:/);
    const drift = await nets.check();
    expect(drift.map((d) => d.kind)).toContain('firewall-missing');
    await nets.reconcile();
    expect(await nets.check()).toEqual([]);
    expect(await hello(box.ns('internet'), UPLINK, 8443)).toBe('c2 sees 192.168.100.2');
    expect(await hello(box.ns('internet'), UPLINK, 8080)).toBe('c1 sees 192.168.100.2');
  });

  it('drops publications with their last backend on detach', async () => {
    await nets.detach('web', c.c2);
    expect((await nets.publications.list()).map((p) => p.key)).toEqual(['tcp:*:8080']);
    // Deprecated: calling publications() is list().
    expect(await nets.publications()).toEqual(await nets.publications.list());
    await expect(nets.publications.get({ hostPort: 8443 })).rejects.toThrow(NotFoundError);
    await expect(nets.publications.list({ net: 'web' } as never)).rejects.toThrow(ValidationError);
    const h = await open({ netns: box.ns('host') });
    const els = await h.nft.elements.list({ family: 'inet', table: 'nlkit', name: 'pub4' });
    h.close();
    expect(els).toHaveLength(1);
    void setSysctl;
  });
});
