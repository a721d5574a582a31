/**
 * The rule builder statements of #13 refuse bad input with a ValidationError
 * naming the field: when the method is called where the value alone decides,
 * else when the rule is built for a table (before anything is sent).
 */
import { describe, expect, it } from 'vitest';
import { ValidationError, describeNftRule, rule, type RuleBuilder } from '../../lib';

function refused(fn: () => unknown, field: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, field).toBeInstanceOf(ValidationError);
  expect((caught as ValidationError).message).toContain(field);
}

const build = (r: RuleBuilder, family: 'inet' | 'ip' | 'ip6' | 'netdev' = 'inet') => r.build(family, { setId: () => 1 });
const bad = <T>(v: unknown) => v as T;

describe('rule builder statements: validation', () => {
  it('header matches: tcp flags, dscp, icmp types, ttl, tcp options', () => {
    refused(() => build(rule().tcp({ flags: bad('sin') })), 'tcp flags');
    refused(() => build(rule().tcp({ flags: [] })), 'tcp flags');
    refused(() => build(rule().tcp({ flags: { mask: ['syn'], equals: ['ack'] } })), 'tcp flags equals');
    refused(() => build(rule().ip({ dscp: bad('ef2') })), 'ip dscp');
    refused(() => build(rule().ip({ dscp: 64 })), 'ip dscp');
    refused(() => build(rule().icmp({ type: 'echo-requst' })), 'icmp type');
    refused(() => build(rule().icmpv6({ type: 256 })), 'icmpv6 type');
    refused(() => build(rule().ip({ ttl: 256 })), 'ip ttl');
    refused(() => build(rule().ip6({ hoplimit: -1 })), 'ip6 hoplimit');
    refused(() => build(rule().tcpOption(bad('mss'), { size: 1 })), 'tcp option');
    refused(() => build(rule().tcpOption('maxseg', bad({ sise: 1460 }))), 'tcp option maxseg');
    refused(() => build(rule().tcpOption('maxseg', { size: 70000 })), 'tcp option maxseg size');
    refused(() => build(rule().tcpOption('sack-perm', bad({ exists: 'yes' }))), 'tcp option exists');
  });

  it('marks: values, masks and bit operations are 32-bit unsigned; a value outside its mask never matches', () => {
    for (const v of [2 ** 32, -1, 1.5, NaN, 'x']) {
      refused(() => rule().setMark({ or: bad(v) }), 'meta mark or');
      refused(() => rule().setCtMark({ and: bad(v) }), 'ct mark and');
      refused(() => build(rule().mark({ mask: bad(v), value: 0 })), 'meta mark mask');
    }
    refused(() => rule().setMark(bad({ or: 1, and: 2 })), 'meta mark');
    refused(() => rule().setMark(bad({ from: 'skb mark' })), 'meta mark from');
    refused(() => build(rule().mark({ mask: 0xff00, value: 0x1 })), 'meta mark value');
    refused(() => build(rule().ct({ mark: { mask: 0xff, value: 0x100 } })), 'ct mark value');
  });

  it('ct zone, label, helper and count', () => {
    refused(() => rule().setCtZone(65536), 'ct zone');
    refused(() => rule().setCtZone(5, 'both' as never), 'ct zone direction');
    refused(() => rule().ct({ zone: -1 }), 'ct zone');
    refused(() => rule().setCtLabel(128), 'ct label');
    refused(() => rule().ct({ label: 1.5 }), 'ct label');
    refused(() => rule().setCtHelper(''), 'ct helper');
    refused(() => rule().setCtHelper(bad(3)), 'ct helper');
    refused(() => rule().ctCount({ over: -1 }), 'ct count over');
    refused(() => rule().ctCount(bad({})), 'ct count atMost');
  });

  it('named objects and quotas', () => {
    refused(() => rule().counter({ name: '' }), 'counter name');
    refused(() => rule().limit({ name: 'x'.repeat(300) }), 'limit name');
    refused(() => rule().quota({ bytes: -1 }), 'quota bytes');
    refused(() => rule().quota({ bytes: 1.5 }), 'quota bytes');
    refused(() => rule().quota({ bytes: 2n ** 64n }), 'quota bytes');
  });

  it('set updates: the set is "@name", the key known fields, the timeout a whole number of ms, the value of its type', () => {
    refused(() => rule().updateSet('s', { key: 'ip saddr' }), 'set');
    refused(() => rule().updateSet('@s', { key: bad('ip sadr') }), 'field');
    refused(() => rule().updateSet('@s', { key: 'ip saddr', timeout: -5 }), 'update set timeout');
    refused(() => rule().addToSet('@s', { key: 'ip saddr', timeout: 1.5 }), 'add set timeout');
    refused(() => rule().updateSet('@m', { key: 'ip saddr', value: 2 ** 32 }), 'update set value');
    refused(() => rule().updateSet('@m', { key: 'ip saddr', value: 1, valueType: 'integer' }), 'update set valueType');
    refused(() => rule().updateSet('@m', { key: 'ip saddr', valueType: 'mark' }), 'update set valueType');
  });

  it('dispatch: a known source, a positive modulus, u32 keys, at least one entry', () => {
    const map = [{ key: 0, verdict: { goto: 'a' } }];
    refused(() => rule().dispatch({ by: bad('roundrobin'), mod: 2, map }), 'dispatch by');
    refused(() => rule().dispatch({ by: 'random', mod: 0, map }), 'dispatch mod');
    refused(() => rule().dispatch({ by: 'random', mod: 2 ** 32, map }), 'dispatch mod');
    refused(() => rule().dispatch({ by: 'random', mod: 2, map: [] }), 'dispatch map');
    refused(() => rule().dispatch({ by: 'random', mod: 2, map: [{ key: -1, verdict: 'accept' }] }), 'dispatch map key');
    refused(() => rule().dispatch({ by: { jhash: [] }, mod: 2, map }), 'dispatch by jhash');
    refused(() => rule().dispatch({ by: { jhash: 'ip saddr', seed: -1 }, mod: 2, map }), 'dispatch seed');
    refused(() => rule().dispatch({ by: 'random', mod: 2, map: [{ key: 0, verdict: { goto: 'x'.repeat(300) } }] }), 'goto');
  });

  it('tproxy: an address of the table family, a port, a tcp or udp match before it', () => {
    refused(() => rule().tproxy({}), 'tproxy');
    refused(() => rule().tproxy({ to: '1.2.3.999' }), 'tproxy to');
    refused(() => rule().tproxy({ port: 0 }), 'tproxy port');
    refused(() => build(rule().tproxy({ port: 80 })), 'tproxy');
    refused(() => build(rule().protocol('tcp').tproxy({ to: 'fd00::1' }), 'ip'), 'tproxy to');
    refused(() => build(rule().protocol('tcp').tproxy({ port: 80 }), 'netdev'), 'tproxy');
    expect(build(rule().protocol('udp').tproxy({ port: 53 })).expressions.at(-1)).toEqual({ type: 'tproxy', family: 'unspec', regPort: 1 });
  });

  it('queue, dup, fwd: numbers in range, the families nft allows', () => {
    refused(() => rule().queue({ num: 65536 }), 'queue num');
    refused(() => rule().queue({ num: '3-1' }), 'queue num');
    refused(() => rule().queue({ num: 'a-b' }), 'queue num');
    refused(() => rule().queue({ num: 1, fanout: true }), 'queue fanout');
    refused(() => rule().dup({ to: 'nowhere' }), 'dup to');
    refused(() => rule().dup({ to: '10.0.0.1', device: 0 }), 'dup device');
    refused(() => build(rule().dup({ to: '10.0.0.1' })), 'dup');
    refused(() => build(rule().dup({ to: 'fd00::1' }), 'ip'), 'dup to');
    refused(() => build(rule().dup({ to: '10.0.0.1' }), 'netdev'), 'dup');
    refused(() => rule().fwd(-2), 'fwd device');
    refused(() => build(rule().fwd(1), 'inet'), 'fwd');
    refused(() => rule().fwd('eth 0'), 'fwd device');
    refused(() => rule().dup({ to: '10.0.0.1', device: 'a'.repeat(16) }), 'dup device');
    refused(() => rule().dup(bad({ to: '10.0.0.1', devcie: 'eth0' })), 'dup');
    refused(() => rule().queue(bad({ number: 3 })), 'queue');
    refused(() => rule().tproxy(bad({ port: 80, addr: '10.0.0.1' })), 'tproxy');
    refused(() => build(rule().fwd('eth0'), 'inet'), 'fwd');
    // A named interface is looked up at commit: the built rule carries a slot for it.
    expect(build(rule().fwd('eth0'), 'netdev').devices).toMatchObject([{ name: 'eth0', field: 'fwd device' }]);
  });
});

describe('describeNftRule of the new statements prints what `nft list` prints', () => {
  const text = (r: RuleBuilder) => describeNftRule({ expressions: r.toExpressions('inet'), family: 'inet' });
  it('mark bit operations and the ct zone', () => {
    expect(text(rule().setMark({ or: 0x4000 }))).toBe('meta mark set meta mark | 0x00004000');
    expect(text(rule().setMark({ and: 0xffff00ff }))).toBe('meta mark set meta mark & 0xffff00ff');
    expect(text(rule().setMark({ xor: 1 }))).toBe('meta mark set meta mark ^ 0x00000001');
    expect(text(rule().setCtMark({ or: 0x10 }))).toBe('ct mark set ct mark | 0x00000010');
    expect(text(rule().mark({ mask: 0xff00, value: 0x100 }))).toBe('meta mark & 0x0000ff00 == 0x00000100');
    expect(text(rule().ct({ zone: 5 }).setCtZone(7))).toBe('ct zone 5 ct zone set 7');
    expect(text(rule().tcp({ flags: { mask: ['syn', 'ack'], equals: ['syn'] } }))).toBe('tcp flags syn / syn,ack');
    expect(text(rule().ip({ dscp: 'ef', ttl: 64 }))).toBe('ip ttl 64 ip dscp ef');
  });
});
