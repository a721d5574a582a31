/**
 * Where an intercepted connection was going: the address a transparent
 * proxy must forward it to.
 * - REDIRECT (or DNAT) rewrites the destination; conntrack keeps the
 *   original, read with SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6).
 * - TPROXY does not rewrite anything: the accepted socket's local address
 *   is the original destination. Conntrack's original tuple says the same,
 *   so SO_ORIGINAL_DST answers for it too while the flow is tracked.
 * @module
 */
import type * as net from 'node:net';
import { ValidationError } from '../netlink/errors';
import { originalDst } from '../system/inet-socket';
import { isObject } from '../validate/options';

/** The destination a connection had before it was intercepted. */
export interface OriginalDestination {
  /** IP address (IPv4 without the ::ffff: prefix of a dual-stack socket). */
  address: string;
  port: number;
  family: 4 | 6;
  /**
   * How it was found: `conntrack` (SO_ORIGINAL_DST), or `local-address` when
   * conntrack knows no such flow (untracked: only a TPROXY'd or a direct
   * connection, whose local address is the destination).
   */
  source: 'conntrack' | 'local-address';
}

/** The fd of a connected net.Socket (Node keeps it on its TCP handle). */
function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new ValidationError('socket', socket.remoteAddress ?? null, 'must be a connected TCP socket (no file descriptor)');
  return fd;
}

const unmapped = (address: string): string => (address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address);

/**
 * The original destination of an accepted (intercepted) TCP connection.
 * @example
 * const proxy = await listenTcp({ netns: 'pod', port: 15001 }, (client) => {
 *   const { address, port } = originalDestination(client); // e.g. 10.0.2.7:80 before REDIRECT
 * });
 */
export function originalDestination(socket: net.Socket): OriginalDestination {
  if (!isObject(socket)) throw new ValidationError('socket', socket, 'must be a net.Socket');
  const fd = socketFd(socket);
  const local = socket.localAddress ?? '';
  const family: 4 | 6 = local.includes(':') && !(local.startsWith('::ffff:') && local.includes('.')) ? 6 : 4;
  try {
    const dst = originalDst(fd, family, `original destination of ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
    return { address: dst.address, port: dst.port, family, source: 'conntrack' };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT' || socket.localPort === undefined) throw err;
    return { address: unmapped(local), port: socket.localPort, family, source: 'local-address' };
  }
}
