/**
 * TCP and UDP sockets made inside a network namespace by the addon (off the
 * event loop: entering a namespace takes a thread), for Node's net and dgram
 * objects to adopt.
 * @internal
 * @module
 */
import { native, type NativeBinding, type NativeInetSocketOptions, type NativeUdpReceiver } from '../native/binding';

export type { NativeUdpReceiver };
import { fromNative } from '../netlink/errors';
import { validateFd, validateNetnsFd } from './fd';

/**
 * Makes (and binds, and for TCP with a backlog: listens on) a socket in the
 * namespace `netnsFd` (-1: the caller's). An IPv6 zone in `host` must be numeric.
 * @internal
 * @example
 * const fd = await makeInetSocket(ns.fd, { family: 4, bind: true, port: 8080, backlog: 511 }, 'listen on tcp *:8080');
 */
export async function makeInetSocket(netnsFd: number, opts: NativeInetSocketOptions, operation: string): Promise<number> {
  validateNetnsFd(netnsFd);
  let fd: number;
  try {
    fd = await native().inetSocket(netnsFd, opts);
  } catch (e) {
    throw fromNative(operation, e);
  }
  // Still held by the environment (closed at a worker's end if no JS runs again): adoptInetSocket or udpReceiver
  // takes it in the same synchronous step as Node or the receiver takes it over, connectInetSocket closes it held.
  return fd;
}

/**
 * Hands `fd` (from {@link makeInetSocket}, held by the environment until
 * now) to a Node object: `adopt` must take it synchronously
 * (`server.listen({ fd })`, `new net.Socket({ fd })`, `sock.bind({ fd })`),
 * right after the environment lets it go, so a worker ended in between has
 * nothing to leak. When `adopt` throws, Node has not taken the fd (net and
 * dgram check their state and the fd before a handle owns it), so it is
 * closed here, once: the socket stays bound until the process ends otherwise.
 * @internal
 * @example
 * const sock = adoptInetSocket(fd, () => new net.Socket({ fd, readable: true, writable: true }));
 */
export function adoptInetSocket<T>(fd: number, adopt: () => T): T {
  validateFd(fd);
  native().heldFdTake(fd);
  try {
    return adopt();
  } catch (e) {
    native().closeFd(fd);
    throw e;
  }
}

/**
 * Connects a socket made by {@link makeInetSocket}, waiting on a libuv worker
 * (at most `timeoutMs`); closes it when the connection fails.
 * @internal
 * @example
 * await connectInetSocket(fd, 4, '10.0.0.2', 8080, 5000, 'connect to 10.0.0.2:8080');
 */
export async function connectInetSocket(fd: number, family: 4 | 6, host: string, port: number, timeoutMs: number, operation: string): Promise<void> {
  validateFd(fd);
  try {
    await native().tcpConnect(fd, family, host, port, timeoutMs);
  } catch (e) {
    native().heldFdClose(fd); // still held (adoptInetSocket takes it)
    throw fromNative(operation, e);
  }
}

/**
 * The destination a connected TCP socket had before NAT (conntrack's
 * original tuple: SO_ORIGINAL_DST, or IP6T_SO_ORIGINAL_DST for `family` 6).
 * @internal
 * @example
 * const { address, port } = originalDst(fd, 4, 'original destination of 10.0.0.5:40000');
 */
export function originalDst(fd: number, family: 4 | 6, operation: string): { address: string; port: number } {
  validateFd(fd);
  try {
    return native().originalDst(fd, family);
  } catch (e) {
    throw fromNative(operation, e);
  }
}

/** What a {@link udpReceiver} calls back with: the datagrams read, and a receive errno (0: none). */
export type UdpDatagramsCallback = ConstructorParameters<NativeBinding['UdpReceiver']>[1];

/**
 * Receives on a UDP socket made by {@link makeInetSocket} (with `recvOrigDst`)
 * from a thread of the addon, each datagram with its delivered destination,
 * handed to the event loop in batches; the
 * receiver owns the fd from then on (closed by its close(), or here when
 * polling cannot start).
 * @internal
 * @example
 * const r = udpReceiver(fd, (list, errno) => console.log(list.length, errno), 'listen on udp :15053');
 */
export function udpReceiver(fd: number, onDatagrams: UdpDatagramsCallback, operation: string): NativeUdpReceiver {
  validateFd(fd);
  native().heldFdTake(fd); // the receiver owns it from here (or it is closed below)
  try {
    return new (native().UdpReceiver)(fd, onDatagrams);
  } catch (e) {
    native().closeFd(fd);
    throw fromNative(operation, e);
  }
}
