// The public low-level layer without a kernel: what `nlkit/netlink` and
// `nlkit/genetlink` export, how they are published, input checks that must
// refuse before anything is opened or sent, generic netlink framing, and
// describe() on expression lists the kernel really returned.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as lowLevel from '../../lib/netlink';
import * as genetlink from '../../lib/genetlink';
import { describeNftRule, ValidationError } from '../../lib';
import { decodeBitset } from '../../lib/genetlink/ethtool/bitset';
import { checkLinkRef } from '../../lib/genetlink/ethtool/header';
import { decodeFamily, multicastGroup, validateFamilyName } from '../../lib/genetlink/family';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { checkSubscribeArgs } from '../../lib/netlink/subscribe';
import type { Expression } from '../../lib/nftables/expressions/registry';
import type { SetWithElements } from '../../lib/nftables/list';

const root = path.resolve(__dirname, '../..');

describe('the nlkit/netlink and nlkit/genetlink subpaths', () => {
  it('export the writer, parser, operation steps, sockets and errors', () => {
    for (const name of [
      'NetlinkWriter',
      'Attributes',
      'parseMessages',
      'cString',
      'call',
      'dump',
      'batch',
      'local',
      'openNetlink',
      'openNetlinkSync',
      'subscribeNetlink',
      'NetlinkSocket',
      'NetlinkSyncSocket',
      'NetlinkError',
      'ValidationError',
    ]) {
      expect(typeof (lowLevel as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(lowLevel.NETLINK_ROUTE).toBe(0);
    expect(lowLevel.NLM_F_DUMP).toBe(0x300);
    expect(lowLevel.NLMSG_ERROR).toBe(2);
  });

  it('export generic netlink: the socket, family lookups, framing and ethtool', () => {
    for (const name of ['openGenetlink', 'GenericNetlink', 'beginGenl', 'genlRequest', 'decodeGenl', 'genlCall', 'genlDump']) {
      expect(typeof (genetlink as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(Object.keys(genetlink.familyOps).sort()).toEqual(['find', 'get', 'list']);
    expect(Object.keys(genetlink.linkModesOps).sort()).toEqual(['get', 'list']);
    expect(Object.keys(genetlink.channelsOps).sort()).toEqual(['get', 'set']);
    expect(genetlink.NETLINK_GENERIC).toBe(16);
    expect(genetlink.GENL_ID_CTRL).toBe(0x10);
    expect(genetlink.ethtoolConstants.ETHTOOL_MSG_LINKMODES_GET).toBe(4);
  });

  it('are published in package.json "exports" (types and default) and documented by typedoc', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    for (const sub of ['netlink', 'genetlink']) {
      expect(pkg.exports[`./${sub}`]).toEqual({ types: `./dist/${sub}/index.d.ts`, default: `./dist/bundle/${sub}.js` }); // scripts/bundle.mjs
      expect(readFileSync(path.join(root, `lib/${sub}/index.ts`), 'utf8')).toContain(`@module nlkit/${sub}`);
    }
    const typedoc = JSON.parse(readFileSync(path.join(root, 'typedoc.json'), 'utf8'));
    expect(typedoc.entryPoints).toEqual(expect.arrayContaining(['lib/index.ts', 'lib/netlink/index.ts', 'lib/genetlink/index.ts']));
  });
});

describe('input checks before anything is opened', () => {
  it('openNetlink and openNetlinkSync refuse bad protocols and unknown or bad options', async () => {
    for (const protocol of [-1, 32, 1.5, '0' as never]) {
      await expect(lowLevel.openNetlink(protocol)).rejects.toMatchObject({ name: 'ValidationError', field: 'protocol' });
      expect(() => lowLevel.openNetlinkSync(protocol)).toThrow(ValidationError);
    }
    await expect(lowLevel.openNetlink(0, { netnss: 'x' } as never)).rejects.toMatchObject({ name: 'ValidationError', value: 'netnss' });
    await expect(lowLevel.openNetlink(0, { receiveBufferBytes: -1 })).rejects.toMatchObject({ name: 'ValidationError', field: 'receiveBufferBytes' });
  });

  it('subscribeNetlink refuses missing, empty and out-of-range groups', () => {
    expect(() => checkSubscribeArgs(0, { groups: [] })).toThrow(/groups/);
    expect(() => checkSubscribeArgs(0, {} as never)).toThrow(ValidationError);
    expect(() => checkSubscribeArgs(0, { groups: [0] })).toThrow(/group/);
    expect(() => checkSubscribeArgs(0, { groups: [1025] })).toThrow(/group/);
    expect(() => checkSubscribeArgs(0, { groups: [1], group: 2 } as never)).toThrow(/unknown option/);
    expect(checkSubscribeArgs(0, { groups: [1, 1, 3] })).toEqual([1, 3]);
  });

  it('generic netlink names, link references and channel counts are checked', async () => {
    expect(() => validateFamilyName('')).toThrow(ValidationError);
    expect(() => validateFamilyName('x'.repeat(16))).toThrow(/15 bytes/);
    expect(() => validateFamilyName('eth\ntool')).toThrow(ValidationError);
    expect(validateFamilyName('ethtool')).toBe('ethtool');
    expect(() => checkLinkRef(0)).toThrow(ValidationError);
    expect(() => checkLinkRef('a/b')).toThrow(ValidationError);
    expect(checkLinkRef(3)).toBe(3);
    // Operations validate when they start, before yielding a request.
    const op = genetlink.channelsOps.set('veth0', {});
    expect(() => op.next()).toThrow(/at least one/);
    expect(() => genetlink.channelsOps.set('veth0', { rx: -1 }).next()).toThrow(ValidationError);
    expect(() => genetlink.channelsOps.set('veth0', { rxx: 1 } as never).next()).toThrow(/unknown option/);
    expect(() => genetlink.genlRequest({ id: 5 }, 1)).toThrow(/family id/);
    expect(() => genetlink.genlRequest({ id: 20 }, 256)).toThrow(/command/);
    expect(() => genetlink.genlRequest({ id: 20 }, 1, { attributs: () => {} } as never)).toThrow(/unknown option/);
  });

  it('describeNftRule refuses what is not a rule, and unknown options', () => {
    expect(() => describeNftRule({} as never)).toThrow(ValidationError);
    expect(() => describeNftRule({ expressions: [] }, { set: [] } as never)).toThrow(/unknown option/);
    expect(() => describeNftRule({ expressions: [] }, { interfaceNames: new Map() as never })).toThrow(ValidationError);
    expect(describeNftRule({ expressions: [] })).toBe('');
  });
});

describe('generic netlink framing', () => {
  it('writes nlmsghdr (type = family id), genlmsghdr and attributes', () => {
    const msg = genetlink.genlRequest({ id: 0x15, version: 1 }, 4, { flags: lowLevel.NLM_F_DUMP, attributes: (w) => w.string(2, 'veth0') });
    const [m] = lowLevel.parseMessages(msg);
    expect(m.type).toBe(0x15);
    expect(m.flags).toBe(lowLevel.NLM_F_REQUEST | lowLevel.NLM_F_DUMP);
    expect([...m.payload.subarray(0, 4)]).toEqual([4, 1, 0, 0]);
    const g = genetlink.decodeGenl(m);
    expect(g.command).toBe(4);
    expect(g.version).toBe(1);
    expect(g.attributes.string(2)).toBe('veth0');
  });

  it('writes and skips a family fixed header', () => {
    const msg = genetlink.genlRequest({ id: 0x20, headerSize: 4 }, 1, { header: Buffer.from([9, 8, 7, 6]), attributes: (w) => w.u32(1, 42) });
    const g = genetlink.decodeGenl(lowLevel.parseMessages(msg)[0], 4);
    expect([...g.header]).toEqual([9, 8, 7, 6]);
    expect(g.attributes.u32(1)).toBe(42);
    expect(() => genetlink.genlRequest({ id: 0x20, headerSize: 4 }, 1, { header: Buffer.alloc(2) })).toThrow(/4 bytes/);
  });

  it('decodes a controller family description', () => {
    // CTRL_CMD_NEWFAMILY for "ethtool" as the kernel lays it out.
    const w = genetlink.beginGenl(new NetlinkWriter(), { id: 0x10, version: 2 }, genetlink.CTRL_CMD_NEWFAMILY, 0);
    w.string(genetlink.CTRL_ATTR_FAMILY_NAME, 'ethtool');
    w.u16(genetlink.CTRL_ATTR_FAMILY_ID, 21);
    w.u32(genetlink.CTRL_ATTR_VERSION, 1);
    w.u32(genetlink.CTRL_ATTR_HDRSIZE, 0);
    w.u32(genetlink.CTRL_ATTR_MAXATTR, 0);
    const ops = w.nest(genetlink.CTRL_ATTR_OPS);
    for (const [i, [id, flags]] of [
      [1, 0x0a],
      [2, 0x0b],
    ].entries()) {
      const n = w.nest(i + 1);
      w.u32(genetlink.CTRL_ATTR_OP_ID, id);
      w.u32(genetlink.CTRL_ATTR_OP_FLAGS, flags);
      w.endNest(n);
    }
    w.endNest(ops);
    const groups = w.nest(genetlink.CTRL_ATTR_MCAST_GROUPS);
    const g1 = w.nest(1);
    w.u32(genetlink.CTRL_ATTR_MCAST_GRP_ID, 6);
    w.string(genetlink.CTRL_ATTR_MCAST_GRP_NAME, 'monitor');
    w.endNest(g1);
    w.endNest(groups);
    const family = decodeFamily(genetlink.decodeGenl(lowLevel.parseMessages(w.end().finish())[0]));
    expect(family).toEqual({
      name: 'ethtool',
      id: 21,
      version: 1,
      headerSize: 0,
      maxAttribute: 0,
      commands: [
        { id: 1, flags: ['do', 'has-policy'] },
        { id: 2, flags: ['admin-perm', 'do', 'has-policy'] },
      ],
      multicastGroups: [{ name: 'monitor', id: 6 }],
    });
    expect(multicastGroup(family, 'monitor').id).toBe(6);
    expect(() => multicastGroup(family, 'nope')).toThrow(/has the groups monitor/);
  });

  it('decodes ethtool bit sets with and without a mask', () => {
    const bitset = (noMask: boolean, bits: Array<[string, boolean]>) => {
      const w = new NetlinkWriter().begin(0x15, 0);
      if (noMask) w.flag(1);
      const list = w.nest(3);
      for (const [i, [name, value]] of bits.entries()) {
        const b = w.nest(1);
        w.u32(1, i);
        w.string(2, name);
        if (value) w.flag(3);
        w.endNest(b);
      }
      w.endNest(list);
      return new lowLevel.Attributes(lowLevel.parseMessages(w.end().finish())[0].payload);
    };
    expect(
      decodeBitset(
        bitset(false, [
          ['10baseT/Half', false],
          ['10baseT/Full', true],
        ]),
      ),
    ).toEqual({ listed: ['10baseT/Half', '10baseT/Full'], set: ['10baseT/Full'] });
    expect(decodeBitset(bitset(true, [['1000baseT/Full', false]]))).toEqual({ listed: ['1000baseT/Full'], set: ['1000baseT/Full'] });
    expect(decodeBitset(undefined)).toEqual({ listed: [], set: [] });
  });
});

describe('describeNftRule', () => {
  // Expression lists as the kernel listed them for rules `nft -f` wrote (inet table).
  const hex = (s: string) => Buffer.from(s, 'hex');
  const nfproto4: Expression[] = [
    { type: 'meta', key: 'nfproto', dreg: 1 },
    { type: 'cmp', sreg: 1, op: 'eq', data: hex('02') },
  ];
  const l4 = (p: number): Expression[] => [
    { type: 'meta', key: 'l4proto', dreg: 1 },
    { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([p]) },
  ];
  const accept: Expression = { type: 'immediate', dreg: 0, verdict: { code: 'accept' } };
  const cases: Array<[string, Expression[]]> = [
    [
      'iifname "veth*" ct state established,related accept',
      [
        { type: 'meta', key: 'iifname', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: hex('76657468') },
        { type: 'ct', key: 'state', dreg: 1 },
        { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: hex('06000000'), xor: hex('00000000') },
        { type: 'cmp', sreg: 1, op: 'neq', data: hex('00000000') },
        accept,
      ],
    ],
    [
      'ct state != established drop',
      [
        { type: 'ct', key: 'state', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'neq', data: hex('02000000') },
        { type: 'immediate', dreg: 0, verdict: { code: 'drop' } },
      ],
    ],
    [
      'meta mark 0x00000010-0x00000020 accept',
      [
        { type: 'meta', key: 'mark', dreg: 1 },
        { type: 'byteorder', sreg: 1, dreg: 1, op: 'hton', len: 4, size: 4 },
        { type: 'cmp', sreg: 1, op: 'gte', data: hex('00000010') },
        { type: 'cmp', sreg: 1, op: 'lte', data: hex('00000020') },
        accept,
      ],
    ],
    [
      'ip saddr != 10.0.0.0/20 accept',
      [
        ...nfproto4,
        { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
        { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: hex('fffff000'), xor: hex('00000000') },
        { type: 'cmp', sreg: 1, op: 'neq', data: hex('0a000000') },
        accept,
      ],
    ],
    [
      'ip daddr 10.1.0.0/16 notrack goto x',
      [
        ...nfproto4,
        { type: 'payload', base: 'network', offset: 16, len: 2, dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: hex('0a01') },
        { type: 'notrack' },
        { type: 'immediate', dreg: 0, verdict: { code: 'goto', chain: 'x' } },
      ],
    ],
    [
      'tcp dport != 1000-2000 accept',
      [
        ...l4(6),
        { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
        { type: 'range', sreg: 1, op: 'neq', from: hex('03e8'), to: hex('07d0') },
        accept,
      ],
    ],
    [
      'ip saddr . tcp dport vmap @vm',
      [
        ...nfproto4,
        ...l4(6),
        { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
        { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 9 },
        { type: 'lookup', set: 'vm', sreg: 1, dreg: 0 },
      ],
    ],
    ['meta l4proto tcp reject with tcp reset', [...l4(6), { type: 'reject', rejectType: 'tcp reset' }]],
    ['meta nfproto ipv6 accept', [{ type: 'meta', key: 'nfproto', dreg: 1 }, { type: 'cmp', sreg: 1, op: 'eq', data: hex('0a') }, accept]],
    [
      'limit rate over 1 mbytes/second drop',
      [
        { type: 'limit', rate: 1048576, unit: 1, burst: 0, limitType: 'bytes', invert: true },
        { type: 'immediate', dreg: 0, verdict: { code: 'drop' } },
      ],
    ],
    ['log level info flags tcp sequence,options', [{ type: 'log', level: 'info', flags: ['tcp sequence', 'tcp options'] }]],
    [
      'meta mark & 0x0000ff00 == 0x00000100 accept',
      [
        { type: 'meta', key: 'mark', dreg: 1 },
        { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: hex('00ff0000'), xor: hex('00000000') },
        { type: 'cmp', sreg: 1, op: 'eq', data: hex('00010000') },
        accept,
      ],
    ],
    [
      'ip daddr 1.2.3.4 tcp dport 80 dnat ip to 10.0.0.5-10.0.0.8:8000-8010 random,persistent',
      [
        ...nfproto4,
        { type: 'payload', base: 'network', offset: 16, len: 4, dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: hex('01020304') },
        ...l4(6),
        { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: hex('0050') },
        { type: 'immediate', dreg: 1, data: hex('0a000005') },
        { type: 'immediate', dreg: 2, data: hex('0a000008') },
        { type: 'immediate', dreg: 3, data: hex('1f40') },
        { type: 'immediate', dreg: 4, data: hex('1f4a') },
        {
          type: 'nat',
          nat: 'dnat',
          family: 'ip',
          regAddrMin: 1,
          regAddrMax: 2,
          regProtoMin: 3,
          regProtoMax: 4,
          flags: ['map-ips', 'proto-specified', 'random', 'persistent'],
        },
      ],
    ],
    [
      'meta l4proto tcp snat ip6 to [fd00::1]:80',
      [
        ...l4(6),
        { type: 'immediate', dreg: 1, data: hex('fd000000000000000000000000000001') },
        { type: 'immediate', dreg: 2, data: hex('0050') },
        { type: 'nat', nat: 'snat', family: 'ip6', regAddrMin: 1, regAddrMax: 1, regProtoMin: 2, regProtoMax: 2, flags: ['map-ips', 'proto-specified'] },
      ],
    ],
    [
      'meta l4proto tcp masquerade to :1024-65535 random,persistent',
      [
        ...l4(6),
        { type: 'immediate', dreg: 1, data: hex('0400') },
        { type: 'immediate', dreg: 2, data: hex('ffff') },
        { type: 'masq', flags: ['proto-specified', 'random', 'persistent'], regProtoMin: 1, regProtoMax: 2 },
      ],
    ],
    [
      'meta mark set 0x00000005',
      [
        { type: 'immediate', dreg: 1, data: hex('05000000') },
        { type: 'meta', key: 'mark', sreg: 1 },
      ],
    ],
    [
      'ether saddr 00:11:22:33:44:55 accept',
      [
        { type: 'meta', key: 'iiftype', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: hex('0100') },
        { type: 'payload', base: 'link', offset: 6, len: 6, dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: hex('001122334455') },
        accept,
      ],
    ],
    [
      'update @seen { ip saddr }',
      [...nfproto4, { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 }, { type: 'dynset', set: 'seen', op: 'update', sregKey: 1 }],
    ],
  ];
  for (const [text, expressions] of cases) {
    it(text, () => {
      expect(describeNftRule({ family: 'inet', expressions })).toBe(text);
    });
  }

  it('prints anonymous sets inline when given the table sets, and by name otherwise', () => {
    const expressions: Expression[] = [
      ...l4(6),
      { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
      { type: 'lookup', set: '__set0', sreg: 1 },
      { type: 'counter', packets: 3n, bytes: 180n },
      accept,
    ];
    const sets: SetWithElements[] = [
      { family: 'inet', table: 't', name: '__set0', keyType: 'inet_service', flags: ['anonymous', 'constant'], elements: [{ key: 22 }, { key: 80 }] },
    ];
    expect(describeNftRule({ family: 'inet', table: 't', expressions }, { sets })).toBe('tcp dport { 22, 80 } counter packets 3 bytes 180 accept');
    expect(describeNftRule({ family: 'inet', table: 't', expressions })).toBe('tcp dport @__set0 counter packets 3 bytes 180 accept');
    // Another table's __set0 is not this rule's.
    expect(describeNftRule({ family: 'inet', table: 'other', expressions }, { sets })).toBe('tcp dport @__set0 counter packets 3 bytes 180 accept');
  });

  it('names fields from the table family, resolves interface indexes when asked, and prints the comment', () => {
    const ip: Expression[] = [
      { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: hex('0a000001') },
      accept,
    ];
    expect(describeNftRule({ family: 'ip', expressions: ip, comment: 'from "a"' })).toBe('ip saddr 10.0.0.1 accept comment "from \\"a\\""');
    // Without a protocol context nft prints a raw payload expression.
    expect(describeNftRule({ family: 'inet', expressions: ip })).toBe('@nh,96,32 0x0a000001 accept');
    const iif: Expression[] = [{ type: 'meta', key: 'iif', dreg: 1 }, { type: 'cmp', sreg: 1, op: 'eq', data: hex('01000000') }, accept];
    expect(describeNftRule({ expressions: iif })).toBe('iif 1 accept');
    expect(describeNftRule({ expressions: iif }, { interfaceNames: (i) => (i === 1 ? 'lo' : undefined) })).toBe('iif "lo" accept');
  });

  it('marks expressions it has no text for instead of dropping them', () => {
    expect(describeNftRule({ expressions: [{ type: 'opaque', name: 'exthdr', data: Buffer.alloc(0) }, accept] })).toBe('<exthdr> accept');
    expect(describeNftRule({ expressions: [{ type: 'cmp', sreg: 1, op: 'eq', data: hex('01') }] })).toBe('<register 1> 0x01');
  });
});
