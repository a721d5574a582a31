// The namespace a manager's host handle holds must be the one its state store identified: a host name
// re-pointed between the two opens is a ValidationError (verifyOpenedHost), before anything is changed.
import { describe, expect, it } from 'vitest';
import { openNetnsSync, ValidationError } from '../../lib';
import { hostIdentity, verifyOpenedHost } from '../../lib/network/host-identity';

describe('verifyOpenedHost', () => {
  it('accepts the namespace the identity describes, refuses another', () => {
    const ns = openNetnsSync({ path: '/proc/self/ns/net' });
    try {
      const id = hostIdentity({ path: '/proc/self/ns/net' });
      expect(() => verifyOpenedHost(ns, id, 'h')).not.toThrow();
      const other = { ...id, netnsIno: String(BigInt(id.netnsIno) + 1n) };
      expect(() => verifyOpenedHost(ns, other, 'h')).toThrow(ValidationError);
      expect(() => verifyOpenedHost(ns, other, 'h')).toThrow(/was replaced while the manager opened it/);
      expect(() => verifyOpenedHost(undefined, other, undefined)).not.toThrow(); // the caller's own namespace
    } finally {
      ns.close();
    }
  });
});
