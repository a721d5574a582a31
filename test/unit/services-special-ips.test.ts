// The addresses no service can have (loopback, unspecified, 0.0.0.0/8,
// link-local, multicast, broadcast; IPv4-mapped IPv6 as its IPv4 address),
// at the edges of each range, and the spec validation that refuses them.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { specialIpKind } from '../../lib/services/special-ips';
import { toServiceRecord } from '../../lib/services/spec';
import { parseIp } from '../../lib/validate/ip';

const kind = (ip: string) => specialIpKind(parseIp(ip).bytes);

describe('services: special addresses', () => {
  it('classifies IPv4 at the edges of each range', () => {
    const cases: Array<[string, string | undefined]> = [
      ['0.0.0.0', 'unspecified'],
      ['0.0.0.1', 'this-network'],
      ['0.255.255.255', 'this-network'],
      ['1.0.0.0', undefined],
      ['126.255.255.255', undefined],
      ['127.0.0.0', 'loopback'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.255', 'loopback'],
      ['128.0.0.0', undefined],
      ['169.253.255.255', undefined],
      ['169.254.0.0', 'link-local'],
      ['169.254.169.254', 'link-local'],
      ['169.254.255.255', 'link-local'],
      ['169.255.0.0', undefined],
      ['223.255.255.255', undefined],
      ['224.0.0.0', 'multicast'],
      ['239.255.255.255', 'multicast'],
      ['240.0.0.0', undefined],
      ['255.255.255.254', undefined],
      ['255.255.255.255', 'broadcast'],
      ['10.96.0.10', undefined],
      ['192.0.2.1', undefined],
    ];
    for (const [ip, want] of cases) expect(kind(ip), ip).toBe(want);
  });

  it('classifies IPv6, and IPv4-mapped IPv6 as its IPv4 address', () => {
    const cases: Array<[string, string | undefined]> = [
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['::2', undefined],
      ['fe80::', 'link-local'],
      ['fe80::1', 'link-local'],
      ['febf:ffff::1', 'link-local'],
      ['fec0::1', undefined],
      ['fe7f::1', undefined],
      ['ff00::', 'multicast'],
      ['ff02::1', 'multicast'],
      ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
      ['feff::1', undefined],
      ['fd00:96::10', undefined],
      ['2001:db8::1', undefined],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:0.0.0.0', 'unspecified'],
      ['::ffff:169.254.1.1', 'link-local'],
      ['::ffff:224.0.0.251', 'multicast'],
      ['::ffff:255.255.255.255', 'broadcast'],
      ['::ffff:10.96.0.10', undefined],
      ['1::ffff:127.0.0.1', undefined], // not IPv4-mapped: the head is not zero
      ['0:0:0:0:0:1:0:1', undefined],
    ];
    for (const [ip, want] of cases) expect(kind(ip), ip).toBe(want);
  });

  it('refuses a special VIP or external IP as a ValidationError naming the field and the reason', () => {
    const base = { name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80 }] };
    const refused: Array<[string, Record<string, unknown>, RegExp]> = [
      ['vips', { vips: ['127.0.0.1'] }, /loopback/],
      ['vips', { vips: ['10.96.0.10', '::1'] }, /loopback/],
      ['vips', { vips: ['0.0.0.0'] }, /unspecified/],
      ['vips', { vips: ['::'] }, /unspecified/],
      ['vips', { vips: ['169.254.169.254'] }, /link-local/],
      ['vips', { vips: ['fe80::1'] }, /link-local/],
      ['vips', { vips: ['224.0.0.251'] }, /multicast/],
      ['vips', { vips: ['ff02::fb'] }, /multicast/],
      ['vips', { vips: ['255.255.255.255'] }, /broadcast/],
      ['vips', { vips: ['::ffff:127.0.0.53'] }, /loopback/],
      ['externalIps', { externalIps: ['127.0.0.1'] }, /loopback/],
      ['externalIps', { externalIps: ['ff05::2'] }, /multicast/],
    ];
    for (const [field, change, why] of refused) {
      const label = JSON.stringify(change);
      let err: unknown;
      try {
        toServiceRecord({ ...base, ...change });
      } catch (e) {
        err = e;
      }
      expect(err, label).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field, label).toBe(field);
      expect((err as ValidationError).message, label).toMatch(why);
    }
    // the mapped address is named canonically, as it would be recorded
    expect(() => toServiceRecord({ ...base, vips: ['::FFFF:7f00:1'] })).toThrow(/::ffff:127\.0\.0\.1/);
  });

  it('accepts unicast VIPs next to the special ranges', () => {
    const rec = toServiceRecord({
      name: 'web',
      vips: ['126.255.255.255', '169.255.0.1', '240.0.0.1', 'fec0::1', '::fffe:a60:a'],
      externalIps: ['192.0.2.7', '2001:db8::7'],
      ports: [{ port: 80 }],
    });
    expect(rec.vips).toEqual(['126.255.255.255', '169.255.0.1', '240.0.0.1', 'fec0::1', '::fffe:a60:a']);
    expect(rec.externalIps).toEqual(['192.0.2.7', '2001:db8::7']);
  });

  it('refuses an IPv4-mapped IPv6 address of a unicast IPv4 one, naming the field and the IPv4 address to give', () => {
    const base = { name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80 }] };
    for (const [field, change] of [
      ['vips', { vips: ['::ffff:10.96.0.10'] }],
      ['externalIps', { externalIps: ['::ffff:a60:a'] }],
      ['endpoint ip', { endpoints: [{ ip: '::ffff:10.88.0.2' }] }],
    ] as const) {
      const err = (() => {
        try {
          toServiceRecord({ ...base, ...change });
        } catch (e) {
          return e;
        }
      })();
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field, field).toBe(field);
      expect((err as ValidationError).message, field).toMatch(/IPv4-mapped.*use .*10\.\d+\.0\.\d+/);
    }
  });
});
