// Every address option, made by nlkit and read by ip, made by ip and read by nlkit.
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, ValidationError, type Address } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

const FOREVER = 4294967295;

/** `ip -j addr show dev DEV`'s addr_info entries. */
function ipAddrs(ns: string, dev: string): any[] {
  return ipJson(ns, 'addr', 'show', 'dev', dev)[0].addr_info;
}

/** ip's flag keys of an addr_info entry (each printed as `"name": true`). */
const IP_FLAG_KEYS = [
  'dynamic',
  'secondary',
  'nodad',
  'optimistic',
  'dadfailed',
  'home',
  'deprecated',
  'tentative',
  'mngtmpaddr',
  'noprefixroute',
  'autojoin',
  'stable-privacy',
];

/** Compares one nlkit address with ip's view of it, field for field. */
function expectSame(ours: Address, theirs: any): void {
  expect(ours.address).toBe(theirs.local);
  expect(ours.family).toBe(theirs.family === 'inet' ? 4 : 6);
  expect(ours.prefixLength).toBe(theirs.prefixlen);
  expect(ours.scope).toBe(theirs.scope);
  expect(ours.broadcast).toBe(theirs.broadcast);
  expect(ours.label).toBe(theirs.label);
  expect(ours.peer).toBe(theirs.address);
  expect(ours.metric).toBe(theirs.metric);
  expect(ours.flags.sort()).toEqual(IP_FLAG_KEYS.filter((k) => theirs[k] === true).sort());
  // Lifetimes count down between the two reads: allow the seconds that may have passed.
  for (const [o, t] of [
    [ours.validLifetime, theirs.valid_life_time],
    [ours.preferredLifetime, theirs.preferred_life_time],
  ]) {
    if (t === FOREVER) expect(o).toBeUndefined();
    else expect(Math.abs((o as number) - t)).toBeLessThanOrEqual(2);
  }
}

describe('addresses', () => {
  const box = useNetns('a');
  const ns = () => box.ns('a');
  const h = () => box.h('a');

  it('adds with every option; ip reads the same values', async () => {
    await h().links.add({ name: 'd0', kind: 'veth', peer: { name: 'd1' }, up: true });
    await h().addresses.add('d0', '10.3.0.1/24', { broadcast: '10.3.0.255', label: 'd0:web', scope: 'link' });
    await h().addresses.add('d0', '10.4.0.1/24', { broadcast: true, noprefixroute: true, validLifetime: 1000, preferredLifetime: 500 });
    await h().addresses.add('d0', '10.10.0.1/24', { metric: 33 });
    await h().addresses.add('d0', '10.3.0.2/24', { label: 'd0', scope: 'link' }); // a secondary of 10.3.0.1/24
    await h().addresses.add('d0', '10.5.0.1/32', { peer: '10.5.0.2/32' });
    await h().addresses.add('d0', 'fd00:1::1/64', { nodad: true, validLifetime: 2000 });
    await h().addresses.add('d0', 'fd00:2::1/64', { nodad: true, noprefixroute: true, scope: 'site' });

    const ours = await h().addresses.list({ link: 'd0' });
    const theirs = ipAddrs(ns(), 'd0');
    expect(ours.length).toBe(theirs.length);
    for (const t of theirs)
      expectSame(
        ours.find((o) => o.address === t.local)!,
        t,
      );

    const byAddr = (a: string) => ours.find((o) => o.address === a)!;
    expect(byAddr('10.3.0.1')).toMatchObject({ broadcast: '10.3.0.255', label: 'd0:web', scope: 'link' });
    expect(byAddr('10.4.0.1').broadcast).toBe('10.4.0.255');
    expect(byAddr('10.4.0.1').flags).toEqual(expect.arrayContaining(['dynamic', 'noprefixroute']));
    expect(byAddr('10.3.0.2').flags).toContain('secondary');
    expect(byAddr('10.10.0.1').metric).toBe(33);
    expect(byAddr('10.5.0.1').peer).toBe('10.5.0.2');
    expect(byAddr('fd00:1::1').flags).toEqual(expect.arrayContaining(['nodad', 'dynamic']));
    // (IPv6 scopes follow from the address itself: the kernel ignores the one given)

    // noprefixroute: no route for 10.4.0.0/24; the metric goes to the prefix route
    expect(ipJson(ns(), '-4', 'route', 'show', '10.4.0.0/24')).toEqual([]);
    expect(ipJson(ns(), '-4', 'route', 'show', '10.10.0.0/24').map((r: any) => r.metric)).toEqual([33]);
    expect(ipJson(ns(), '-6', 'route', 'show', 'fd00:2::/64')).toEqual([]);
    expect(ipJson(ns(), '-6', 'route', 'show', 'fd00:1::/64').length).toBe(1);
  });

  it('reads addresses made by ip with every option', async () => {
    ip(ns(), 'addr', 'add', '10.6.0.1/16', 'brd', '10.6.255.254', 'dev', 'd1', 'label', 'd1:x', 'scope', 'host');
    ip(ns(), 'addr', 'add', '10.7.0.1/24', 'dev', 'd1', 'valid_lft', '900', 'preferred_lft', '300', 'noprefixroute', 'metric', '5');
    ip(ns(), 'addr', 'add', '10.8.0.1', 'peer', '10.8.0.9/32', 'dev', 'd1');
    ip(ns(), 'addr', 'add', 'fd00:3::1/64', 'dev', 'd1', 'nodad', 'valid_lft', '600', 'preferred_lft', '0');
    const ours = await h().addresses.list({ link: 'd1' });
    for (const t of ipAddrs(ns(), 'd1'))
      expectSame(
        ours.find((o) => o.address === t.local)!,
        t,
      );
    const v6 = ours.find((o) => o.address === 'fd00:3::1')!;
    expect(v6.flags).toContain('deprecated'); // preferred_lft 0
    expect(v6.preferredLifetime).toBe(0);
    const x = ours.find((o) => o.address === '10.6.0.1')!;
    expect(x).toMatchObject({ label: 'd1:x', scope: 'host', broadcast: '10.6.255.254', prefixLength: 16 });
  });

  it('replaces: updates lifetimes and the prefix-route metric of an existing address', async () => {
    await h().addresses.replace('d0', '10.4.0.1/24', { broadcast: true, validLifetime: 5000, preferredLifetime: 4000 });
    const a = (await h().addresses.list({ link: 'd0', family: 4 })).find((x) => x.address === '10.4.0.1')!;
    const t = ipAddrs(ns(), 'd0').find((x) => x.local === '10.4.0.1');
    expectSame(a, t);
    expect(a.validLifetime).toBeGreaterThan(4990);
    expect(a.preferredLifetime).toBeGreaterThan(3990);
    await h().addresses.replace('d0', '10.10.0.1/24', { metric: 44 });
    expect(ipAddrs(ns(), 'd0').find((x) => x.local === '10.10.0.1').metric).toBe(44);
    expect((await h().addresses.list({ link: 'd0' })).find((x) => x.address === '10.10.0.1')!.metric).toBe(44);
    expect(ipJson(ns(), '-4', 'route', 'show', '10.10.0.0/24').map((r: any) => r.metric)).toEqual([44]);
    // and adds when absent
    await h().addresses.replace('d0', '10.9.0.1/24');
    expect(ipAddrs(ns(), 'd0').some((x) => x.local === '10.9.0.1')).toBe(true);
  });

  it('deletes (also point-to-point addresses, by their peer) and flushes', async () => {
    const e = await h()
      .addresses.delete('d0', '10.5.0.1/32')
      .catch((x) => x);
    expect(e.code).toBe('EADDRNOTAVAIL'); // the peer is part of the key
    await h().addresses.delete('d0', '10.5.0.1/32', { peer: '10.5.0.2' });
    expect(ipAddrs(ns(), 'd0').some((x) => x.local === '10.5.0.1')).toBe(false);
    await h().addresses.delete('d0', 'fd00:2::1/64');
    expect(ipAddrs(ns(), 'd0').some((x) => x.local === 'fd00:2::1')).toBe(false);

    const n = await h().addresses.flush('d1', 4);
    expect(n).toBe(3);
    expect(ipAddrs(ns(), 'd1').filter((x) => x.family === 'inet')).toEqual([]);
    expect(ipAddrs(ns(), 'd1').some((x) => x.local === 'fd00:3::1')).toBe(true);
    await h().addresses.flush('d1');
    expect(ipAddrs(ns(), 'd1')).toEqual([]);
  });

  it('reports refusals with the kernel text, and refuses bad input before sending', async () => {
    await h().addresses.add('d0', 'fd00:4::1/64', { nodad: true });
    const dup = await h()
      .addresses.add('d0', 'fd00:4::1/64', { nodad: true })
      .catch((x) => x);
    expect(dup).toBeInstanceOf(NetlinkError);
    expect(dup.code).toBe('EEXIST');
    expect(dup.extack).toBe('ipv6: address already assigned');
    const dup4 = await h()
      .addresses.add('d0', '10.3.0.1/24', { scope: 'link' })
      .catch((x) => x);
    expect([dup4.code, dup4.extack]).toEqual(['EEXIST', 'ipv4: Address already assigned']);
    const gone = await h()
      .addresses.delete('d0', '10.99.0.1/24')
      .catch((x) => x);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(gone.code).toBe('EADDRNOTAVAIL');
    expect(gone.extack).toBe('ipv4: Address not found');
    // a secondary must share its primary's scope: the kernel says so in its extended ack
    const scope = await h()
      .addresses.add('d0', '10.3.0.3/24', { scope: 'global' })
      .catch((x) => x);
    expect(scope.code).toBe('EINVAL');
    expect(scope.extack).toBe('ipv4: Invalid scope value');
    const noLink = await h()
      .addresses.add('nosuch0', '10.1.1.1/24')
      .catch((x) => x);
    expect(noLink.code).toBe('ENODEV');

    await expect(h().addresses.add('d0', '10.1.1.1/24', { label: 'other:1' })).rejects.toBeInstanceOf(ValidationError);
    await expect(h().addresses.add('d0', 'fd00::9/64', { broadcast: true })).rejects.toBeInstanceOf(ValidationError);
    await expect(h().addresses.add('d0', '10.1.1.1/24', { validLifetime: 10, preferredLifetime: 20 })).rejects.toBeInstanceOf(ValidationError);
    await expect(h().addresses.add('d0', '10.1.1.1/24', { validLifetime: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(h().addresses.add('d0', '10.1.1.1/24', { scope: 'galaxy' })).rejects.toBeInstanceOf(ValidationError);
  });

  it("add and replace take one object { link, cidr, ...options } (the verb table's add(object)); a wrong key names the field", async () => {
    await h().links.add({ name: 'ob0', kind: 'veth', peer: { name: 'ob1' }, up: true });
    const a = h().addresses;
    await a.add({ link: 'ob0', cidr: '10.31.0.1/24', metric: 31 });
    await a.replace({ link: 'ob0', cidr: 'fd31::1/64', nodad: true });
    await a.replace({ link: 'ob0', cidr: '10.31.0.1/24', metric: 32 });
    const theirs = ipAddrs(ns(), 'ob0').filter((x) => !x.local.startsWith('fe80'));
    expect(theirs.map((x) => [x.local, x.prefixlen, x.metric])).toEqual([
      ['10.31.0.1', 24, 32],
      ['fd31::1', 64, undefined],
    ]);
    // `{ link, address }` was read as a link and no address: "invalid address undefined".
    for (const [call, field] of [
      [() => a.add({ link: 'ob0', address: '10.31.1.1/24' } as never), 'address'],
      [() => a.add({ link: 'ob0', cidr: '10.31.1.1/24', metrc: 5 } as never), 'address'],
      [() => a.add({ cidr: '10.31.1.1/24' } as never), 'link'],
      [() => a.replace({ link: 'ob0' } as never), 'cidr'],
      [() => (a.add as (l: string) => Promise<void>)('ob0'), 'cidr'],
    ] as const) {
      const e = await call().catch((x: unknown) => x);
      expect(e, field).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field, field).toBe(field);
    }
    expect(ipAddrs(ns(), 'ob0').some((x) => x.local === '10.31.1.1')).toBe(false);
  });
});
