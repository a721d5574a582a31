// Request encoding and reply decoding of the rtnetlink families, without a
// kernel: a request and the kernel's report of the same object share one
// layout, so encoding with an operation and decoding the result must round-trip.
import { describe, expect, it } from 'vitest';
import { NLA_F_NESTED } from '../../lib/netlink/constants';
import { ValidationError } from '../../lib/netlink/errors';
import type { LocalStep, NetlinkCall, Operation } from '../../lib/netlink/operation';
import { Attributes, parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { decodeBridgePort, encodeBridgePort } from '../../lib/rtnetlink/bridge-port';
import * as C from '../../lib/rtnetlink/constants';
import { decodeEvent } from '../../lib/rtnetlink/events';
import { decodeFdbEntry, fdbOps } from '../../lib/rtnetlink/fdb';
import { LINK_KINDS } from '../../lib/rtnetlink/link-kinds';
import { decodeLink, linkOps } from '../../lib/rtnetlink/link';
import { decodeNeighbour, ndmsg, neighbourOps } from '../../lib/rtnetlink/neighbour';
import { decodeRoute } from '../../lib/rtnetlink/route';
import { decodeRule, ruleOps } from '../../lib/rtnetlink/rule';
import { drive } from '../helpers/drive';

/** The first request an operation makes (link refs given as indexes need no lookup). */
function firstRequest(op: Operation<unknown>): NetlinkMessage {
  const step = op.next();
  if (step.done) throw new Error('operation sent nothing');
  const c = step.value as NetlinkCall;
  expect(c.kind).not.toBe('local');
  return parseMessages(c.message)[0];
}

/** Encodes a kind's options into IFLA_INFO_DATA and decodes them back. */
function kindRoundTrip(kind: string, opts: object, indexOf: (r: string | number) => number = () => 0): any {
  const w = new NetlinkWriter().begin(16, 0);
  LINK_KINDS[kind].encode(w, opts, { netnsFd: () => -1, indexOf });
  const [m] = parseMessages(w.end().finish());
  return LINK_KINDS[kind].decode(new Attributes(m.payload));
}

describe('link kinds', () => {
  it('vxlan options round-trip', () => {
    const info = kindRoundTrip(
      'vxlan',
      {
        kind: 'vxlan',
        vni: 4242,
        local: '10.0.0.1',
        remote: '10.0.0.2',
        dstPort: 4790,
        dev: 'eth0',
        learning: false,
        ttl: 9,
        tos: 4,
        udpChecksum: false,
        ageing: 60,
        maxAddresses: 10,
        srcPortRange: { low: 1000, high: 2000 },
        proxy: true,
        l2miss: true,
        external: false,
      },
      (r) => (r === 'eth0' ? 7 : 0),
    );
    expect(info).toMatchObject({
      vni: 4242,
      local: '10.0.0.1',
      remote: '10.0.0.2',
      dstPort: 4790,
      dev: 7,
      learning: false,
      ttl: 9,
      tos: 4,
      ttlInherit: false,
      udpChecksum: false,
      ageing: 60,
      maxAddresses: 10,
      srcPortRange: { low: 1000, high: 2000 },
      proxy: true,
      l2miss: true,
      l3miss: false,
    });
    const mc = kindRoundTrip('vxlan', { kind: 'vxlan', vni: 1, multicastGroup: 'ff05::10', local: 'fd00::1', dev: 3, ttl: 'inherit' });
    expect(mc).toMatchObject({ multicastGroup: 'ff05::10', local: 'fd00::1', ttlInherit: true, dstPort: 4789 });
    expect(mc.ttl).toBeUndefined();
  });

  it('vxlan refuses bad options', () => {
    const bad = (o: object) => () => kindRoundTrip('vxlan', { kind: 'vxlan', ...o });
    expect(bad({ vni: -1 })).toThrow(ValidationError);
    expect(bad({ vni: 1, remote: '10.0.0.2', multicastGroup: '239.0.0.1', dev: 1 })).toThrow(/either/);
    expect(bad({ vni: 1, remote: 'ff05::1' })).toThrow(/unicast/);
    expect(bad({ vni: 1, dstPort: 70000 })).toThrow(ValidationError);
    expect(bad({ vni: 1, ttl: 300 })).toThrow(ValidationError);
  });

  it('macvlan options round-trip', () => {
    expect(kindRoundTrip('macvlan', { kind: 'macvlan', parent: 2, mode: 'passthru', nopromisc: true })).toMatchObject({ mode: 'passthru', nopromisc: true });
    expect(kindRoundTrip('macvlan', { kind: 'macvlan', parent: 2 }).mode).toBe('0'); // no mode sent: the kernel picks vepa
    expect(() => kindRoundTrip('macvlan', { kind: 'macvlan', parent: 2, mode: 'hub' })).toThrow(ValidationError);
    expect(LINK_KINDS.macvlan.parent!({ kind: 'macvlan', parent: 'eth0' })).toBe('eth0');
  });

  it('tun info decodes; creation is a local step run in the handle namespace', () => {
    const w = new NetlinkWriter().begin(16, 0);
    w.u8(3, 2).u8(4, 0).u8(5, 1).u8(6, 1).u8(7, 1).u32(1, 1000).u32(8, 2);
    const [m] = parseMessages(w.end().finish());
    expect(LINK_KINDS.tun.decode(new Attributes(m.payload))).toEqual({
      mode: 'tap',
      pi: false,
      vnetHdr: true,
      persist: true,
      multiQueue: true,
      owner: 1000,
      numQueues: 2,
    });
    const step = linkOps.add({ name: 'tap0', kind: 'tun', mode: 'tap' }).next();
    expect((step.value as LocalStep).kind).toBe('local');
    expect(() => linkOps.add({ name: 'tap0', kind: 'tun', mode: 'tx' as any }).next()).toThrow(ValidationError);
  });

  it('validates every kind option before any request', () => {
    expect(() => linkOps.add({ name: 'vx0', kind: 'vxlan', vni: 1 << 25, dev: 'eth0' }).next()).toThrow(ValidationError);
    expect(() => linkOps.add({ name: 'b0', kind: 'bridge', mtu: 10 }).next()).toThrow(ValidationError);
    expect(() => linkOps.add({ name: 'b0', kind: 'bridge', alias: 'x'.repeat(300) }).next()).toThrow(ValidationError);
  });
});

describe('link requests', () => {
  it('bridge port options travel as AF_BRIDGE RTM_SETLINK with a nested IFLA_PROTINFO', () => {
    const m = firstRequest(linkOps.set(5, { port: { hairpin: true, learning: false, isolated: true, cost: 9, priority: 2 } }));
    expect(m.type).toBe(C.RTM_SETLINK);
    expect(m.payload[0]).toBe(C.AF_BRIDGE);
    expect(m.payload.readInt32LE(4)).toBe(5);
    const a = new Attributes(m.payload, C.IFINFOMSG_LEN);
    const raw = a.list.find((x) => x.type === C.IFLA_PROTINFO)!;
    expect(raw.nested).toBe(true);
    expect(decodeBridgePort(new Attributes(raw.data))).toMatchObject({ hairpin: true, learning: false, isolated: true, cost: 9, priority: 2 });
  });

  it('a master change and port options: the port request follows the link request', () => {
    // The link and the master are read first: port options need a bridge as master.
    const kernel = (r: NetlinkMessage) => {
      if (r.type !== C.RTM_GETLINK) return [];
      const index = r.payload.readInt32LE(4);
      const w = new NetlinkWriter().begin(C.RTM_NEWLINK, 0);
      w.view.writeInt32LE(index, w.struct(C.IFINFOMSG_LEN) + 4);
      w.string(C.IFLA_IFNAME, index === 3 ? 'br0' : 'veth0');
      const li = w.nest(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, index === 3 ? 'bridge' : 'veth');
      w.endNest(li);
      return parseMessages(w.end().finish());
    };
    const reqs = drive(linkOps.set(5, { master: 3, port: { hairpin: true } }), kernel).requests.filter((r) => r.type !== C.RTM_GETLINK);
    expect(reqs.map((r) => [r.type, r.payload[0]])).toEqual([
      [C.RTM_NEWLINK, 0],
      [C.RTM_SETLINK, C.AF_BRIDGE],
    ]);
    expect(new Attributes(reqs[0].payload, C.IFINFOMSG_LEN).u32(C.IFLA_MASTER)).toBe(3);
  });

  it('moves by pid with IFLA_NET_NS_PID', () => {
    const m = firstRequest(linkOps.set(5, { netns: { pid: 1234 } }));
    const a = new Attributes(m.payload, C.IFINFOMSG_LEN);
    expect(a.u32(C.IFLA_NET_NS_PID)).toBe(1234);
    expect(a.has(C.IFLA_NET_NS_FD)).toBe(false);
  });

  it('deletes a group with ifindex 0 and IFLA_GROUP', () => {
    const m = firstRequest(linkOps.deleteGroup(9));
    expect(m.type).toBe(C.RTM_DELLINK);
    expect(m.payload.readInt32LE(4)).toBe(0);
    expect(new Attributes(m.payload, C.IFINFOMSG_LEN).u32(C.IFLA_GROUP)).toBe(9);
    expect(() => linkOps.deleteGroup(0).next()).toThrow(ValidationError);
  });

  it('bridge port settings refuse bad values', () => {
    expect(() => encodeBridgePort(new NetlinkWriter(), { priority: 64 })).toThrow(ValidationError);
    expect(() => encodeBridgePort(new NetlinkWriter(), { hairpin: 'yes' as any })).toThrow(ValidationError);
    expect(() => linkOps.set(5, { port: { state: 'open' as any } }).next()).toThrow(ValidationError);
  });
});

describe('neighbours and fdb', () => {
  it('a neighbour request decodes as the neighbour it creates', () => {
    const m = firstRequest(
      neighbourOps.add({
        link: 3,
        address: 'fd00::7',
        mac: '02:00:00:00:00:07',
        state: 'stale',
        router: true,
        externLearned: true,
        managed: true,
        protocol: 'static',
      }),
    );
    expect(m.type).toBe(C.RTM_NEWNEIGH);
    expect(decodeNeighbour(m)).toMatchObject({
      family: 6,
      link: 3,
      address: 'fd00::7',
      mac: '02:00:00:00:00:07',
      state: ['STALE'],
      flags: ['router', 'extern_learn', 'managed'],
      protocol: 'static',
    });
    const p = decodeNeighbour(firstRequest(neighbourOps.add({ link: 3, address: '10.0.0.9', proxy: true })));
    expect(p).toMatchObject({ family: 4, flags: ['proxy'], state: [] });
    expect(p.mac).toBeUndefined();
  });

  it('neighbour validation', () => {
    expect(() => neighbourOps.add({ link: 3, address: '10.0.0.1' }).next()).toThrow(/link-layer/);
    expect(() => neighbourOps.add({ link: 3, address: '10.0.0.1', mac: '02:00:00:00:00:01', state: 'gone' as any }).next()).toThrow(ValidationError);
    expect(() => neighbourOps.add({ link: 3, address: '10.0.0.300', mac: '02:00:00:00:00:01' }).next()).toThrow(ValidationError);
  });

  it('an FDB request decodes as the entry it creates', () => {
    const m = firstRequest(fdbOps.append({ mac: '00:00:00:00:00:00', link: 4, dst: '10.0.0.2', vni: 77, port: 4790, srcVni: 5, via: 2, sticky: true }));
    expect(m.type).toBe(C.RTM_NEWNEIGH);
    expect(m.flags & 0x800).toBe(0x800); // NLM_F_APPEND
    expect(decodeFdbEntry(m)).toMatchObject({
      mac: '00:00:00:00:00:00',
      link: 4,
      dst: '10.0.0.2',
      vni: 77,
      port: 4790,
      srcVni: 5,
      via: 2,
      flags: ['self', 'sticky'],
      state: 'permanent',
    });
    // (entries in a bridge's FDB, `bridge: ...`: test/unit/verb-table-ops.test.ts)
    const fixed = decodeFdbEntry(firstRequest(fdbOps.add({ mac: '02:00:00:00:00:01', link: 4, state: 'static', vlan: 10 })));
    expect(fixed).toMatchObject({ flags: ['self'], state: 'static', vlan: 10 });
    expect(decodeFdbEntry(firstRequest(fdbOps.add({ mac: '02:00:00:00:00:01', link: 4, state: 'dynamic' }))).state).toBe('dynamic');
  });

  /** An RTM_NEWNEIGH as the kernel sends it, with NDA_FLAGS_EXT. */
  function withExtFlags(family: number, ntf: number, ext: number, attrs: (w: NetlinkWriter) => void): NetlinkMessage {
    const w = new NetlinkWriter().begin(C.RTM_NEWNEIGH, 0);
    ndmsg(w, family, 4, C.NUD_REACHABLE, ntf);
    attrs(w);
    w.u32(C.NDA_FLAGS_EXT, ext);
    return parseMessages(w.end().finish())[0];
  }

  it('decodes NDA_FLAGS_EXT into named flags (it was an unknown attribute of FDB entries), keeping bits it cannot name raw', () => {
    const mac = (w: NetlinkWriter) => w.attr(C.NDA_LLADDR, Buffer.from([2, 0, 0, 0, 0, 1]));
    const locked = decodeFdbEntry(withExtFlags(C.AF_BRIDGE, 0, C.NTF_EXT_LOCKED, mac));
    expect(locked.flags).toEqual(['locked']);
    expect(locked.unknownAttributes).toEqual([]);
    const unnamed = decodeFdbEntry(withExtFlags(C.AF_BRIDGE, C.NTF_EXT_LEARNED, C.NTF_EXT_LOCKED | (1 << 9), mac));
    expect(unnamed.flags).toEqual(['extern_learn', 'locked']);
    expect(unnamed.unknownAttributes.map((x) => x.type)).toEqual([C.NDA_FLAGS_EXT]);
    const dst = (w: NetlinkWriter) => w.attr(C.NDA_DST, Buffer.from([10, 0, 0, 2]));
    const n = decodeNeighbour(withExtFlags(2, C.NTF_EXT_LEARNED, C.NTF_EXT_MANAGED | C.NTF_EXT_EXT_VALIDATED, dst));
    expect(n.flags).toEqual(['extern_learn', 'managed', 'extern_valid']);
    expect(n.unknownAttributes).toEqual([]);
  });

  it('a listed neighbour or FDB entry encodes the entry it was: state, flags (also extended), protocol', () => {
    const listed = decodeNeighbour(
      withExtFlags(2, C.NTF_ROUTER | C.NTF_EXT_LEARNED | C.NTF_OFFLOADED, C.NTF_EXT_EXT_VALIDATED, (w) => {
        w.attr(C.NDA_DST, Buffer.from([10, 0, 0, 2]));
        w.attr(C.NDA_LLADDR, Buffer.from([2, 0, 0, 0, 0, 2]));
        w.u8(C.NDA_PROTOCOL, 4);
      }),
    );
    const m = firstRequest(neighbourOps.replace({ ...listed, state: ['STALE'], probes: 3, refcnt: 1 }));
    expect(m.payload.readUInt16LE(8)).toBe(C.NUD_STALE);
    // "offload" is the kernel's: not written.
    expect(m.payload.readUInt8(10)).toBe(C.NTF_ROUTER | C.NTF_EXT_LEARNED);
    expect(new Attributes(m.payload, C.NDMSG_LEN).u32(C.NDA_FLAGS_EXT)).toBe(C.NTF_EXT_EXT_VALIDATED);
    expect(decodeNeighbour(m)).toMatchObject({ address: '10.0.0.2', mac: '02:00:00:00:00:02', state: ['STALE'], protocol: 'static' });
    // Options win over the listed flags.
    expect(firstRequest(neighbourOps.replace({ ...listed, router: false })).payload.readUInt8(10)).toBe(C.NTF_EXT_LEARNED);
    expect(() => neighbourOps.replace({ ...listed, flags: ['routr'] }).next()).toThrow(ValidationError);
    expect(() => neighbourOps.replace({ ...listed, state: ['GONE'] }).next()).toThrow(ValidationError);
    const entry = decodeFdbEntry(
      withExtFlags(C.AF_BRIDGE, C.NTF_SELF | C.NTF_STICKY | C.NTF_ROUTER | C.NTF_EXT_LEARNED, C.NTF_EXT_LOCKED, (w) =>
        w.attr(C.NDA_LLADDR, Buffer.from([2, 0, 0, 0, 0, 1])),
      ),
    );
    const f = firstRequest(fdbOps.replace({ ...entry, state: 'static' }));
    expect(f.payload.readUInt16LE(8)).toBe(C.NUD_NOARP | C.NUD_REACHABLE); // as `bridge fdb add ... static`
    expect(f.payload.readUInt8(10)).toBe(C.NTF_SELF | C.NTF_STICKY | C.NTF_ROUTER | C.NTF_EXT_LEARNED);
    // "locked" is the kernel's (it refuses it on an add): not written.
    expect(new Attributes(f.payload, C.NDMSG_LEN).get(C.NDA_FLAGS_EXT)).toBeUndefined();
    expect(firstRequest(fdbOps.replace({ ...entry, sticky: false })).payload.readUInt8(10) & C.NTF_STICKY).toBe(0);
  });

  it('a proxy neighbour refuses a state or MAC (the kernel drops them); its listed empty state is fine', () => {
    for (const extra of [{ state: 'permanent' as const }, { state: ['PERMANENT'] }, { mac: '02:00:00:00:00:01' }]) {
      expect(() => neighbourOps.add({ link: 3, address: '10.0.0.9', proxy: true, ...extra } as never).next(), JSON.stringify(extra)).toThrow(ValidationError);
    }
    const p = decodeNeighbour(firstRequest(neighbourOps.add({ link: 3, address: '10.0.0.9', proxy: true, router: true })));
    expect(p).toMatchObject({ flags: ['router', 'proxy'], state: [] });
    expect(decodeNeighbour(firstRequest(neighbourOps.replace(p)))).toMatchObject({ flags: ['router', 'proxy'], state: [] });
  });
});

describe('rules', () => {
  it('a rule request decodes as the rule it creates', () => {
    const m = firstRequest(
      ruleOps.add({
        priority: 10,
        src: '10.0.0.0/8',
        dst: '192.168.0.0/16',
        iif: 'eth0',
        oif: 'eth1',
        fwmark: 5,
        fwmask: 0xff,
        table: 70000,
        invert: true,
        tos: 8,
        protocol: 'static',
        ipProto: 'udp',
        sport: 53,
        dport: { start: 1000, end: 2000 },
        uidRange: { start: 1, end: 2 },
        suppressPrefixLength: 0,
      }),
    );
    expect(m.type).toBe(C.RTM_NEWRULE);
    expect(m.payload[4]).toBe(0); // a table above 255 goes in FRA_TABLE only
    expect(decodeRule(m)).toMatchObject({
      family: 4,
      priority: 10,
      src: '10.0.0.0/8',
      dst: '192.168.0.0/16',
      iif: 'eth0',
      oif: 'eth1',
      fwmark: 5,
      fwmask: 0xff,
      tableId: 70000,
      table: '70000',
      action: 'to_tbl',
      invert: true,
      tos: 8,
      protocol: 'static',
      ipProto: 17,
      sport: { start: 53, end: 53 },
      dport: { start: 1000, end: 2000 },
      uidRange: { start: 1, end: 2 },
      suppressPrefixLength: 0,
    });
    expect(decodeRule(firstRequest(ruleOps.add({ src: 'fd00::/64', action: 'unreachable' })))).toMatchObject({ family: 6, action: 'unreachable' });
    expect(decodeRule(firstRequest(ruleOps.add({ priority: 1, goto: 5 })))).toMatchObject({ action: 'goto', goto: 5 });
    expect(decodeRule(firstRequest(ruleOps.add({ priority: 1 })))).toMatchObject({ action: 'to_tbl', table: 'main' });
  });

  it('a delete matches loosely: no default table or action', () => {
    const m = firstRequest(ruleOps.delete({ priority: 10 }));
    expect(m.type).toBe(C.RTM_DELRULE);
    expect(m.payload[7]).toBe(0);
    expect(new Attributes(m.payload, C.FIB_RULE_HDR_LEN).has(C.FRA_TABLE)).toBe(false);
  });

  it('rule validation', () => {
    expect(() => ruleOps.add({ src: '10.0.0.0/8', dst: 'fd00::/8' }).next()).toThrow(ValidationError);
    expect(() => ruleOps.add({ action: 'nop', table: 5 }).next()).toThrow(ValidationError);
    expect(() => ruleOps.add({ sport: { start: 10, end: 5 } }).next()).toThrow(ValidationError);
    expect(() => ruleOps.add({ action: 'drop' as any }).next()).toThrow(ValidationError);
  });
});

describe('events', () => {
  function msg(type: number, family: number, build: (w: NetlinkWriter) => void, headerLen: number): NetlinkMessage {
    const w = new NetlinkWriter().begin(type, 0);
    const off = w.struct(headerLen);
    w.view.writeUInt8(family, off);
    build(w);
    return parseMessages(w.end().finish())[0];
  }

  it('decodes each notification into its typed event', () => {
    const link = msg(C.RTM_NEWLINK, 0, (w) => w.string(C.IFLA_IFNAME, 'eth0'), C.IFINFOMSG_LEN);
    expect(decodeEvent(link)).toMatchObject({ type: 'link', action: 'new', link: { name: 'eth0' } });
    const port = msg(
      C.RTM_DELLINK,
      C.AF_BRIDGE,
      (w) => {
        w.string(C.IFLA_IFNAME, 'veth0');
        const n = w.nest(C.IFLA_PROTINFO);
        w.u8(C.IFLA_BRPORT_MODE, 1);
        w.endNest(n);
      },
      C.IFINFOMSG_LEN,
    );
    expect(decodeEvent(port)).toMatchObject({ type: 'bridgePort', action: 'del', link: { name: 'veth0', port: { hairpin: true } } });
    expect(decodeLink(port).unknownAttributes).toEqual([]);
    const addr = msg(C.RTM_DELADDR, 10, (w) => w.attr(C.IFA_ADDRESS, Buffer.alloc(16, 1)), C.IFADDRMSG_LEN);
    expect(decodeEvent(addr)).toMatchObject({ type: 'address', action: 'del', address: { family: 6 } });
    expect(decodeEvent(addr, 4)).toBeUndefined();
    const route = msg(C.RTM_NEWROUTE, 2, (w) => w.u8(C.RTA_PREF, 3), C.RTMSG_LEN);
    expect(decodeEvent(route)).toMatchObject({ type: 'route', route: { dst: 'default', pref: 'low' } });
    const fdb = msg(C.RTM_NEWNEIGH, C.AF_BRIDGE, (w) => w.attr(C.NDA_LLADDR, Buffer.from([2, 0, 0, 0, 0, 1])), C.NDMSG_LEN);
    expect(decodeEvent(fdb)).toMatchObject({ type: 'fdb', entry: { mac: '02:00:00:00:00:01' } });
    const neigh = msg(C.RTM_NEWNEIGH, 2, (w) => w.attr(C.NDA_DST, Buffer.from([10, 0, 0, 1])), C.NDMSG_LEN);
    expect(decodeEvent(neigh)).toMatchObject({ type: 'neighbour', neighbour: { address: '10.0.0.1', state: ['NONE'] } });
    const rule = msg(C.RTM_DELRULE, 2, (w) => w.u32(C.FRA_PRIORITY, 9), C.FIB_RULE_HDR_LEN);
    expect(decodeEvent(rule)).toMatchObject({ type: 'rule', action: 'del', rule: { priority: 9 } });
    const ipmr = msg(C.RTM_NEWRULE, 128, () => {}, C.FIB_RULE_HDR_LEN);
    expect(decodeEvent(ipmr)).toBeUndefined();
  });

  it('route decoding names IPv6 preferences as ip does', () => {
    const w = new NetlinkWriter().begin(C.RTM_NEWROUTE, 0);
    const off = w.struct(C.RTMSG_LEN);
    w.view.writeUInt8(10, off);
    w.u8(C.RTA_PREF, 1);
    expect(decodeRoute(parseMessages(w.end().finish())[0]).pref).toBe('high');
  });

  it('the nested flag is set on IFLA_PROTINFO as the kernel requires', () => {
    const m = firstRequest(linkOps.set(1, { port: { learning: true } }));
    const off = C.IFINFOMSG_LEN;
    expect(m.payload.readUInt16LE(off + 2) & NLA_F_NESTED).toBe(NLA_F_NESTED);
  });
});

describe('names looked up in tables refuse Object members and control characters', () => {
  const bad = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
  it('macvlan mode, rule action and ipProto, fdb state, route pref', async () => {
    const { routeOps } = await import('../../lib/rtnetlink/route');
    for (const name of bad) {
      expect(() => kindRoundTrip('macvlan', { mode: name }), name).toThrow(ValidationError);
      expect(() => firstRequest(ruleOps.add({ action: name as never, priority: 10 })), name).toThrow(ValidationError);
      expect(() => firstRequest(ruleOps.add({ ipProto: name as never, table: 100 })), name).toThrow(ValidationError);
      expect(() => firstRequest(fdbOps.add({ mac: '02:00:00:00:00:01', link: 1, state: name as never })), name).toThrow(ValidationError);
      expect(() => firstRequest(routeOps.add({ dst: '2001:db8::/64', link: 1, pref: name as never })), name).toThrow(ValidationError);
    }
  });

  it('a link alias with a control character (ip would print it as a forged line)', () => {
    for (const alias of ['a\nb', 'a\0', '\x7f', 'tab\there']) {
      expect(() => firstRequest(linkOps.set(1, { alias })), JSON.stringify(alias)).toThrow(ValidationError);
    }
    expect(() => firstRequest(linkOps.set(1, { alias: 'uplink to rack 7' }))).not.toThrow();
  });
});
