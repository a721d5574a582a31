/**
 * Link names read on a connection's own netlink socket (ioctl SIOCGIFNAME,
 * native `linkName`): the kernel answers in the socket's namespace, at once,
 * without a request through the I/O thread. One non-blocking syscall per
 * link on the calling thread (~1 µs; RCU since Linux 6.9, a read semaphore
 * taken only by renames before).
 * @internal
 * @module
 */
import { fromNative } from './errors';

/** What this reads through: a native socket, async or sync. */
export interface LinkNameSocket {
  linkName(index: number): string | null;
}

/**
 * Index → name of the links of `indexes` that exist now; a link gone (ENODEV)
 * has none. Any other failure is a SystemError: it is not a missing link.
 */
export function readSocketLinkNames(socket: LinkNameSocket, indexes: readonly number[], operation: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const index of indexes) {
    let name: string | null;
    try {
      name = socket.linkName(index);
    } catch (e) {
      throw fromNative(operation, e);
    }
    if (name !== null) names.set(index, name);
  }
  return names;
}
