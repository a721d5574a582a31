// errno names in errors: libc's, plus the ones the kernel can answer that libc
// (and so Node) does not name.
import { describe, expect, it } from 'vitest';
import { errnoName } from '../../lib/netlink/errors';

describe('errnoName', () => {
  it('names what the kernel can answer, also where libc has no name', () => {
    expect(errnoName(17)).toBe('EEXIST');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(errnoName(85)).toBe('ERESTART');
    expect(errnoName(512)).toBe('ERESTARTSYS');
    expect(errnoName(524)).toBe('ENOTSUPP');
    expect(errnoName(9999)).toBe('E9999');
  });
});
