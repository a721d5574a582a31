// Link kinds the test kernel cannot create, checked by bytes: for each
// command in test/fixtures/link-kinds/ip-requests.json, the RTM_NEWLINK
// request nlkit makes for the same link must carry what `ip link add`
// sent (captured by test/fixtures/capture-ip-requests.mjs under strace;
// iproute2 sends it even though this kernel refuses the kind), and the
// kind's decoder must read ip's bytes back as the options given.
//
// Tested by bytes only (this kernel has none of their modules: `ip link add`
// says "Unknown device type" for each): vlan, ipvlan, dummy, bond, vrf,
// geneve, gre, gretap, ipip, sit, ip6tnl. Tested against the kernel
// elsewhere: veth, bridge, macvlan, vxlan, tun (rtnetlink-links.test.ts).
//
// Compared: message type and flags, the ifinfomsg, and every attribute with
// its bytes, recursively. Not compared: attribute order at each level and
// the NLA_F_NESTED bit (nlkit sets it on nests, ip does not; the kernel
// accepts both), an empty IFLA_INFO_DATA (nlkit writes the nest for a kind
// without options, ip leaves it out) and the NUL after IFLA_INFO_KIND (nlkit
// terminates the kind name, ip does not): the same to the kernel.
// nlkit's request is taken from the operation before it is sent, in a
// namespace where the parent `lo` is index 1 as in ip's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { linkOps, NetlinkError, ValidationError, type LinkAddOptions } from '../../lib';
import type { Operation } from '../../lib/netlink/operation';
import { Attributes } from '../../lib/netlink/parser';
import { LINK_KINDS } from '../../lib/rtnetlink/link-kinds';
import { useNetns } from '../helpers/netns';

interface Case {
  name: string;
  command: string[];
  request: string;
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/link-kinds/ip-requests.json'), 'utf8')) as { cases: Case[] };

const RTM_NEWLINK = 16;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;

/** nlkit's options for each captured command, and what decoding ip's bytes must give. */
const CASES: Record<string, { options: LinkAddOptions; info: Record<string, unknown> }> = {
  vlan: { options: { name: 'v5', kind: 'vlan', parent: 'lo', id: 5 }, info: { id: 5, protocol: '802.1Q', gvrp: false, reorderHeader: false } },
  'vlan-8021ad-flags': {
    options: {
      name: 'v6',
      kind: 'vlan',
      parent: 'lo',
      protocol: '802.1ad',
      id: 4094,
      reorderHeader: false,
      gvrp: true,
      mvrp: false,
      looseBinding: true,
      bridgeBinding: false,
    },
    info: { id: 4094, protocol: '802.1ad', reorderHeader: false, gvrp: true, mvrp: false, looseBinding: true, bridgeBinding: false },
  },
  'ipvlan-l2': { options: { name: 'iv0', kind: 'ipvlan', parent: 'lo', mode: 'l2' }, info: { mode: 'l2', isolation: 'bridge' } },
  'ipvlan-l3s-private': {
    options: { name: 'iv1', kind: 'ipvlan', parent: 'lo', mode: 'l3s', isolation: 'private' },
    info: { mode: 'l3s', isolation: 'private' },
  },
  'ipvlan-l3-vepa': { options: { name: 'iv2', kind: 'ipvlan', parent: 'lo', mode: 'l3', isolation: 'vepa' }, info: { mode: 'l3', isolation: 'vepa' } },
  'ipvlan-default': { options: { name: 'iv3', kind: 'ipvlan', parent: 'lo' }, info: { mode: 'l3', isolation: 'bridge' } },
  'ipvlan-private': { options: { name: 'iv4', kind: 'ipvlan', parent: 'lo', isolation: 'private' }, info: { mode: 'l3', isolation: 'private' } },
  dummy: { options: { name: 'd0', kind: 'dummy' }, info: {} },
  'bond-lacp': {
    options: { name: 'b0', kind: 'bond', mode: '802.3ad', miimon: 100, lacpRate: 'fast', xmitHashPolicy: 'layer3+4', adSelect: 'bandwidth', minLinks: 1 },
    info: { mode: '802.3ad', miimon: 100, lacpRate: 'fast', xmitHashPolicy: 'layer3+4', adSelect: 'bandwidth', minLinks: 1 },
  },
  'bond-active-backup': {
    options: { name: 'b1', kind: 'bond', mode: 'active-backup', miimon: 100, updelay: 200, downdelay: 200 },
    info: { mode: 'active-backup', miimon: 100, updelay: 200, downdelay: 200 },
  },
  'bond-arp': {
    options: { name: 'b2', kind: 'bond', mode: 'balance-xor', arpInterval: 1000, arpIpTargets: ['10.0.0.1', '10.0.0.2'] },
    info: { mode: 'balance-xor', arpInterval: 1000, arpIpTargets: ['10.0.0.1', '10.0.0.2'] },
  },
  'bond-default': { options: { name: 'b3', kind: 'bond' }, info: { mode: 'balance-rr' } },
  vrf: { options: { name: 'vrf0', kind: 'vrf', table: 10 }, info: { table: 10 } },
  geneve: {
    options: { name: 'gn0', kind: 'geneve', vni: 7, remote: '10.0.0.2', ttl: 64, dstPort: 6081 },
    info: { vni: 7, remote: '10.0.0.2', ttl: 64, ttlInherit: false, tos: 0, dstPort: 6081, flowLabel: 0, external: false },
  },
  'geneve-external': {
    options: { name: 'gn1', kind: 'geneve', external: true },
    info: { vni: 0, ttl: 0, ttlInherit: false, tos: 0, dstPort: 6081, flowLabel: 0, external: true },
  },
  // ip reads a TOS in hex: tos 16 is 0x16
  'geneve6-df-inherit': {
    options: {
      name: 'gn2',
      kind: 'geneve',
      vni: 8,
      remote: 'fd00::2',
      ttl: 'inherit',
      tos: 0x16,
      flowLabel: 5,
      dstPort: 7000,
      df: 'inherit',
      udpChecksum: true,
    },
    info: { vni: 8, remote: 'fd00::2', ttlInherit: true, tos: 0x16, dstPort: 7000, flowLabel: 5, df: 'inherit', udpChecksum: true, external: false },
  },
  gre: {
    options: { name: 'g0', kind: 'gre', remote: '10.0.0.2', local: '10.0.0.1', ttl: 64, key: 42 },
    info: {
      remote: '10.0.0.2',
      local: '10.0.0.1',
      ttl: 64,
      tos: 0,
      ikey: 42,
      okey: 42,
      inputChecksum: false,
      outputChecksum: false,
      pmtudisc: true,
      external: false,
    },
  },
  gretap: {
    options: { name: 'gt0', kind: 'gretap', remote: '10.0.0.2', local: '10.0.0.1', ikey: 1, okey: 2, checksum: true },
    info: {
      remote: '10.0.0.2',
      local: '10.0.0.1',
      ttl: 0,
      tos: 0,
      ikey: 1,
      okey: 2,
      inputChecksum: true,
      outputChecksum: true,
      pmtudisc: true,
      external: false,
    },
  },
  'gre-minimal-dev': {
    options: { name: 'g1', kind: 'gre', remote: '10.0.0.2', dev: 'lo' },
    info: { remote: '10.0.0.2', ttl: 0, tos: 0, inputChecksum: false, outputChecksum: false, pmtudisc: true, dev: 1, external: false },
  },
  'gretap-external': {
    options: { name: 'gt1', kind: 'gretap', external: true },
    info: { ttl: 0, tos: 0, inputChecksum: false, outputChecksum: false, pmtudisc: true, external: true },
  },
  ipip: {
    options: { name: 'ip0', kind: 'ipip', remote: '10.0.0.2', local: '10.0.0.1', ttl: 64 },
    info: { remote: '10.0.0.2', local: '10.0.0.1', ttl: 64, tos: 0, pmtudisc: true, external: false },
  },
  'ipip-minimal-dev': {
    options: { name: 'ip1', kind: 'ipip', remote: '10.0.0.2', dev: 'lo', pmtudisc: false },
    info: { remote: '10.0.0.2', ttl: 0, tos: 0, pmtudisc: false, dev: 1, external: false },
  },
  'ipip-external': { options: { name: 'ip2', kind: 'ipip', external: true }, info: { ttl: 0, tos: 0, pmtudisc: true, external: true } },
  sit: {
    options: { name: 's0', kind: 'sit', remote: '10.0.0.2', local: '10.0.0.1', ttl: 64 },
    info: { remote: '10.0.0.2', local: '10.0.0.1', ttl: 64, tos: 0, pmtudisc: true, external: false },
  },
  ip6tnl: {
    options: { name: 't6', kind: 'ip6tnl', mode: 'ip6ip6', remote: 'fd00::2', local: 'fd00::1', hopLimit: 64 },
    info: { remote: 'fd00::2', local: 'fd00::1', ttl: 64, mode: 'ip6ip6', encapLimit: 4, flowLabel: 0, external: false },
  },
  'ip6tnl-default': {
    options: { name: 't7', kind: 'ip6tnl', remote: 'fd00::2' },
    info: { remote: 'fd00::2', ttl: 64, mode: 'any', encapLimit: 4, flowLabel: 0, external: false },
  },
  'ip6tnl-ipip6': {
    options: { name: 't8', kind: 'ip6tnl', mode: 'ipip6', remote: 'fd00::2', local: 'fd00::1', encapLimit: 2, flowLabel: 7, hopLimit: 10, fwmark: 9 },
    info: { remote: 'fd00::2', local: 'fd00::1', ttl: 10, mode: 'ipip6', encapLimit: 2, flowLabel: 7, fwmark: 9, external: false },
  },
  'ip6tnl-external': { options: { name: 't9', kind: 'ip6tnl', external: true }, info: { ttl: 0, tos: 0, pmtudisc: true, external: true } },
};

/** An attribute tree in a comparable form: [type, bytes or children], sorted by type; empty IFLA_INFO_DATA dropped. */
type Tree = Array<[number, string | Tree]>;
function tree(buf: Buffer, nests: (path: number[]) => boolean, at: number[] = []): Tree {
  const out: Tree = [];
  for (const a of new Attributes(buf).list) {
    const p = [...at, a.type];
    if (nests(p)) {
      const children = tree(a.data, nests, p);
      if (!(p.join() === `${IFLA_LINKINFO},${IFLA_INFO_DATA}` && children.length === 0)) out.push([a.type, children]);
    } else if (p.join() === `${IFLA_LINKINFO},${IFLA_INFO_KIND}`) out.push([a.type, a.data.toString('latin1').replace(/\0$/, '')]);
    else out.push([a.type, a.data.toString('hex')]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}

const isNest = (p: number[]) => p.join() === String(IFLA_LINKINFO) || p.join() === `${IFLA_LINKINFO},${IFLA_INFO_DATA}`;

/** Message type and flags, ifinfomsg, attribute tree. */
function shape(msg: Buffer) {
  return { type: msg.readUInt16LE(4), flags: msg.readUInt16LE(6), ifinfomsg: msg.subarray(16, 32).toString('hex'), attributes: tree(msg.subarray(32), isNest) };
}

/** Runs an operation up to its RTM_NEWLINK request and returns that request instead of sending it. */
function* newlinkRequest(op: Operation<unknown>): Operation<Buffer> {
  let step = op.next();
  while (!step.done) {
    const s = step.value;
    if ('message' in s && s.message.readUInt16LE(4) === RTM_NEWLINK) return Buffer.from(s.message);
    step = op.next(yield s);
  }
  throw new Error('the operation sent no RTM_NEWLINK');
}

describe('link kinds by bytes: nlkit sends what ip link add sends', () => {
  const box = useNetns('kb');
  const h = () => box.h('kb');

  it('every captured command has nlkit options, and every kind is covered', () => {
    expect(fixture.cases.map((c) => c.name).sort()).toEqual(Object.keys(CASES).sort());
    const kinds = new Set(Object.values(CASES).map((c) => c.options.kind));
    expect([...kinds].sort()).toEqual(['bond', 'dummy', 'geneve', 'gre', 'gretap', 'ip6tnl', 'ipip', 'ipvlan', 'sit', 'vlan', 'vrf']);
  });

  for (const c of fixture.cases) {
    it(`${c.name}: ip link add ${c.command.join(' ')}`, async () => {
      const spec = CASES[c.name];
      const theirs = Buffer.from(c.request, 'hex');
      const ours = await h().run(newlinkRequest(linkOps.add(spec.options)));
      // the ACK flag is the connection's: set on every request when it is sent; nlkit asks for the
      // echo of the created link (its indexes are links.add()'s result), which ip does only with -echo
      const acked = Buffer.from(ours);
      expect(acked.readUInt16LE(6) & 8).toBe(8);
      acked.writeUInt16LE((acked.readUInt16LE(6) | 4) & ~8, 6);
      expect(shape(acked)).toEqual(shape(theirs));
      // ip's bytes decode to the options given
      const li = new Attributes(theirs, 32).nested(IFLA_LINKINFO)!;
      const kind = li.string(IFLA_INFO_KIND)!;
      expect(kind).toBe(spec.options.kind);
      const data = li.nested(IFLA_INFO_DATA) ?? new Attributes(Buffer.alloc(0));
      expect(LINK_KINDS[kind].decode(data)).toMatchObject(spec.info);
    });
  }

  it('the kernel here refuses each kind (so the bytes are the test), as it refuses ip', async () => {
    for (const kind of ['vlan', 'ipvlan', 'dummy', 'bond', 'vrf', 'geneve', 'gre', 'gretap', 'ipip', 'sit', 'ip6tnl']) {
      const spec = Object.values(CASES).find((x) => x.options.kind === kind)!;
      const e = await h()
        .links.add(spec.options)
        .catch((x: unknown) => x);
      expect(e, kind).toBeInstanceOf(NetlinkError);
    }
  });

  it('refuses bad options before sending (ValidationError naming the field)', async () => {
    const bad: Array<[LinkAddOptions, string]> = [
      [{ name: 'x', kind: 'vlan', parent: 'lo', id: 4096 }, 'id'],
      [{ name: 'x', kind: 'vlan', parent: 'lo', id: 5, protocol: '802.1x' as never }, 'protocol'],
      [{ name: 'x', kind: 'vlan', id: 5 } as never, 'parent'],
      [{ name: 'x', kind: 'vlan', parent: 'lo', id: 5, gvrpp: true } as never, 'link options'],
      [{ name: 'x', kind: 'ipvlan', parent: 'lo', mode: 'l4' as never }, 'mode'],
      [{ name: 'x', kind: 'ipvlan', parent: 'lo', isolation: 'open' as never }, 'isolation'],
      [{ name: 'x', kind: 'bond', mode: 'lacp' as never }, 'mode'],
      [{ name: 'x', kind: 'bond', miimon: -1 }, 'miimon'],
      [{ name: 'x', kind: 'bond', arpIpTargets: ['fd00::1'] }, 'arpIpTargets[0]'],
      [{ name: 'x', kind: 'bond', arpIpTargets: Array(17).fill('10.0.0.1') as string[] }, 'arpIpTargets'],
      [{ name: 'x', kind: 'vrf' } as never, 'table'],
      [{ name: 'x', kind: 'vrf', table: 0 }, 'table'],
      [{ name: 'x', kind: 'geneve', remote: '10.0.0.2' }, 'vni'],
      [{ name: 'x', kind: 'geneve', vni: 1 << 24, remote: '10.0.0.2' }, 'vni'],
      [{ name: 'x', kind: 'geneve', external: true, remote: '10.0.0.2' }, 'remote'],
      [{ name: 'x', kind: 'geneve', vni: 1, remote: '10.0.0.2', df: 'maybe' as never }, 'df'],
      [{ name: 'x', kind: 'gre', key: 1, ikey: 2 }, 'key'],
      [{ name: 'x', kind: 'gre', remote: 'fd00::1' }, 'remote'],
      [{ name: 'x', kind: 'gretap', external: true, remote: '10.0.0.2' }, 'remote'],
      [{ name: 'x', kind: 'ipip', ttl: 256 }, 'ttl'],
      [{ name: 'x', kind: 'sit', local: 'fd00::1' }, 'local'],
      [{ name: 'x', kind: 'ip6tnl', mode: 'gre' as never }, 'mode'],
      [{ name: 'x', kind: 'ip6tnl', remote: '10.0.0.2' }, 'remote'],
      [{ name: 'x', kind: 'ip6tnl', flowLabel: 1 << 20 }, 'flowLabel'],
    ];
    for (const [o, field] of bad) {
      const e = await h()
        .links.add(o)
        .catch((x: unknown) => x);
      expect(e, JSON.stringify(o)).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field, JSON.stringify(o)).toBe(field);
    }
    // set: the new changeable kinds' settings are checked the same way, before sending
    for (const [changes, field] of [
      [{ vlan: { gvrp: true, id: 6 } }, 'vlan settings'],
      [{ ipvlan: { mode: 'l4' } }, 'mode'],
      [{ bond: { xmitHashPolicy: 'layer9' } }, 'xmitHashPolicy'],
      [{ vlan: { gvrp: true }, bond: { miimon: 1 } }, 'bond'],
    ] as const) {
      const e = await h()
        .links.set('lo', changes as never)
        .catch((x: unknown) => x);
      expect(e, JSON.stringify(changes)).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(field);
    }
  });

  it('links.set sends a kind change like ip link set ... type <kind>', async () => {
    // The kernel refuses a kind lo is not; the request is what matters here.
    function* setRequest(changes: object): Operation<Buffer> {
      const op = linkOps.set('lo', changes);
      let step = op.next();
      while (!step.done) {
        const s = step.value;
        if ('message' in s && s.message.readUInt16LE(4) === RTM_NEWLINK) return Buffer.from(s.message);
        step = op.next(yield s);
      }
      throw new Error('no request');
    }
    const vlanSet = await h().run(setRequest({ vlan: { gvrp: true, reorderHeader: false } }));
    const data = new Attributes(vlanSet, 32).nested(IFLA_LINKINFO)!.nested(IFLA_INFO_DATA)!;
    expect(data.get(2)?.toString('hex')).toBe('02000000' + '03000000'); // flags gvrp, mask gvrp|reorder_hdr
    const bondSet = await h().run(setRequest({ bond: { miimon: 250 } }));
    expect(new Attributes(bondSet, 32).nested(IFLA_LINKINFO)!.string(IFLA_INFO_KIND)).toBe('bond');
    expect(new Attributes(bondSet, 32).nested(IFLA_LINKINFO)!.nested(IFLA_INFO_DATA)!.u32(3)).toBe(250);
  });
});
