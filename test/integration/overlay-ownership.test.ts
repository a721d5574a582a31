// What an overlay may touch: only a VXLAN device it made (marked by its
// alias), only the peers' entries it wrote successfully counted as applied,
// and only protocol-78 routes inside its cluster CIDR. Foreign devices and
// routes are made with `ip` and must survive.
import { describe, expect, it } from 'vitest';
import { createOverlay } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

const CLUSTER = '10.244.0.0/16';

/** An underlay link "ul0" with an address (one end of a veth pair, both ends in the namespace and up). */
function underlay(ns: string, cidr: string): void {
  ip(ns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1');
  ip(ns, 'addr', 'add', cidr, 'dev', 'ul0');
  ip(ns, 'link', 'set', 'ul1', 'up');
  ip(ns, 'link', 'set', 'ul0', 'up');
}

function protoRoutes(ns: string): string[] {
  return ipJson<any[]>(ns, '-4', 'route', 'show', 'proto', '78')
    .map((r) => `${r.dst} via ${r.gateway}`)
    .sort();
}

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
});
