// The verb table (docs/api-conventions.md) against the kernel, in a
// throw-away namespace: get/set/delete of what is not there is a
// NotFoundError keeping the kernel's errno, find is undefined,
// { missingOk: true } resolves to false; what list returns goes back into
// get and delete as it is; read objects carry interface names.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, openNetns } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

/** What a call threw (the test fails if it did not throw). */
async function thrown(p: Promise<unknown>): Promise<any> {
  return p.then(
    (v) => expect.unreachable(`resolved to ${JSON.stringify(v)}`),
    (e) => e,
  );
}

function bridgeJson(ns: string, ...args: string[]): any[] {
  return JSON.parse(execFileSync('bridge', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]');
}

describe('verb table against the kernel', () => {
  const box = useNetns('v');
  const ns = () => box.ns('v');
  const h = () => box.h('v');

  it('sets up a bridge, a port, addresses, routes, rules, neighbours and FDB entries', async () => {
    await h().links.add({ name: 'vbr', kind: 'bridge', up: true });
    await h().links.add({ name: 'vp0', kind: 'veth', peer: { name: 'vp1' }, master: 'vbr', up: true });
    await h().links.set('vp1', { up: true });
    await h().addresses.add('vbr', '10.70.0.1/24');
    await h().routes.add({ dst: '10.71.0.0/16', gateway: '10.70.0.2', metric: 10, protocol: 'static' });
    await h().routes.add({ dst: '10.71.0.0/16', gateway: '10.70.0.3', metric: 20, protocol: 'static' });
    await h().routes.add({ dst: '10.72.0.0/16', link: 'vbr', protocol: 'static' });
    await h().rules.add({ priority: 700, src: '10.73.0.0/16', table: 70 });
    await h().rules.add({ priority: 701, fwmark: 7, action: 'blackhole' });
    await h().neighbours.add({ link: 'vbr', address: '10.70.0.9', mac: '02:00:00:00:07:09' });
    await h().fdb.add({ mac: '02:00:00:00:07:01', link: 'vp0', bridge: 'vbr', state: 'static' });
    await h().fdb.add({ mac: '02:00:00:00:07:02', link: 'vp0', bridge: 'vbr', state: 'static', sticky: true });
    expect(bridgeJson(ns(), 'fdb', 'show', 'dev', 'vp0').filter((e) => e.mac.startsWith('02:00:00:00:07'))).toHaveLength(2);
  });

  it('get, set and delete of a missing object are NotFoundErrors with the kernel errno; find is undefined', async () => {
    const cases: Array<[string, () => Promise<unknown>, string, string]> = [
      ['links.get', () => h().links.get('nosuch0'), 'ENODEV', 'link'],
      ['links.set', () => h().links.set('nosuch0', { up: true }), 'ENODEV', 'link'],
      ['links.delete', () => h().links.delete('nosuch0'), 'ENODEV', 'link'],
      ['links.deleteGroup', () => h().links.deleteGroup(4242), 'ENODEV', 'link'],
      ['addresses.delete', () => h().addresses.delete('vbr', '10.70.0.99/24'), 'EADDRNOTAVAIL', 'address'],
      ['addresses.delete (no link)', () => h().addresses.delete('nosuch0', '10.70.0.99/24'), 'ENODEV', 'link'],
      ['routes.get', () => h().routes.get({ dst: '10.79.0.0/16' }), 'ESRCH', 'route'],
      ['routes.delete', () => h().routes.delete({ dst: '10.79.0.0/16' }), 'ESRCH', 'route'],
      ['neighbours.get', () => h().neighbours.get({ link: 'vbr', address: '10.70.0.99' }), 'ENOENT', 'neighbour'],
      ['neighbours.delete', () => h().neighbours.delete({ link: 'vbr', address: '10.70.0.99' }), 'ENOENT', 'neighbour'],
      ['fdb.delete', () => h().fdb.delete({ mac: '02:00:00:00:07:99', link: 'vp0', bridge: 'vbr' }), 'ENOENT', 'fdb entry'],
      ['rules.delete', () => h().rules.delete({ priority: 799 }), 'ENOENT', 'ip rule'],
    ];
    for (const [name, call, code, what] of cases) {
      const err = await thrown(call());
      expect(err, name).toBeInstanceOf(NotFoundError);
      expect(err, name).toBeInstanceOf(NetlinkError);
      expect({ name, code: err.code, what: err.what }).toEqual({ name, code, what });
    }
    expect(await h().links.find('nosuch0')).toBeUndefined();
    expect(await h().routes.find({ dst: '10.79.0.0/16' })).toBeUndefined();
    expect(await h().neighbours.find({ link: 'vbr', address: '10.70.0.99' })).toBeUndefined();
    await expect(openNetns('nlkit-no-such-netns')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('{ missingOk: true } resolves to false for what is not there, and changes nothing', async () => {
    const before = ipJson(ns(), '-d', 'route', 'show', 'table', 'all').length;
    expect(await h().links.delete('nosuch0', { missingOk: true })).toBe(false);
    expect(await h().links.deleteGroup(4242, { missingOk: true })).toBe(false);
    expect(await h().addresses.delete('vbr', '10.70.0.99/24', { missingOk: true })).toBe(false);
    expect(await h().routes.delete({ dst: '10.79.0.0/16' }, { missingOk: true })).toBe(false);
    expect(await h().routes.delete({ dst: '10.72.0.0/16', link: 'nosuch0' }, { missingOk: true })).toBe(false);
    expect(await h().neighbours.delete({ link: 'vbr', address: '10.70.0.99' }, { missingOk: true })).toBe(false);
    expect(await h().fdb.delete({ mac: '02:00:00:00:07:99', link: 'vp0', bridge: 'vbr' }, { missingOk: true })).toBe(false);
    expect(await h().rules.delete({ priority: 799 }, { missingOk: true })).toBe(false);
    expect(ipJson(ns(), '-d', 'route', 'show', 'table', 'all')).toHaveLength(before);
  });

  it('routes.get takes a key (the lowest metric where it leaves a choice); lookup asks the kernel', async () => {
    const best = await h().routes.get({ dst: '10.71.0.0/16' });
    expect(best).toMatchObject({ gateway: '10.70.0.2', metric: 10, linkName: 'vbr' });
    expect(await h().routes.get({ dst: '10.71.0.0/16', metric: 20 })).toMatchObject({ gateway: '10.70.0.3' });
    expect(await h().routes.get({ dst: '10.71.0.0/16', gateway: '10.70.0.3' })).toMatchObject({ metric: 20 });
    const [ipBest] = ipJson(ns(), 'route', 'show', '10.71.0.0/16', 'metric', '10');
    expect(best.gateway).toBe(ipBest.gateway);
    const looked = await h().routes.lookup('10.71.3.4');
    const [theirs] = ipJson(ns(), 'route', 'get', '10.71.3.4');
    expect([looked.gateway, looked.linkName]).toEqual([theirs.gateway, theirs.dev]);
  });

  it('listed routes, rules, neighbours and FDB entries are deleted as they are', async () => {
    const routes = await h().routes.list({ protocol: 'static' });
    expect(routes.map((r) => r.dst).sort()).toEqual(['10.71.0.0/16', '10.71.0.0/16', '10.72.0.0/16']);
    for (const r of routes) expect(await h().routes.delete(r)).toBe(true);
    expect(ipJson(ns(), 'route', 'show', 'proto', 'static')).toEqual([]);

    const rules = (await h().rules.list({ family: 4 })).filter((r) => r.priority === 700 || r.priority === 701);
    expect(rules).toHaveLength(2);
    for (const r of rules) expect(await h().rules.delete(r)).toBe(true);
    expect(ipJson(ns(), '-4', 'rule', 'show').filter((r: any) => r.priority === 700 || r.priority === 701)).toEqual([]);

    const [n] = (await h().neighbours.list({ link: 'vbr' })).filter((x) => x.address === '10.70.0.9');
    expect(n).toMatchObject({ linkName: 'vbr', mac: '02:00:00:00:07:09' });
    expect(await h().neighbours.delete(n)).toBe(true);
    expect(ipJson(ns(), 'neigh', 'show', '10.70.0.9', 'dev', 'vbr')).toEqual([]);

    const entries = (await h().fdb.list({ bridge: 'vbr' })).filter((e) => e.mac.startsWith('02:00:00:00:07'));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ linkName: 'vp0', bridgeName: 'vbr' });
    for (const e of entries) expect(await h().fdb.delete(e)).toBe(true);
    expect(bridgeJson(ns(), 'fdb', 'show', 'dev', 'vp0').filter((e) => e.mac.startsWith('02:00:00:00:07'))).toEqual([]);
    // deleting them again: NotFoundError, or false with missingOk
    expect(await thrown(h().fdb.delete(entries[0]))).toBeInstanceOf(NotFoundError);
    expect(await h().fdb.delete(entries[0], { missingOk: true })).toBe(false);
  });

  it('an FDB entry for a bridge the link is not a port of is refused before it is sent', async () => {
    await h().links.add({ name: 'vbr2', kind: 'bridge' });
    const err = await thrown(h().fdb.add({ mac: '02:00:00:00:07:03', link: 'vp0', bridge: 'vbr2' }));
    expect(err).toMatchObject({ name: 'ValidationError', field: 'bridge' });
    expect(bridgeJson(ns(), 'fdb', 'show').some((e) => e.mac === '02:00:00:00:07:03')).toBe(false);
  });

  it('links carry master and parent names; Link is typed by kind', async () => {
    const port = await h().links.get('vp0');
    expect(port).toMatchObject({ master: (await h().links.get('vbr')).index, masterName: 'vbr', parentName: 'vp1' });
    const listed = (await h().links.list({ kind: 'veth' })).find((l) => l.name === 'vp0')!;
    expect(listed.masterName).toBe('vbr');
    const br = await h().links.get('vbr');
    if (br.kind !== 'bridge') throw new Error(`vbr is ${br.kind}`);
    expect(br.info.stp).toBe(ipJson(ns(), '-d', 'link', 'show', 'vbr')[0].linkinfo.info_data.stp_state !== 0);
    ip(ns(), 'link', 'add', 'vifb', 'type', 'ifb'); // a kind nlkit does not decode
    expect(await h().links.get('vifb')).toMatchObject({ kind: 'ifb', info: {} });
  });

  it('delete resolves to true once it removed the object, links included', async () => {
    expect(await h().links.delete('vbr2')).toBe(true);
    expect(await h().links.delete('vbr2', { missingOk: true })).toBe(false);
    expect(await h().addresses.delete('vbr', '10.70.0.1/24')).toBe(true);
    expect(ipJson(ns(), 'addr', 'show', 'dev', 'vbr')[0].addr_info.filter((a: any) => a.family === 'inet')).toEqual([]);
  });
});
