// Changing a link's kind settings after creation, as `ip link set ... type
// bridge|vxlan|macvlan ...` does: read back by nlkit and by `ip -d -j`.
import { describe, expect, it } from 'vitest';
import { NetlinkError, ValidationError } from '../../lib';
import { ipJson, useNetns } from '../helpers/netns';

describe('links.set: kind settings of an existing link', () => {
  const box = useNetns('kinds');
  const h = () => box.h('kinds');
  const details = (name: string) => ipJson(box.ns('kinds'), '-d', 'link', 'show', name)[0].linkinfo.info_data;

  // (VLAN filtering is not built into the test kernel: `ip` is refused the same way.)
  it('changes a bridge: stp, times, priority, snooping', async () => {
    await h().links.add({ name: 'br0', kind: 'bridge' });
    await h().links.set('br0', { bridge: { stp: true, forwardDelay: 4, ageingTime: 100, priority: 4096, multicastSnooping: false } });
    expect((await h().links.get('br0')).info).toMatchObject({ stp: true, forwardDelay: 4, ageingTime: 100, priority: 4096, multicastSnooping: false });
    expect(details('br0')).toMatchObject({ stp_state: 1, forward_delay: 400, ageing_time: 10000, priority: 4096, mcast_snooping: 0 });
    // Together with common changes, in one request.
    await h().links.set('br0', { up: true, mtu: 1400, bridge: { stp: false } });
    expect(await h().links.get('br0')).toMatchObject({ up: true, mtu: 1400, info: { stp: false } });
  });

  it('changes what the kernel allows on a vxlan, and refuses the rest before sending', async () => {
    await h().links.add({ name: 'vx0', kind: 'vxlan', vni: 42, remote: '10.9.0.1', ttl: 10 });
    await h().links.set('vx0', { vxlan: { remote: '10.9.0.2', ttl: 32, tos: 4, learning: false, ageing: 120 } });
    expect((await h().links.get('vx0')).info).toMatchObject({ vni: 42, remote: '10.9.0.2', ttl: 32, tos: 4, learning: false, ageing: 120 });
    expect(details('vx0')).toMatchObject({ id: 42, remote: '10.9.0.2', ttl: 32, learning: false, ageing: 120 });
    // The kernel refuses changing the VNI or the limit: nlkit says so before sending.
    await expect(h().links.set('vx0', { vxlan: { vni: 43 } as never })).rejects.toThrow(ValidationError);
    await expect(h().links.set('vx0', { vxlan: { maxAddresses: 50 } as never })).rejects.toThrow(ValidationError);
    await expect(h().links.set('vx0', { vxlan: { ttl: 'inherit' as never } })).rejects.toThrow(ValidationError);
    expect((await h().links.get('vx0')).info).toMatchObject({ vni: 42, ttl: 32 });
  });

  it('changes a macvlan mode', async () => {
    await h().links.add({ name: 'lower0', kind: 'veth', peer: { name: 'lower1' } });
    await h().links.add({ name: 'mv0', kind: 'macvlan', parent: 'lower0', mode: 'bridge' });
    await h().links.set('mv0', { macvlan: { mode: 'private' } });
    expect((await h().links.get('mv0')).info).toMatchObject({ mode: 'private' });
    expect(details('mv0')).toMatchObject({ mode: 'private' });
  });

  it('refuses settings of another kind (the kernel), two kinds at once and unknown keys (nlkit, before sending)', async () => {
    const err = await h()
      .links.set('br0', { vxlan: { ttl: 3 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).operation).toBe('set link br0');
    await expect(h().links.set('br0', { bridge: { stp: true }, macvlan: { mode: 'vepa' } })).rejects.toThrow(ValidationError);
    await expect(h().links.set('br0', { bridge: { stpp: true } as never })).rejects.toThrow(/unknown option/);
    await expect(h().links.set('mv0', { macvlan: { mode: 'sideways' as never } })).rejects.toThrow(ValidationError);
    expect((await h().links.get('br0')).info).toMatchObject({ stp: false });
  });
});
