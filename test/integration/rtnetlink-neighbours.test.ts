// ARP/NDP neighbours (vs `ip -j neigh`) and bridge/VXLAN FDB entries (vs
// `bridge -j fdb`): made by nlkit and read by both, made by iproute2 and read
// by nlkit, compared whole.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, ValidationError, setSysctl, type FdbEntry, type Handle, type Neighbour } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

function bridgeJson(ns: string, ...args: string[]): any[] {
  return JSON.parse(execFileSync('bridge', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]');
}

async function linkNames(h: Handle): Promise<Map<number, string>> {
  return new Map((await h.links.list()).map((l) => [l.index, l.name]));
}

/** nlkit's neighbour in the shape `ip -j neigh show` prints it. */
function neighShape(n: Neighbour, names: Map<number, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { dst: n.address, dev: n.linkName };
  expect(n.linkName).toBe(names.get(n.link));
  if (n.mac) out.lladdr = n.mac;
  for (const f of n.flags) out[f] = null; // ip prints flags as keys with null values
  if (n.protocol) out.protocol = n.protocol;
  if (n.state.length) out.state = n.state;
  return out;
}

/** nlkit's FDB entry in the shape `bridge -j fdb show` prints it. */
function fdbShape(e: FdbEntry, names: Map<number, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { mac: e.mac, ifname: e.linkName, flags: e.flags };
  expect(e.linkName).toBe(names.get(e.link));
  if (e.vlan !== undefined) out.vlan = e.vlan;
  if (e.dst) out.dst = e.dst;
  if (e.port !== undefined) out.port = e.port;
  if (e.vni !== undefined) out.vni = e.vni;
  if (e.srcVni !== undefined) out.src_vni = e.srcVni;
  if (e.via !== undefined) out.viaIf = e.viaName;
  if (e.bridge !== undefined) out.master = e.bridgeName; // bridge prints NDA_MASTER as master
  out.state = e.state === 'dynamic' ? '' : e.state; // bridge prints no name for NUD_REACHABLE
  return out;
}

const neighKey = (n: any) => `${n.dev}|${n.dst}`;
// The kernel adds NOARP entries for multicast destinations whenever IPv6 sends
// an MLD report or router solicitation, at its own pace: leave those out.
const isMulticast = (dst: string) => /^(ff|22[4-9]\.|23\d\.)/.test(dst);
const fdbKey = (e: any) => `${e.ifname}|${e.mac}|${e.dst ?? ''}|${e.vlan ?? ''}|${e.master ?? ''}|${e.flags.includes('self')}`;

async function expectNeighboursSame(h: Handle, ns: string, proxy = false): Promise<void> {
  const names = await linkNames(h);
  const ours = (await h.neighbours.list({ proxy })).filter((n) => !isMulticast(n.address)).map((n) => neighShape(n, names));
  const theirs = ipJson(ns, 'neigh', 'show', ...(proxy ? ['proxy'] : ['nud', 'all'])).filter((n: any) => !isMulticast(n.dst));
  expect(ours.map(neighKey).sort()).toEqual(theirs.map(neighKey).sort());
  for (const t of theirs)
    expect(
      ours.find((o) => neighKey(o) === neighKey(t)),
      neighKey(t),
    ).toEqual(t);
}

async function expectFdbSame(h: Handle, ns: string): Promise<void> {
  const names = await linkNames(h);
  const ours = (await h.fdb.list()).map((e) => fdbShape(e, names));
  const theirs = bridgeJson(ns, 'fdb', 'show');
  expect(ours.map(fdbKey).sort()).toEqual(theirs.map(fdbKey).sort());
  for (const t of theirs)
    expect(
      ours.find((o) => fdbKey(o) === fdbKey(t)),
      fdbKey(t),
    ).toEqual(t);
}

describe('neighbours', () => {
  const box = useNetns('n');
  const ns = () => box.ns('n');
  const h = () => box.h('n');

  it('adds ARP and NDP entries in every state, with flags; ip reads them the same', async () => {
    await h().links.add({ name: 'n0', kind: 'veth', peer: { name: 'n1' }, up: true });
    await setSysctl(ns(), 'net.ipv6.conf.n1.disable_ipv6', 1); // quiet peer
    await h().links.set('n1', { up: true });
    await h().addresses.add('n0', '10.1.0.1/24');
    await h().addresses.add('n0', 'fd01::1/64', { nodad: true });
    const nb = h().neighbours;
    await nb.add({ link: 'n0', address: '10.1.0.2', mac: '02:00:00:00:00:02' }); // permanent by default
    await nb.add({ link: 'n0', address: '10.1.0.3', mac: '02:00:00:00:00:03', state: 'reachable' });
    await nb.add({ link: 'n0', address: '10.1.0.4', mac: '02:00:00:00:00:04', state: 'stale' });
    await nb.add({ link: 'n0', address: '10.1.0.5', mac: '02:00:00:00:00:05', state: 'noarp' });
    await nb.add({ link: 'n0', address: '10.1.0.6', mac: '02:00:00:00:00:06', externLearned: true, protocol: 'static' });
    await nb.add({ link: 'n0', address: 'fd01::2', mac: '02:00:00:00:01:02', router: true });
    await nb.add({ link: 'n0', address: 'fd01::3', mac: '02:00:00:00:01:03', state: 'stale' });
    await expectNeighboursSame(h(), ns());

    const list = await nb.list({ link: 'n0' });
    const at = (a: string) => list.find((n) => n.address === a)!;
    expect(at('10.1.0.2')).toMatchObject({ state: ['PERMANENT'], mac: '02:00:00:00:00:02', family: 4 });
    expect(at('10.1.0.3').state).toEqual(['REACHABLE']);
    expect(at('10.1.0.4').state).toEqual(['STALE']);
    expect(at('10.1.0.5').state).toEqual(['NOARP']);
    expect(at('10.1.0.6')).toMatchObject({ flags: ['extern_learn'], protocol: 'static' });
    expect(at('fd01::2')).toMatchObject({ flags: ['router'], family: 6 });
  });

  it('proxy entries, gets, filters', async () => {
    const nb = h().neighbours;
    await nb.add({ link: 'n0', address: '10.1.0.50', proxy: true });
    await nb.add({ link: 'n0', address: 'fd01::50', proxy: true });
    await expectNeighboursSame(h(), ns(), true);
    expect((await nb.list({ proxy: true })).map((n) => n.address).sort()).toEqual(['10.1.0.50', 'fd01::50']);
    expect((await nb.list()).some((n) => n.address === '10.1.0.50')).toBe(false);

    const one = await nb.get({ link: 'n0', address: '10.1.0.2' });
    expect(one).toMatchObject({ address: '10.1.0.2', mac: '02:00:00:00:00:02', state: ['PERMANENT'] });
    const proxied = await nb.get({ link: 'n0', address: '10.1.0.50', proxy: true });
    expect(proxied.flags).toContain('proxy');
    expect((await nb.list({ family: 6, link: 'n0', state: 'stale' })).map((n) => n.address)).toEqual(['fd01::3']);
    const theirs = ipJson(ns(), '-4', 'neigh', 'show', 'nud', 'permanent').concat(ipJson(ns(), '-4', 'neigh', 'show', 'nud', 'noarp'));
    expect(
      (await nb.list({ family: 4, state: ['permanent', 'noarp'] }))
        .map((n) => n.address)
        .filter((a) => !isMulticast(a))
        .sort(),
    ).toEqual([...new Set(theirs.map((n: any) => n.dst as string))].filter((a) => !isMulticast(a)).sort());
    const onN0 = await nb.list({ link: 'n0' });
    expect(onN0.every((n) => n.link === one.link && n.linkName === 'n0')).toBe(true);
    expect(
      onN0
        .map((n) => n.address)
        .filter((a) => !isMulticast(a))
        .sort(),
    ).toEqual(
      ipJson(ns(), 'neigh', 'show', 'nud', 'all', 'dev', 'n0')
        .map((n: any) => n.dst)
        .filter((a: string) => !isMulticast(a))
        .sort(),
    );
    expect((await nb.list({ link: 'n1' })).filter((n) => !isMulticast(n.address))).toEqual([]);
  });

  it('replaces and deletes; reads entries made by ip', async () => {
    const nb = h().neighbours;
    await nb.replace({ link: 'n0', address: '10.1.0.3', mac: '02:00:00:00:00:33', state: 'permanent' });
    expect(ipJson(ns(), 'neigh', 'show', '10.1.0.3', 'dev', 'n0')[0]).toMatchObject({ lladdr: '02:00:00:00:00:33', state: ['PERMANENT'] });
    await nb.delete({ link: 'n0', address: '10.1.0.4' });
    await nb.delete({ link: 'n0', address: '10.1.0.50', proxy: true });
    expect(ipJson(ns(), 'neigh', 'show', 'nud', 'all', '10.1.0.4')).toEqual([]);
    expect(ipJson(ns(), 'neigh', 'show', 'proxy', '10.1.0.50')).toEqual([]);

    ip(ns(), 'neigh', 'add', '10.1.0.20', 'lladdr', '02:00:00:00:00:20', 'dev', 'n0', 'nud', 'reachable');
    ip(ns(), 'neigh', 'add', '10.1.0.21', 'lladdr', '02:00:00:00:00:21', 'dev', 'n0', 'nud', 'noarp');
    ip(ns(), 'neigh', 'add', 'fd01::21', 'lladdr', '02:00:00:00:01:21', 'dev', 'n0', 'router', 'nud', 'stale');
    ip(ns(), 'neigh', 'add', 'fd01::22', 'lladdr', '02:00:00:00:01:22', 'dev', 'n0', 'extern_learn');
    ip(ns(), 'neigh', 'add', 'proxy', '10.1.0.60', 'dev', 'n0');
    await expectNeighboursSame(h(), ns());
    await expectNeighboursSame(h(), ns(), true);
  });

  it('reports refusals, and refuses bad input before sending', async () => {
    const nb = h().neighbours;
    const dup = await nb.add({ link: 'n0', address: '10.1.0.2', mac: '02:00:00:00:00:02' }).catch((x) => x);
    expect(dup).toBeInstanceOf(NetlinkError);
    expect(dup.code).toBe('EEXIST');
    const missing = await nb.delete({ link: 'n0', address: '10.1.0.99' }).catch((x) => x);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.code).toBe('ENOENT');
    const noGet = await nb.get({ link: 'n0', address: '10.1.0.99' }).catch((x) => x);
    expect(noGet.code).toBe('ENOENT');
    expect(noGet.extack).toMatch(/not found/i);
    await expect(nb.add({ link: 'n0', address: '10.1.0.98' })).rejects.toBeInstanceOf(ValidationError); // no mac
    await expect(nb.add({ link: 'n0', address: '10.1.0.98', mac: 'zz' })).rejects.toBeInstanceOf(ValidationError);
    await expect(nb.add({ link: 'n0', address: '10.1.0.98', mac: '02:00:00:00:00:98', state: 'bogus' as any })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('fdb', () => {
  const box = useNetns('f');
  const ns = () => box.ns('f');
  const h = () => box.h('f');

  it('programs a VXLAN device per remote host, as an overlay does', async () => {
    // No IPv6 here: its background packets would make the bridge learn MACs while we compare.
    await setSysctl(ns(), 'net.ipv6.conf.all.disable_ipv6', 1);
    await setSysctl(ns(), 'net.ipv6.conf.default.disable_ipv6', 1);
    await h().links.add({ name: 'u0', kind: 'veth', peer: { name: 'u1' }, up: true });
    await h().addresses.add('u0', '10.1.0.1/24');
    await h().links.add({ name: 'vx0', kind: 'vxlan', vni: 100, local: '10.1.0.1', dev: 'u0', learning: false });
    const fdb = h().fdb;
    // BUM flooding list: the all-zero MAC with one entry per remote
    await fdb.append({ mac: '00:00:00:00:00:00', link: 'vx0', dst: '10.1.0.2' });
    await fdb.append({ mac: '00:00:00:00:00:00', link: 'vx0', dst: '10.1.0.3' });
    // a known MAC behind a remote, with per-entry VNI and port
    await fdb.add({ mac: '02:00:00:00:00:0a', link: 'vx0', dst: '10.1.0.4', vni: 200, port: 4790, self: true, state: 'permanent' });
    await fdb.add({ mac: '02:00:00:00:00:0b', link: 'vx0', dst: '10.1.0.5', via: 'u0' });
    await expectFdbSame(h(), ns());

    const mine = await fdb.list({ link: 'vx0' });
    expect(
      mine
        .filter((e) => e.mac === '00:00:00:00:00:00')
        .map((e) => e.dst)
        .sort(),
    ).toEqual(['10.1.0.2', '10.1.0.3']);
    expect(mine.find((e) => e.mac === '02:00:00:00:00:0a')).toMatchObject({ dst: '10.1.0.4', vni: 200, port: 4790, flags: ['self'], state: 'permanent' });
    expect(mine.find((e) => e.mac === '02:00:00:00:00:0b')).toMatchObject({ via: (await h().links.get('u0')).index, viaName: 'u0' });

    // a remote leaves: remove just its flooding entry
    await fdb.delete({ mac: '00:00:00:00:00:00', link: 'vx0', dst: '10.1.0.2' });
    // a MAC moves to another remote
    await fdb.replace({ mac: '02:00:00:00:00:0a', link: 'vx0', dst: '10.1.0.6' });
    const after = bridgeJson(ns(), 'fdb', 'show', 'dev', 'vx0');
    expect(after.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst)).toEqual(['10.1.0.3']);
    expect(after.find((e) => e.mac === '02:00:00:00:00:0a').dst).toBe('10.1.0.6');
    await expectFdbSame(h(), ns());
    const dup = await fdb.add({ mac: '02:00:00:00:00:0a', link: 'vx0', dst: '10.1.0.7' }).catch((x) => x);
    expect(dup).toBeInstanceOf(NetlinkError);
    expect(dup.code).toBe('EEXIST');
  });

  it('bridge FDB entries: static, permanent, dynamic, sticky; filters by port and bridge', async () => {
    await h().links.add({ name: 'br0', kind: 'bridge', up: true });
    await h().links.add({ name: 'p0', kind: 'veth', peer: { name: 'p0x' }, master: 'br0', up: true });
    await h().links.set('p0x', { up: true });
    const fdb = h().fdb;
    await fdb.add({ mac: '02:00:00:00:00:b1', link: 'p0', bridge: 'br0', state: 'static' });
    await fdb.add({ mac: '02:00:00:00:00:b2', link: 'p0', bridge: 'br0' });
    await fdb.add({ mac: '02:00:00:00:00:b3', link: 'p0', bridge: 'br0', state: 'dynamic' });
    await fdb.add({ mac: '02:00:00:00:00:b4', link: 'p0', bridge: 'br0', state: 'static', sticky: true });
    await fdb.add({ mac: '02:00:00:00:00:b5', link: 'p0', bridge: 'br0', state: 'static', externLearned: true });
    await expectFdbSame(h(), ns());

    const port = await fdb.list({ link: 'p0' });
    const at = (m: string) => port.find((e) => e.mac === m)!;
    const br = (await h().links.get('br0')).index;
    expect(at('02:00:00:00:00:b1')).toMatchObject({ state: 'static', bridge: br, bridgeName: 'br0', flags: [] });
    expect(at('02:00:00:00:00:b2').state).toBe('permanent');
    expect(at('02:00:00:00:00:b3').state).toBe('dynamic');
    expect(at('02:00:00:00:00:b4').flags).toEqual(['sticky']);
    expect(at('02:00:00:00:00:b5').flags).toEqual(['extern_learn']);
    const names = await linkNames(h());
    expect(
      port
        .map((e) => fdbShape(e, names))
        .map(fdbKey)
        .sort(),
    ).toEqual(
      bridgeJson(ns(), 'fdb', 'show', 'dev', 'p0')
        .map((e: any) => fdbKey({ ...e, ifname: 'p0' }))
        .sort(),
    );
    const inBridge = (await fdb.list({ bridge: 'br0' })).map((e) => fdbShape(e, names));
    expect(inBridge.map(fdbKey).sort()).toEqual(bridgeJson(ns(), 'fdb', 'show', 'br', 'br0').map(fdbKey).sort());

    await fdb.delete({ mac: '02:00:00:00:00:b1', link: 'p0', bridge: 'br0' });
    expect(bridgeJson(ns(), 'fdb', 'show', 'dev', 'p0').some((e: any) => e.mac === '02:00:00:00:00:b1')).toBe(false);
    const gone = await fdb.delete({ mac: '02:00:00:00:00:b1', link: 'p0', bridge: 'br0' }).catch((x) => x);
    expect(gone.code).toBe('ENOENT');
  });

  it('reads entries made by bridge fdb', async () => {
    const run = (...args: string[]) => execFileSync('bridge', ['-n', ns(), 'fdb', ...args]);
    run('append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '10.1.0.9');
    run('add', '02:00:00:00:00:c1', 'dev', 'vx0', 'dst', '10.1.0.10', 'vni', '300', 'port', '4800', 'self', 'permanent');
    run('add', '02:00:00:00:00:c2', 'dev', 'p0', 'master', 'static', 'sticky');
    run('add', '02:00:00:00:00:c3', 'dev', 'p0', 'master', 'dynamic');
    await expectFdbSame(h(), ns());
    await expect(h().fdb.add({ mac: '02:00:00:00:00:c9', link: 'p0', vlan: 5000 })).rejects.toBeInstanceOf(ValidationError);
    await expect(h().fdb.add({ mac: '02:00:00:00:00:c9', link: 'p0', state: 'stale' as any })).rejects.toBeInstanceOf(ValidationError);
  });
});
