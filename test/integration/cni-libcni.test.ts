// Conformance with the reference runtime library: libcni (what containerd,
// CRI-O and Podman call), through a small Go driver built here with the
// packaged Go, runs conflists with nlkit-cni first and the reference plugins
// (/usr/lib/cni) chained after it, with its result cache so CHECK and DEL get
// prevResult. Everything happens in namespaces this test creates: a "host"
// (where the plugins run, as a runtime's would), a "client" outside it, and
// the containers. Real traffic into the containers and through published
// ports; after DEL no veth, lease or nft element is left, and foreign state
// (a link and an nftables table of someone else) is untouched.
import * as fs from 'node:fs';
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenTcp } from '../../lib';
import { buildDriver, cniScratch, leases, runDriver, writeConflist, type CniScratch } from '../helpers/cni';
import { ip, ipJson, useNetns } from '../helpers/netns';
import { nft, nftJson } from '../helpers/nft';
import { hello } from '../helpers/traffic';

const UPLINK = '192.0.2.1';
const SUBNET = '10.77.0.0/24';

describe('nlkit-cni driven by libcni, chained with the reference plugins', () => {
  const box = useNetns('host', 'client', 'c1', 'c2');
  let scratch: CniScratch;
  let driver: string;
  const servers: net.Server[] = [];
  const netns = (label: string) => `/run/netns/${box.ns(label)}`;
  const drive = (...args: string[]) => runDriver(scratch, driver, box.ns('host'), args);
  const hostVeths = () => ipJson<{ ifname: string; master?: string }[]>(box.ns('host'), 'link', 'show').filter((l) => l.master === 'nlkcni0');
  const nlkitElements = () =>
    nftJson(box.ns('host'))
      .filter((o) => o.element !== undefined || (o.map?.table === 'nlkit' && Array.isArray(o.map.elem)))
      .flatMap((o) => (o.map?.elem as unknown[] | undefined) ?? []);
  const plugin = { type: 'nlkit-cni', bridge: 'nlkcni0', isGateway: true, ipMasq: true, ipam: { subnet: SUBNET, routes: [{ dst: '0.0.0.0/0' }] } };

  beforeAll(async () => {
    scratch = cniScratch();
    driver = buildDriver(scratch);
    const host = box.h('host');
    await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: box.ns('client') } });
    await host.addresses.add('uplink', `${UPLINK}/24`);
    await box.h('client').links.set('eth0', { up: true });
    await box.h('client').addresses.add('eth0', '192.0.2.2/24');
    // foreign state nlkit and the chained plugins must leave alone
    ip(box.ns('host'), 'link', 'add', 'foreign0', 'type', 'veth', 'peer', 'name', 'foreign1');
    nft(box.ns('host'), 'add', 'table', 'inet', 'foreign');
    for (const c of ['c1', 'c2']) servers.push(await listenTcp({ netns: box.ns(c), port: 80 }, (s) => s.end(`${c} sees ${String(s.remoteAddress)}`)));
  }, 180_000);
  afterAll(() => {
    servers.forEach((s) => s.close());
    scratch.remove();
  });

  it('validates the chain: every plugin speaks the conflist version, portMappings is a capability', () => {
    const file = writeConflist(scratch, 'portmap', {
      cniVersion: '1.0.0',
      name: 'cni1',
      plugins: [
        { ...plugin, stateDir: scratch.stateDir },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    });
    expect(drive('validate', file, 'x', netns('c1'), 'eth0')).toEqual(['portMappings']);
  });

  it('ADD then DEL with portmap, tuning and firewall after nlkit: prevResult passed through, traffic, nothing left', async () => {
    const file = writeConflist(scratch, 'chain', {
      cniVersion: '1.0.0',
      name: 'cni1',
      plugins: [
        { ...plugin, stateDir: scratch.stateDir },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } },
        { type: 'firewall', backend: 'iptables' },
      ],
    });
    const caps = JSON.stringify({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    const result = drive('add', file, 'ctr1', netns('c1'), 'eth0', caps);
    // the last plugin's result is nlkit's, passed along the chain
    expect(result.cniVersion).toBe('1.0.0');
    const address: string = result.ips[0].address;
    expect(address).toMatch(/^10\.77\.0\.\d+\/24$/);
    expect(result.ips[0].gateway).toBe('10.77.0.1');
    expect(result.interfaces[result.ips[0].interface]).toMatchObject({ name: 'eth0', sandbox: netns('c1') });
    expect(result.routes).toContainEqual({ dst: '0.0.0.0/0', gw: '10.77.0.1' });
    // the container as ip sees it, tuning's sysctl applied in it
    const c1 = ipJson(box.ns('c1'), 'addr', 'show', 'eth0')[0];
    expect(c1.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`)).toContain(address);
    expect(ip(box.ns('c1'), 'route', 'show', 'default')).toMatch(/via 10\.77\.0\.1 dev eth0/);
    expect(ip(box.ns('c1'), 'netns', 'exec', box.ns('c1'), 'cat', '/proc/sys/net/ipv4/conf/eth0/arp_notify').trim()).toBe('1');
    expect(hostVeths()).toHaveLength(1);
    // real traffic: from the host straight in, and from outside through portmap's published port
    const ctrIp = address.split('/')[0];
    expect(await hello(box.ns('host'), ctrIp, 80)).toBe(`c1 sees 10.77.0.1`);
    expect(await hello(box.ns('client'), UPLINK, 8080)).toMatch(/^c1 sees /);

    drive('del', file, 'ctr1', netns('c1'), 'eth0', caps);
    expect(hostVeths()).toEqual([]);
    expect(ipJson(box.ns('c1'), 'link', 'show').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    expect(Object.values(leases(scratch.stateDir, 'cni1'))).toEqual([]);
    expect(await hello(box.ns('client'), UPLINK, 8080, 500)).toMatch(/^error:/);
    drive('del', file, 'ctr1', netns('c1'), 'eth0', caps); // DEL twice: nothing to do, no error
  });

  it('publishes portMappings itself, CHECK sees prevResult and catches drift, DEL removes the map element', async () => {
    const file = writeConflist(scratch, 'own', {
      cniVersion: '1.0.0',
      name: 'cni1',
      plugins: [
        { ...plugin, stateDir: scratch.stateDir, capabilities: { portMappings: true } },
        { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } },
      ],
    });
    const caps = JSON.stringify({ portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] });
    const result = drive('add', file, 'ctr2', netns('c2'), 'eth0', caps);
    const ctrIp = (result.ips[0].address as string).split('/')[0];
    expect(await hello(box.ns('client'), UPLINK, 8081)).toMatch(/^c2 sees /);
    expect(JSON.stringify(nlkitElements())).toContain('8081');
    expect(JSON.stringify(nlkitElements())).toContain(ctrIp);
    drive('check', file, 'ctr2', netns('c2'), 'eth0', caps);
    // a second ADD of the same container returns the same attachment
    expect(drive('add', file, 'ctr2', netns('c2'), 'eth0', caps).ips).toEqual(result.ips);
    expect(hostVeths()).toHaveLength(1);

    ip(box.ns('c2'), 'addr', 'flush', 'dev', 'eth0');
    expect(() => drive('check', file, 'ctr2', netns('c2'), 'eth0', caps)).toThrow(/sandbox-address-missing/);

    drive('del', file, 'ctr2', netns('c2'), 'eth0', caps);
    expect(hostVeths()).toEqual([]);
    expect(JSON.stringify(nlkitElements())).not.toContain('8081');
    expect(Object.values(leases(scratch.stateDir, 'cni1'))).toEqual([]);
    drive('del', file, 'ctr2', netns('c2'), 'eth0', caps);
    // foreign state survived every call
    expect(ipJson(box.ns('host'), 'link', 'show', 'foreign0')).toHaveLength(1);
    expect(nft(box.ns('host'), 'list', 'tables')).toMatch(/table inet foreign/);
    expect(fs.existsSync(scratch.stateDir)).toBe(true);
  });
});
