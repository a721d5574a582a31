// Link kinds (bridge, macvlan, vxlan, tun/tap, unknown), link changes, bridge
// port options and bulk delete by group, each cross-checked with ip/bridge -j.
import { execFileSync, spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { NetlinkError, ValidationError, openNetns } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

/** `ip -d -j link show DEV` in a namespace. */
function ipLink(ns: string, dev: string): any {
  return ipJson(ns, '-d', 'link', 'show', 'dev', dev)[0];
}

/** Names of the links in a group, per `ip -j link show`. */
function ipGroup(ns: string, group: number): string[] {
  return ipJson(ns, 'link', 'show')
    .filter((l: any) => l.group === String(group))
    .map((l: any) => l.ifname)
    .sort();
}

/** `bridge -j -d link show dev DEV` in a namespace. */
function bridgeLink(ns: string, dev: string): any {
  const out = execFileSync('bridge', ['-n', ns, '-j', '-d', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
  return JSON.parse(out)[0];
}

describe('link kinds', () => {
  const box = useNetns('k');
  const ns = () => box.ns('k');
  const h = () => box.h('k');

  it('add sets the alias it was given (the kernel ignores one in the creating request), and refuses one for another namespace', async () => {
    await h().links.add({ name: 'al0', kind: 'bridge', alias: 'uplink of c1' });
    expect(ipLink(ns(), 'al0').ifalias).toBe('uplink of c1');
    expect((await h().links.get('al0')).alias).toBe('uplink of c1');
    await expect(h().links.add({ name: 'al1', kind: 'bridge', alias: 'x', netns: ns() })).rejects.toThrow(ValidationError);
    expect(ipJson(ns(), 'link', 'show').map((l: { ifname: string }) => l.ifname)).not.toContain('al1');
    await h().links.delete('al0');
  });

  it('bridge options round-trip both ways', async () => {
    await h().links.add({
      // (vlanFiltering is not set: this kernel lacks CONFIG_BRIDGE_VLAN_FILTERING and refuses the attribute)
      name: 'br1',
      kind: 'bridge',
      stp: true,
      forwardDelay: 4,
      ageingTime: 120,
      multicastSnooping: false,
      priority: 4096,
    });
    const info = (await h().links.get('br1')).info as any;
    const d = ipLink(ns(), 'br1').linkinfo.info_data;
    expect(d.stp_state).toBe(1);
    expect(info.stp).toBe(true);
    expect(d.forward_delay).toBe(400); // ip prints centiseconds
    expect(info.forwardDelay).toBe(4);
    expect(d.ageing_time).toBe(12000);
    expect(info.ageingTime).toBe(120);
    expect(d.vlan_filtering).toBe(0);
    expect(info.vlanFiltering).toBe(false);
    expect(d.mcast_snooping).toBe(0);
    expect(info.multicastSnooping).toBe(false);
    expect(d.priority).toBe(4096);
    expect(info.priority).toBe(4096);

    ip(ns(), 'link', 'add', 'br2', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '700', 'ageing_time', '6000', 'mcast_snooping', '1');
    const br2 = await h().links.get('br2');
    expect(br2.kind).toBe('bridge');
    expect(br2.info).toMatchObject({ stp: false, forwardDelay: 7, ageingTime: 60, vlanFiltering: false, multicastSnooping: true });
  });

  it('refuses bad bridge and veth peer numbers before sending, where the writer wrapped them', async () => {
    // Each of these once reached the kernel: -5 s as 4294966796 cs, a string coerced,
    // a u16 overflow as a RangeError, the peer's txQueueLength -1 as 2^32-1.
    const refused = async (opts: object, field: string) => {
      await expect(h().links.add(opts as never)).rejects.toMatchObject({ name: 'ValidationError', field });
    };
    await refused({ name: 'brbad', kind: 'bridge', ageingTime: -5 }, 'ageingTime');
    await refused({ name: 'brbad', kind: 'bridge', ageingTime: 1e8 }, 'ageingTime');
    await refused({ name: 'brbad', kind: 'bridge', forwardDelay: '10' }, 'forwardDelay');
    await refused({ name: 'brbad', kind: 'bridge', priority: 70000 }, 'priority');
    await refused({ name: 'brbad', kind: 'bridge', stp: 'yes' }, 'stp');
    await refused({ name: 'vpbad', kind: 'veth', peer: { name: 'vpbad1', txQueueLength: -1 } }, 'peer.txQueueLength');
    await refused({ name: 'vpbad', kind: 'veth', peer: { name: 'vpbad1', mtu: 2 ** 32 + 1500 } }, 'peer.mtu');
    await refused({ name: 'vpbad', kind: 'veth' }, 'peer');
    const names = ipJson(ns(), 'link', 'show').map((l: { ifname: string }) => l.ifname);
    expect(names).not.toContain('brbad');
    expect(names).not.toContain('vpbad');

    // a change of a live bridge is checked the same way, and leaves it as it was
    await h().links.add({ name: 'brchk', kind: 'bridge', ageingTime: 120 });
    await expect(h().links.set('brchk', { bridge: { ageingTime: -1 } })).rejects.toMatchObject({ name: 'ValidationError', field: 'ageingTime' });
    await expect(h().links.set('brchk', { bridge: { priority: 1e6 } })).rejects.toMatchObject({ name: 'ValidationError', field: 'priority' });
    expect(ipLink(ns(), 'brchk').linkinfo.info_data).toMatchObject({ ageing_time: 12000, priority: 32768 });
    await h().links.delete('brchk');
  });

  it('macvlan in every mode, created by nlkit and by ip', async () => {
    await h().links.add({ name: 'lower0', kind: 'veth', peer: { name: 'lower1' } });
    const lower = await h().links.get('lower0');
    for (const mode of ['private', 'vepa', 'bridge', 'passthru', 'source'] as const) {
      const name = `mv-${mode}`.slice(0, 15);
      await h().links.add({ name, kind: 'macvlan', parent: 'lower0', mode, mtu: 1400 });
      const l = await h().links.get(name);
      const theirs = ipLink(ns(), name);
      expect(l.kind).toBe('macvlan');
      expect((l.info as any).mode).toBe(mode);
      expect(theirs.linkinfo.info_data.mode).toBe(mode);
      expect(l.parentIndex).toBe(lower.index);
      expect(theirs.link).toBe('lower0');
      expect(l.mtu).toBe(1400);
      expect(theirs.mtu).toBe(1400);
      await h().links.delete(name); // passthru must be alone on its lower device
    }
    ip(ns(), 'link', 'add', 'mvip', 'link', 'lower1', 'type', 'macvlan', 'mode', 'private');
    const byIp = await h().links.get('mvip');
    expect(byIp.kind).toBe('macvlan');
    expect((byIp.info as any).mode).toBe('private');
    expect(byIp.parentIndex).toBe((await h().links.get('lower1')).index);
  });

  it('vxlan with every option, created by nlkit and by ip', async () => {
    await h().links.add({
      name: 'vx0',
      kind: 'vxlan',
      vni: 4242,
      local: '10.20.0.1',
      remote: '10.20.0.2',
      dstPort: 4790,
      dev: 'lower0',
      learning: false,
      ttl: 17,
      udpChecksum: false,
      ageing: 120,
      srcPortRange: { low: 40000, high: 50000 },
    });
    const l = await h().links.get('vx0');
    const info = l.info as any;
    const d = ipLink(ns(), 'vx0').linkinfo.info_data;
    expect(l.kind).toBe('vxlan');
    expect(info.vni).toBe(4242);
    expect(d.id).toBe(4242);
    expect(info.local).toBe('10.20.0.1');
    expect(d.local).toBe('10.20.0.1');
    expect(info.remote).toBe('10.20.0.2');
    expect(d.remote).toBe('10.20.0.2');
    expect(info.dstPort).toBe(4790);
    expect(d.port).toBe(4790);
    expect(info.dev).toBe((await h().links.get('lower0')).index);
    expect(d.link).toBe('lower0');
    expect(info.learning).toBe(false);
    expect(d.learning).toBe(false);
    expect(info.ttl).toBe(17);
    expect(d.ttl).toBe(17);
    expect(info.udpChecksum).toBe(false);
    expect(d.udp_csum).toBe(false);
    expect(info.ageing).toBe(d.ageing);
    expect(info.srcPortRange).toEqual(d.port_range);

    // Multicast group, inherited TTL, default port (IANA 4789).
    await h().links.add({ name: 'vx1', kind: 'vxlan', vni: 7, multicastGroup: '239.1.1.7', dev: 'lower0', ttl: 'inherit' });
    const g = (await h().links.get('vx1')).info as any;
    const gd = ipLink(ns(), 'vx1').linkinfo.info_data;
    expect(g.multicastGroup).toBe('239.1.1.7');
    expect(gd.group).toBe('239.1.1.7');
    expect(g.ttlInherit).toBe(true);
    expect(g.ttl).toBeUndefined();
    expect(gd.ttl).toBeUndefined();
    expect(g.dstPort).toBe(4789);
    expect(gd.port).toBe(4789);

    // IPv6 underlay
    await h().links.add({ name: 'vx6', kind: 'vxlan', vni: 600, local: 'fd20::1', remote: 'fd20::2', udp6ZeroChecksumTx: true });
    const v6 = (await h().links.get('vx6')).info as any;
    const v6d = ipLink(ns(), 'vx6').linkinfo.info_data;
    expect([v6.local, v6.remote]).toEqual(['fd20::1', 'fd20::2']);
    expect([v6d.local6, v6d.remote6]).toEqual(['fd20::1', 'fd20::2']);
    expect(v6.udp6ZeroChecksumTx).toBe(true);
    expect(v6d.udp_zero_csum6_tx).toBe(true);

    ip(
      ns(),
      'link',
      'add',
      'vxip',
      'type',
      'vxlan',
      'id',
      '99',
      'local',
      '10.21.0.1',
      'remote',
      '10.21.0.2',
      'dstport',
      '8472',
      'dev',
      'lower1',
      'nolearning',
      'ttl',
      '33',
      'noudpcsum',
    );
    const byIp = (await h().links.get('vxip')).info as any;
    expect(byIp).toMatchObject({
      vni: 99,
      local: '10.21.0.1',
      remote: '10.21.0.2',
      dstPort: 8472,
      learning: false,
      ttl: 33,
      udpChecksum: false,
      dev: (await h().links.get('lower1')).index,
    });
  });

  it('refuses bad vxlan options before sending anything', async () => {
    await expect(h().links.add({ name: 'vxbad', kind: 'vxlan', vni: 1 << 24 })).rejects.toBeInstanceOf(ValidationError);
    await expect(h().links.add({ name: 'vxbad', kind: 'vxlan', vni: 1, remote: '239.1.1.1' })).rejects.toThrow(/unicast/);
    await expect(h().links.add({ name: 'vxbad', kind: 'vxlan', vni: 1, multicastGroup: '239.1.1.1' })).rejects.toThrow(/dev/);
    await expect(h().links.add({ name: 'vxbad', kind: 'vxlan', vni: 1, multicastGroup: '10.1.1.1', dev: 'lower0' })).rejects.toThrow(/multicast/);
    // a missing referenced link is not resolved: nothing is created
    await expect(h().links.add({ name: 'vxbad', kind: 'vxlan', vni: 1, dev: 'nosuch0' })).rejects.toMatchObject({ code: 'ENODEV' });
    expect(await h().links.find('vxbad')).toBeUndefined();
  });

  it('persistent tun and tap devices, with common options applied, read back as ip sees them', async () => {
    await h().links.add({ name: 'brt', kind: 'bridge' });
    await h().links.add({
      name: 'tap0',
      kind: 'tun',
      mode: 'tap',
      multiQueue: true,
      vnetHdr: true,
      owner: 1234,
      ownerGroup: 4321,
      mtu: 1400,
      mac: '02:00:00:00:aa:01',
      master: 'brt',
      up: true,
      alias: 'vm uplink',
    });
    const tap = await h().links.get('tap0');
    const theirs = ipLink(ns(), 'tap0');
    expect(tap.kind).toBe('tun');
    expect(theirs.linkinfo.info_kind).toBe('tun');
    const d = theirs.linkinfo.info_data;
    expect(tap.info).toMatchObject({ mode: 'tap', pi: false, vnetHdr: true, multiQueue: true, persist: true, owner: 1234, ownerGroup: 4321 });
    expect(d).toMatchObject({ type: 'tap', pi: false, vnet_hdr: true, multi_queue: true, persist: true, user: 1234, group: 4321 });
    expect(tap.mtu).toBe(1400);
    expect(theirs.mtu).toBe(1400);
    expect(tap.mac).toBe('02:00:00:00:aa:01');
    expect(theirs.address).toBe('02:00:00:00:aa:01');
    expect(theirs.master).toBe('brt');
    expect(tap.master).toBe((await h().links.get('brt')).index);
    expect(tap.up).toBe(true);
    expect(tap.alias).toBe('vm uplink');
    expect(theirs.ifalias).toBe('vm uplink');

    await h().links.add({ name: 'tun0', kind: 'tun', pi: true });
    const tun = (await h().links.get('tun0')).info as any;
    expect(tun).toMatchObject({ mode: 'tun', pi: true, multiQueue: false });
    expect(ipLink(ns(), 'tun0').linkinfo.info_data).toMatchObject({ type: 'tun', pi: true });

    ip(ns(), 'tuntap', 'add', 'dev', 'tapip', 'mode', 'tap', 'multi_queue');
    const byIp = await h().links.get('tapip');
    expect(byIp.info).toMatchObject({ mode: 'tap', multiQueue: true, persist: true, pi: false });
    await h().links.delete('tapip');
    expect(ipJson(ns(), 'link', 'show').map((l: any) => l.ifname)).not.toContain('tapip');
  });

  it('removes a new tun device again when its options cannot be applied', async () => {
    const e = await h()
      .links.add({ name: 'tunfail', kind: 'tun', master: 'nosuch0' })
      .catch((x) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe('ENODEV');
    expect(await h().links.find('tunfail')).toBeUndefined();
    expect(ipJson(ns(), 'link', 'show').map((l: any) => l.ifname)).not.toContain('tunfail');
  });

  it('keeps unknown kinds readable, with raw kind data preserved', async () => {
    ip(ns(), 'link', 'add', 'mvt0', 'link', 'lower0', 'type', 'macvtap', 'mode', 'bridge');
    ip(ns(), 'link', 'add', 'ifb0', 'type', 'ifb');
    const mvt = await h().links.get('mvt0');
    expect(mvt.kind).toBe('macvtap');
    expect(mvt.info).toEqual({}); // no decoder: empty, the data stays raw
    // IFLA_MACVLAN_MODE (1) = MACVLAN_MODE_BRIDGE (4)
    const mode = mvt.infoRaw!.find((a) => a.type === 1)!;
    expect(mode.data.readUInt32LE(0)).toBe(4);
    const ifb = (await h().links.list({ kind: 'ifb' })).map((l) => l.name);
    expect(ifb).toEqual(['ifb0']);
  });
});

describe('link changes', () => {
  const box = useNetns('s', 'other');
  const ns = () => box.ns('s');
  const h = () => box.h('s');

  it('sets up/down, mtu, mac, name, alias, txqueuelen, group, promisc, and clears the alias', async () => {
    await h().links.add({ name: 'c0', kind: 'veth', peer: { name: 'c1' } });
    await h().links.set('c0', {
      mtu: 9000,
      mac: '02:00:00:00:00:c0',
      alias: 'uplink',
      txQueueLength: 500,
      group: 42,
      promisc: true,
    });
    let l = await h().links.get('c0');
    let theirs = ipLink(ns(), 'c0');
    expect([l.mtu, theirs.mtu]).toEqual([9000, 9000]);
    expect([l.mac, theirs.address]).toEqual(['02:00:00:00:00:c0', '02:00:00:00:00:c0']);
    expect([l.alias, theirs.ifalias]).toEqual(['uplink', 'uplink']);
    expect([l.txQueueLength, theirs.txqlen]).toEqual([500, 500]);
    expect([l.group, theirs.group]).toEqual([42, '42']);
    expect(l.promiscuity).toBe(1);
    expect(theirs.promiscuity).toBe(1);
    expect(l.flags).toContain('PROMISC');
    expect(theirs.flags).toContain('PROMISC');

    await h().links.set('c0', { up: true, name: 'uplink0', alias: null, promisc: false });
    expect(await h().links.find('c0')).toBeUndefined();
    l = await h().links.get('uplink0');
    theirs = ipLink(ns(), 'uplink0');
    expect(l.up).toBe(true);
    expect(theirs.flags).toContain('UP');
    expect(l.alias).toBeUndefined();
    expect(theirs.ifalias).toBeUndefined();
    expect(l.promiscuity).toBe(0);

    await h().links.set('uplink0', { up: false });
    expect((await h().links.get('uplink0')).up).toBe(false);
    expect(ipLink(ns(), 'uplink0').flags).not.toContain('UP');
  });

  it('enslaves and releases (master / nomaster)', async () => {
    await h().links.add({ name: 'brs', kind: 'bridge' });
    await h().links.set('c1', { master: 'brs' });
    expect((await h().links.get('c1')).master).toBe((await h().links.get('brs')).index);
    expect(ipLink(ns(), 'c1').master).toBe('brs');
    expect((await h().links.list({ master: 'brs' })).map((l) => l.name)).toEqual(['c1']);
    await h().links.set('c1', { master: null });
    expect((await h().links.get('c1')).master).toBeUndefined();
    expect(ipLink(ns(), 'c1').master).toBeUndefined();
  });

  it('sets bridge port options (hairpin, learning, isolated...) and reads them back as ip and bridge do', async () => {
    // master and port options in one call: the port options follow the enslavement
    await h().links.set('c1', { master: 'brs', port: { hairpin: true, learning: false, isolated: true, flood: false, cost: 7, priority: 3 } });
    const l = await h().links.get('c1');
    expect(l.portKind).toBe('bridge');
    expect(l.port).toMatchObject({ hairpin: true, learning: false, isolated: true, flood: false, cost: 7, priority: 3 });
    const slave = ipLink(ns(), 'c1').linkinfo.info_slave_data;
    expect(slave).toMatchObject({ hairpin: true, learning: false, isolated: true, flood: false, cost: 7, priority: 3 });
    const br = bridgeLink(ns(), 'c1');
    expect(br).toMatchObject({ hairpin: true, learning: false, isolated: true, flood: false, cost: 7, priority: 3 });
    for (const [ours, theirs] of [
      ['guard', 'guard'],
      ['rootBlock', 'root_block'],
      ['fastLeave', 'fastleave'],
      ['mcastFlood', 'mcast_flood'],
      ['bcastFlood', 'bcast_flood'],
      ['neighSuppress', 'neigh_suppress'],
      ['proxyArp', 'proxy_arp'],
      ['mcastToUnicast', 'mcast_to_unicast'],
    ] as const) {
      expect((l.port as any)[ours], ours).toBe(slave[theirs]);
    }
    expect(l.port!.state).toBe(slave.state);

    // set by iproute2 (`bridge link set`), read by nlkit
    execFileSync('bridge', ['-n', ns(), 'link', 'set', 'dev', 'c1', 'hairpin', 'off', 'learning', 'on', 'isolated', 'off', 'guard', 'on']);
    expect((await h().links.get('c1')).port).toMatchObject({ hairpin: false, learning: true, isolated: false, guard: true });
    // only port options: one AF_BRIDGE request
    await h().links.set('c1', { port: { guard: false, neighSuppress: true } });
    expect(bridgeLink(ns(), 'c1')).toMatchObject({ guard: false, neigh_suppress: true });
  });

  it('refuses port options on a link that is no bridge port, and bad ones before sending', async () => {
    const e = await h()
      .links.set('uplink0', { port: { hairpin: true } })
      .catch((x) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.errno).toBe(osConstants.errno.EOPNOTSUPP);
    await expect(h().links.set('c1', { port: { priority: 99 } })).rejects.toBeInstanceOf(ValidationError);
    await expect(h().links.set('c1', { port: { state: 'bogus' as any } })).rejects.toBeInstanceOf(ValidationError);
  });

  it('applies nothing when the port options or altNames of a set would be refused after its other changes', async () => {
    // altNames and port go in requests after the main one: refused there, the mtu
    // and up of the main one stayed applied while the call failed.
    await h().links.add({ name: 'hv0', kind: 'veth', peer: { name: 'hv1' }, mtu: 1500 });
    await h().links.add({ name: 'hbr', kind: 'bridge' });
    ip(ns(), 'link', 'property', 'add', 'dev', 'hv1', 'altname', 'hv-taken');
    const state = () => {
      const l = ipLink(ns(), 'hv0');
      return { mtu: l.mtu, up: l.flags.includes('UP'), master: l.master, altnames: l.altnames };
    };
    const was = state();
    expect(was).toEqual({ mtu: 1500, up: false, master: undefined, altnames: undefined });
    const refused = (changes: object, field: string) => expect(h().links.set('hv0', changes)).rejects.toMatchObject({ name: 'ValidationError', field });
    await refused({ mtu: 1400, up: true, port: { hairpin: true } }, 'port'); // no bridge port
    await refused({ mtu: 1400, master: 'hv1', port: { hairpin: true } }, 'port'); // a master that is no bridge
    await refused({ mtu: 1400, up: true, altNames: ['hv-own', 'hv-taken'] }, 'altNames[1]'); // held by hv1
    await refused({ mtu: 1400, altNames: ['hv0'] }, 'altNames[0]'); // its own name
    expect(state()).toEqual(was);

    // what the checks allow still goes through: a master and port options together, the old name kept as an altname
    await h().links.set('hv0', { mtu: 1400, master: 'hbr', port: { hairpin: true } });
    expect(bridgeLink(ns(), 'hv0').hairpin).toBe(true);
    await h().links.set('hv0', { name: 'hv0b', altNames: ['hv0'] });
    expect(ipLink(ns(), 'hv0b')).toMatchObject({ mtu: 1400, master: 'hbr', altnames: ['hv0'] });
    await h().links.delete('hv0b');
    await h().links.delete('hbr');
  });

  it('reports the kernel extended-ack text for a refused change', async () => {
    const e = await h()
      .links.set('uplink0', { mtu: 70000 })
      .catch((x) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe('EINVAL');
    expect(e.extack).toMatch(/mtu/i);
  });

  it('moves links to another namespace by name, by fd and by pid', async () => {
    const other = box.h('other');
    await h().links.add({ name: 'm0', kind: 'veth', peer: { name: 'm1' } });
    await h().links.add({ name: 'n0', kind: 'veth', peer: { name: 'n1' } });
    await h().links.add({ name: 'p0', kind: 'veth', peer: { name: 'p1' } });

    await h().links.set('m1', { netns: box.ns('other') });
    const nsObj = await openNetns(box.ns('other'));
    try {
      await h().links.set('n1', { netns: { fd: nsObj.fd } });
    } finally {
      nsObj.close();
    }
    // a process living in the other namespace: IFLA_NET_NS_PID
    const sleeper = spawn('ip', ['netns', 'exec', box.ns('other'), 'sleep', '60'], { stdio: 'ignore' });
    try {
      const pid = await waitForChildInNetns(sleeper.pid!, box.ns('other'));
      await h().links.set('p1', { netns: { pid } });
    } finally {
      sleeper.kill();
    }
    for (const name of ['m1', 'n1', 'p1']) {
      expect(await h().links.find(name)).toBeUndefined();
      expect((await other.links.get(name)).kind).toBe('veth');
      expect(ipJson(box.ns('other'), 'link', 'show', 'dev', name)[0].ifname).toBe(name);
    }
    // a tap device made for another namespace ends up there, configured
    await h().links.add({ name: 'tapx', kind: 'tun', mode: 'tap', mtu: 1450, netns: box.ns('other') });
    expect(await h().links.find('tapx')).toBeUndefined();
    expect(await other.links.get('tapx')).toMatchObject({ kind: 'tun', mtu: 1450, info: { mode: 'tap', persist: true } });
    expect(ipLink(box.ns('other'), 'tapx').linkinfo.info_data.type).toBe('tap');
  });

  it('lists with filters: kind, master, name, up/down, group', async () => {
    await h().links.add({ name: 'f0', kind: 'bridge', group: 5, up: true });
    await h().links.add({ name: 'f1', kind: 'bridge', group: 5 });
    expect((await h().links.list({ group: 5 })).map((l) => l.name).sort()).toEqual(['f0', 'f1']);
    // (`ip -j link show group N` prints empty objects for the other links: filter here)
    expect(ipGroup(ns(), 5)).toEqual(['f0', 'f1']);
    expect((await h().links.list({ group: 5, up: true })).map((l) => l.name)).toEqual(['f0']);
    expect((await h().links.list({ group: 5, up: false })).map((l) => l.name)).toEqual(['f1']);
    expect((await h().links.list({ name: 'f1' })).map((l) => l.name)).toEqual(['f1']);
    const bridges = (await h().links.list({ kind: 'bridge' })).map((l) => l.name).sort();
    expect(bridges).toEqual(
      ipJson(ns(), 'link', 'show', 'type', 'bridge')
        .map((l: any) => l.ifname)
        .sort(),
    );
  });

  it('deletes every link of a group in one request', async () => {
    await h().links.add({ name: 'g0', kind: 'bridge', group: 77 });
    await h().links.add({ name: 'g1', kind: 'veth', peer: { name: 'g1p' }, group: 77 });
    await h().links.add({ name: 'g2', kind: 'macvlan', parent: 'uplink0', group: 77 });
    await h().links.add({ name: 'g3', kind: 'bridge', group: 78 });
    expect(ipGroup(ns(), 77)).toEqual(['g0', 'g1', 'g2']);
    await h().links.deleteGroup(77);
    expect(ipGroup(ns(), 77)).toEqual([]);
    expect(await h().links.list({ group: 77 })).toEqual([]);
    expect(await h().links.find('g1p')).toBeUndefined(); // its veth peer went with it
    expect((await h().links.get('g3')).group).toBe(78);
    await expect(h().links.deleteGroup(0)).rejects.toBeInstanceOf(ValidationError);
  });

  it('reports 64-bit statistics and operstate as ip does', async () => {
    const links = await h().links.list();
    const theirs = ipJson(ns(), '-s', 'link', 'show');
    for (const t of theirs) {
      const l = links.find((x) => x.index === t.ifindex)!;
      expect(l.operState).toBe(t.operstate);
      expect(l.stats).toBeDefined();
      // Idle links: no traffic between the two reads (IPv6 is off on these down links).
      if (!l.up) {
        expect(l.stats!.rxBytes).toBe(BigInt(t.stats64.rx.bytes));
        expect(l.stats!.txPackets).toBe(BigInt(t.stats64.tx.packets));
      }
    }
  });
});

/** The pid of `ip netns exec NS sleep` once it has entered NS (ip execs sleep in place). */
async function waitForChildInNetns(pid: number, ns: string): Promise<number> {
  const want = execFileSync('ip', ['netns', 'exec', ns, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
  for (;;) {
    try {
      const cmd = execFileSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).trim();
      const net = execFileSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).trim();
      if (cmd === 'sleep' && net === want) return pid;
    } catch {
      // not there yet
    }
    await new Promise((r) => setImmediate(r));
  }
}
