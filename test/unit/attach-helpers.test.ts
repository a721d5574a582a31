// The attach path's pure helpers: pools made once per subnet (immutable, so shared), and random MACs
// drawn from a pooled CSPRNG buffer (locally administered unicast, no repeats in a run).
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { AddressPool, poolOf } from '../../lib/network/address-pool';
import { randomMac } from '../../lib/network/names';

describe('poolOf', () => {
  it('returns one pool per subnet and gateway, equal to a new one', () => {
    const a = poolOf('10.91.0.0/16', '10.91.0.1');
    expect(poolOf('10.91.0.0/16', '10.91.0.1')).toBe(a);
    expect(poolOf('10.91.0.0/16')).not.toBe(a); // another key: the gateway may differ
    const fresh = new AddressPool('10.91.0.0/16', '10.91.0.1');
    expect({ subnet: a.subnet, gateway: a.gateway, prefix: a.prefixLength }).toEqual({
      subnet: fresh.subnet,
      gateway: fresh.gateway,
      prefix: fresh.prefixLength,
    });
    expect(a.withPrefix('10.91.3.4')).toBe('10.91.3.4/16');
    expect(poolOf('fd00:91::/64').withPrefix('fd00:91::5')).toBe('fd00:91::5/64');
  });

  it('throws as the constructor does, every time (nothing cached)', () => {
    expect(() => poolOf('10.91.0.0/31')).toThrow(ValidationError);
    expect(() => poolOf('10.91.0.0/31')).toThrow(ValidationError);
    expect(() => poolOf('10.92.0.0/24', '10.93.0.1')).toThrow(ValidationError);
  });
});

describe('randomMac', () => {
  it('makes locally administered unicast MACs, distinct across many refills of its buffer', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const mac = randomMac();
      expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      const first = parseInt(mac.slice(0, 2), 16);
      expect(first & 0x02).toBe(0x02); // locally administered
      expect(first & 0x01).toBe(0); // unicast
      seen.add(mac);
    }
    expect(seen.size).toBe(500);
  });
});
