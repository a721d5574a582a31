/**
 * Advisory whole-file locks (flock). Node has none. Waiting never blocks
 * the event loop, nor a libuv worker (see {@link waitForLock}).
 * @internal
 * @module
 */
import { native } from '../native/binding';
import { fromNative } from '../netlink/errors';
import { validateFd } from './fd';

/**
 * Waits for an exclusive flock on `fd`; closing the fd releases it.
 * Rejects with SystemError (errno, "flock") naming `operation`.
 * @internal
 * @example
 * await lockExclusive(fd, 'lock /run/nlkit/ipam.json');
 */
export async function lockExclusive(fd: number, operation = 'lock file'): Promise<void> {
  validateFd(fd);
  try {
    await native().lockExclusive(fd);
  } catch (e) {
    throw fromNative(operation, e);
  }
}

/** Longest pause between two attempts while another process holds the lock. */
const MAX_POLL_MS = 20;

/**
 * Takes an exclusive flock on `fd`, waiting while another open file
 * description holds it; closing the fd releases it. Waits by polling with
 * a growing pause (1 ms up to 20 ms) rather than in a libuv worker: a
 * blocked worker stays blocked until the lock is free, and with locks taken
 * in one order by processes whose holders themselves need a worker (opening
 * a namespace, say), all four workers of two processes can end up waiting
 * on each other for good.
 * @internal
 * @example
 * await waitForLock(fd, 'lock /run/nlkit/host/state.lock');
 */
export async function waitForLock(fd: number, operation = 'lock file'): Promise<void> {
  validateFd(fd);
  for (let pause = 1; ; pause = Math.min(pause * 2, MAX_POLL_MS)) {
    let held: boolean;
    try {
      held = native().tryLockExclusive(fd);
    } catch (e) {
      throw fromNative(operation, e);
    }
    if (held) return;
    await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
  }
}
