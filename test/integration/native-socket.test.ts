// The addon's netlink socket object refuses misuse with an error instead of
// acting on stale descriptors, leaking them or waiting forever.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/binding';
import { NETLINK_ROUTE } from '../../lib/netlink/constants';

const fdCount = () => fs.readdirSync('/proc/self/fd').length;
const isOpen = (fd: number) => {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

describe('native netlink sockets', () => {
  it('refuse every descriptor method once closed', () => {
    const { NetlinkSocket, NetlinkSyncSocket } = native();
    const s = new NetlinkSyncSocket(NETLINK_ROUTE, -1, {});
    const a = new NetlinkSocket(NETLINK_ROUTE, -1, {}, () => {});
    const before = fdCount();
    s.close();
    expect(a.close()).toEqual([]);
    expect(fdCount()).toBe(before - 3); // the sync socket, the async socket and its eventfd
    // New sockets now get the same descriptor numbers: a closed object must not touch them.
    const other = new NetlinkSyncSocket(NETLINK_ROUTE, -1, {});
    try {
      for (const call of [
        () => s.send(Buffer.alloc(16)),
        () => s.recv(0),
        () => a.send(Buffer.alloc(16), 1, false),
        () => s.linkName(1),
        () => a.linkName(1),
      ]) {
        expect(call).toThrow(expect.objectContaining({ errno: 9 /* EBADF */ }));
      }
      expect(a.close()).toEqual([]); // twice is fine
      s.close();
    } finally {
      other.close();
    }
  });

  it('read link names on their own descriptor: a name, null for no such link, TypeError for a bad index', () => {
    const { NetlinkSocket, NetlinkSyncSocket } = native();
    const s = new NetlinkSyncSocket(NETLINK_ROUTE, -1, {});
    const a = new NetlinkSocket(NETLINK_ROUTE, -1, {}, () => {});
    try {
      for (const sock of [s, a]) {
        expect(sock.linkName(1)).toBe('lo'); // loopback is index 1 in every namespace
        expect(sock.linkName(2 ** 31 - 1)).toBeNull(); // ENODEV
        for (const bad of [0, -1, 1.5, 'x', 2 ** 31, undefined]) expect(() => sock.linkName(bad as unknown as number), String(bad)).toThrow(TypeError);
      }
    } finally {
      s.close();
      a.close();
    }
  });

  it('have one mode per class: an async socket needs its event callback', () => {
    const { NetlinkSocket } = native();
    expect(() => new (NetlinkSocket as any)(NETLINK_ROUTE, -1, {})).toThrow(TypeError);
  });

  it('refuse a recv timeout that would wait forever by accident', () => {
    const { NetlinkSyncSocket } = native();
    const s = new NetlinkSyncSocket(NETLINK_ROUTE, -1, {});
    try {
      for (const bad of ['x', NaN, -5, 1.5, 2 ** 40, null]) {
        expect(() => s.recv(bad as unknown as number), String(bad)).toThrow(TypeError);
      }
      expect(s.recv(0).length).toBe(0); // nothing queued: returns at once
    } finally {
      s.close();
    }
  });

  it('close an adopted descriptor when an argument is bad', async () => {
    const { NetlinkSocket, netlinkSocketOpen } = native();
    const before = fdCount();
    for (const opts of [{ rcvbuf: -1 }, { rcvbuf: NaN }, { rcvbuf: 2 ** 40 }, { sndbuf: 'x' }, { groups: [0] }, { groups: 'link' }]) {
      const fd = await netlinkSocketOpen(NETLINK_ROUTE, -1);
      expect(isOpen(fd)).toBe(true);
      expect(() => new NetlinkSocket(NETLINK_ROUTE, -1, { ...opts, fd } as never, () => {}), JSON.stringify(opts)).toThrow(TypeError);
      expect(isOpen(fd), JSON.stringify(opts)).toBe(false);
    }
    const fd = await netlinkSocketOpen(NETLINK_ROUTE, -1);
    expect(() => new (NetlinkSocket as any)(NETLINK_ROUTE, -1, { fd })).toThrow(TypeError);
    expect(isOpen(fd)).toBe(false);
    expect(() => new NetlinkSocket(99, -1, {}, () => {})).toThrow(TypeError);
    expect(fdCount()).toBe(before);
  });

  it('validates receiveBufferBytes before opening anything', async () => {
    const { open, ValidationError } = await import('../../lib');
    for (const bad of [-1, NaN, 2 ** 40, 1.5, '4096']) {
      await expect(open({ receiveBufferBytes: bad as number })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
