// Reverse names of the responder's networks: which in-addr.arpa / ip6.arpa
// names stand for an address (or a zone) within a subnet, and so are
// answered by the responder instead of forwarded.
import { describe, expect, it } from 'vitest';
import { reverseName } from '../../lib/dns/name-table';
import { enclosingReverse, reversePrefix, ReverseZones } from '../../lib/dns/reverse-zones';
import { formatCidr } from '../../lib/validate/ip';

const cidr = (name: string): string | undefined => {
  const p = reversePrefix(name);
  return p && formatCidr(p.bytes, p.prefixLength);
};

describe('reverse zones', () => {
  it('reads addresses and zones out of reverse names, and nothing out of other names', () => {
    expect(cidr('2.0.97.10.in-addr.arpa')).toBe('10.97.0.2/32');
    expect(cidr('0.97.10.in-addr.arpa')).toBe('10.97.0.0/24');
    expect(cidr(reverseName('fd97::1:2'))).toBe('fd97::1:2/128');
    expect(cidr('7.9.d.f.ip6.arpa')).toBe('fd97::/16');
    for (const bad of [
      'in-addr.arpa',
      'ip6.arpa',
      '256.0.97.10.in-addr.arpa',
      '01.0.97.10.in-addr.arpa',
      '1.2.0.97.10.in-addr.arpa',
      'x.ip6.arpa',
      'ab.ip6.arpa',
      'example.test',
      'a.in-addr.arpa.example',
    ])
      expect(cidr(bad), bad).toBeUndefined();
  });

  it('covers the subnets and what is within them, not what is wider or beside', () => {
    const zones = new ReverseZones(['10.97.0.0/24', '10.96.0.0/20', 'fd97::/64']);
    const covers = (name: string): boolean => {
      const p = reversePrefix(name);
      return p !== undefined && zones.covers(p);
    };
    expect(covers(reverseName('10.97.0.99'))).toBe(true);
    expect(covers('0.97.10.in-addr.arpa')).toBe(true);
    expect(covers('97.10.in-addr.arpa')).toBe(false); // a /16: more than the network
    expect(covers(reverseName('10.96.15.1'))).toBe(true); // a /20 that is not octet-aligned
    expect(covers(reverseName('10.96.16.1'))).toBe(false);
    expect(covers(reverseName('10.98.0.1'))).toBe(false);
    expect(covers(reverseName('fd97::99'))).toBe(true);
    expect(covers(reverseName('fd98::99'))).toBe(false);
  });

  it('places names below an address, or that are no address, in the prefix they are under; wider ones stay outside', () => {
    const zones = new ReverseZones(['10.97.0.0/24', '10.96.0.0/20', 'fd97::/64']);
    const inside = (name: string): boolean => {
      const z = enclosingReverse(name);
      return z !== undefined && zones.covers(z.prefix);
    };
    const zone = (name: string): string | undefined => {
      const z = enclosingReverse(name);
      return z && `${z.name} ${formatCidr(z.prefix.bytes, z.prefix.prefixLength)}`;
    };
    expect(zone('b._dns-sd._udp.0.0.97.10.in-addr.arpa')).toBe('0.0.97.10.in-addr.arpa 10.97.0.0/32');
    expect(zone('x.2.0.97.10.in-addr.arpa')).toBe('2.0.97.10.in-addr.arpa 10.97.0.2/32');
    expect(zone('1.2.0.97.10.in-addr.arpa')).toBe('2.0.97.10.in-addr.arpa 10.97.0.2/32');
    expect(zone('099.0.97.10.in-addr.arpa')).toBe('0.97.10.in-addr.arpa 10.97.0.0/24');
    expect(zone(`x.${reverseName('fd97::1')}`)).toBe(`${reverseName('fd97::1')} fd97::1/128`);
    expect(zone('2.0.97.10.in-addr.arpa')).toBe('2.0.97.10.in-addr.arpa 10.97.0.2/32');
    for (const none of ['in-addr.arpa', 'x.in-addr.arpa', 'ip6.arpa', 'example.test', '2.0.97.10.in-addr.arpa.example'])
      expect(zone(none), none).toBeUndefined();
    // inside the /24 and the /20 (not octet-aligned), whatever the labels below
    for (const name of [
      'b._dns-sd._udp.0.0.97.10.in-addr.arpa',
      'lb._dns-sd._udp.0.97.10.in-addr.arpa',
      'x.99.0.97.10.in-addr.arpa',
      'x.15.96.10.in-addr.arpa',
      'b._dns-sd._udp.0.15.96.10.in-addr.arpa',
      `x.${reverseName('fd97::99')}`,
      'x.0.0.0.0.0.0.0.0.0.0.0.0.7.9.d.f.ip6.arpa',
    ])
      expect([name, inside(name)]).toEqual([name, true]);
    // wider than a subnet or beside it: the /16 of the /24 and of the /20, names under them outside the subnets
    for (const name of [
      '97.10.in-addr.arpa',
      'x.97.10.in-addr.arpa',
      '96.10.in-addr.arpa',
      'x.16.96.10.in-addr.arpa',
      'b._dns-sd._udp.0.5.97.10.in-addr.arpa',
      '10.in-addr.arpa',
      'x.0.0.0.0.0.0.0.7.9.d.f.ip6.arpa',
    ])
      expect([name, inside(name)]).toEqual([name, false]);
  });
});
