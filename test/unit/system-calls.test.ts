// lib/system: the typed wrappers families use instead of the addon. Bad
// arguments are ValidationErrors before any system call; a refused call is a
// SystemError naming the syscall; flock really excludes a second holder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SystemError, ValidationError } from '../../lib/netlink/errors';
import { lockExclusive, waitForLock } from '../../lib/system/file-lock';
import { createTunDevice } from '../../lib/system/tun';

const plainTun = { tap: false, noPi: true, vnetHdr: false, multiQueue: false };

describe('createTunDevice', () => {
  it.each([
    ['netnsFd', () => createTunDevice(-2, 'tun0', plainTun)],
    ['netnsFd', () => createTunDevice(1.5, 'tun0', plainTun)],
    ['name', () => createTunDevice(-1, 'a/b', plainTun)],
    ['name', () => createTunDevice(-1, 'x'.repeat(16), plainTun)],
    ['owner', () => createTunDevice(-1, 'tun0', { ...plainTun, owner: -1 })],
    ['group', () => createTunDevice(-1, 'tun0', { ...plainTun, group: 0xffffffff })],
  ])('refuses a bad %s before any system call', (field, call) => {
    let err: unknown;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
  });

  it('reports a refused call as a SystemError naming the syscall', () => {
    // A regular file is no network namespace: entering it fails (EINVAL) before /dev/net/tun is opened.
    const fd = fs.openSync(os.devNull, 'r');
    try {
      let err: unknown;
      try {
        createTunDevice(fd, 'nlkt-never0', plainTun);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SystemError);
      expect((err as SystemError).message).toMatch(/^create tun device nlkt-never0: /);
      expect((err as SystemError).code).toMatch(/^E[A-Z]+$/);
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('lockExclusive', () => {
  const fds: number[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-lock-'));
  afterEach(() => {
    for (const fd of fds.splice(0)) fs.closeSync(fd);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses something that is not a file descriptor', async () => {
    await expect(lockExclusive(-1)).rejects.toBeInstanceOf(ValidationError);
    await expect(lockExclusive(Number.NaN)).rejects.toBeInstanceOf(ValidationError);
  });

  it('a closed descriptor is a SystemError (EBADF) naming the operation', async () => {
    const fd = fs.openSync(path.join(dir, 'closed'), 'w');
    fs.closeSync(fd);
    const err = await lockExclusive(fd, 'lock closed').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SystemError);
    expect((err as SystemError).code).toBe('EBADF');
    expect((err as SystemError).message).toMatch(/^lock closed: flock failed/);
  });

  it('a second holder waits until the first one closes its descriptor', async () => {
    const file = path.join(dir, 'state.lock');
    const first = fs.openSync(file, 'w');
    const second = fs.openSync(file, 'r');
    fds.push(second);
    await lockExclusive(first);
    const order: string[] = [];
    const waiting = lockExclusive(second).then(() => order.push('second locked'));
    // Give the second flock ample time to (wrongly) succeed while the first is held.
    await new Promise((r) => setTimeout(r, 100));
    order.push('first released');
    fs.closeSync(first);
    await waiting;
    expect(order).toEqual(['first released', 'second locked']);
  });
});

describe('waitForLock (polls; at most one waiter per process holds a libuv worker)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-poll-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a second holder gets the lock once the first closes, and the libuv workers stay free meanwhile', async () => {
    const file = path.join(dir, 'state.lock');
    const first = fs.openSync(file, 'w');
    const second = fs.openSync(file, 'r');
    try {
      await waitForLock(first);
      const order: string[] = [];
      const waiters = Array.from({ length: 8 }, () => fs.openSync(file, 'r'));
      // More waiters than libuv has workers (4): were each to wait in a worker, they would take them all.
      const all = [second, ...waiters].map((fd) => waitForLock(fd).then(() => fs.closeSync(fd)));
      const io = await new Promise<string>((resolve, reject) => fs.readFile(file, 'utf8', (e, d) => (e ? reject(e) : resolve(d))));
      order.push(`worker free (${io.length} bytes read)`);
      await new Promise((r) => setTimeout(r, 50));
      order.push('first released');
      fs.closeSync(first);
      await Promise.all(all);
      order.push('all locked in turn');
      expect(order).toEqual(['worker free (0 bytes read)', 'first released', 'all locked in turn']);
    } finally {
      for (const fd of [first]) {
        try {
          fs.closeSync(fd);
        } catch {
          // closed above
        }
      }
    }
  });

  it('refuses something that is not a file descriptor, and names the operation of a failed flock', async () => {
    await expect(waitForLock(-1)).rejects.toBeInstanceOf(ValidationError);
    const fd = fs.openSync(path.join(dir, 'closed'), 'w');
    fs.closeSync(fd);
    await expect(waitForLock(fd, 'lock closed')).rejects.toThrow(/^lock closed: flock failed/);
  });
});
