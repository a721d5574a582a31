// nftables codecs without a kernel: every expression round-trips through its
// wire form, unknown expressions and attributes survive decode → encode byte
// for byte, and the builder, elements, userdata and batch framing encode as
// nft does.
import { describe, expect, it } from 'vitest';
import { ValidationError, not, rule } from '../../lib';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { parseMessages } from '../../lib/netlink/parser';
import { Attributes } from '../../lib/netlink/parser';
import * as C from '../../lib/nftables/constants';
import { hostU32 } from '../../lib/nftables/data';
import { concatTypeId, splitTypeId } from '../../lib/nftables/datatypes';
import { assembleElements, decodeElementMessage, toWireElements, writeElements } from '../../lib/nftables/elements';
import { readExpressionList, writeExpressionList, type Expression } from '../../lib/nftables/expressions/registry';
import { EXPRESSION_SAMPLES as SAMPLES } from '../helpers/nft-expression-samples';
import { register32, registerIndex } from '../../lib/nftables/registers';
import { decodeRule, writeNewRule } from '../../lib/nftables/rule';
import { decodeSet, shapeOf, writeNewSet, type NftSet } from '../../lib/nftables/set';
import { Transaction } from '../../lib/nftables/transaction';
import { buildUdata, parseUdata, splitComment } from '../../lib/nftables/userdata';
import { decodeEntry } from '../../lib/conntrack/entry';
import { entryMatches } from '../../lib/conntrack/conntrack';

function roundTrip(exprs: Expression[]): Expression[] {
  const w = new NetlinkWriter();
  w.begin(0x10, 0);
  writeExpressionList(w, C.NFTA_RULE_EXPRESSIONS, exprs);
  w.end();
  const m = parseMessages(w.finish())[0];
  return readExpressionList(new Attributes(m.payload).get(C.NFTA_RULE_EXPRESSIONS));
}

function encodeList(exprs: Expression[]): Buffer {
  const w = new NetlinkWriter();
  w.begin(0x10, 0);
  writeExpressionList(w, C.NFTA_RULE_EXPRESSIONS, exprs);
  return w.end().finish();
}

const b = (hex: string) => Buffer.from(hex, 'hex');

describe('nftables expressions', () => {
  for (const [name, samples] of Object.entries(SAMPLES)) {
    it(`${name}: typed object → wire → typed object, and wire → object → same bytes`, () => {
      expect(roundTrip(samples)).toEqual(samples);
      const bytes = encodeList(samples);
      expect(encodeList(roundTrip(samples))).toEqual(bytes);
    });
  }

  it('keeps an unknown expression opaque and re-encodes it byte for byte', () => {
    // An xtables "match" (not typed by nlkit) with its attributes, written by hand.
    const w = new NetlinkWriter();
    w.begin(0x10, 0);
    const list = w.nest(C.NFTA_RULE_EXPRESSIONS);
    const el = w.nest(C.NFTA_LIST_ELEM);
    w.string(C.NFTA_EXPR_NAME, 'match');
    const data = w.nest(C.NFTA_EXPR_DATA);
    w.be32(1, 1).be32(2, 2);
    w.endNest(data).endNest(el).endNest(list);
    const original = w.end().finish();
    const decoded = readExpressionList(new Attributes(parseMessages(original)[0].payload).get(C.NFTA_RULE_EXPRESSIONS));
    expect(decoded).toMatchObject([{ type: 'opaque', name: 'match' }]);
    expect(encodeList(decoded)).toEqual(original);
  });

  it('keeps attributes it does not know inside a known expression', () => {
    const withExtra = roundTrip([
      { type: 'meta', key: 'mark', dreg: 1, unknownAttributes: [{ type: 9, nested: false, netByteOrder: false, data: b('01020304') }] },
    ]);
    expect(withExtra[0]).toMatchObject({ type: 'meta', key: 'mark', unknownAttributes: [{ type: 9, data: b('01020304') }] });
    expect(encodeList(roundTrip(withExtra))).toEqual(encodeList(withExtra));
  });

  it('refuses malformed expressions before anything is sent', () => {
    expect(() => encodeList([{ type: 'payload', base: 'network', offset: 0, len: 4 }])).toThrow(ValidationError);
    expect(() => encodeList([{ type: 'immediate', dreg: 0, verdict: { code: 'jump' } }])).toThrow(/needs a chain/);
    expect(() => encodeList([{ type: 'meta', key: 'bogus' as never, dreg: 1 }])).toThrow(ValidationError);
    expect(() => encodeList([{ type: 'nope' } as never])).toThrow(/unknown expression type/);
  });
});

describe('nftables registers, types, userdata', () => {
  it("uses the kernel's canonical register numbers", () => {
    expect([0, 1, 4, 8, 15].map(register32)).toEqual([1, 9, 2, 3, 23]);
    expect([1, 9, 2, 23].map(registerIndex)).toEqual([0, 1, 4, 15]);
    expect(() => register32(16)).toThrow(ValidationError);
  });

  it('packs concatenated type ids 6 bits each, first field high', () => {
    expect(concatTypeId([7, 13])).toBe(0x1cd); // ipv4_addr . inet_service, as nft sends it
    expect(splitTypeId(0x1cd)).toEqual([7, 13]);
  });

  it('writes comments the way nft does (TLV type 0, NUL-terminated)', () => {
    const w = new NetlinkWriter();
    writeNewRule(w, { family: 'inet', table: 't', chain: 'c', expressions: [], comment: 'hello' }, { append: true }, 0);
    const m = parseMessages(w.finish())[0];
    const ud = new Attributes(m.payload, 4).get(C.NFTA_RULE_USERDATA)!;
    expect(ud).toEqual(Buffer.from('\x00\x06hello\x00', 'latin1'));
    expect(decodeRule(m).comment).toBe('hello');
    expect(splitComment(Buffer.concat([ud, buildUdata([{ type: 3, value: b('aa') }])]), 0)).toEqual({ comment: 'hello', rest: b('0301aa') });
    expect(parseUdata(b('0005'))).toBeUndefined();
  });

  it('encodes a set definition and decodes it back', () => {
    const sets: NftSet[] = [
      { family: 'inet', table: 't', name: 'a', keyType: 'ipv4_addr', flags: ['interval'], comment: 'allowed' },
      { family: 'inet', table: 't', name: 'b', keyType: ['ipv4_addr', 'inet_service'], dataType: 'verdict' },
      { family: 'inet', table: 't', name: 'c', keyType: 'mark', flags: ['timeout'], timeout: 60000, counter: true, size: 100 },
      { family: 'inet', table: 't', name: 'd', keyType: 'integer', keyLength: 4, dataType: ['ipv4_addr', 'inet_service'], flags: ['interval'] },
      { family: 'ip', table: 't', name: 'e', keyType: ['ipv4_addr', 'ipv4_addr'], flags: ['interval'] },
      { family: 'inet', table: 't', name: 'f', keyType: 'ifname', objectType: 'counter' },
    ];
    for (const s of sets) {
      const w = new NetlinkWriter();
      writeNewSet(w, s, 0, 1);
      expect(decodeSet(parseMessages(w.finish())[0])).toEqual(s);
    }
    expect(() => writeNewSet(new NetlinkWriter(), { family: 'inet', table: 't', name: 'x', keyType: 'mark', timeout: 5 }, 0, 1)).toThrow(/timeout/);
  });
});

describe('nftables set elements', () => {
  const v4: NftSet = { family: 'inet', table: 't', name: 's', keyType: 'ipv4_addr', flags: ['interval'] };

  it('encodes intervals as start/end pairs, also where ranges touch, and reassembles them', () => {
    const shape = shapeOf(v4);
    const wire = toWireElements(shape, [{ key: '10.0.0.0/8' }, { key: '11.0.0.0-11.0.0.9' }, { key: '192.168.1.1' }]);
    expect(wire.map((e) => [e.key!.toString('hex'), e.flags])).toEqual([
      ['0a000000', 0],
      ['0b000000', C.NFT_SET_ELEM_INTERVAL_END], // 10.0.0.0/8 ends where the next range starts: both are sent, as nft does
      ['0b000000', 0],
      ['0b00000a', C.NFT_SET_ELEM_INTERVAL_END],
      ['c0a80101', 0],
      ['c0a80102', C.NFT_SET_ELEM_INTERVAL_END],
    ]);
    const w = new NetlinkWriter();
    writeElements(w, C.NFT_MSG_NEWSETELEM, 0, { family: 'inet', table: 't', set: 's' }, shape, [
      { key: '192.168.1.1' },
      { key: '10.0.0.0/8' },
      { key: '11.0.0.0-11.0.0.9' },
    ]);
    const raw = parseMessages(w.finish())
      .flatMap((m) => decodeElementMessage(m).elements)
      .reverse(); // kernels list in reverse
    expect(assembleElements(shape, raw)).toEqual([{ key: '10.0.0.0/8' }, { key: '11.0.0.0-11.0.0.9' }, { key: '192.168.1.1' }]);
    expect(() => toWireElements(shape, [{ key: '10.0.0.0/8' }, { key: '10.1.0.0/16' }])).toThrow(/overlap/);
  });

  it('encodes concatenations field by field, padded to 4 bytes, with typed map data', () => {
    const map: NftSet = { family: 'inet', table: 't', name: 'm', keyType: ['ipv4_addr', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] };
    const shape = shapeOf(map);
    const [el] = toWireElements(shape, [{ key: ['10.0.0.1', 80], value: ['10.0.0.2', 8080] }]);
    expect(el.key!.toString('hex')).toBe('0a00000100500000');
    const w = new NetlinkWriter();
    writeElements(w, C.NFT_MSG_NEWSETELEM, 0, { family: 'inet', table: 't', set: 'm' }, shape, [
      { key: ['10.0.0.1', 80], value: ['10.0.0.2', 8080], comment: 'web', timeout: 1000 },
    ]);
    const raw = decodeElementMessage(parseMessages(w.finish())[0]).elements;
    expect(assembleElements(shape, raw)).toEqual([{ key: ['10.0.0.1', 80], value: ['10.0.0.2', 8080], comment: 'web', timeout: 1000 }]);
  });

  it('lists an element counter that comes first as `counter`, written back in its place; a later one stays among the expressions', () => {
    const shape = shapeOf({ keyType: 'ipv4_addr' });
    const quota: Expression = { type: 'quota', bytes: 1000n, consumed: 30n };
    const elements = [
      { key: '10.0.0.1', counter: { packets: 4n, bytes: 30n }, expressions: [quota] },
      { key: '10.0.0.2', expressions: [quota, { type: 'counter', packets: 1n, bytes: 2n } as Expression] },
    ];
    const w = new NetlinkWriter();
    writeElements(w, C.NFT_MSG_NEWSETELEM, 0, { family: 'inet', table: 't', set: 's' }, shape, elements);
    const listed = assembleElements(shape, decodeElementMessage(parseMessages(w.finish())[0]).elements);
    expect(listed).toEqual(elements);
  });

  it('splits long element lists into several messages', () => {
    const big: NftSet = { family: 'inet', table: 't', name: 'big', keyType: 'ipv6_addr' };
    const elements = Array.from({ length: 5000 }, (_, i) => ({ key: `fd00::${i.toString(16)}` }));
    const w = new NetlinkWriter();
    const n = writeElements(w, C.NFT_MSG_NEWSETELEM, 0, { family: 'inet', table: 't', set: 'big' }, shapeOf(big), elements);
    expect(n).toBeGreaterThan(1);
    const msgs = parseMessages(w.finish());
    expect(msgs).toHaveLength(n);
    expect(msgs.flatMap((m) => decodeElementMessage(m).elements)).toHaveLength(5000);
  });

  it('refuses values of the wrong type', () => {
    const shape = shapeOf({ keyType: 'inet_service' });
    expect(() => toWireElements(shape, [{ key: 70000 }])).toThrow(ValidationError);
    expect(() => toWireElements(shapeOf({ keyType: 'ipv4_addr' }), [{ key: 'fd00::1' }])).toThrow(ValidationError);
    expect(() => toWireElements(shapeOf({ keyType: ['ipv4_addr', 'inet_service'] }), [{ key: '10.0.0.1' }])).toThrow(/array of 2/);
  });
});

describe('nftables rule builder', () => {
  it('adds protocol dependencies per family, once', () => {
    const r = rule().ip({ saddr: '10.0.0.1', daddr: '10.0.0.2' }).tcp({ dport: 22 }).accept();
    const inet = r.toExpressions('inet');
    expect(inet.filter((e) => e.type === 'meta').map((e) => (e as { key: string }).key)).toEqual(['nfproto', 'l4proto']);
    expect(
      r
        .toExpressions('ip')
        .filter((e) => e.type === 'meta')
        .map((e) => (e as { key: string }).key),
    ).toEqual(['l4proto']);
    expect(r.toExpressions('bridge')[0]).toEqual({ type: 'meta', key: 'protocol', dreg: 1 });
    expect(() => rule().ip6({ saddr: '::1' }).toExpressions('ip')).toThrow(ValidationError);
    // An explicit protocol match satisfies the dependency.
    expect(
      rule()
        .protocol('tcp')
        .tcp({ dport: 22 })
        .toExpressions('inet')
        .filter((e) => e.type === 'meta'),
    ).toHaveLength(1);
  });

  it('encodes prefixes like nft: whole bytes shorten the load, others use a mask', () => {
    expect(rule().ip({ saddr: '10.0.0.0/24' }).toExpressions('ip')).toEqual([
      { type: 'payload', base: 'network', offset: 12, len: 3, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b('0a0000') },
    ]);
    expect(
      rule()
        .ip({ saddr: not('10.0.0.0/20') })
        .toExpressions('ip'),
    ).toEqual([
      { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
      { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: b('fffff000'), xor: b('00000000') },
      { type: 'cmp', sreg: 1, op: 'neq', data: b('0a000000') },
    ]);
  });

  it('encodes ranges, wildcards, ct bits and NAT', () => {
    expect(rule().tcp({ dport: '1000-2000' }).toExpressions('ip').slice(-2)).toEqual([
      { type: 'cmp', sreg: 1, op: 'gte', data: b('03e8') },
      { type: 'cmp', sreg: 1, op: 'lte', data: b('07d0') },
    ]);
    expect(rule().iifname('veth*').toExpressions('inet')[1]).toEqual({ type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from('veth') });
    expect(
      rule()
        .ct({ state: ['established', 'related'] })
        .toExpressions('inet')
        .slice(1),
    ).toEqual([
      { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: hostU32(6), xor: hostU32(0) },
      { type: 'cmp', sreg: 1, op: 'neq', data: hostU32(0) },
    ]);
    expect(rule().protocol('tcp').dnat({ to: '10.0.0.2', port: 80 }).toExpressions('inet').slice(2)).toEqual([
      { type: 'immediate', dreg: 1, data: b('0a000002') },
      { type: 'immediate', dreg: 2, data: b('0050') },
      { type: 'nat', nat: 'dnat', family: 'ip', regAddrMin: 1, regAddrMax: 1, regProtoMin: 2, regProtoMax: 2, flags: ['map-ips', 'proto-specified'] },
    ]);
  });

  it('builds a weighted numgen map with an anonymous interval map', () => {
    const ids = {
      n: 40,
      setId() {
        return this.n++;
      },
    };
    const built = rule()
      .tcp({ dport: 80 })
      .dnatWeighted([
        { to: '10.0.0.2', port: 80, weight: 9 },
        { to: '10.0.0.3', port: 80, weight: 1 },
      ])
      .build('inet', ids);
    expect(built.expressions.slice(-4)).toEqual([
      { type: 'numgen', dreg: 1, mode: 'random', modulus: 10, offset: 0 },
      { type: 'byteorder', sreg: 1, dreg: 1, op: 'hton', len: 4, size: 4 },
      { type: 'lookup', set: '__map%d', setId: 40, sreg: 1, dreg: 1 },
      { type: 'nat', nat: 'dnat', family: 'ip', regAddrMin: 1, regAddrMax: 1, regProtoMin: 9, regProtoMax: 9, flags: ['map-ips', 'proto-specified'] },
    ]);
    expect(built.anonymousSets[0].set).toMatchObject({
      keyType: 'integer',
      keyLength: 4,
      dataType: ['ipv4_addr', 'inet_service'],
      flags: ['anonymous', 'constant', 'interval'],
    });
    expect(built.anonymousSets[0].elements).toEqual([
      { key: '0-8', value: ['10.0.0.2', 80] },
      { key: 9, value: ['10.0.0.3', 80] },
    ]);
  });

  it('validates input when the rule is built', () => {
    expect(() => rule().ip({ saddr: '10.0.0.300' }).toExpressions('ip')).toThrow(ValidationError);
    expect(() => rule().tcp({ dport: 70000 }).toExpressions('ip')).toThrow(ValidationError);
    expect(() =>
      rule()
        .ct({ state: 'bogus' as never })
        .toExpressions('ip'),
    ).toThrow(ValidationError);
    expect(() => rule().dnatWeighted([{ to: '10.0.0.2', weight: 0 }])).toThrow(ValidationError);
    expect(() =>
      rule()
        .tcp({ dport: [22, 80] })
        .toExpressions('ip'),
    ).toThrow(/through a transaction/);
  });
});

describe('nftables transactions (encoding)', () => {
  it('frames commands between batch begin and end, with the generation check', () => {
    const tx = new Transaction();
    tx.addTable({ family: 'inet', name: 'nat' });
    tx.addChain({ family: 'inet', table: 'nat', name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
    tx.addRule({
      family: 'inet',
      table: 'nat',
      chain: 'post',
      rule: rule()
        .tcp({ dport: [22, 80] })
        .accept(),
    });
    const msgs = parseMessages(tx.encode({ expectGeneration: 42 }));
    expect(msgs.map((m) => m.type)).toEqual([
      C.NFNL_MSG_BATCH_BEGIN,
      0x0a00 | C.NFT_MSG_NEWTABLE,
      0x0a00 | C.NFT_MSG_NEWCHAIN,
      0x0a00 | C.NFT_MSG_NEWSET, // the rule's inline set
      0x0a00 | C.NFT_MSG_NEWSETELEM,
      0x0a00 | C.NFT_MSG_NEWRULE,
      C.NFNL_MSG_BATCH_END,
    ]);
    expect(msgs[0].payload.readUInt16BE(2)).toBe(C.NFNL_SUBSYS_NFTABLES);
    expect(new Attributes(msgs[0].payload, 4).be32(C.NFNL_BATCH_GENID)).toBe(42);
    expect(tx.describe()).toEqual(['add table inet nat', 'add chain inet nat post', 'add rule inet nat post']);
  });

  it('refuses bad commands when they are added, not at commit', () => {
    const tx = new Transaction();
    expect(() => tx.addTable({ family: 'inet6' as never, name: 'x' })).toThrow(ValidationError);
    expect(() => tx.addChain({ family: 'inet', table: 't', name: 'c', hook: 'input' })).toThrow(/needs a type/);
    expect(() => tx.addRule({ family: 'inet', table: 't', chain: 'c' })).toThrow(/exactly one/);
    expect(() => tx.insertRule({ family: 'inet', table: 't', chain: 'c', expressions: [] }, { before: { command: 0 } })).toThrow(ValidationError);
    expect(tx.size).toBe(0);
  });
});

describe('conntrack entries', () => {
  it('decodes an entry and filters it', () => {
    const w = new NetlinkWriter();
    w.begin((1 << 8) | 0, 0);
    w.bytes(Buffer.from([2, 0, 0, 0]));
    const tuple = (src: string, dst: string, sp: number, dp: number, type: number) => {
      const t = w.nest(type);
      const ip = w.nest(1);
      w.attr(1, Buffer.from(src.split('.').map(Number)));
      w.attr(2, Buffer.from(dst.split('.').map(Number)));
      w.endNest(ip);
      const p = w.nest(2);
      w.u8(1, 17).be16(2, sp).be16(3, dp);
      w.endNest(p);
      w.endNest(t);
    };
    tuple('192.168.50.2', '192.168.50.1', 40000, 5353, 1);
    tuple('10.0.1.2', '192.168.50.2', 53, 40000, 2);
    w.be32(3, 0x1a8).be32(7, 29).be32(8, 5).be32(12, 77);
    const e = decodeEntry(parseMessages(w.end().finish())[0]);
    expect(e).toEqual({
      family: 4,
      protocol: 'udp',
      original: { src: '192.168.50.2', dst: '192.168.50.1', sport: 40000, dport: 5353 },
      reply: { src: '10.0.1.2', dst: '192.168.50.2', sport: 53, dport: 40000 },
      status: ['confirmed', 'dnat', 'snat-done', 'dnat-done'],
      timeout: 29,
      mark: 5,
      id: 77,
    });
    expect(entryMatches(e, { protocol: 'udp', original: { dport: 5353 } })).toBe(true);
    expect(entryMatches(e, { reply: { src: '10.0.1.0/24' }, mark: 5 })).toBe(true);
    expect(entryMatches(e, { protocol: 'tcp' })).toBe(false);
    expect(entryMatches(e, { original: { src: '10.0.0.0/8' } })).toBe(false);
  });
});
