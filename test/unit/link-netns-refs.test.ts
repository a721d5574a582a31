// References to links (by index) and to namespaces are checked before
// anything is sent or opened. An index above 2^31-1 reached the writer (a
// RangeError from writeInt32LE) or the kernel as a wrapped u32 (a route with
// link 2^32+1 went out of link 1, lo); a namespace reference of the wrong type
// was a TypeError ("Cannot use 'in' operator"), a path with a NUL an ENOENT.
import { describe, expect, it } from 'vitest';
import { NetlinkError, ValidationError } from '../../lib/netlink/errors';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { checkNetnsRef, netnsPath, openNetnsSync, type NetnsRef } from '../../lib/netns/namespace';
import { addressOps } from '../../lib/rtnetlink/address';
import { linkOps } from '../../lib/rtnetlink/link';
import { checkRef, MAX_LINK_INDEX } from '../../lib/rtnetlink/link-ref';
import { neighbourOps } from '../../lib/rtnetlink/neighbour';
import { routeOps } from '../../lib/rtnetlink/route';
import { drive } from '../helpers/drive';

const BAD_INDEXES = [0, -0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 32 + 1, NaN, Infinity, -Infinity];

const validationError = (field: string) => expect.objectContaining({ name: 'ValidationError', field });

describe('link index references', () => {
  it('accepts 1 to 2^31-1 and names', () => {
    expect(checkRef(1)).toBe(1);
    expect(checkRef(MAX_LINK_INDEX)).toBe(2 ** 31 - 1);
    expect(checkRef('eth0')).toBe('eth0');
  });

  it('refuses 0, negatives, fractions and indexes above 2^31-1 with a ValidationError', () => {
    for (const index of BAD_INDEXES) {
      expect(() => checkRef(index)).toThrow(ValidationError);
      expect(() => checkRef(index, 'master')).toThrow(validationError('master'));
    }
  });

  it('sends no request for a bad index, whatever the operation', () => {
    for (const index of BAD_INDEXES) {
      const ops = [
        () => linkOps.get(index),
        () => linkOps.set(index, { up: true }),
        () => linkOps.set('v0', { master: index }),
        () => linkOps.list({ master: index }),
        () => addressOps.add(index, '10.0.0.1/24'),
        () => routeOps.add({ dst: '10.9.0.0/24', link: index }),
        () => routeOps.add({ dst: '10.9.0.0/24', multipath: [{ gateway: '10.0.0.2', link: index }] }),
        () => neighbourOps.list({ link: index }),
      ];
      for (const op of ops) {
        const sent: unknown[] = [];
        expect(() => drive(op(), (r) => (sent.push(r), []))).toThrow(ValidationError);
        expect(sent).toEqual([]);
      }
    }
  });

  it('sends 2^31-1 as is', () => {
    const sent: NetlinkMessage[] = [];
    // The made-up kernel has no such link: the operation fails after sending.
    expect(() => drive(linkOps.get(MAX_LINK_INDEX), (r) => (sent.push(r), new NetlinkError({ errno: 19, operation: 'get link' })))).toThrow(NetlinkError);
    expect(sent).toHaveLength(1);
    expect(sent[0].payload.readInt32LE(4)).toBe(MAX_LINK_INDEX);
  });
});

describe('namespace references', () => {
  const bad: Array<[unknown, string]> = [
    [5, 'netns'],
    [null, 'netns'],
    [true, 'netns'],
    [{}, 'netns'],
    [[], 'netns'],
    [{ nmae: 'c1' }, 'netns'],
    [{ name: 'c1', pid: 1 }, 'netns'],
    ['', 'namespace name'],
    ['a\0b', 'namespace name'],
    [{ name: '' }, 'namespace name'],
    [{ name: 5 }, 'namespace name'],
    [{ path: '' }, 'namespace path'],
    [{ path: 'rel/net' }, 'namespace path'],
    [{ path: '/run/netns/a\0b' }, 'namespace path'],
    [{ pid: 0 }, 'pid'],
    [{ pid: -1 }, 'pid'],
    [{ pid: '1' }, 'pid'],
    [{ pid: 2 ** 31 }, 'pid'],
    [{ fd: -1 }, 'namespace fd'],
    [{ fd: 1.5 }, 'namespace fd'],
    [{ fd: '3' }, 'namespace fd'],
    [{ fd: 2 ** 40 }, 'namespace fd'],
  ];

  it('refuses each bad reference with a ValidationError naming the field, before opening anything', () => {
    for (const [ref, field] of bad) {
      expect(() => checkNetnsRef(ref), `checkNetnsRef(${String(JSON.stringify(ref))})`).toThrow(validationError(field));
      expect(() => openNetnsSync(ref as NetnsRef), `openNetnsSync(${String(JSON.stringify(ref))})`).toThrow(validationError(field));
    }
    expect(() => netnsPath({ path: '/x\0y' })).toThrow(validationError('namespace path'));
  });

  it('the link operations refuse them the same way', () => {
    for (const [ref, field] of bad) {
      expect(() => drive(linkOps.set(3, { netns: ref as NetnsRef }))).toThrow(validationError(field));
    }
  });

  it('accepts the good ones', () => {
    for (const ref of ['c1', { name: 'c1' }, { path: '/proc/1/ns/net' }, { pid: 1 }, { fd: 0 }, { fd: 2 ** 31 - 1 }]) expect(checkNetnsRef(ref)).toBe(ref);
    expect(netnsPath('c1')).toBe('/run/netns/c1');
    expect(netnsPath({ pid: 42 })).toBe('/proc/42/ns/net');
  });
});
