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

describe('errno names and texts in ./errno, errnoName still exported by ./errors', () => {
  it('is one function under both paths, and the public entry points keep it', async () => {
    const fromErrno = await import('../../lib/netlink/errno');
    expect(errnoName).toBe(fromErrno.errnoName);
    expect((await import('../../lib')).errnoName).toBe(errnoName);
    expect((await import('../../lib/netlink')).errnoName).toBe(errnoName);
  });

  it('messages keep their short texts (and "errno N" for the rest)', async () => {
    const { NetlinkError, SystemError } = await import('../../lib/netlink/errors');
    expect(new NetlinkError({ errno: 17, operation: 'add link' }).message).toMatch(/EEXIST.*already exists/);
    expect(new SystemError('open namespace', 2, 'open(/run/netns/x)').message).toBe(
      'open namespace: open(/run/netns/x) failed: ENOENT (no such file or directory / object)',
    );
    expect(new SystemError('x', 9999, 'y').message).toBe('x: y failed: E9999 (errno 9999)');
  });
});
