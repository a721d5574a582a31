// Every route option, IPv4 and IPv6, made by nlkit and by ip, compared with
// `ip -d -j route` field for field; list filters; lookups; kernel refusals.
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, ValidationError, type Handle, type Route } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

/** nlkit's route in the shape `ip -d -j route show` prints it. */
async function ipShape(h: Handle, r: Route): Promise<Record<string, unknown>> {
  const names = new Map((await h.links.list()).map((l) => [l.index, l.name]));
  const full = r.family === 4 ? 32 : 128;
  const out: Record<string, unknown> = {
    type: r.type,
    dst: r.dstLength === full ? r.dst.replace(/\/\d+$/, '') : r.dst,
    table: r.table,
    protocol: r.protocol,
    scope: r.scope,
    flags: r.flags,
  };
  if (r.src) out.from = r.src;
  if (r.gateway) out.gateway = r.gateway;
  if (r.link !== undefined) out.dev = r.linkName;
  if (r.link !== undefined) expect(r.linkName).toBe(names.get(r.link));
  if (r.prefsrc) out.prefsrc = r.prefsrc;
  if (r.metric !== undefined) out.metric = r.metric;
  if (r.pref !== undefined) out.pref = r.pref;
  if (r.mtu !== undefined) out.metrics = [{ mtu: r.mtu }];
  if (r.multipath) {
    out.nexthops = r.multipath.map((n) => ({
      ...(n.gateway ? { gateway: n.gateway } : {}),
      dev: n.linkName,
      weight: n.weight,
      flags: n.flags,
    }));
  }
  return out;
}

/** ip's view of the routes of a family in every table, minus kernel-made multicast/link-local ones. */
function ipRoutes(ns: string, family: 4 | 6): any[] {
  return ipJson(ns, `-${family}`, '-d', 'route', 'show', 'table', 'all').filter(
    (r: any) => !(family === 6 && (r.dst.startsWith('ff00') || r.dst.startsWith('fe80'))),
  );
}

/** Every nlkit route equals ip's, and the two lists have the same routes. */
async function expectAllSame(h: Handle, ns: string, family: 4 | 6): Promise<void> {
  const ours = (await h.routes.list({ family, table: 'all' })).filter((r) => !(family === 6 && (r.dst.startsWith('ff00') || r.dst.startsWith('fe80'))));
  const theirs = ipRoutes(ns, family);
  const shaped = await Promise.all(ours.map((r) => ipShape(h, r)));
  const key = (r: any) => `${r.table}|${r.type}|${r.dst}|${r.metric ?? ''}|${r.dev ?? ''}`;
  expect(shaped.map(key).sort()).toEqual(theirs.map(key).sort());
  for (const t of theirs)
    expect(
      shaped.find((s) => key(s) === key(t)),
      key(t),
    ).toEqual(t);
}

describe('routes', () => {
  const box = useNetns('r');
  const ns = () => box.ns('r');
  const h = () => box.h('r');

  it('adds IPv4 routes with every option; ip -d -j reads each field the same', async () => {
    await h().links.add({ name: 'r0', kind: 'veth', peer: { name: 'r1' }, up: true });
    await h().links.add({ name: 'r2', kind: 'veth', peer: { name: 'r3' }, up: true });
    await h().links.set('r1', { up: true });
    await h().links.set('r3', { up: true });
    await h().addresses.add('r0', '10.1.0.1/24');
    await h().addresses.add('r2', '10.2.0.1/24');
    await h().addresses.add('r0', 'fd01::1/64', { nodad: true });
    await h().addresses.add('r2', 'fd02::1/64', { nodad: true });

    const r = h().routes;
    await r.add({ dst: 'default', gateway: '10.1.0.2' });
    await r.add({ dst: '10.5.0.0/16', gateway: '10.1.0.2', link: 'r0', table: 1000, metric: 7, protocol: 'static', mtu: 1400, prefsrc: '10.1.0.1' });
    await r.add({ dst: '10.14.0.0/16', gateway: '10.1.0.2', table: 50, protocol: 'bird' });
    await r.add({ dst: '10.11.0.0/16', link: 'r2' }); // no gateway: scope link
    await r.add({ dst: '10.15.0.0/16', link: 'r2', scope: 'host', protocol: 77 });
    await r.add({ dst: '10.13.0.5', link: 'r0' }); // a host route
    await r.add({ dst: '10.6.0.0/16', type: 'blackhole' });
    await r.add({ dst: '10.7.0.0/16', type: 'unreachable' });
    await r.add({ dst: '10.8.0.0/16', type: 'prohibit', metric: 3 });
    await r.add({ dst: '10.12.0.1', type: 'local', link: 'r0' }); // goes to the local table, like ip
    await r.add({ dst: '10.10.0.0/16', gateway: '10.99.0.1', link: 'r0', onlink: true });
    await r.add({
      dst: '10.9.0.0/16',
      multipath: [
        { gateway: '10.1.0.2', link: 'r0', weight: 3 },
        { gateway: '10.2.0.2', link: 'r2', weight: 1 },
      ],
    });
    await expectAllSame(h(), ns(), 4);

    const all = await r.list({ family: 4, table: 'all' });
    const find = (dst: string) => all.find((x) => x.dst === dst)!;
    expect(find('10.5.0.0/16')).toMatchObject({ tableId: 1000, table: '1000', metric: 7, protocol: 'static', mtu: 1400, prefsrc: '10.1.0.1' });
    expect(find('10.11.0.0/16').scope).toBe('link');
    expect(find('10.15.0.0/16')).toMatchObject({ scope: 'host', protocol: '77' });
    expect(find('10.6.0.0/16').type).toBe('blackhole');
    expect(find('10.12.0.1/32')).toMatchObject({ type: 'local', table: 'local', scope: 'host' });
    expect(find('10.10.0.0/16').flags).toEqual(['onlink']);
    expect(find('10.9.0.0/16').multipath!.map((n) => [n.gateway, n.weight])).toEqual([
      ['10.1.0.2', 3],
      ['10.2.0.2', 1],
    ]);
  });

  it('adds IPv6 routes (default, metric, pref, multipath, blackhole, table > 255)', async () => {
    const r = h().routes;
    await r.add({ dst: 'default', gateway: 'fd01::2', family: 6 });
    await r.add({ dst: 'fd0a::/64', link: 'r0', metric: 5, pref: 'high' });
    await r.add({ dst: 'fd0b::/64', type: 'blackhole' });
    await r.add({ dst: 'fd0c::/64', gateway: 'fd02::2', table: 1001, protocol: 'static', mtu: 1300 });
    await r.add({
      dst: 'fd09::/64',
      multipath: [
        { gateway: 'fd01::2', link: 'r0', weight: 2 },
        { gateway: 'fd02::2', link: 'r2' },
      ],
    });
    await expectAllSame(h(), ns(), 6);
    const v6 = await r.list({ family: 6 });
    expect(v6.find((x) => x.dst === 'fd0a::/64')).toMatchObject({ metric: 5, pref: 'high' });
    expect(v6.find((x) => x.dst === 'default')!.gateway).toBe('fd01::2');
    expect(v6.find((x) => x.dst === 'fd09::/64')!.multipath!.map((n) => n.weight)).toEqual([2, 1]);
  });

  it('reads routes made by ip with every option', async () => {
    ip(
      ns(),
      'route',
      'add',
      '10.20.0.0/16',
      'via',
      '10.1.0.2',
      'dev',
      'r0',
      'table',
      '2000',
      'metric',
      '9',
      'proto',
      'zebra',
      'mtu',
      '1280',
      'src',
      '10.1.0.1',
    );
    ip(ns(), 'route', 'add', 'unreachable', '10.21.0.0/16', 'metric', '4');
    ip(ns(), 'route', 'add', 'prohibit', '10.22.0.0/16', 'table', '60');
    ip(ns(), 'route', 'add', '10.23.0.0/16', 'nexthop', 'via', '10.1.0.3', 'weight', '5', 'nexthop', 'via', '10.2.0.3', 'weight', '2');
    ip(ns(), 'route', 'add', '10.24.0.0/16', 'via', '10.98.0.1', 'dev', 'r2', 'onlink');
    ip(ns(), 'route', 'add', 'local', '10.25.0.1', 'dev', 'r2');
    ip(ns(), '-6', 'route', 'add', 'fd20::/64', 'via', 'fd02::3', 'metric', '77', 'pref', 'low', 'table', '3000');
    await expectAllSame(h(), ns(), 4);
    await expectAllSame(h(), ns(), 6);
  });

  it('reads the congestion control algorithm of a route made by ip as its name', async () => {
    // RTAX_CC_ALGO is the one string among the metrics: read as a u32 it was "reno"'s first four bytes.
    ip(ns(), 'route', 'add', '10.26.0.0/16', 'via', '10.1.0.2', 'congctl', 'reno', 'initcwnd', '10', 'table', '4000');
    const [theirs] = ipJson(ns(), 'route', 'show', 'table', '4000');
    expect(theirs.metrics).toEqual([{ initcwnd: 10, congestion: 'reno' }]);
    const r = await h().routes.get({ dst: '10.26.0.0/16', table: 4000 });
    expect(r.congestionControl).toBe('reno');
    expect(r.metrics).toEqual({ 11: 10 }); // RTAX_INITCWND, and nothing else
    expect((await h().routes.list({ table: 4000 })).map((x) => x.congestionControl)).toEqual(['reno']);
    await h().routes.delete(r);
  });

  it('lists with filters: table, link, protocol, type', async () => {
    const r = h().routes;
    expect((await r.list({ table: 1000 })).map((x) => x.dst)).toEqual(['10.5.0.0/16']);
    expect((await r.list({ table: 2000 })).map((x) => x.dst)).toEqual(['10.20.0.0/16']);
    const viaR2 = (await r.list({ family: 4, link: 'r2' })).map((x) => x.dst).sort();
    const ipViaR2 = ipJson(ns(), '-4', 'route', 'show', 'dev', 'r2').map((x: any) => x.dst);
    // ip leaves out multipath routes that merely include r2; nlkit includes them
    expect(viaR2).toEqual([...ipViaR2, '10.23.0.0/16', '10.9.0.0/16'].map((d) => (d.includes('/') ? d : `${d}/32`)).sort());
    expect((await r.list({ family: 4, table: 'all', protocol: 'bird' })).map((x) => x.dst)).toEqual(['10.14.0.0/16']);
    expect((await r.list({ family: 4, table: 'all', protocol: 'static' })).map((x) => x.dst)).toEqual(
      ipJson(ns(), '-4', 'route', 'show', 'table', 'all', 'proto', 'static').map((x: any) => x.dst),
    );
    expect((await r.list({ family: 4, type: 'blackhole' })).map((x) => x.dst)).toEqual(['10.6.0.0/16']);
    expect((await r.list({ family: 4, table: 'local', type: 'local' })).map((x) => x.dst).sort()).toEqual(
      ipJson(ns(), '-4', 'route', 'show', 'table', 'local', 'type', 'local')
        .map((x: any) => (x.dst.includes('/') ? x.dst : `${x.dst}/32`))
        .sort(),
    );
  });

  it('looks routes up like ip route get', async () => {
    const r = h().routes;
    const got = await r.lookup('10.9.1.1');
    const [theirs] = ipJson(ns(), 'route', 'get', '10.9.1.1');
    expect(got.gateway).toBe(theirs.gateway);
    expect(got.prefsrc).toBe(theirs.prefsrc);
    expect(got.link).toBe((await h().links.get(theirs.dev)).index);
    expect(got.linkName).toBe(theirs.dev);
    const fib = await r.lookup('10.9.1.1', { fibMatch: true });
    expect(fib.dst).toBe('10.9.0.0/16');
    expect(fib.multipath!.length).toBe(2);
    const v6 = await r.lookup('fd09::5');
    const [v6theirs] = ipJson(ns(), '-6', 'route', 'get', 'fd09::5');
    expect([v6.gateway, v6.prefsrc, v6.metric]).toEqual([v6theirs.gateway, v6theirs.prefsrc, v6theirs.metric]);
    const viaOif = await r.lookup('10.200.0.1', { oif: 'r2', from: '10.2.0.1' });
    expect(viaOif).toMatchObject({ link: (await h().links.get('r2')).index, linkName: 'r2' });
    const blocked = await r.lookup('10.6.1.1').catch((x) => x);
    expect(blocked).toBeInstanceOf(NetlinkError);
    expect(blocked.code).toBe('EINVAL'); // a blackhole route
  });

  it('replaces and deletes, by table and type', async () => {
    const r = h().routes;
    await r.replace({ dst: '10.5.0.0/16', gateway: '10.1.0.3', table: 1000, metric: 7 });
    expect(ipJson(ns(), 'route', 'show', 'table', '1000')[0].gateway).toBe('10.1.0.3');
    await r.replace({ dst: '10.30.0.0/16', link: 'r0' });
    expect(ipJson(ns(), 'route', 'show', '10.30.0.0/16').length).toBe(1);
    await r.delete({ dst: '10.5.0.0/16', table: 1000 });
    expect(ipJson(ns(), 'route', 'show', 'table', '1000')).toEqual([]);
    await r.delete({ dst: '10.6.0.0/16', type: 'blackhole' });
    await r.delete({ dst: '10.12.0.1', type: 'local' });
    await r.delete({ dst: 'fd0c::/64', table: 1001 });
    await r.delete({ dst: 'default', family: 6 });
    expect(ipJson(ns(), '-4', 'route', 'show', '10.6.0.0/16')).toEqual([]);
    expect(ipJson(ns(), '-4', 'route', 'show', 'table', 'local', '10.12.0.1')).toEqual([]);
    expect(ipJson(ns(), '-6', 'route', 'show', 'table', '1001')).toEqual([]);
    expect(ipJson(ns(), '-6', 'route', 'show', 'default')).toEqual([]);
    await expectAllSame(h(), ns(), 4);
  });

  it('reports refusals with the kernel text, and refuses bad input before sending', async () => {
    const r = h().routes;
    await h().links.add({ name: 'down0', kind: 'veth', peer: { name: 'down1' } });
    const down = await r.add({ dst: '10.40.0.0/16', link: 'down0' }).catch((x) => x);
    expect(down).toBeInstanceOf(NetlinkError);
    expect(down.code).toBe('ENETDOWN');
    expect(down.extack).toBe('Device for nexthop is not up');
    const gw = await r.add({ dst: '10.41.0.0/16', gateway: '10.77.0.1' }).catch((x) => x);
    expect(gw.code).toBe('ENETUNREACH');
    expect(gw.extack).toBe('Nexthop has invalid gateway');
    const dup = await r.add({ dst: '10.9.0.0/16', link: 'r0' }).catch((x) => x);
    expect(dup.code).toBe('EEXIST');
    const missing = await r.delete({ dst: '10.42.0.0/16' }).catch((x) => x);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.code).toBe('ESRCH');

    await expect(r.add({ dst: '10.1.2.3/8' })).rejects.toBeInstanceOf(ValidationError);
    // An IPv6 gateway of an IPv4 route is RTA_VIA (ip's via inet6); the other way round the kernel has none.
    await expect(r.add({ dst: 'fd43::/64', gateway: '10.1.0.2' })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ dst: '10.43.0.0/16', type: 'bogus' })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ dst: '10.43.0.0/16', link: 'r0', metric: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ dst: '10.43.0.0/16', link: 'r0', pref: 'high' })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ dst: '10.43.0.0/16', multipath: [{ gateway: '10.1.0.2', weight: 0 }] })).rejects.toBeInstanceOf(ValidationError);
  });
  it('reads an IPv6 gateway of an IPv4 route (via inet6, RTA_VIA) and writes it back, single and multipath', async () => {
    await h().links.add({ name: 'vi0', kind: 'veth', peer: { name: 'vi1' }, up: true });
    await h().addresses.add('vi0', 'fd70::1/64', { nodad: true });
    const r = h().routes;
    ip(ns(), 'route', 'add', '10.70.0.0/16', 'via', 'inet6', 'fd70::2', 'dev', 'vi0');
    ip(
      ns(),
      'route',
      'add',
      '10.71.0.0/16',
      'nexthop',
      'via',
      'inet6',
      'fd70::3',
      'dev',
      'vi0',
      'nexthop',
      'via',
      'inet6',
      'fd70::4',
      'dev',
      'vi0',
      'weight',
      '2',
    );
    const shown = ip(ns(), 'route', 'show', 'dev', 'vi0');
    const listed = (await r.list({ family: 4, link: 'vi0' })).filter((x) => x.dst.startsWith('10.7'));
    // The gateway was left in unknownAttributes: written back, the route lost it ("10.70.0.0/16 dev vi0").
    expect(listed.map((x) => [x.dst, x.gateway, x.multipath?.map((n) => [n.gateway, n.weight]), x.unknownAttributes])).toEqual([
      ['10.70.0.0/16', 'fd70::2', undefined, []],
      [
        '10.71.0.0/16',
        undefined,
        [
          ['fd70::3', 1],
          ['fd70::4', 2],
        ],
        [],
      ],
    ]);
    for (const x of listed) {
      expect(await r.get(x)).toEqual(x);
      expect(await r.delete(x)).toBe(true);
      await r.add(x);
    }
    expect(ip(ns(), 'route', 'show', 'dev', 'vi0')).toBe(shown);
    expect(await r.find({ dst: '10.70.0.0/16', gateway: 'fd70::9' })).toBeUndefined();
    await r.add({ dst: '10.72.0.0/16', gateway: 'fd70::5', link: 'vi0' });
    expect(ip(ns(), 'route', 'show', '10.72.0.0/16').trim()).toBe('10.72.0.0/16 via inet6 fd70::5 dev vi0');
    // The kernel has no IPv4 gateway for an IPv6 route: refused before sending.
    const e = await r.add({ dst: 'fd72::/64', gateway: '10.0.0.1', link: 'vi0' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
  });
  it('deletes a listed route whose metrics lock more than its MTU (ip route add ... mtu lock N advmss lock M)', async () => {
    await h().links.add({ name: 'ml0', kind: 'veth', peer: { name: 'ml1' }, up: true });
    const r = h().routes;
    ip(ns(), 'route', 'add', '10.64.0.0/16', 'dev', 'ml0', 'mtu', 'lock', '1400', 'advmss', 'lock', '1300');
    ip(ns(), 'route', 'add', '10.65.0.0/16', 'dev', 'ml0', 'mtu', '1400', 'advmss', 'lock', '1300');
    for (const dst of ['10.64.0.0/16', '10.65.0.0/16']) {
      const listed = (await r.list({ link: 'ml0' })).find((x) => x.dst === dst)!;
      expect(listed.mtu, dst).toBe(1400);
      // The delete sent the MTU's lock bit alone; the kernel compares the whole mask, and answered ESRCH.
      expect(await r.delete(listed), dst).toBe(true);
      expect(ipJson(ns(), 'route', 'show', dst), dst).toEqual([]);
    }
    ip(ns(), 'route', 'add', '10.66.0.0/16', 'dev', 'ml0', 'mtu', 'lock', '1400', 'advmss', 'lock', '1300');
    expect(await r.delete({ dst: '10.66.0.0/16', mtu: 1400, mtuLocked: true })).toBe(true);
  });
  it('writes back the metrics of a listed route (advmss, initcwnd, rtt, features, congctl, their locks), as ip shows them', async () => {
    await h().links.add({ name: 'mx0', kind: 'veth', peer: { name: 'mx1' }, up: true });
    await h().links.set('mx1', { up: true });
    const r = h().routes;
    ip(ns(), 'route', 'add', '10.67.0.0/16', 'dev', 'mx0', 'mtu', 'lock', '1400', 'advmss', 'lock', '1300', 'rtt', '10ms', 'initcwnd', '10');
    ip(ns(), 'route', 'add', '10.68.0.0/16', 'dev', 'mx0', 'hoplimit', '3', 'quickack', '1', 'features', 'ecn', 'congctl', 'lock', 'cubic');
    const shown = ip(ns(), 'route', 'show', 'dev', 'mx0');
    const listed = await r.list({ link: 'mx0', family: 4 });
    expect(listed.map((x) => x.dst)).toEqual(['10.67.0.0/16', '10.68.0.0/16']);
    for (const x of listed) {
      expect(await r.delete(x)).toBe(true);
      // They were read and dropped: the route came back as "10.67.0.0/16 dev mx0 scope link mtu lock 1400".
      await r.add(x);
    }
    expect(ip(ns(), 'route', 'show', 'dev', 'mx0')).toBe(shown);
    // A change given next to a listed route wins: the MTU unlocked, the other locks kept.
    await r.replace({ ...listed[0], mtuLocked: false });
    expect(ip(ns(), 'route', 'show', '10.67.0.0/16').trim()).toBe('10.67.0.0/16 dev mx0 scope link mtu 1400 rtt 10ms advmss lock 1300 initcwnd 10');
    await r.add({ dst: '10.69.0.0/16', link: 'mx0', metrics: { 8: 1200 }, congestionControl: 'reno' });
    expect(ip(ns(), 'route', 'show', '10.69.0.0/16').trim()).toBe('10.69.0.0/16 dev mx0 scope link advmss 1200 congctl reno');
    for (const [opts, field] of [
      [{ metrics: { 2: 1400 } }, 'metrics[2]'],
      [{ metrics: { 16: 1 } }, 'metrics[16]'],
      [{ metrics: { 18: 1 } }, 'metrics[18]'],
      [{ metrics: { 8: -1 } }, 'metrics[8]'],
      [{ metrics: 5 }, 'metrics'],
      [{ congestionControl: 5 }, 'congestionControl'],
    ] as const) {
      const e = await r.add({ dst: '10.70.0.0/16', link: 'mx0', ...(opts as object) }).catch((x: unknown) => x);
      expect(e, field).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(field);
    }
  });
  it('reads and writes back realms (RTA_FLOW) as ip does, single-path and per next hop (realm 5, realms 3/4)', async () => {
    await h().links.add({ name: 'fl0', kind: 'veth', peer: { name: 'fl1' }, up: true });
    await h().links.set('fl1', { up: true });
    await h().addresses.add('fl0', '10.73.0.1/24');
    const r = h().routes;
    ip(ns(), 'route', 'add', '10.73.1.0/24', 'via', '10.73.0.2', 'dev', 'fl0', 'realm', '5');
    ip(ns(), 'route', 'add', '10.73.2.0/24', 'dev', 'fl0', 'realms', '3/4');
    ip(
      ns(),
      'route',
      'add',
      '10.73.3.0/24',
      'nexthop',
      'via',
      '10.73.0.2',
      'dev',
      'fl0',
      'realms',
      '7',
      'nexthop',
      'via',
      '10.73.0.3',
      'dev',
      'fl0',
      'realms',
      '1/2',
    );
    const shown = ip(ns(), 'route', 'show', 'root', '10.73.0.0/16');
    expect(shown).toContain('realms 1/2');
    // ip -j prints the realms as { from, to }: the source realm is the high 16 bits, the destination the low 16.
    const flowOf = (f?: { from?: string; to: string }) => (f ? (Number(f.from ?? 0) << 16) | Number(f.to) : undefined);
    const theirs = ipJson(ns(), '-4', 'route', 'show', 'root', '10.73.0.0/16').filter((x: any) => x.dst.startsWith('10.73.') && x.dst !== '10.73.0.0/24');
    const listed = (await r.list({ family: 4 })).filter((x) => x.dst.startsWith('10.73.') && x.dst !== '10.73.0.0/24');
    expect(listed.map((x) => [x.dst, x.flow, x.multipath?.map((n) => n.flow), x.unknownAttributes])).toEqual([
      ['10.73.1.0/24', 5, undefined, []],
      ['10.73.2.0/24', (3 << 16) | 4, undefined, []],
      ['10.73.3.0/24', undefined, [7, (1 << 16) | 2], []],
    ]);
    expect(listed.map((x) => [x.flow, x.multipath?.map((n) => n.flow)])).toEqual(
      theirs.map((t: any) => [flowOf(t.flow), t.nexthops?.map((n: any) => flowOf(n.flow))]),
    );
    for (const x of listed) {
      expect(await r.get(x)).toEqual(x);
      expect(await r.delete(x)).toBe(true);
      // They stayed in unknownAttributes and were not written: the routes came back without realms.
      await r.add(x);
    }
    expect(ip(ns(), 'route', 'show', 'root', '10.73.0.0/16')).toBe(shown);
    await r.add({ dst: '10.73.4.0/24', link: 'fl0', flow: (9 << 16) | 8 });
    await r.add({
      dst: '10.73.5.0/24',
      multipath: [
        { gateway: '10.73.0.2', link: 'fl0', flow: 6 },
        { gateway: '10.73.0.3', link: 'fl0' },
      ],
    });
    expect(ip(ns(), 'route', 'show', '10.73.4.0/24').trim()).toBe('10.73.4.0/24 dev fl0 scope link realms 9/8');
    expect(ip(ns(), 'route', 'show', '10.73.5.0/24')).toContain('nexthop via 10.73.0.2 realm 6 dev fl0');
    // IPv6 routes have no realms (the kernel ignores them): refused rather than dropped.
    await h().addresses.add('fl0', 'fd73::1/64', { nodad: true });
    for (const [opts, field] of [
      [{ dst: 'fd73:1::/64', link: 'fl0', flow: 5 }, 'flow'],
      [{ dst: 'fd73:2::/64', multipath: [{ gateway: 'fd73::2', link: 'fl0', flow: 5 }] }, 'multipath[0].flow'],
      [{ dst: '10.73.6.0/24', link: 'fl0', flow: -1 }, 'flow'],
      [{ dst: '10.73.7.0/24', link: 'fl0', flow: '5' }, 'flow'],
    ] as const) {
      const e = await r.add(opts as never).catch((x: unknown) => x);
      expect(e, field).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(field);
    }
  });
  it('reads and writes a locked MTU and an IPv6 expiry as ip does (mtu lock N, expires N)', async () => {
    await h().links.add({ name: 'lk0', kind: 'veth', peer: { name: 'lk1' }, up: true });
    await h().addresses.add('lk0', 'fd60::1/64', { nodad: true });
    const r = h().routes;
    await r.add({ dst: '10.60.0.0/16', link: 'lk0', mtu: 1400, mtuLocked: true });
    await r.add({ dst: 'fd60:1::/64', link: 'lk0', mtu: 1300, mtuLocked: true, expires: 300 });
    await r.add({ dst: '10.62.0.0/16', link: 'lk0', mtu: 1450 });
    ip(ns(), 'route', 'add', '10.61.0.0/16', 'dev', 'lk0', 'mtu', 'lock', '1420');
    ip(ns(), '-6', 'route', 'add', 'fd61::/64', 'dev', 'lk0', 'expires', '200');
    // ip -j leaves the lock out of its JSON; its text says "mtu lock N".
    const text = (family: 4 | 6, dst: string) => ip(ns(), `-${family}`, 'route', 'show', dst).trim();
    expect(text(4, '10.60.0.0/16')).toMatch(/ mtu lock 1400\b/);
    expect(text(6, 'fd60:1::/64')).toMatch(/ expires \d+sec mtu lock 1300\b/);
    const ipExpires = (dst: string) => (ipJson(ns(), '-6', 'route', 'show', dst) as Array<{ expires?: number }>)[0].expires;

    // Listed (the dump's row fast path hands expiring routes to the full decoder) and got one by one.
    const listed = [...(await r.list({ family: 4, link: 'lk0' })), ...(await r.list({ family: 6, link: 'lk0' }))];
    const byDst = (dst: string) => listed.find((x) => x.dst === dst);
    expect(byDst('10.60.0.0/16')).toMatchObject({ mtu: 1400, mtuLocked: true });
    expect(byDst('10.61.0.0/16')).toMatchObject({ mtu: 1420, mtuLocked: true });
    expect(byDst('10.62.0.0/16')).toMatchObject({ mtu: 1450 });
    expect(byDst('10.62.0.0/16')?.mtuLocked).toBeUndefined();
    expect(byDst('fd60:1::/64')).toMatchObject({ mtu: 1300, mtuLocked: true });
    for (const [dst, set] of [
      ['fd60:1::/64', 300],
      ['fd61::/64', 200],
    ] as const) {
      const ours = byDst(dst)?.expires;
      const theirs = ipExpires(dst);
      expect(theirs, dst).toBeGreaterThan(set - 30);
      expect(ours, dst).toBeLessThanOrEqual(set);
      expect(Math.abs(ours! - theirs!), `${dst}: ${ours} vs ip's ${theirs}`).toBeLessThanOrEqual(1);
      expect((await r.get({ dst, family: 6 })).expires).toBeLessThanOrEqual(ours!);
    }
    // Routes that do not expire have no expires (every IPv6 route carries a cache info, with rta_expires 0).
    expect(byDst('fd60::/64')).toBeDefined();
    expect(byDst('fd60::/64')?.expires).toBeUndefined();
    expect(ipExpires('fd60::/64')).toBeUndefined();

    // Refused before sending.
    for (const [opts, field] of [
      [{ dst: '10.63.0.0/16', link: 'lk0', expires: 60 }, 'expires'],
      [{ dst: 'fd63::/64', link: 'lk0', expires: -1 }, 'expires'],
      [{ dst: '10.63.0.0/16', link: 'lk0', mtuLocked: true }, 'mtuLocked'],
    ] as const) {
      const err = await r.add(opts).catch((e: unknown) => e);
      expect(err, JSON.stringify(opts)).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
    await h().links.delete('lk0');
  });
});
