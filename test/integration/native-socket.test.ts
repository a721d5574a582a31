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

describe('native netlink socket', () => {
  it('refuses every descriptor method once closed, even when the number was reused', async () => {
    const { NetlinkSocket } = native();
    const s = new NetlinkSocket(NETLINK_ROUTE, -1, {});
    const oldFd = s.fd;
    expect(s.close()).toEqual([]);
    expect(s.fd).toBe(-1);
    // Another socket now gets the same descriptor number.
    const other = new NetlinkSocket(NETLINK_ROUTE, -1, {});
    expect(other.fd).toBe(oldFd);
    try {
      for (const call of [
        () => s.sendSync(Buffer.alloc(16)),
        () => s.recvSync(0),
        () => s.addMembership(1),
        () => s.dropMembership(1),
        () => s.setReceiveBuffer(65536),
      ]) {
        expect(call).toThrow(expect.objectContaining({ errno: 9 /* EBADF */ }));
      }
      expect(s.close()).toEqual([]); // twice is fine
    } finally {
      other.close();
    }
  });

  it('refuses to queue on a sync socket and to block on an async one', () => {
    const { NetlinkSocket } = native();
    const sync = new NetlinkSocket(NETLINK_ROUTE, -1, {});
    const async = new NetlinkSocket(NETLINK_ROUTE, -1, {}, () => {});
    try {
      expect(() => sync.send(Buffer.alloc(16), 1, false)).toThrow(expect.objectContaining({ errno: 22 }));
      expect(() => async.sendSync(Buffer.alloc(16))).toThrow(expect.objectContaining({ errno: 22 }));
      expect(() => async.recvSync(0)).toThrow(expect.objectContaining({ errno: 22 }));
    } finally {
      sync.close();
      async.close();
    }
  });

  it('refuses a recvSync timeout that would wait forever by accident', () => {
    const { NetlinkSocket } = native();
    const s = new NetlinkSocket(NETLINK_ROUTE, -1, {});
    try {
      for (const bad of ['x', NaN, -5, 1.5, 2 ** 40, null]) {
        expect(() => s.recvSync(bad as unknown as number), String(bad)).toThrow(TypeError);
      }
      expect(s.recvSync(0).length).toBe(0); // nothing queued: returns at once
    } finally {
      s.close();
    }
  });

  it('closes an adopted descriptor when an argument is bad', async () => {
    const { NetlinkSocket, netlinkSocketOpen } = native();
    const before = fdCount();
    for (const opts of [{ rcvbuf: -1 }, { rcvbuf: NaN }, { rcvbuf: 2 ** 40 }, { sndbuf: 'x' }, { groups: [0] }, { groups: 'link' }]) {
      const fd = await netlinkSocketOpen(NETLINK_ROUTE, -1);
      expect(isOpen(fd)).toBe(true);
      expect(() => new NetlinkSocket(NETLINK_ROUTE, -1, { ...opts, fd } as never), JSON.stringify(opts)).toThrow(TypeError);
      expect(isOpen(fd), JSON.stringify(opts)).toBe(false);
    }
    expect(() => new NetlinkSocket(99, -1, {})).toThrow(TypeError);
    expect(fdCount()).toBe(before);
  });

  it('validates receiveBufferBytes before opening anything', async () => {
    const { open, ValidationError } = await import('../../lib');
    for (const bad of [-1, NaN, 2 ** 40, 1.5, '4096']) {
      await expect(open({ receiveBufferBytes: bad as number })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
