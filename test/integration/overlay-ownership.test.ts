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
