// Per-interface IP settings (h.netconf, RTM_GETNETCONF) against
// `ip -j netconf show`: every entry of both families, after sysctls were
// changed on one interface; get by link, 'all' and 'default'; refusals.
import { describe, expect, it } from 'vitest';
import { NotFoundError, setSysctl, type Netconf } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

/** nlkit's entry in the shape `ip -j netconf show` prints it (the fields ip prints). */
function ipShape(c: Netconf): Record<string, unknown> {
  const out: Record<string, unknown> = { family: c.family === 4 ? 'inet' : 'inet6', interface: typeof c.link === 'number' ? c.linkName : c.link };
  out.forwarding = c.forwarding;
  if (c.rpFilter !== undefined) out.rp_filter = c.rpFilter;
  out.mc_forwarding = c.mcForwarding;
  out.proxy_neigh = c.proxyNeigh;
  out.ignore_routes_with_linkdown = c.ignoreRoutesWithLinkdown;
  return out;
}

const byName = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  `${String(a.family)}/${String(a.interface)}`.localeCompare(`${String(b.family)}/${String(b.interface)}`);

describe('netconf', () => {
  const box = useNetns('a');
  const h = () => box.h('a');

  it('lists what ip netconf shows, after the settings of one link were changed', async () => {
    ip(box.ns('a'), 'link', 'add', 'nc0', 'type', 'veth', 'peer', 'name', 'nc1');
    await setSysctl(box.ns('a'), 'net.ipv4.conf.nc0.forwarding', 1);
    await setSysctl(box.ns('a'), 'net.ipv4.conf.nc0.rp_filter', 2);
    await setSysctl(box.ns('a'), 'net.ipv4.conf.nc1.rp_filter', 1);
    await setSysctl(box.ns('a'), 'net.ipv6.conf.nc0.proxy_ndp', 1);
    await setSysctl(box.ns('a'), 'net.ipv6.conf.all.forwarding', 1);
    const all = await h().netconf.list();
    const fromIp = ipJson<Array<Record<string, unknown>>>(box.ns('a'), 'netconf', 'show');
    expect(all.map(ipShape).sort(byName)).toEqual(fromIp.sort(byName));
    expect(all.filter((c) => c.family === 4).length).toBe(fromIp.filter((c) => c.family === 'inet').length);
  });

  it('get reads one link, all or default, matching the sysctls', async () => {
    const nc0 = await h().netconf.get({ link: 'nc0', family: 4 });
    expect(nc0).toMatchObject({ family: 4, linkName: 'nc0', forwarding: true, rpFilter: 'loose' });
    expect((await h().netconf.get({ link: 'nc1', family: 4 })).rpFilter).toBe('strict');
    expect((await h().netconf.get({ link: nc0.link as number, family: 6 })).proxyNeigh).toBe(true);
    expect(await h().netconf.get({ link: 'all', family: 6 })).toMatchObject({ link: 'all', forwarding: true });
    expect((await h().netconf.get({ link: 'default', family: 4 })).link).toBe('default');
    // A listed entry is a key.
    const listed = (await h().netconf.list({ family: 4, link: 'nc0' }))[0];
    expect(await h().netconf.get(listed)).toEqual(listed);
    expect(await h().netconf.list({ link: 'all' })).toHaveLength(2);
  });

  it('a missing link is a NotFoundError (find: undefined); wrong keys are ValidationErrors', async () => {
    await expect(h().netconf.get({ link: 'nosuch0', family: 4 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(h().netconf.get({ link: 9999, family: 6 })).rejects.toBeInstanceOf(NotFoundError);
    expect(await h().netconf.find({ link: 'nosuch0', family: 4 })).toBeUndefined();
    await expect(h().netconf.get({ link: 'nc0', family: 5 } as never)).rejects.toMatchObject({ name: 'ValidationError', field: 'family' });
    await expect(h().netconf.get({ link: 'nc0' } as never)).rejects.toMatchObject({ name: 'ValidationError', field: 'family' });
    await expect(h().netconf.get({ link: 'nc0', family: 4, famly: 6 } as never)).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(h().netconf.list({ family: 4, dev: 'nc0' } as never)).rejects.toMatchObject({ name: 'ValidationError' });
  });
});
