/**
 * Options of netlink connections and their checks: what a connection is made
 * with (protocol, namespace, buffers, groups, socket) and how it closes.
 * @module
 */
import { ValidationError } from './errors';

export interface ConnectionOptions {
  /** NETLINK_ROUTE, NETLINK_NETFILTER, ... */
  protocol: number;
  /** An open network-namespace fd; the socket is created inside it. Default: the caller's namespace. */
  netnsFd?: number;
  /** SO_RCVBUF in bytes (default 4 MiB; forced past rmem_max with CAP_NET_ADMIN). */
  receiveBufferBytes?: number;
  /** SO_SNDBUF in bytes; grown automatically for large batches. */
  sendBufferBytes?: number;
  /** Multicast groups to join (event subscriptions). */
  groups?: number[];
  /** A socket already made in the namespace by {@link openNetlinkSocketFd}; the connection owns it. */
  fd?: number;
  /**
   * Instead of `fd`: makes the socket (off the event loop) when the
   * connection is created. Calls made before it arrives wait for it; if it
   * fails they reject with that error and the next call tries again.
   */
  openSocket?: () => Promise<number>;
}

/** Options of `Handle.close` (and of the low-level connection's `close`). */
export interface CloseOptions {
  /**
   * Wait until every request already made has been sent and answered, then
   * close (the returned promise settles then). New requests are refused at
   * once. Default false: close now; requests still pending reject with a
   * {@link ClosedError} whose `sent` says whether the kernel had them.
   */
  drain?: boolean;
}

/**
 * Checks a socket buffer size option: a whole number of bytes the kernel can
 * take (it rounds tiny values up to its minimum).
 * @internal
 */
export function checkBufferBytes(field: string, bytes: number | undefined): void {
  if (bytes === undefined) return;
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 1 || bytes > 0x7fffffff) {
    throw new ValidationError(field, bytes, 'must be a whole number of bytes from 1 to 2147483647');
  }
}

/**
 * Checks the options of a close() call; unknown keys are refused.
 * @internal
 */
export function checkCloseOptions(opts: unknown): CloseOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) throw new ValidationError('close options', opts, 'must be an object');
  for (const k of Object.keys(opts)) {
    if (k !== 'drain') throw new ValidationError('close options', k, 'is not an option (known: drain)');
  }
  const drain = (opts as CloseOptions).drain;
  if (drain !== undefined && typeof drain !== 'boolean') throw new ValidationError('drain', drain, 'must be a boolean');
  return opts;
}
