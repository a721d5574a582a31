// resolveLinkNames reads names on the executor's socket when it can (a
// LinkNameReader), asks by RTM_GETLINK when it cannot, and takes a link dump
// for many; readSocketLinkNames maps the native answers (null: gone) and
// turns any other failure into a SystemError.
import { describe, expect, it } from 'vitest';
import { SystemError } from '../../lib';
import { runAsync, runSync, type LinkNameReader, type NetlinkCall, type SyncExecutor } from '../../lib/netlink/operation';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { readSocketLinkNames } from '../../lib/netlink/socket-link-names';
import { ConnectionCore } from '../../lib/netlink/connection-core';
import { resolveLinkNames } from '../../lib/rtnetlink/link-names';

const RTM_GETLINK = 18;
const RTM_NEWLINK = 16;
const NLM_F_DUMP = 0x300;

/** An RTM_NEWLINK reply for `index` named `name` (ifinfomsg + IFLA_IFNAME). */
function newLink(index: number, name: string): NetlinkMessage {
  const attr = Buffer.alloc(4 + ((name.length + 1 + 3) & ~3));
  attr.writeUInt16LE(4 + name.length + 1, 0);
  attr.writeUInt16LE(3, 2);
  attr.write(name, 4, 'latin1');
  const payload = Buffer.concat([Buffer.alloc(16), attr]);
  payload.writeInt32LE(index, 4);
  return { type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0, payload };
}

/** A made-up kernel with links 1..n named `kN`; counts what it is asked. */
function kernel(n: number, reader?: (indexes: readonly number[]) => Map<number, string> | undefined) {
  const asked = { getLink: 0, dump: 0, read: 0 };
  const ex: SyncExecutor & Partial<LinkNameReader> = {
    executeSync(c: NetlinkCall): NetlinkMessage[] {
      expect(c.message.readUInt16LE(4)).toBe(RTM_GETLINK);
      if ((c.message.readUInt16LE(6) & NLM_F_DUMP) === NLM_F_DUMP) {
        asked.dump++;
        return Array.from({ length: n }, (_, i) => newLink(i + 1, `k${i + 1}`));
      }
      asked.getLink++;
      const index = c.message.readInt32LE(16 + 4);
      return index <= n ? [newLink(index, `k${index}`)] : [];
    },
  };
  if (reader)
    ex.readLinkNames = (indexes) => {
      asked.read++;
      return reader(indexes);
    };
  return { ex, asked };
}

describe('resolveLinkNames', () => {
  it('reads the names on the socket, with no request, when the executor can', () => {
    const { ex, asked } = kernel(5, (indexes) => new Map(indexes.filter((i) => i !== 4).map((i) => [i, `sock${i}`])));
    const names = runSync(ex, resolveLinkNames([2, 4, undefined, 0, 2, 3], new Map([[3, 'known3']])));
    expect([...names].sort()).toEqual([
      [2, 'sock2'],
      [3, 'known3'],
    ]); // 4: gone when read
    expect(asked).toEqual({ getLink: 0, dump: 0, read: 1 });
  });

  it('asks by request when the executor has no socket at hand (undefined) or no reader', () => {
    const none = kernel(5, () => undefined);
    expect([...runSync(none.ex, resolveLinkNames([2, 9]))]).toEqual([[2, 'k2']]);
    expect(none.asked).toEqual({ getLink: 2, dump: 0, read: 1 });
    const plain = kernel(5);
    expect([...runSync(plain.ex, resolveLinkNames([1]))]).toEqual([[1, 'k1']]);
    expect(plain.asked).toEqual({ getLink: 1, dump: 0, read: 0 });
  });

  it('takes one link dump for more than 64 links, without reading them one by one', () => {
    const { ex, asked } = kernel(100, () => {
      throw new Error('not read one by one');
    });
    const names = runSync(ex, resolveLinkNames(Array.from({ length: 65 }, (_, i) => i + 1)));
    expect(names.size).toBe(100);
    expect(asked).toEqual({ getLink: 0, dump: 1, read: 0 });
  });

  it('reads exactly 64 on the socket (the bound is inclusive), one read, no request', () => {
    const { ex, asked } = kernel(100, (indexes) => new Map(indexes.map((i) => [i, `sock${i}`])));
    const names = runSync(ex, resolveLinkNames(Array.from({ length: 64 }, (_, i) => i + 1)));
    expect(names.size).toBe(64);
    expect(names.get(64)).toBe('sock64');
    expect(asked).toEqual({ getLink: 0, dump: 0, read: 1 });
  });

  it('asks nothing when every name is known', () => {
    const { ex, asked } = kernel(5, () => new Map());
    expect(runSync(ex, resolveLinkNames([1], new Map([[1, 'one']]))).get(1)).toBe('one');
    expect(asked).toEqual({ getLink: 0, dump: 0, read: 0 });
  });

  it('async: a reader error fails the operation (not taken for a missing link)', async () => {
    const ex = {
      execute: () => Promise.reject(new Error('no request expected')),
      readLinkNames: () => {
        throw new SystemError('read link names', 1, 'ioctl(SIOCGIFNAME)');
      },
    };
    await expect(runAsync(ex, resolveLinkNames([2]))).rejects.toMatchObject({ name: 'SystemError', code: 'EPERM', syscall: 'ioctl(SIOCGIFNAME)' });
  });
});

describe('readSocketLinkNames', () => {
  it('keeps the names the socket gives; null (ENODEV) is no name', () => {
    const socket = { linkName: (i: number) => (i === 3 ? null : `n${i}`) };
    expect([...readSocketLinkNames(socket, [1, 3, 7], 'name')]).toEqual([
      [1, 'n1'],
      [7, 'n7'],
    ]);
  });

  it('a security policy refusing the ioctl (EPERM, EACCES) is no answer: the caller asks by request', () => {
    for (const errno of [1, 13]) {
      const socket = {
        linkName: () => {
          throw Object.assign(new Error('ioctl(SIOCGIFNAME)'), { errno, syscall: 'ioctl(SIOCGIFNAME)' });
        },
      };
      expect(readSocketLinkNames(socket, [1], 'list routes')).toBeUndefined();
    }
  });

  it('any other failure is a SystemError naming the syscall', () => {
    const socket = {
      linkName: () => {
        throw Object.assign(new Error('ioctl(SIOCGIFNAME): EIO'), { errno: 5, syscall: 'ioctl(SIOCGIFNAME)' });
      },
    };
    let caught: unknown;
    try {
      readSocketLinkNames(socket, [1], 'list routes');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SystemError);
    expect(caught).toMatchObject({ code: 'EIO', errno: 5, syscall: 'ioctl(SIOCGIFNAME)' });
  });
});

describe('a connection whose socket a policy refuses SIOCGIFNAME', () => {
  it('asks by request, and stops trying the ioctl on that socket', () => {
    let tries = 0;
    const socket = {
      portId: 1,
      linkName: () => {
        tries++;
        throw Object.assign(new Error('ioctl(SIOCGIFNAME)'), { errno: 13, syscall: 'ioctl(SIOCGIFNAME)' });
      },
    };
    class Probe extends ConnectionCore {
      protected readonly socket = socket;
    }
    const conn = new Probe();
    expect(conn.readLinkNames([2], 'list routes')).toBeUndefined();
    expect(conn.readLinkNames([2, 3], 'list routes')).toBeUndefined();
    expect(tries).toBe(1);
  });
});
