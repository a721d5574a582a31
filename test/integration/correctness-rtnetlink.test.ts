// rtnetlink answers compared with ip's, in throw-away namespaces.
import { beforeAll, describe, expect, it } from 'vitest';
import { ip, ipJson, useNetns } from '../helpers/netns';

interface IpRouteGet {
  dst: string;
  table?: string;
  dev?: string;
}

describe('routes.lookup reports the table the kernel matched in, like ip route get', () => {
  const box = useNetns('lookup');
  beforeAll(async () => {
    const h = box.h('lookup');
    await h.links.add({ name: 'd0', kind: 'bridge' });
    await h.links.set('d0', { up: true });
    await h.addresses.add('d0', '10.88.0.1/24');
    await h.routes.add({ dst: '198.51.100.0/24', link: 'd0', table: 100 });
    ip(box.ns('lookup'), 'rule', 'add', 'fwmark', '0x10', 'table', '100');
    ip(box.ns('lookup'), 'rule', 'add', 'from', '10.88.0.1', 'table', '100');
    await h.addresses.add('d0', 'fd88::1/64');
    await h.routes.add({ dst: '2001:db8:5::/64', link: 'd0', table: 100 });
    ip(box.ns('lookup'), '-6', 'rule', 'add', 'fwmark', '0x10', 'table', '100');
  });

  const cases: { name: string; dst: string; ipArgs: string[]; opts: Record<string, unknown> }[] = [
    { name: 'a main-table route', dst: '10.88.0.7', ipArgs: [], opts: {} },
    { name: 'a local address', dst: '10.88.0.1', ipArgs: [], opts: {} },
    { name: 'a fwmark rule to table 100', dst: '198.51.100.9', ipArgs: ['mark', '0x10'], opts: { mark: 0x10 } },
    { name: 'a source rule to table 100', dst: '198.51.100.9', ipArgs: ['from', '10.88.0.1'], opts: { from: '10.88.0.1' } },
    { name: 'fibmatch via a fwmark rule', dst: '198.51.100.9', ipArgs: ['mark', '0x10', 'fibmatch'], opts: { mark: 0x10, fibMatch: true } },
    { name: 'an IPv6 fwmark rule to table 100', dst: '2001:db8:5::9', ipArgs: ['mark', '0x10'], opts: { mark: 0x10 } },
    { name: 'IPv6 fibmatch via a fwmark rule', dst: '2001:db8:5::9', ipArgs: ['mark', '0x10', 'fibmatch'], opts: { mark: 0x10, fibMatch: true } },
    { name: 'fibmatch of a local address', dst: '10.88.0.1', ipArgs: ['fibmatch'], opts: { fibMatch: true } },
  ];
  for (const c of cases) {
    it(`for ${c.name}`, async () => {
      const [theirs] = ipJson<IpRouteGet[]>(box.ns('lookup'), 'route', 'get', c.dst, ...c.ipArgs);
      const ours = await box.h('lookup').routes.lookup(c.dst, c.opts);
      expect(ours.table).toBe(theirs.table ?? 'main');
      expect(ours.linkName).toBe(theirs.dev);
    });
  }

  it('the fixture really leaves the main table for the rules (table 100 and local)', async () => {
    expect(ipJson<IpRouteGet[]>(box.ns('lookup'), 'route', 'get', '198.51.100.9', 'mark', '0x10')[0].table).toBe('100');
    expect(ipJson<IpRouteGet[]>(box.ns('lookup'), 'route', 'get', '10.88.0.1')[0].table).toBe('local');
  });
});

describe('links.set alias', () => {
  const box = useNetns('alias');

  it('sets a 255-byte alias, the longest ip accepts, and reads it back like ip', async () => {
    const h = box.h('alias');
    await h.links.add({ name: 'b0', kind: 'bridge' });
    const alias = 'x'.repeat(254) + 'y';
    await h.links.set('b0', { alias });
    const [theirs] = ipJson<{ ifalias?: string }[]>(box.ns('alias'), 'link', 'show', 'b0');
    expect(theirs.ifalias).toBe(alias);
    expect((await h.links.get('b0')).alias).toBe(alias);
  });
});
