// Draining: weight 0 takes a backend out of new connections while its
// established ones keep working; a publication drained completely refuses
// new connections (a reset, not a hang, and never a host process).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTcp, deleteNetns, listenTcp, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

const UPLINK = '192.168.52.1';

function nft(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'nft', ...args], { encoding: 'utf8' });
}

/** A connection that stays open: the backend says its name first, then echoes. */
async function openLong(netns: string, host: string, port: number): Promise<{ name: string; echo(text: string): Promise<string>; close(): void }> {
  const s = await connectTcp({ netns, host, port });
  const next = () => new Promise<string>((resolve, reject) => (s.once('data', (d) => resolve(String(d))), s.once('error', reject)));
  const name = await next();
  return {
    name,
    echo: async (text) => {
      const reply = next();
      s.write(text);
      return reply;
    },
    close: () => s.destroy(),
  };
}

describe('network manager: draining backends (weight 0)', () => {
  const box = useNetns('host', 'client');
  let nets: NetworkManager;
  let stateDir: string;
  const c = { c1: uniqueNetnsName('w1'), c2: uniqueNetnsName('w2') };
  const servers: net.Server[] = [];

  beforeAll(async () => {
    const host = box.h('host');
    await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: box.ns('client') } });
    await host.addresses.add('uplink', `${UPLINK}/24`);
    await box.h('client').links.set('eth0', { up: true });
    await box.h('client').addresses.add('eth0', '192.168.52.2/24');
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-drain-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'dn', subnet: '10.73.1.0/24' });
    for (const [name, ns] of Object.entries(c)) {
      await nets.attach('dn', { sandbox: ns, create: true });
      servers.push(
        await listenTcp({ netns: ns, port: 81 }, (s) => {
          s.write(name);
          s.pipe(s);
        }),
      );
    }
    // A host process on the published port: a drained publication must not fall through to it.
    servers.push(await listenTcp({ netns: box.ns('host'), port: 8500 }, (s) => s.end('host process')));
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    await nets?.delete('dn').catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('keeps an established connection on a drained backend while new ones go to the others', async () => {
    // The host process on 8500 is on purpose (a drained publication must not fall through to it): publish over it.
    await nets.publish({ network: 'dn', hostPort: 8500, containerPort: 81, backends: [{ id: c.c1 }, { id: c.c2 }], onListenerConflict: 'ignore' });
    const long = await openLong(box.ns('client'), UPLINK, 8500);
    try {
      expect(await long.echo('ping')).toBe('ping');
      const drained = long.name === 'c1' ? c.c1 : c.c2;
      const other = long.name === 'c1' ? 'c2' : 'c1';
      await nets.setBackends({ hostPort: 8500 }, [
        { id: c.c1, weight: drained === c.c1 ? 0 : 1 },
        { id: c.c2, weight: drained === c.c2 ? 0 : 1 },
      ]);
      expect(await long.echo('still there')).toBe('still there');
      for (let i = 0; i < 20; i++) {
        const s = await openLong(box.ns('client'), UPLINK, 8500);
        s.close();
        expect(s.name).toBe(other);
      }
      // One backend takes new connections: a single map element, no rule.
      expect(nft(box.ns('host'), 'list', 'map', 'inet', 'nlkit', 'pub4')).toMatch(/tcp \. 8500 : 10\.73\.1\.\d \. 81/);
      expect(nft(box.ns('host'), 'list', 'chain', 'inet', 'nlkit', 'publish')).not.toContain('8500');
      expect((await nets.publications.get({ hostPort: 8500 })).backends.map((b) => b.weight).sort()).toEqual([0, 1]);
      expect(await nets.check()).toEqual([]);

      // Everything drained: new connections are refused at once (not the host process, no hang).
      await nets.setBackends({ hostPort: 8500 }, [
        { id: c.c1, weight: 0 },
        { id: c.c2, weight: 0 },
      ]);
      expect(await hello(box.ns('client'), UPLINK, 8500, 3000)).toBe('error:ECONNREFUSED');
      expect(await hello(box.ns('host'), '127.0.0.1', 8500, 3000)).toBe('error:ECONNREFUSED');
      expect(await long.echo('drained')).toBe('drained');
      expect(nft(box.ns('host'), 'list', 'chain', 'inet', 'nlkit', 'publish')).toMatch(/tcp dport 8500 reject with tcp reset/);
      expect(await nets.check()).toEqual([]);

      // Back in service.
      await nets.setBackends({ hostPort: 8500 }, [{ id: c.c1 }, { id: c.c2 }]);
      const seen = new Set<string>();
      for (let i = 0; i < 30 && seen.size < 2; i++) {
        const s = await openLong(box.ns('client'), UPLINK, 8500);
        s.close();
        seen.add(s.name);
      }
      expect([...seen].sort()).toEqual(['c1', 'c2']);
    } finally {
      long.close();
      await nets.unpublish({ hostPort: 8500 }, { missingOk: true });
    }
  });

  it('publishes drained from the start, and refuses weights outside 0-10000', async () => {
    await nets.publish({ network: 'dn', protocol: 'udp', hostPort: 8600, backends: [{ id: c.c1, weight: 0 }] });
    expect(nft(box.ns('host'), 'list', 'chain', 'inet', 'nlkit', 'publish')).toMatch(/udp dport 8600 reject/);
    expect(await nets.check()).toEqual([]);
    await nets.unpublish({ protocol: 'udp', hostPort: 8600 });
    for (const weight of [-1, 10001, 1.5]) {
      await expect(nets.publish({ network: 'dn', hostPort: 8700, backends: [{ id: c.c1, weight }] })).rejects.toThrow(ValidationError);
    }
    expect(await nets.publications.find({ hostPort: 8700 })).toBeUndefined();
  });
  it('refuses a misspelt backend or reference key instead of publishing undrained or acting on another publication', async () => {
    await nets.publish({ network: 'dn', hostPort: 8800, containerPort: 81, backends: [{ id: c.c1 }, { id: c.c2 }] });
    await nets.publish({ network: 'dn', protocol: 'udp', hostPort: 8800, containerPort: 81, to: c.c1 });
    const before = nft(box.ns('host'), 'list', 'ruleset');
    try {
      // `Weight: 0` was dropped: the canary kept getting new connections (weight 1).
      const drain = [{ id: c.c1 }, { id: c.c2, Weight: 0 }] as never;
      await expect(nets.setBackends({ hostPort: 8800 }, drain)).rejects.toMatchObject({ field: 'backend', value: 'Weight' });
      await expect(nets.publish({ network: 'dn', hostPort: 8801, backends: drain })).rejects.toMatchObject({ field: 'backend' });
      await expect(nets.setBackends({ hostPort: 8800 }, [{ id: c.c1, ipv4: '10.73.1.200' }] as never)).rejects.toMatchObject({ field: 'backend ipv4' });
      await expect(nets.setBackends({ hostPort: 8800 }, 'x' as never)).rejects.toMatchObject({ field: 'backends' });
      // `proto: 'udp'` was dropped: the TCP publication was the one removed.
      await expect(nets.unpublish({ hostPort: 8800, proto: 'udp' } as never)).rejects.toMatchObject({ field: 'publication', value: 'proto' });
      await expect(nets.setBackends({ hostPort: 8800, hostip: '127.0.0.1' } as never, [{ id: c.c1 }])).rejects.toMatchObject({ field: 'publication' });
      expect(nft(box.ns('host'), 'list', 'ruleset')).toBe(before);
      expect((await nets.publications.list()).map((p) => p.key).sort()).toEqual(['tcp:*:8800', 'udp:*:8800']);
      // A listed publication and its backends, passed back as they are, still work.
      const listed = await nets.publications.get({ hostPort: 8800 });
      const after = await nets.setBackends(
        listed,
        listed.backends.map((b) => ({ ...b, weight: b.id === c.c2 ? 0 : 1 })),
      );
      expect(after.backends.map((b) => b.weight)).toEqual([1, 0]);
      expect(await nets.check()).toEqual([]);
    } finally {
      await nets.unpublish({ hostPort: 8800 }, { missingOk: true });
      await nets.unpublish({ protocol: 'udp', hostPort: 8800 }, { missingOk: true });
    }
  });
});
