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

/** Longest pause between two attempts while another holder has the lock. */
const MAX_POLL_MS = 20;
/** Attempts before a waiter may wait in the kernel instead. */
const POLLS_BEFORE_BLOCKING = 3;
/** Whether one waiter of this process is blocked in flock on a libuv worker. */
let workerWaiting = false;

/**
 * Takes an exclusive flock on `fd`, waiting while another open file
 * description holds it; closing the fd releases it.
 *
 * Waiting in flock holds a libuv worker until the lock is free, and there
 * are four: were every waiter to wait there, two processes whose lock
 * holders need a worker themselves (to open a namespace, say) could block
 * each other for good. So waiters poll (1 ms, growing to 20 ms), and only
 * one per process at a time waits in the kernel, which hands the lock over
 * on release: a holder that takes it again and again (a busy publisher)
 * cannot starve everyone else, and three workers always stay free.
 * @internal
 * @example
 * await waitForLock(fd, 'lock /run/nlkit/host/state.lock');
 */
export async function waitForLock(fd: number, operation = 'lock file'): Promise<void> {
  validateFd(fd);
  for (let attempt = 1, pause = 1; ; attempt++, pause = Math.min(pause * 2, MAX_POLL_MS)) {
    let held: boolean;
    try {
      held = native().tryLockExclusive(fd);
    } catch (e) {
      throw fromNative(operation, e);
    }
    if (held) return;
    if (attempt >= POLLS_BEFORE_BLOCKING && !workerWaiting) {
      workerWaiting = true;
      try {
        await lockExclusive(fd, operation);
        return;
      } finally {
        workerWaiting = false;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
  }
}
