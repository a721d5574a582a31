// The uplink of a test "host": a veth `uplink` in the host namespace whose peer is `eth0` of a neighbour
// namespace (the LAN a published port is reached from), both up, with an address on each side.
import type { Sandbox } from './netns';

export interface UplinkAddresses {
  /** The host's uplink address (/24). */
  host: string;
  /** The neighbour's address on the same /24. */
  neighbour: string;
  /** IPv6 of each side (/64, no DAD), when the test is dual-stack. */
  host6?: string;
  neighbour6?: string;
}

/** Wires `box`'s `host` namespace to its `nb` namespace through the uplink veth. */
export async function wireUplink(box: Sandbox, a: UplinkAddresses): Promise<void> {
  const host = box.h('host');
  const nb = box.h('nb');
  await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: box.ns('nb') } });
  await host.addresses.add('uplink', `${a.host}/24`);
  if (a.host6) await host.addresses.add('uplink', `${a.host6}/64`, { nodad: true });
  await nb.links.set('eth0', { up: true });
  await nb.addresses.add('eth0', `${a.neighbour}/24`);
  if (a.neighbour6) await nb.addresses.add('eth0', `${a.neighbour6}/64`, { nodad: true });
}
