// A sandbox on several networks: one interface per network, one default
// route, both networks' gateways and peers reachable, detach of either
// leaving the other working. Kernel state read back with `ip -j`.
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, listenTcp, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ip, ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

describe('network manager: a sandbox on several networks', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let stateDir: string;
  const c = { s: uniqueNetnsName('s'), pa: uniqueNetnsName('pa'), pb: uniqueNetnsName('pb') };
  const servers: net.Server[] = [];
  const addrOf = async (network: string) => (await nets.get(network)).attachments.find((a) => a.id === c.s)?.ipv4?.split('/')[0];
  const defaults = (ns: string, family = '-4') => ipJson<IpRoute[]>(ns, family, 'route', 'show', 'default');

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-multi-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'a', subnet: '10.92.0.0/24', subnet6: 'fd92::/64' });
    await nets.create({ name: 'b', subnet: '10.93.0.0/24', subnet6: 'fd93::/64' });
    await nets.create({ name: 'c', subnet: '10.94.0.0/24', subnet6: 'fd94::/64' });
    await nets.attach('a', { sandbox: c.pa, create: true });
    await nets.attach('b', { sandbox: c.pb, create: true });
    for (const [name, ns] of [
      ['pa', c.pa],
      ['pb', c.pb],
      ['host', box.ns('host')],
    ] as const) {
      servers.push(await listenTcp({ netns: ns, host: '::', port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress?.replace('::ffff:', '')}`)));
    }
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    for (const n of ['a', 'b', 'c']) await nets?.delete(n, { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('attaches a second network: eth1, a connected route, and still exactly one default route', async () => {
    const first = await nets.attach('a', { sandbox: c.s, create: true });
    const second = await nets.attach('b', { sandbox: c.s });
    expect([first.ifname, first.defaultRoute]).toEqual(['eth0', true]);
    expect([second.ifname, second.defaultRoute]).toEqual(['eth1', false]);
    expect(defaults(c.s)).toEqual([expect.objectContaining({ gateway: '10.92.0.1', dev: 'eth0' })]);
    expect(defaults(c.s, '-6')).toEqual([expect.objectContaining({ gateway: 'fd92::1', dev: 'eth0' })]);
    const connected = ipJson<IpRoute[]>(c.s, '-4', 'route', 'show').map((r) => `${r.dst} ${r.dev}`);
    expect(connected).toEqual(expect.arrayContaining(['10.92.0.0/24 eth0', '10.93.0.0/24 eth1']));
    expect(await nets.check()).toEqual([]);
  });

  it('reaches both gateways and the peers of both networks', async () => {
    expect(await hello(c.s, '10.92.0.1', 80)).toBe('host sees 10.92.0.3');
    expect(await hello(c.s, '10.93.0.1', 80)).toBe('host sees 10.93.0.3');
    expect(await hello(c.s, '10.92.0.2', 80)).toBe('pa sees 10.92.0.3');
    expect(await hello(c.s, '10.93.0.2', 80)).toBe('pb sees 10.93.0.3');
    expect(await hello(c.s, 'fd93::2', 80)).toBe('pb sees fd93::3');
    // the peers reach it back on their own network
    servers.push(await listenTcp({ netns: c.s, port: 81 }, (s) => s.end(`s sees ${s.remoteAddress?.replace('::ffff:', '')}`)));
    expect(await hello(c.pa, '10.92.0.3', 81)).toBe('s sees 10.92.0.2');
    expect(await hello(c.pb, '10.93.0.3', 81)).toBe('s sees 10.93.0.2');
  });

  it('refuses a defaultRoute that is not a boolean, before anything is changed', async () => {
    const err = await nets.attach('c', { sandbox: c.s, defaultRoute: 'yes' as unknown as boolean }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('defaultRoute');
    expect(ipJson<{ ifname: string }[]>(c.s, 'link', 'show').map((l) => l.ifname)).not.toContain('eth2');
  });

  it('attaches with defaultRoute: false on a fresh sandbox: no default route at all', async () => {
    const lone = uniqueNetnsName('lone');
    try {
      const att = await nets.attach('c', { sandbox: lone, create: true, defaultRoute: false });
      expect(att.defaultRoute).toBe(false);
      expect(defaults(lone)).toEqual([]);
      expect(await hello(lone, '10.94.0.1', 80)).toBe(`host sees ${att.ipv4?.split('/')[0]}`);
      expect(await nets.check()).toEqual([]);
    } finally {
      await nets.detach('c', lone, { missingOk: true });
      await deleteNetns(lone, { missingOk: true });
    }
  });

  it('detaching the network that carries no default route leaves the other untouched', async () => {
    expect(await nets.detach('b', c.s)).toBe(true);
    expect(ipJson<{ ifname: string }[]>(c.s, 'link', 'show').map((l) => l.ifname)).not.toContain('eth1');
    expect(await hello(c.s, '10.92.0.2', 80)).toBe('pa sees 10.92.0.3');
    expect(await hello(c.s, '10.93.0.2', 80, 700)).toMatch(/^error:/); // no route to b any more
    // attached again: the free name eth1 again, still not the default
    const again = await nets.attach('b', { sandbox: c.s });
    expect([again.ifname, again.defaultRoute]).toEqual(['eth1', false]);
  });

  it('moves the default route to a network attached with defaultRoute: true (records follow, no drift)', async () => {
    const third = await nets.attach('c', { sandbox: c.s, defaultRoute: true });
    expect([third.ifname, third.defaultRoute]).toEqual(['eth2', true]);
    expect(defaults(c.s)).toEqual([expect.objectContaining({ gateway: '10.94.0.1', dev: 'eth2' })]);
    expect(defaults(c.s, '-6')).toEqual([expect.objectContaining({ gateway: 'fd94::1', dev: 'eth2' })]);
    const a = (await nets.get('a')).attachments.find((x) => x.id === c.s);
    expect(a?.defaultRoute).toBe(false);
    expect(await nets.check()).toEqual([]);
    // foreign drift: someone deletes the default route; check sees it on the carrier only, reconcile puts it back there
    ip(c.s, 'route', 'del', 'default');
    expect((await nets.check()).map((d) => `${d.network} ${d.kind}`)).toEqual(['c sandbox-route-missing']);
    await nets.reconcile();
    expect(defaults(c.s)).toEqual([expect.objectContaining({ gateway: '10.94.0.1', dev: 'eth2' })]);
  });

  it('detaching the network that carries the default route: the others keep working, and the default stays gone', async () => {
    expect(await nets.detach('c', c.s)).toBe(true);
    expect(defaults(c.s)).toEqual([]); // like netavark: not moved to another network by itself
    expect(defaults(c.s, '-6')).toEqual([]);
    expect(await hello(c.s, '10.92.0.2', 80)).toBe('pa sees 10.92.0.3');
    const onB = await addrOf('b');
    expect(await hello(c.s, '10.93.0.2', 80)).toBe(`pb sees ${onB}`);
    expect(await hello(c.s, '10.93.0.1', 80)).toBe(`host sees ${onB}`);
    expect(await nets.check()).toEqual([]);
  });

  it('keeps the namespace nlkit created while another network still uses it, and deletes it with the last', async () => {
    expect(await nets.detach('a', c.s)).toBe(true); // a's attach created the namespace
    expect(fs.existsSync(`/run/netns/${c.s}`)).toBe(true);
    expect(await hello(c.s, '10.93.0.2', 80)).toBe(`pb sees ${await addrOf('b')}`);
    expect(await nets.detach('b', c.s)).toBe(true);
    expect(fs.existsSync(`/run/netns/${c.s}`)).toBe(false);
  });
});
