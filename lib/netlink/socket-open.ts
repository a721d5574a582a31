/**
 * Opening a netlink socket in a namespace without blocking the event loop.
 * @module
 */
import { native } from '../native/binding';
import { EBADF } from './errno';
import { SystemError, fromNative } from './errors';

/**
 * Creates a netlink socket inside a namespace off the main thread (entering a
 * namespace takes a fresh thread and a setns: about 0.4 ms, at times several
 * ms). Pass the fd as `ConnectionOptions.fd`.
 *
 * The worker uses its own reference to the namespace (reopened now), so the
 * caller may close `netnsFd` at any time: a closed number reused by another
 * file must never lead a socket into the wrong namespace.
 *
 * The fd is held by the addon's per-environment set until a socket object
 * adopts it (`ConnectionOptions.fd`), so a worker that ends before its JS
 * gets to adopt it leaks nothing; close one never adopted with
 * `native().heldFdClose`.
 */
export async function openNetlinkSocketFd(protocol: number, netnsFd: number): Promise<number> {
  let own = -1;
  if (netnsFd >= 0) {
    try {
      // Held by the addon across the await: closed even if a worker ends meanwhile.
      own = native().heldFdOpen(`/proc/self/fd/${netnsFd}`);
    } catch (e) {
      throw new SystemError('open netlink socket', (e as { errno?: number }).errno ?? EBADF, `open(/proc/self/fd/${netnsFd})`);
    }
  }
  try {
    return await native().netlinkSocketOpen(protocol, own);
  } catch (e) {
    throw fromNative('open netlink socket', e);
  } finally {
    if (own >= 0) native().heldFdClose(own);
  }
}
