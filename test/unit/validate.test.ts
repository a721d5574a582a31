import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/netlink/errors';
import { formatIp, networkOf, parseCidr, parseIp, parseMac, formatMac } from '../../lib/validate/ip';
import { sysctlPath, validateInterfaceName, validateNetnsName } from '../../lib/validate/names';

describe('IP parsing and formatting', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['fe80::1', 'fe80::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8::', '2001:db8::'],
    ['::', '::'],
    ['::1', '::1'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['fd00:0:0:1::', 'fd00:0:0:1::'],
  ])('round-trips %s as inet_ntop prints it', (input, out) => {
    expect(formatIp(parseIp(input).bytes)).toBe(out);
  });

  it.each(['10.0.0', '10.0.0.256', '010.0.0.1', '1::2::3', 'fe80::g', '', 'localhost', '1.2.3.4 '])('rejects %j', (bad) => {
    expect(() => parseIp(bad)).toThrow(ValidationError);
  });

  it('parses CIDRs and checks prefix lengths', () => {
    expect(parseCidr('10.0.0.7/24').prefixLength).toBe(24);
    expect(formatIp(networkOf(parseCidr('10.0.0.7/24')).bytes)).toBe('10.0.0.0');
    expect(formatIp(networkOf(parseCidr('fd00::1234/120')).bytes)).toBe('fd00::1200');
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length/);
    expect(() => parseCidr('10.0.0.0')).toThrow(/missing/);
    expect(parseCidr('10.0.0.1', 'x', { defaultFull: true }).prefixLength).toBe(32);
    expect(() => parseCidr('fd00::/64', 'x', { family: 4 })).toThrow(ValidationError);
  });

  it('parses and formats MAC addresses', () => {
    expect(formatMac(parseMac('02:AA:bb:00:00:01'))).toBe('02:aa:bb:00:00:01');
    expect(() => parseMac('02:aa:bb:00:00')).toThrow(ValidationError);
  });
});

describe('name validation', () => {
  it('accepts kernel-valid interface names and refuses the rest', () => {
    expect(validateInterfaceName('veth-c1.0')).toBe('veth-c1.0');
    for (const bad of ['', 'a'.repeat(16), 'a/b', 'a b', 'a:b', '.', '..']) {
      expect(() => validateInterfaceName(bad)).toThrow(ValidationError);
    }
  });

  it('refuses namespace names that could escape /run/netns', () => {
    expect(validateNetnsName('c1_x-2.y')).toBe('c1_x-2.y');
    for (const bad of ['../etc', 'a/b', '..', '.', '', 'a b', 'x\0']) {
      expect(() => validateNetnsName(bad)).toThrow(ValidationError);
    }
  });

  it('maps sysctl keys to /proc/sys/net paths only', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('net/ipv4/conf/eth0.5/forwarding')).toBe('/proc/sys/net/ipv4/conf/eth0.5/forwarding');
    expect(() => sysctlPath('kernel.hostname')).toThrow(/net\.\*/);
    expect(() => sysctlPath('net/../kernel/x')).toThrow(ValidationError);
  });
});
