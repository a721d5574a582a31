// A peer's entries on the overlay's VXLAN device, as a membership store
// (untrusted input) and other hands (`bridge fdb`) can get them wrong: checked
// with `bridge -j fdb` and `ip -j neigh`.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createOverlay, ValidationError, type OverlaySpec } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

function bridge(ns: string, ...args: string[]): void {
  execFileSync('bridge', ['-n', ns, ...args]);
}

function bridgeFdb(ns: string, dev: string): Array<Record<string, unknown>> {
  return JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }) || '[]') as Array<Record<string, unknown>>;
}

describe('overlay peer entries', () => {
  const box = useNetns('pe');
  const spec = (device: string): OverlaySpec => ({
    clusterCidr: '10.244.0.0/16',
    subnet: '10.244.1.0/24',
    underlay: { link: 'ul0', address: '172.31.0.1' },
    device,
  });
  const good = { name: 'good', subnet: '10.244.2.0/24', underlay: '172.31.0.2', mac: '0a:58:0a:f4:02:00' };

  it('refuses a peer MAC that is all-zero or multicast before writing anything', async () => {
    const ns = box.ns('pe');
    ip(ns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1');
    ip(ns, 'addr', 'add', '172.31.0.1/24', 'dev', 'ul0');
    ip(ns, 'link', 'set', 'ul1', 'up');
    ip(ns, 'link', 'set', 'ul0', 'up');
    const ov = await createOverlay(box.h('pe'), spec('pvx-a'));
    for (const mac of ['00:00:00:00:00:00', '01:00:5e:00:00:01', '33:33:00:00:00:01', 'ff:ff:ff:ff:ff:ff']) {
      const bad = { name: 'bad', subnet: '10.244.3.0/24', underlay: '172.31.0.3', mac };
      // The good peer came first and was written; the kernel then refused the bad one (EOPNOTSUPP) half-way through the list.
      const e = await ov.apply([good, bad]).catch((x: unknown) => x);
      expect(e, mac).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe('peer.mac');
      await expect(ov.join(bad)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(bridgeFdb(ns, 'pvx-a')).toEqual([]);
    expect(ipJson(ns, 'neigh', 'show', 'dev', 'pvx-a')).toEqual([]);
    expect(ipJson(ns, 'route', 'show', 'dev', 'pvx-a')).toEqual([]);
    expect(ov.peers()).toEqual([]);
    await ov.delete();
  });

  it('finds a peer FDB entry sending to another UDP port, VNI or interface, and reconcile() rewrites it', async () => {
    const ns = box.ns('pe');
    const ov = await createOverlay(box.h('pe'), spec('pvx-b'));
    await ov.apply([good]);
    const written = bridgeFdb(ns, 'pvx-b');
    expect(written).toEqual([{ mac: good.mac, dst: good.underlay, flags: ['self'], state: 'permanent' }]);
    for (const [change, detail] of [
      [['port', '9999'], `${good.mac} dst ${good.underlay} port 9999`],
      [['vni', '7'], `${good.mac} dst ${good.underlay} vni 7`],
      [['via', 'ul1'], `${good.mac} dst ${good.underlay} via ul1`],
    ] as const) {
      // The underlay address is right, but the peer's VXLAN packets no longer reach it: check() said [].
      bridge(ns, 'fdb', 'replace', good.mac, 'dev', 'pvx-b', 'dst', good.underlay, ...change, 'self', 'permanent');
      expect(bridgeFdb(ns, 'pvx-b')).not.toEqual(written);
      expect(await ov.check()).toEqual([{ kind: 'fdb-wrong', peer: 'good', detail }]);
      expect((await ov.reconcile()).map((d) => d.kind)).toEqual(['fdb-wrong']);
      expect(bridgeFdb(ns, 'pvx-b')).toEqual(written);
      expect(await ov.check()).toEqual([]);
    }
    await ov.delete();
  });

  it('reconcile() removes a foreign FDB entry whose remote has its own UDP port, VNI or interface', async () => {
    const ns = box.ns('pe');
    const ov = await createOverlay(box.h('pe'), spec('pvx-c'));
    await ov.apply([good]);
    bridge(ns, 'fdb', 'add', '0a:58:0a:f4:09:00', 'dev', 'pvx-c', 'dst', '172.31.0.9', 'port', '9999', 'self', 'permanent');
    bridge(ns, 'fdb', 'add', '0a:58:0a:f4:0a:00', 'dev', 'pvx-c', 'dst', '172.31.0.10', 'vni', '7', 'self', 'permanent');
    bridge(ns, 'fdb', 'add', '0a:58:0a:f4:0b:00', 'dev', 'pvx-c', 'dst', '172.31.0.11', 'via', 'ul1', 'self', 'permanent');
    expect((await ov.check()).map((d) => d.kind)).toEqual(['fdb-foreign', 'fdb-foreign', 'fdb-foreign']);
    // The delete named the remote by its address alone: the kernel matched the device's port and VNI, found none, and the entries stayed.
    await ov.reconcile();
    expect(bridgeFdb(ns, 'pvx-c')).toEqual([{ mac: good.mac, dst: good.underlay, flags: ['self'], state: 'permanent' }]);
    expect(await ov.check()).toEqual([]);
    await ov.delete();
  });
  it("refuses a second peer with a peer's VTEP MAC, or an underlay address that is no host, before writing anything", async () => {
    const ns = box.ns('pe');
    const ov = await createOverlay(box.h('pe'), spec('pvx-d'));
    await ov.apply([good]);
    const written = bridgeFdb(ns, 'pvx-d');
    expect(written).toEqual([{ mac: good.mac, dst: good.underlay, flags: ['self'], state: 'permanent' }]);
    // The FDB entry is keyed by the MAC: the thief's entry replaced good's, and good's containers' traffic went to 172.31.0.9.
    const thief = { name: 'thief', subnet: '10.244.9.0/24', underlay: '172.31.0.9', mac: good.mac.toUpperCase() };
    const e = await ov.apply([good, thief]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('peer.mac');
    await expect(ov.join(thief)).rejects.toMatchObject({ field: 'peer.mac' });
    for (const underlay of ['0.0.0.0', '127.0.0.1', '239.1.1.1', '255.255.255.255']) {
      const odd = { name: 'odd', subnet: '10.244.8.0/24', underlay, mac: '0a:58:0a:f4:08:00' };
      await expect(ov.apply([good, odd]), underlay).rejects.toMatchObject({ field: 'peer.underlay' });
      await expect(ov.join(odd), underlay).rejects.toMatchObject({ field: 'peer.underlay' });
    }
    expect(bridgeFdb(ns, 'pvx-d')).toEqual(written);
    expect(ipJson(ns, 'route', 'show', 'dev', 'pvx-d').map((r) => r.dst)).toEqual([good.subnet]);
    expect(ov.peers().map((p) => p.name)).toEqual(['good']);
    await ov.delete();
  });
});
