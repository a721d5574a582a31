// Links, addresses and routes against the real kernel, cross-checked with `ip -j`.
import { describe, expect, it } from 'vitest';
import { NetlinkError, ValidationError, connectTcp, listenTcp, open, openSync } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

describe('links, addresses and routes', () => {
  const box = useNetns('a', 'b');

  it('creates a bridge and a veth pair whose peer is born in another namespace', async () => {
    const a = box.h('a');
    await a.links.add({ name: 'br0', kind: 'bridge', up: true, stp: false, ageingTime: 120 });
    await a.links.add({ name: 'veth-b', kind: 'veth', peer: { name: 'eth0', netns: box.ns('b') }, master: 'br0', up: true });

    const br = await a.links.get('br0');
    expect(br.kind).toBe('bridge');
    expect(br.up).toBe(true);
    const vethLink = await a.links.get('veth-b');
    expect(vethLink.kind).toBe('veth');
    expect(vethLink.master).toBe(br.index);

    // ip agrees, field for field
    const [ipBr] = ipJson(box.ns('a'), '-d', 'link', 'show', 'br0');
    expect(ipBr.ifindex).toBe(br.index);
    expect(ipBr.mtu).toBe(br.mtu);
    expect(ipBr.address).toBe(br.mac);
    // Carrier flags and operstate of a fresh bridge settle asynchronously (linkwatch):
    // compare the rest here; rtnetlink-links.test.ts compares settled links in full.
    const settled = (f: string[]) => f.filter((x) => x !== 'LOWER_UP' && x !== 'NO-CARRIER');
    expect(settled(ipBr.flags)).toEqual(settled(br.flags));
    expect(ipBr.linkinfo.info_kind).toBe('bridge');
    expect(ipBr.linkinfo.info_data.ageing_time).toBe(12000); // ip prints centiseconds
    const [ipVeth] = ipJson(box.ns('a'), 'link', 'show', 'veth-b');
    expect(ipVeth.master).toBe('br0');

    // the peer exists only in b
    const peer = await box.h('b').links.get('eth0');
    expect(peer.kind).toBe('veth');
    expect(ipJson(box.ns('b'), 'link', 'show', 'eth0')[0].ifname).toBe('eth0');
    expect(await a.links.find('eth0')).toBeUndefined();
  });

  it('lists with kernel-side filters', async () => {
    const a = box.h('a');
    expect((await a.links.list({ kind: 'bridge' })).map((l) => l.name)).toEqual(['br0']);
    expect((await a.links.list({ master: 'br0' })).map((l) => l.name)).toEqual(['veth-b']);
    const all = await a.links.list();
    expect(all.map((l) => l.name).sort()).toEqual(
      ipJson(box.ns('a'), 'link', 'show')
        .map((l: any) => l.ifname)
        .sort(),
    );
  });

  it('adds IPv4 and IPv6 addresses that ip reads back, and ip-made ones nlkit reads', async () => {
    const a = box.h('a');
    const b = box.h('b');
    await a.addresses.add('br0', '10.77.0.1/24');
    await b.links.set('eth0', { up: true });
    await b.addresses.add('eth0', '10.77.0.2/24');
    await b.addresses.add('eth0', 'fd77::2/64', { nodad: true });
    ip(box.ns('b'), 'addr', 'add', '10.78.0.2/16', 'dev', 'eth0', 'label', 'eth0:x');

    const ours = await b.addresses.list({ link: 'eth0' });
    const theirs = ipJson(box.ns('b'), 'addr', 'show', 'dev', 'eth0')[0].addr_info.filter((x: any) => x.scope !== 'link');
    for (const t of theirs) {
      const o = ours.find((x) => x.address === t.local);
      expect(o, `nlkit sees ${t.local}`).toBeDefined();
      expect(o!.prefixLength).toBe(t.prefixlen);
      expect(o!.family).toBe(t.family === 'inet' ? 4 : 6);
    }
    expect(ours.find((x) => x.address === '10.78.0.2')!.label).toBe('eth0:x');
    expect(ours.find((x) => x.address === 'fd77::2')!.flags).toContain('nodad');

    await b.addresses.delete('eth0', '10.78.0.2/16');
    expect((await b.addresses.list({ link: 'eth0', family: 4 })).map((x) => x.cidr)).toEqual(['10.77.0.2/24']);
  });

  it('routes: default via a gateway, lookups, and ip agrees', async () => {
    const b = box.h('b');
    await b.routes.add({ dst: 'default', gateway: '10.77.0.1' });
    await b.routes.add({ dst: '10.90.0.0/16', gateway: '10.77.0.1', metric: 50 });
    const routes = await b.routes.list({ family: 4 });
    const def = routes.find((r) => r.dst === 'default')!;
    expect(def.gateway).toBe('10.77.0.1');
    const ipRoutes = ipJson(box.ns('b'), '-4', 'route', 'show');
    expect(ipRoutes.find((r: any) => r.dst === 'default').gateway).toBe('10.77.0.1');
    expect(ipRoutes.find((r: any) => r.dst === '10.90.0.0/16').metric).toBe(50);
    const got = await b.routes.lookup('10.90.1.1');
    expect(got.gateway).toBe('10.77.0.1');
    expect(got.linkName).toBe('eth0');
    expect(got.prefsrc).toBe('10.77.0.2');
    await b.routes.delete({ dst: '10.90.0.0/16' });
    expect(ipJson(box.ns('b'), '-4', 'route', 'show', '10.90.0.0/16')).toEqual([]);
  });

  it('carries real traffic across the namespaces it built', async () => {
    const server = await listenTcp({ netns: box.ns('a'), host: '10.77.0.1', port: 7001 }, (s) => s.end('pong'));
    try {
      const sock = await connectTcp({ netns: box.ns('b'), host: '10.77.0.1', port: 7001 });
      let got = '';
      sock.on('data', (d) => (got += d));
      await new Promise((r) => sock.on('end', r));
      expect(got).toBe('pong');
      expect(sock.localAddress).toBe('10.77.0.2');
      sock.destroy();
    } finally {
      server.close();
    }
  });

  it('reports kernel refusals with errno name and the extended-ack text', async () => {
    const b = box.h('b');
    const e1 = await b.addresses.add('eth0', '10.77.0.2/24').catch((e) => e);
    expect(e1).toBeInstanceOf(NetlinkError);
    expect(e1.code).toBe('EEXIST');
    expect(e1.operation).toContain('10.77.0.2/24');
    const e2 = await b.routes.add({ dst: '10.91.0.0/16', gateway: '10.200.0.1' }).catch((e) => e);
    expect(e2.code).toBe('ENETUNREACH');
    expect(e2.extack).toMatch(/gateway/i);
    const e3 = await b.links.get('nope0').catch((e) => e);
    expect(e3.code).toBe('ENODEV');
  });

  it('refuses bad input before sending anything', async () => {
    const b = box.h('b');
    await expect(b.addresses.add('eth0', '10.0.0.300/24')).rejects.toBeInstanceOf(ValidationError);
    await expect(b.links.add({ name: 'x'.repeat(16), kind: 'bridge' })).rejects.toBeInstanceOf(ValidationError);
    await expect(b.routes.add({ dst: '10.1.2.3/8' })).rejects.toThrow(/host bits/);
  });

  it("refuses open options it does not know: a misspelt netns opened the caller's namespace", async () => {
    // Without the check, open({ netNs }) resolved to a handle on this process's namespace (the host's),
    // and its changes would have landed there instead of in box b.
    const refused = { name: 'ValidationError', field: 'open options', value: 'netNs' };
    await expect(open({ netNs: box.ns('b') } as never)).rejects.toMatchObject(refused);
    expect(() => openSync({ netNs: box.ns('b') } as never)).toThrow(expect.objectContaining(refused));
    await expect(open({ netns: box.ns('b'), shortlived: true } as never)).rejects.toMatchObject({ name: 'ValidationError', value: 'shortlived' });
    await expect(open('b' as never)).rejects.toMatchObject({ name: 'ValidationError', field: 'open options' });
    // the known ones still open
    const h = await open({ netns: box.ns('b'), receiveBufferBytes: 1 << 20, shortLived: true });
    expect((await h.links.get('eth0')).name).toBe('eth0');
    h.close();
    openSync({ netns: box.ns('b'), shortLived: false }).close();
  });

  it('moves a link to another namespace and deletes it', async () => {
    const a = box.h('a');
    await a.links.add({ name: 'mv0', kind: 'veth', peer: { name: 'mv1' } });
    await a.links.set('mv1', { netns: box.ns('b'), name: undefined });
    expect(await a.links.find('mv1')).toBeUndefined();
    expect((await box.h('b').links.get('mv1')).kind).toBe('veth');
    await a.links.delete('mv0');
    expect(await box.h('b').links.find('mv1')).toBeUndefined();
  });
});
