/**
 * Link names read on a connection's own netlink socket (ioctl SIOCGIFNAME,
 * native `linkName`): the kernel answers in the socket's namespace, at once,
 * without a request through the I/O thread. One non-blocking syscall per
 * link on the calling thread (~1 µs; RCU since Linux 6.9, a read semaphore
 * taken only by renames before).
 * @internal
 * @module
 */
import { constants } from 'node:os';
import { fromNative } from './errors';

/** What this reads through: a native socket, async or sync. */
export interface LinkNameSocket {
  linkName(index: number): string | null;
}

/**
 * Index → name of the links of `indexes` that exist now; a link gone (ENODEV)
 * has none. `undefined` when a security policy refuses the ioctl on this
 * socket (EPERM, EACCES: an LSM's ioctl rules may allow netlink but not
 * SIOCGIFNAME on it): the caller then asks by request, as without a socket,
 * so a policy costs the round trip, never the call. Any other failure is a
 * SystemError: it is not a missing link.
 */
export function readSocketLinkNames(socket: LinkNameSocket, indexes: readonly number[], operation: string): Map<number, string> | undefined {
  const names = new Map<number, string>();
  for (const index of indexes) {
    let name: string | null;
    try {
      name = socket.linkName(index);
    } catch (e) {
      if (isPolicyRefusal(e)) return undefined;
      throw fromNative(operation, e);
    }
    if (name !== null) names.set(index, name);
  }
  return names;
}

function isPolicyRefusal(e: unknown): boolean {
  const n = (e as { errno?: unknown } | null)?.errno;
  return n === constants.errno.EPERM || n === constants.errno.EACCES;
}
