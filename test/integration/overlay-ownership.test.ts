// What an overlay may touch: only a VXLAN device it made (marked by its
// alias), only the peers' entries it wrote successfully counted as applied,
// and only protocol-78 routes inside its cluster CIDR. Foreign devices and
// routes are made with `ip` and must survive.
import { describe, expect, it } from 'vitest';
import { createOverlay, type OverlaySpec } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

const CLUSTER = '10.244.0.0/16';

/** An underlay link "ul0" with an address (one end of a veth pair, both ends in the namespace and up). */
function underlay(ns: string, cidr: string): void {
  ip(ns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1');
  ip(ns, 'addr', 'add', cidr, 'dev', 'ul0');
  ip(ns, 'link', 'set', 'ul1', 'up');
  ip(ns, 'link', 'set', 'ul0', 'up');
}

function linkOf(ns: string, dev: string): { ifindex: number; ifalias?: string; linkinfo?: { info_kind: string } } | undefined {
  return ipJson<any[]>(ns, '-d', 'link', 'show').find((l) => l.ifname === dev);
}

function protoRoutes(ns: string): string[] {
  return ipJson<any[]>(ns, '-4', 'route', 'show', 'proto', '78')
    .map((r) => `${r.dst} via ${r.gateway}`)
    .sort();
}

describe('overlay device ownership', () => {
  const box = useNetns('own');
  const spec = (device: string): OverlaySpec => ({ clusterCidr: CLUSTER, subnet: '10.244.1.0/24', underlay: { link: 'ul0', address: '172.31.0.1' }, device });

  it('refuses a foreign vxlan device under its name, before touching it', async () => {
    const ns = box.ns('own');
    underlay(ns, '172.31.0.1/24');
    ip(ns, 'link', 'add', 'ovx-a', 'type', 'vxlan', 'id', '2', 'local', '172.31.0.1', 'dstport', '8472', 'dev', 'ul0');
    const before = linkOf(ns, 'ovx-a');
    await expect(createOverlay(box.h('own'), spec('ovx-a'))).rejects.toMatchObject({ name: 'ValidationError', field: 'device' });
    expect(linkOf(ns, 'ovx-a')?.ifindex).toBe(before?.ifindex);
  });

  it('refuses a device of another kind (a veth) under its name', async () => {
    const ns = box.ns('own');
    ip(ns, 'link', 'add', 'ovx-b', 'type', 'veth', 'peer', 'name', 'ovx-b-peer');
    await expect(createOverlay(box.h('own'), spec('ovx-b'))).rejects.toMatchObject({ name: 'ValidationError', field: 'device' });
    expect(linkOf(ns, 'ovx-b')?.linkinfo?.info_kind).toBe('veth');
  });

  it('marks the device it makes, keeps it across a restart, and delete() removes it', async () => {
    const ns = box.ns('own');
    const ov = await createOverlay(box.h('own'), spec('ovx-c'));
    const made = linkOf(ns, 'ovx-c');
    expect(made?.ifalias).toBe(`nlkit-overlay:${CLUSTER}`);
    const restarted = await createOverlay(box.h('own'), spec('ovx-c'));
    expect(linkOf(ns, 'ovx-c')?.ifindex).toBe(made?.ifindex);
    await restarted.apply([{ name: 'p', subnet: '10.244.2.0/24', underlay: '172.31.0.2', mac: '0a:58:0a:f4:02:00' }]);
    expect(await restarted.check()).toEqual([]);
    await ov.delete();
    expect(linkOf(ns, 'ovx-c')).toBeUndefined();
  });

  it('a foreign device put under its name afterwards is drift; reconcile(), apply(), join() and delete() refuse to touch it', async () => {
    const ns = box.ns('own');
    const ov = await createOverlay(box.h('own'), spec('ovx-d'));
    const peer = { name: 'p', subnet: '10.244.2.0/24', underlay: '172.31.0.2', mac: '0a:58:0a:f4:02:00' };
    ip(ns, 'link', 'del', 'ovx-d');
    ip(ns, 'link', 'add', 'ovx-d', 'type', 'veth', 'peer', 'name', 'ovx-d-peer');
    const foreign = linkOf(ns, 'ovx-d');
    expect((await ov.check()).map((d) => d.kind)).toEqual(['device-wrong']);
    await expect(ov.reconcile()).rejects.toMatchObject({ name: 'ValidationError', field: 'device' });
    await expect(ov.apply([peer])).rejects.toMatchObject({ name: 'ValidationError', field: 'device' });
    await expect(ov.join(peer)).rejects.toMatchObject({ name: 'ValidationError', field: 'device' });
    await expect(ov.delete()).rejects.toMatchObject({ name: 'ValidationError', field: 'device' });
    expect(linkOf(ns, 'ovx-d')?.ifindex).toBe(foreign?.ifindex);
    expect(ipJson<any[]>(ns, '-4', 'route', 'show', 'dev', 'ovx-d')).toEqual([]);
  });
});

describe('overlay writes that fail part-way', () => {
  const box = useNetns('fail');
  const peer = { name: 'far', subnet: '10.244.2.0/24', underlay: '172.31.2.5' };

  it('a peer whose route the kernel refused is written again by the next apply() and join()', async () => {
    const ns = box.ns('fail');
    underlay(ns, '172.31.1.1/24');
    const ov = await createOverlay(box.h('fail'), {
      clusterCidr: CLUSTER,
      subnet: '10.244.1.0/24',
      underlay: { link: 'ul0', address: '172.31.1.1' },
      mode: 'host-gw',
    });
    // Its underlay address is not on the link yet: the kernel refuses the route's gateway.
    await expect(ov.apply([peer])).rejects.toThrow();
    await expect(ov.join({ ...peer, name: 'far2', subnet: '10.244.3.0/24' })).rejects.toThrow();
    expect(protoRoutes(ns)).toEqual([]);
    ip(ns, 'addr', 'add', '172.31.2.1/24', 'dev', 'ul0');
    await ov.join({ ...peer, name: 'far2', subnet: '10.244.3.0/24' });
    expect(await ov.apply([peer, { ...peer, name: 'far2', subnet: '10.244.3.0/24' }])).toEqual({ joined: ['far'], updated: [], left: [] });
    expect(protoRoutes(ns)).toEqual(['10.244.2.0/24 via 172.31.2.5', '10.244.3.0/24 via 172.31.2.5']);
    expect(await ov.check()).toEqual([]);
  });
});

describe('host-gw routes of another user of protocol 78', () => {
  const box = useNetns('proto');

  it('a protocol-78 route outside the cluster CIDR survives apply() and reconcile(), and is no drift', async () => {
    const ns = box.ns('proto');
    underlay(ns, '172.31.3.1/24');
    ip(ns, 'route', 'add', '10.99.0.0/24', 'via', '172.31.3.9', 'dev', 'ul0', 'proto', '78');
    const ov = await createOverlay(box.h('proto'), {
      clusterCidr: CLUSTER,
      subnet: '10.244.1.0/24',
      underlay: { link: 'ul0', address: '172.31.3.1' },
      mode: 'host-gw',
    });
    await ov.apply([{ name: 'p', subnet: '10.244.2.0/24', underlay: '172.31.3.2' }]);
    expect(await ov.check()).toEqual([]);
    await ov.reconcile();
    expect(protoRoutes(ns)).toEqual(['10.244.2.0/24 via 172.31.3.2', '10.99.0.0/24 via 172.31.3.9']);
    // A stray one inside the cluster CIDR is still the overlay's to remove.
    ip(ns, 'route', 'add', '10.244.9.0/24', 'via', '172.31.3.9', 'dev', 'ul0', 'proto', '78');
    expect((await ov.check()).map((d) => d.kind)).toEqual(['route-foreign']);
    await ov.reconcile();
    expect(protoRoutes(ns)).toEqual(['10.244.2.0/24 via 172.31.3.2', '10.99.0.0/24 via 172.31.3.9']);
  });

  it('refuses an underlay address the underlay link does not have, making nothing', async () => {
    const ns = box.ns('proto');
    for (const mode of ['vxlan', 'host-gw'] as const) {
      const spec = { clusterCidr: CLUSTER, subnet: '10.244.1.0/24', underlay: { link: 'ul0', address: '172.31.3.99' }, mode, device: 'ovx-u' };
      // vxlan: the device sent from an address the host lacks, and every packet was lost without an error.
      await expect(createOverlay(box.h('proto'), spec)).rejects.toMatchObject({ name: 'ValidationError', field: 'underlay.address' });
      await expect(createOverlay(box.h('proto'), { ...spec, underlay: { link: 'nope0', address: '172.31.3.1' } })).rejects.toMatchObject({
        name: 'NotFoundError',
      });
    }
    expect(linkOf(ns, 'ovx-u')).toBeUndefined();
  });

  it("delete() by a restarted agent (no peers applied yet) removes the earlier run's routes, and only those", async () => {
    const ns = box.ns('proto');
    const spec = { clusterCidr: CLUSTER, subnet: '10.244.1.0/24', underlay: { link: 'ul0', address: '172.31.3.1' }, mode: 'host-gw' as const };
    await (await createOverlay(box.h('proto'), spec)).apply([{ name: 'p', subnet: '10.244.2.0/24', underlay: '172.31.3.2' }]);
    expect(protoRoutes(ns)).toEqual(['10.244.2.0/24 via 172.31.3.2', '10.99.0.0/24 via 172.31.3.9']);
    // The routes went to the routing table of a host that had left the overlay.
    await (await createOverlay(box.h('proto'), spec)).delete();
    expect(protoRoutes(ns)).toEqual(['10.99.0.0/24 via 172.31.3.9']);
  });
});
