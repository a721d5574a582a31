/**
 * Advisory whole-file locks (flock). Node has none; waiting for the lock
 * happens on a libuv worker, never on the event loop.
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
