// Nexthop objects (`ip nexthop`) made by nlkit and by ip, compared with
// `ip -j nexthop show`; routes using them (`nhid`) read back and compared with
// `ip -j route show`; refusals; nlkit's requests against the ones ip sends
// (test/fixtures/nexthops); and real TCP through a nexthop group: a
// client namespace with two ways to the same service address, spread by the
// group, narrowed by replacing it, and cut by a blackhole nexthop.
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listenTcp, NetlinkError, nexthopOps, NotFoundError, routeOps, setSysctl, ValidationError, type NexthopObject } from '../../lib';
import type { Operation } from '../../lib/netlink/operation';
import { Attributes } from '../../lib/netlink/parser';
import { ip, ipJson, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

/** nlkit's nexthop in the shape `ip -j nexthop show` prints it. */
function ipShape(n: NexthopObject): Record<string, unknown> {
  const out: Record<string, unknown> = { id: n.id };
  if (n.group) out.group = n.group.map((m) => (m.weight === 1 ? { id: m.id } : { id: m.id, weight: m.weight }));
  if (n.groupType === 'resilient') {
    out.type = 'resilient';
    out.resilient_args = {
      buckets: n.resilient?.buckets,
      idle_timer: n.resilient?.idleTimer,
      unbalanced_timer: n.resilient?.unbalancedTimer,
      unbalanced_time: n.resilient?.unbalancedTime,
    };
  }
  if (n.gateway) out.gateway = n.gateway;
  if (n.linkName) out.dev = n.linkName;
  if (n.blackhole) out.blackhole = null;
  if (!n.group && !n.blackhole) out.scope = n.scope;
  if (n.protocol !== 'unspec') out.protocol = n.protocol;
  out.flags = n.flags;
  if (n.fdb) out.fdb = null;
  return out;
}

describe('nexthop objects', () => {
  const box = useNetns('n');
  const ns = () => box.ns('n');
  const h = () => box.h('n');

  it('sets up two links with addresses', async () => {
    await h().links.add({ name: 'nh0', kind: 'veth', peer: { name: 'nh0p' }, up: true });
    await h().links.add({ name: 'nh1', kind: 'veth', peer: { name: 'nh1p' }, up: true });
    await h().links.set('nh0p', { up: true });
    await h().links.set('nh1p', { up: true });
    await h().addresses.add('nh0', '10.60.0.1/24');
    await h().addresses.add('nh1', '10.61.0.1/24');
    await h().addresses.add('nh0', 'fd60::1/64', { nodad: true });
  });

  it('adds every kind of nexthop; ip -j nexthop show lists the same, field for field', async () => {
    await h().nexthops.add({ id: 1, gateway: '10.60.0.2', link: 'nh0' });
    await h().nexthops.add({ id: 2, gateway: '10.61.0.2', link: 'nh1', protocol: 'static' });
    await h().nexthops.add({ id: 3, link: 'nh0' });
    await h().nexthops.add({ id: 4, gateway: 'fd60::2', link: 'nh0' });
    await h().nexthops.add({ id: 5, blackhole: true });
    await h().nexthops.add({ id: 6, gateway: '10.99.0.1', link: 'nh1', onlink: true });
    await h().nexthops.add({ id: 7, gateway: '10.62.0.1', fdb: true });
    await h().nexthops.add({ id: 10, group: [{ id: 1 }, { id: 2, weight: 3 }] });
    await h().nexthops.add({ id: 11, group: [{ id: 1 }, { id: 2 }], groupType: 'resilient', resilient: { buckets: 16, idleTimer: 10, unbalancedTimer: 30 } });
    await h().nexthops.add({ id: 12, group: [{ id: 7 }], fdb: true });
    const ours = await h().nexthops.list();
    expect(ours.map((n) => n.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 10, 11, 12]);
    expect(ours.map(ipShape)).toEqual(ipJson(ns(), 'nexthop', 'show'));
    expect(ours.find((n) => n.id === 4)).toMatchObject({ family: 6, gateway: 'fd60::2', linkName: 'nh0' });
    expect(ours.find((n) => n.id === 6)).toMatchObject({ onlink: true, flags: ['onlink'] });
    expect(ours.find((n) => n.id === 11)?.resilient).toEqual({ buckets: 16, idleTimer: 10, unbalancedTimer: 30, unbalancedTime: 0 });
    expect(ours.find((n) => n.id === 10)?.family).toBeUndefined();
  });

  it('decodes nexthops made by ip', async () => {
    ip(ns(), 'nexthop', 'add', 'id', '20', 'via', '10.60.0.3', 'dev', 'nh0', 'proto', 'zebra');
    ip(ns(), 'nexthop', 'add', 'id', '21', 'group', '20,3/1', 'type', 'resilient', 'buckets', '32');
    ip(ns(), 'nexthop', 'add', 'id', '22', 'blackhole');
    for (const id of [20, 21, 22]) {
      const [theirs] = ipJson(ns(), 'nexthop', 'show', 'id', String(id));
      expect(ipShape(await h().nexthops.get({ id }))).toEqual(theirs);
    }
    expect((await h().nexthops.get({ id: 21 })).group).toEqual([
      { id: 20, weight: 3 },
      { id: 1, weight: 1 },
    ]);
    expect((await h().nexthops.get({ id: 20 })).protocol).toBe('zebra');
  });

  it('list filters are the kernel’s: groups, fdb, link, family', async () => {
    expect((await h().nexthops.list({ groups: true })).map((n) => n.id)).toEqual([10, 11, 12, 21]);
    expect((await h().nexthops.list({ fdb: true })).map((n) => n.id)).toEqual(ipJson(ns(), 'nexthop', 'show', 'fdb').map((n: any) => n.id));
    expect((await h().nexthops.list({ link: 'nh1' })).map((n) => n.id)).toEqual([2, 6]);
    expect((await h().nexthops.list({ family: 6 })).map((n) => n.id)).toEqual(ipJson(ns(), '-6', 'nexthop', 'show').map((n: any) => n.id));
  });

  it('get, find, delete follow the verb table; a listed nexthop is a key and goes back into replace', async () => {
    await expect(h().nexthops.get({ id: 999 })).rejects.toBeInstanceOf(NotFoundError);
    expect(await h().nexthops.find({ id: 999 })).toBeUndefined();
    expect(await h().nexthops.delete({ id: 999 }, { missingOk: true })).toBe(false);
    await expect(h().nexthops.delete({ id: 999 })).rejects.toMatchObject({ name: 'NotFoundError', code: 'ENOENT', what: 'nexthop' });
    const listed = await h().nexthops.get({ id: 20 });
    expect(await h().nexthops.delete(listed)).toBe(true);
    expect(ipJson(ns(), 'nexthop', 'show').map((n: any) => n.id)).not.toContain(20);
    // the kernel drops the member from its groups
    expect((await h().nexthops.get({ id: 21 })).group).toEqual([{ id: 1, weight: 1 }]);
    await h().nexthops.add(listed);
    expect(ipShape(await h().nexthops.get({ id: 20 }))).toEqual(ipJson(ns(), 'nexthop', 'show', 'id', '20')[0]);
    const group = await h().nexthops.get({ id: 11 });
    await h().nexthops.replace({ ...group, group: [{ id: 2 }] });
    expect(ipJson(ns(), 'nexthop', 'show', 'id', '11')[0].group).toEqual([{ id: 2 }]);
    await expect(h().nexthops.add({ id: 1, gateway: '10.60.0.2', link: 'nh0' })).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('routes with nhid: added by nlkit and by ip, read back with their nhid like ip -j route show', async () => {
    await h().routes.add({ dst: '10.70.0.0/16', nhid: 10 });
    await h().routes.add({ dst: '10.71.0.0/16', nhid: 1 });
    await h().routes.add({ dst: 'fd71::/64', nhid: 4 });
    await h().routes.add({ dst: '10.72.0.0/16', nhid: 5 });
    ip(ns(), 'route', 'add', '10.73.0.0/16', 'nhid', '2');
    const theirs = ipJson(ns(), 'route', 'show', 'table', 'all').concat(ipJson(ns(), '-6', 'route', 'show'));
    for (const [dst, nhid] of [
      ['10.70.0.0/16', 10],
      ['10.71.0.0/16', 1],
      ['fd71::/64', 4],
      ['10.72.0.0/16', 5],
      ['10.73.0.0/16', 2],
    ] as const) {
      const r = await h().routes.get({ dst, nhid });
      expect(r.nhid).toBe(nhid);
      const t = theirs.find((x: any) => x.dst === dst);
      expect(t.nhid).toBe(nhid);
      expect(r.type).toBe(t.type ?? 'unicast');
      if (t.gateway) expect(r.gateway).toBe(t.gateway);
      if (t.nexthops)
        expect(r.multipath?.map((n) => ({ gateway: n.gateway, dev: n.linkName, weight: n.weight }))).toEqual(
          t.nexthops.map((n: any) => ({ gateway: n.gateway, dev: n.dev, weight: n.weight })),
        );
    }
    // the blackhole nexthop makes a blackhole route, as ip shows it
    expect((await h().routes.get({ dst: '10.72.0.0/16' })).type).toBe('blackhole');
    const listed = (await h().routes.list({ family: 4 })).filter((r) => r.nhid !== undefined);
    expect(listed.map((r) => r.dst).sort()).toEqual(['10.70.0.0/16', '10.71.0.0/16', '10.72.0.0/16', '10.73.0.0/16']);
  });

  it('a listed route with nhid deletes and re-adds as it is (its reported gateway and link are not sent)', async () => {
    const r = await h().routes.get({ dst: '10.70.0.0/16' });
    expect(r.multipath?.length).toBe(2);
    expect(await h().routes.delete(r)).toBe(true);
    expect(ipJson(ns(), 'route', 'show', '10.70.0.0/16')).toEqual([]);
    await h().routes.add(r);
    expect(ipJson(ns(), 'route', 'show', '10.70.0.0/16')[0].nhid).toBe(10);
    // replacing the group's members moves the route with it
    await h().nexthops.replace({ id: 10, group: [{ id: 2 }] });
    // (a group of one reads back like ip shows it: that member's gateway and link)
    expect(await h().routes.get({ dst: '10.70.0.0/16' })).toMatchObject({ nhid: 10, gateway: '10.61.0.2', linkName: 'nh1' });
    expect(ipJson(ns(), 'route', 'show', '10.70.0.0/16')[0]).toMatchObject({ nhid: 10, gateway: '10.61.0.2', dev: 'nh1' });
  });

  it('refuses what ip and the kernel refuse, before sending (ValidationError naming the field)', async () => {
    const bad: Array<[unknown, string]> = [
      [{ id: 0, blackhole: true }, 'id'],
      [{ id: 2 ** 32, blackhole: true }, 'id'],
      [{ id: 1.5, blackhole: true }, 'id'],
      [{ id: 30 }, 'nexthop'],
      [{ id: 30, blackhole: true, gateway: '10.60.0.9' }, 'nexthop'],
      [{ id: 30, group: [{ id: 1 }], link: 'nh0' }, 'nexthop'],
      [{ id: 30, group: [] }, 'group'],
      [{ id: 30, group: [{ id: 1 }, { id: 1 }] }, 'group[1].id'],
      [{ id: 30, group: [{ id: 1, weight: 257 }] }, 'group[0].weight'],
      [{ id: 30, group: [{ id: 1, wieght: 2 }] }, 'group[0]'],
      [{ id: 30, group: [{ id: 1 }], family: 4 }, 'family'],
      [{ id: 30, group: [{ id: 1 }], resilient: { buckets: 8 } }, 'resilient'],
      [{ id: 30, group: [{ id: 1 }], groupType: 'resilient', resilient: { buckets: 0 } }, 'resilient.buckets'],
      [{ id: 30, group: [{ id: 1 }], groupType: 'hash' }, 'groupType'],
      [{ id: 30, gateway: '10.60.0.9', groupType: 'mpath' }, 'groupType'],
      [{ id: 30, gateway: '10.60.0.9', link: 'nh0', fdb: true }, 'link'],
      [{ id: 30, gateway: '10.60.0.9', onlink: true }, 'onlink'],
      [{ id: 30, gateway: 'fd60::9', family: 4 }, 'gateway'],
      [{ id: 30, gateway: '10.60.0.9', protocol: 'nosuch' }, 'protocol'],
      [{ id: 30, blackhole: true, colour: 'red' }, 'nexthop'],
    ];
    for (const [o, field] of bad) {
      const e = await h()
        .nexthops.add(o as never)
        .catch((x: unknown) => x);
      expect(e, JSON.stringify(o)).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field, JSON.stringify(o)).toBe(field);
    }
    for (const [o, field] of [
      [{ dst: '10.74.0.0/16', nhid: 1, gateway: '10.60.0.2' }, 'gateway'],
      [{ dst: '10.74.0.0/16', nhid: 1, link: 'nh0' }, 'link'],
      [{ dst: '10.74.0.0/16', nhid: 0 }, 'nhid'],
    ] as const) {
      const e = await h()
        .routes.add(o)
        .catch((x: unknown) => x);
      expect(e, JSON.stringify(o)).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(field);
    }
    await expect(h().nexthops.list({ grops: true } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(h().nexthops.delete({ id: 1, tabel: 2 } as never)).rejects.toBeInstanceOf(ValidationError);
    expect(ipJson(ns(), 'nexthop', 'show', 'id', '1')).toHaveLength(1);
    expect(ipJson(ns(), 'nexthop', 'show').map((n: any) => n.id)).not.toContain(30);
    // the kernel's refusals stay NetlinkErrors: a group member that does not exist
    await expect(h().nexthops.add({ id: 31, group: [{ id: 4040 }] })).rejects.toBeInstanceOf(NetlinkError);
  });
});

describe('traffic through a nexthop group', () => {
  const box = useNetns('c', 's1', 's2');
  const servers: net.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const c = () => box.h('c');

  it('sets up a client with one veth to each of two servers that both answer on 10.80.0.1', async () => {
    for (const [i, s] of [
      [1, 's1'],
      [2, 's2'],
    ] as const) {
      await c().links.add({ name: `to${s}`, kind: 'veth', peer: { name: 'eth0', netns: box.ns(s) }, up: true });
      await c().addresses.add(`to${s}`, `10.8${i}.0.1/24`);
      const hs = box.h(s);
      await hs.links.set('eth0', { up: true });
      await hs.addresses.add('eth0', `10.8${i}.0.2/24`);
      await hs.addresses.add('lo', '10.80.0.1/32');
      await hs.routes.add({ dst: 'default', gateway: `10.8${i}.0.1` });
      servers.push(await listenTcp({ netns: box.ns(s), host: '10.80.0.1', port: 80 }, (sock) => sock.end(s)));
    }
    // Hash on ports too, so that connections from one address spread.
    await setSysctl(box.ns('c'), 'net.ipv4.fib_multipath_hash_policy', 1);
    await c().nexthops.add({ id: 1, gateway: '10.81.0.2', link: 'tos1' });
    await c().nexthops.add({ id: 2, gateway: '10.82.0.2', link: 'tos2' });
    await c().nexthops.add({ id: 3, blackhole: true });
    await c().nexthops.add({ id: 10, group: [{ id: 1 }, { id: 2 }] });
    await c().routes.add({ dst: '10.80.0.1/32', nhid: 10 });
    expect(ipJson(box.ns('c'), 'route', 'show', '10.80.0.1')[0].nhid).toBe(10);
  });

  async function answers(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await hello(box.ns('c'), '10.80.0.1', 80));
    return out;
  }

  it('the group spreads connections over both servers', async () => {
    const seen = await answers(40);
    expect(
      seen.every((x) => x === 's1' || x === 's2'),
      seen.join(),
    ).toBe(true);
    expect(new Set(seen)).toEqual(new Set(['s1', 's2']));
  });

  it('replacing the group with one member sends every connection to it', async () => {
    await c().nexthops.replace({ id: 10, group: [{ id: 2 }] });
    expect(new Set(await answers(20))).toEqual(new Set(['s2']));
  });

  it('pointing the route at a blackhole nexthop cuts the service off; back at the group it answers again', async () => {
    await c().routes.replace({ dst: '10.80.0.1/32', nhid: 3 });
    expect(await hello(box.ns('c'), '10.80.0.1', 80)).toMatch(/^error:/);
    await c().routes.replace({ dst: '10.80.0.1/32', nhid: 10 });
    expect(await hello(box.ns('c'), '10.80.0.1', 80)).toBe('s2');
  });
});

describe('nexthop requests: nlkit sends what ip sends', () => {
  // ip's requests, captured by test/fixtures/capture-ip-requests.mjs. Compared:
  // message type and flags, the fixed header, every attribute with its bytes
  // (nests recursively); not the attribute order, which follows ip's
  // command line.
  const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/nexthops/ip-requests.json'), 'utf8')) as {
    cases: Array<{ name: string; command: string[]; request: string }>;
  };
  const box = useNetns('nb');
  const NHA_RES_GROUP = 12;
  const cases: Record<string, () => Operation<void>> = {
    'gateway-dev': () => nexthopOps.add({ id: 1, gateway: '10.0.0.2', link: 'lo' }),
    'gateway6-dev-proto': () => nexthopOps.add({ id: 2, gateway: 'fd00::2', link: 'lo', protocol: 'static' }),
    'dev-only': () => nexthopOps.add({ id: 3, link: 'lo' }),
    onlink: () => nexthopOps.add({ id: 4, gateway: '10.9.0.1', link: 'lo', onlink: true }),
    blackhole: () => nexthopOps.add({ id: 5, blackhole: true }),
    blackhole6: () => nexthopOps.add({ id: 6, blackhole: true, family: 6 }),
    fdb: () => nexthopOps.add({ id: 7, gateway: '10.0.0.1', fdb: true }),
    // ip's group syntax: members split by "/", "id,weight" each
    group: () => nexthopOps.add({ id: 10, group: [{ id: 1 }, { id: 2, weight: 3 }] }),
    'group-resilient': () =>
      nexthopOps.add({
        id: 11,
        group: [{ id: 1, weight: 4 }, { id: 2 }],
        groupType: 'resilient',
        resilient: { buckets: 16, idleTimer: 10, unbalancedTimer: 30 },
      }),
    'group-fdb': () => nexthopOps.add({ id: 12, group: [{ id: 7 }], fdb: true }),
    'route-nhid': () => routeOps.add({ dst: '10.70.0.0/16', nhid: 10 }),
    'route6-nhid-metric': () => routeOps.add({ dst: 'fd70::/64', nhid: 2, metric: 100 }),
  };

  type Tree = Array<[number, string | Tree]>;
  function tree(b: Buffer, nested: boolean): Tree {
    const out: Tree = new Attributes(b).list.map((a) => [a.type, nested && a.type === NHA_RES_GROUP ? tree(a.data, false) : a.data.toString('hex')]);
    return out.sort((x, y) => x[0] - y[0]);
  }
  function shape(msg: Buffer) {
    const header = msg.readUInt16LE(4) === 104 ? 8 : 12; // nhmsg, rtmsg
    return {
      type: msg.readUInt16LE(4),
      flags: msg.readUInt16LE(6),
      header: msg.subarray(16, 16 + header).toString('hex'),
      attributes: tree(msg.subarray(16 + header), true),
    };
  }
  /** The operation's request, taken instead of sent (names are resolved in a namespace where lo is index 1). */
  function* requestOf(op: Operation<void>): Operation<Buffer> {
    let step = op.next();
    while (!step.done) {
      const s = step.value;
      const type = 'message' in s ? s.message.readUInt16LE(4) : 0;
      if ('message' in s && (type === 104 || type === 24)) return Buffer.from(s.message);
      step = op.next(yield s);
    }
    throw new Error('no request');
  }

  it('covers every captured command', () => {
    expect(fixture.cases.map((c) => c.name).sort()).toEqual(Object.keys(cases).sort());
  });

  for (const c of fixture.cases) {
    it(`${c.name}: ip ${c.command.join(' ')}`, async () => {
      const ours = await box.h('nb').run(requestOf(cases[c.name]()));
      ours.writeUInt16LE(ours.readUInt16LE(6) | 4, 6); // NLM_F_ACK: the connection's, set when sending
      expect(shape(ours)).toEqual(shape(Buffer.from(c.request, 'hex')));
    });
  }
});
