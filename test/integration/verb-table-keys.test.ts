// Keys against the kernel, in a throw-away namespace, cross-checked with
// `ip -j addr`, `bridge -j fdb` and `ip -j rule`: addresses.delete takes a
// listed Address as it is (the positional form still works), get/find by
// key of addresses, FDB entries and ip rules, and event streams carrying
// interface names like list results.
// (The same without a kernel: test/unit/verb-table-keys.test.ts.)
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NotFoundError, type EventStream, type RtnetlinkEvent } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

function bridgeJson(ns: string, ...args: string[]): any[] {
  return JSON.parse(execFileSync('bridge', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]');
}

/** What a call threw (the test fails if it did not throw). */
async function thrown(p: Promise<unknown>): Promise<any> {
  return p.then(
    (v) => expect.unreachable(`resolved to ${JSON.stringify(v)}`),
    (e) => e,
  );
}

/** Reads events until one matches. */
async function until(s: EventStream, match: (e: RtnetlinkEvent) => boolean): Promise<RtnetlinkEvent> {
  for (;;) {
    const r = await s.next();
    if (r.done) throw new Error('the stream ended');
    if (match(r.value)) return r.value;
  }
}

describe('keys against the kernel', () => {
  const box = useNetns('k');
  const ns = () => box.ns('k');
  const h = () => box.h('k');

  // VLAN entries need a VLAN-filtering bridge, which the test VM's kernel
  // refuses (EOPNOTSUPP): the VLAN part of the key is in the unit tests.
  it('sets up a bridge with a port, a VXLAN device, addresses, FDB entries and rules', async () => {
    await h().links.add({ name: 'kbr', kind: 'bridge', up: true });
    await h().links.add({ name: 'kp0', kind: 'veth', peer: { name: 'kp1' }, master: 'kbr', up: true });
    ip(ns(), 'link', 'add', 'kvx', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '10.80.0.1', 'nolearning');
    await h().addresses.add('kbr', '10.80.0.1/24');
    await h().addresses.add('kbr', '10.80.0.2/24');
    await h().addresses.add('kbr', 'fd80::1/64', { nodad: true });
    await h().addresses.add('kp1', '10.81.0.1/32', { peer: '10.81.0.2/32' });
    await h().fdb.add({ mac: '02:00:00:00:08:01', link: 'kp0', bridge: 'kbr', state: 'static' });
    await h().fdb.add({ mac: '02:00:00:00:08:02', link: 'kp0', bridge: 'kbr', state: 'static', sticky: true });
    await h().fdb.append({ mac: '00:00:00:00:00:00', link: 'kvx', dst: '10.80.0.7' });
    await h().fdb.append({ mac: '00:00:00:00:00:00', link: 'kvx', dst: '10.80.0.8' });
    await h().rules.add({ priority: 800, src: '10.82.0.0/16', table: 80 });
    await h().rules.add({ priority: 800, src: '10.83.0.0/16', table: 81 });
    await h().rules.add({ priority: 801, fwmark: 8, fwmask: 0xff, action: 'blackhole' });
    await h().rules.add({ family: 6, priority: 800, table: 82 });
    expect(bridgeJson(ns(), 'fdb', 'show', 'dev', 'kvx').filter((e) => e.mac === '00:00:00:00:00:00')).toHaveLength(2);
  });

  it('addresses.get/find by link and cidr agree with ip -j addr; missing: NotFoundError (EADDRNOTAVAIL), undefined', async () => {
    const theirs = ipJson(ns(), 'addr', 'show', 'dev', 'kbr')[0].addr_info.filter((a: any) => a.scope === 'global');
    expect(theirs.length).toBe(3);
    for (const t of theirs) {
      const a = await h().addresses.get({ link: 'kbr', cidr: `${t.local}/${t.prefixlen}` });
      expect({ cidr: a.cidr, linkName: a.linkName, secondary: a.flags.includes('secondary') }).toEqual({
        cidr: `${t.local}/${t.prefixlen}`,
        linkName: 'kbr',
        secondary: t.secondary === true,
      });
    }
    const ptp = await h().addresses.get({ link: 'kp1', cidr: '10.81.0.1/32' });
    expect(ptp.peer).toBe(ipJson(ns(), 'addr', 'show', 'dev', 'kp1')[0].addr_info.find((a: any) => a.local === '10.81.0.1').address);
    const byIndex = await h().addresses.get({ link: ptp.link, cidr: '10.81.0.1/32' });
    expect(byIndex.linkName).toBe('kp1');
    expect(await h().addresses.find({ link: 'kbr', cidr: '10.80.0.1/16' })).toBeUndefined();
    expect(await h().addresses.find({ link: 'nosuch0', cidr: '10.80.0.1/24' })).toBeUndefined();
    const err = await thrown(h().addresses.get({ link: 'kbr', cidr: '10.80.0.9/24' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect({ code: err.code, what: err.what }).toEqual({ code: 'EADDRNOTAVAIL', what: 'address' });
  });

  it('a listed Address is deleted as it is; the positional form still works', async () => {
    const listed = (await h().addresses.list({ link: 'kbr' })).filter((a) => a.cidr === 'fd80::1/64' || a.cidr === '10.80.0.2/24');
    expect(listed).toHaveLength(2);
    for (const a of listed) expect(await h().addresses.delete(a)).toBe(true);
    const [ptp] = await h().addresses.list({ link: 'kp1', family: 4 });
    expect(await h().addresses.delete(ptp)).toBe(true);
    const left = (dev: string) =>
      ipJson(ns(), 'addr', 'show', 'dev', dev)[0]
        .addr_info.filter((a: any) => a.scope === 'global')
        .map((a: any) => `${a.local}/${a.prefixlen}`);
    expect(left('kbr')).toEqual(['10.80.0.1/24']);
    expect(left('kp1')).toEqual([]);
    expect(await h().addresses.delete(listed[0], { missingOk: true })).toBe(false);
    expect(await thrown(h().addresses.delete(listed[0]))).toBeInstanceOf(NotFoundError);
    expect(await h().addresses.delete('kbr', '10.80.0.1/24')).toBe(true);
    expect(left('kbr')).toEqual([]);
  });

  it('fdb.get/find by mac, link, bridge and dst agree with bridge -j fdb', async () => {
    for (const theirs of bridgeJson(ns(), 'fdb', 'show', 'dev', 'kp0').filter((e) => e.mac.startsWith('02:00:00:00:08'))) {
      const e = await h().fdb.get({ mac: theirs.mac, link: 'kp0', bridge: 'kbr' });
      expect({ mac: e.mac, linkName: e.linkName, bridgeName: e.bridgeName, state: e.state, sticky: e.flags.includes('sticky') }).toEqual({
        mac: theirs.mac,
        linkName: 'kp0',
        bridgeName: theirs.master,
        state: theirs.state,
        sticky: (theirs.flags ?? []).includes('sticky'),
      });
    }
    const sticky = await h().fdb.get({ mac: '02:00:00:00:08:02', link: 'kp0', bridge: 'kbr' });
    expect(await h().fdb.find({ mac: '02:00:00:00:08:01', link: 'kp0', bridge: 'kbr', vlan: 20 })).toBeUndefined();
    const remotes = bridgeJson(ns(), 'fdb', 'show', 'dev', 'kvx')
      .filter((e) => e.mac === '00:00:00:00:00:00')
      .map((e) => e.dst);
    for (const dst of remotes) expect((await h().fdb.get({ mac: '00:00:00:00:00:00', link: 'kvx', dst })).dst).toBe(dst);
    expect(await h().fdb.find({ mac: '00:00:00:00:00:00', link: 'kvx', dst: '10.80.0.9' })).toBeUndefined();
    for (const e of await h().fdb.list({ link: 'kp0' })) expect(await h().fdb.get(e)).toEqual(e);
    const err = await thrown(h().fdb.get({ mac: '02:00:00:00:08:99', link: 'kp0', bridge: 'kbr' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect({ code: err.code, what: err.what }).toEqual({ code: 'ENOENT', what: 'fdb entry' });
    // What get returned deletes that entry, and only it.
    expect(await h().fdb.delete(sticky)).toBe(true);
    expect(
      bridgeJson(ns(), 'fdb', 'show', 'dev', 'kp0')
        .filter((e) => e.mac.startsWith('02:00:00:00:08'))
        .map((e) => e.mac),
    ).toEqual(['02:00:00:00:08:01']);
  });

  it('rules.get/find by key agree with ip -j rule: the first of the priority, or the one the other fields name', async () => {
    const first = ipJson(ns(), '-4', 'rule', 'show').find((r: any) => r.priority === 800);
    const got = await h().rules.get({ priority: 800 });
    expect(got.src).toBe(`${first.src}/${first.srclen}`);
    expect(await h().rules.get({ priority: 800, table: 81 })).toMatchObject({ src: '10.83.0.0/16', table: '81' });
    expect(await h().rules.get({ src: '10.82.0.0/16' })).toMatchObject({ priority: 800, table: '80' });
    expect(await h().rules.get({ fwmark: 8 })).toMatchObject({ priority: 801, action: 'blackhole', fwmask: 0xff });
    const v6 = ipJson(ns(), '-6', 'rule', 'show').find((r: any) => r.priority === 800);
    expect(await h().rules.get({ family: 6, priority: 800 })).toMatchObject({ family: 6, table: v6.table });
    for (const r of await h().rules.list()) expect(await h().rules.get(r)).toEqual(r);
    expect(await h().rules.find({ priority: 800, table: 99 })).toBeUndefined();
    const err = await thrown(h().rules.get({ priority: 899 }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect({ code: err.code, what: err.what }).toEqual({ code: 'ENOENT', what: 'ip rule' });
  });

  it('event streams carry interface names: from the start, and after a rename seen on the stream', async () => {
    const s = h().events.subscribe({ groups: ['link', 'address'] });
    await s.ready;
    try {
      await h().addresses.add('kbr', '10.84.0.1/24');
      const ev = await until(s, (e) => e.type === 'address' && e.address.cidr === '10.84.0.1/24');
      expect(ev).toMatchObject({ action: 'new', address: { linkName: 'kbr' } });
      await h().links.set('kp1', { up: false });
      ip(ns(), 'link', 'set', 'kp1', 'name', 'kp1r');
      await until(s, (e) => e.type === 'link' && e.link.name === 'kp1r');
      await h().addresses.add('kp1r', '10.84.1.1/24');
      const renamed = await until(s, (e) => e.type === 'address' && e.address.cidr === '10.84.1.1/24');
      expect(renamed).toMatchObject({ address: { linkName: 'kp1r' } });
      await h().links.set('kp0', { mtu: 1400 });
      const port = await until(s, (e) => e.type === 'link' && e.link.name === 'kp0' && e.link.mtu === 1400);
      expect(port).toMatchObject({ link: { masterName: 'kbr' } });
    } finally {
      s.close();
    }
  });

  it('resolveNames without the link group: names, and no link events', async () => {
    const s = h().events.subscribe({ groups: ['address'], resolveNames: true });
    await s.ready;
    try {
      await h().links.add({ name: 'kn0', kind: 'bridge' });
      await h().addresses.add('kn0', '10.85.0.1/24');
      const seen: RtnetlinkEvent[] = [];
      await until(s, (e) => {
        seen.push(e);
        return e.type === 'address' && e.address.cidr === '10.85.0.1/24';
      });
      expect(seen.every((e) => e.type === 'address')).toBe(true);
      expect(seen.at(-1)).toMatchObject({ address: { linkName: 'kn0' } });
    } finally {
      s.close();
    }
    const plain = h().events.subscribe({ groups: ['address'] });
    await plain.ready;
    try {
      await h().addresses.add('kn0', '10.85.0.2/24');
      const ev = await until(plain, (e) => e.type === 'address' && e.address.cidr === '10.85.0.2/24');
      expect(ev.type === 'address' && ev.address.linkName).toBeUndefined();
    } finally {
      plain.close();
    }
  });
});
