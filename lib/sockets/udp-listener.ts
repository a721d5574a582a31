/**
 * A UDP socket for transparent proxies: where Node's dgram drops ancillary
 * data, this one reads each datagram with its destination as the kernel
 * delivered it (IP_ORIGDSTADDR / IPV6_ORIGDSTADDR). Under TPROXY that is
 * the address the client was sending to; under REDIRECT it is the proxy's
 * own address, and conntrack knows the original (see
 * {@link UdpListener.originalDestination}).
 * @module
 */
import { EventEmitter } from 'node:events';
import type { Handle } from '../handle';
import { open } from '../handle';
import { fromNative, ValidationError } from '../netlink/errors';
import { withNetnsAsync, type NetnsRef } from '../netns/namespace';
import { makeInetSocket, udpReceiver, type NativeUdpReceiver } from '../system/inet-socket';
import { bindUdp } from './inet';
import { parseIp, type IpFamily } from '../validate/ip';
import { validateU32 } from '../validate/integers';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';
import type { OriginalDestination } from './original-destination';
import { UdpFlowDestinations } from './udp-flows';

/** An address and port. */
export interface UdpEndpoint {
  address: string;
  port: number;
}

/** A datagram received by a {@link UdpListener}. */
export interface UdpDatagram {
  data: Buffer;
  /** The sender (an IPv4 sender of a dual-stack socket without the ::ffff: prefix). */
  from: UdpEndpoint & { family: IpFamily };
  /** Where the kernel delivered it (IP_ORIGDSTADDR): under TPROXY the original destination, under REDIRECT this socket. */
  to?: UdpEndpoint;
}

/** Options of {@link listenUdp}. */
export interface UdpListenOptions {
  /** Namespace to create the socket in; default the caller's. */
  netns?: NetnsRef;
  /** Local address; default "::" (IPv4 and IPv6). */
  host?: string;
  /** Local port. */
  port: number;
  /** IP_TRANSPARENT: receive datagrams an nftables `tproxy` rule diverts here, whatever their destination. Needs CAP_NET_ADMIN. */
  transparent?: boolean;
  /** SO_MARK on the socket (its replies carry it). */
  mark?: number;
  /** SO_REUSEPORT. */
  reusePort?: boolean;
}

const LISTEN_UDP_KEYS = keysOf<UdpListenOptions>()(['netns', 'host', 'port', 'transparent', 'mark', 'reusePort']);

const unmapped = (address: string): string => (address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address);
const familyOfAddress = (address: string): IpFamily => (address.includes(':') ? 6 : 4);

interface NativeDatagram {
  data: Buffer;
  from: UdpEndpoint;
  to?: UdpEndpoint;
}

/**
 * A listening UDP socket in a namespace (see {@link listenUdp}). Emits
 * `message` (UdpDatagram) and `error` (a receive error such as a queued
 * ECONNREFUSED; the socket keeps receiving). Like a `dgram` socket it keeps
 * the process alive until closed, unless {@link UdpListener.unref} was called.
 */
export class UdpListener extends EventEmitter<{ message: [UdpDatagram]; error: [Error] }> {
  private receiver?: NativeUdpReceiver;
  private handle?: Promise<Handle>;
  private readonly flows = new UdpFlowDestinations();

  /** @internal */
  constructor(
    fd: number,
    /** The socket's namespace. */
    readonly netns: NetnsRef | undefined,
    /** The family of the socket (6: dual-stack). */
    readonly family: IpFamily,
    /** The port it is bound to. */
    readonly port: number,
  ) {
    super();
    this.receiver = udpReceiver(
      fd,
      (list: NativeDatagram[], errno: number) => {
        for (const d of list) {
          const from = { address: unmapped(d.from.address), port: d.from.port, family: familyOfAddress(unmapped(d.from.address)) };
          this.emit('message', { data: d.data, from, ...(d.to ? { to: { address: unmapped(d.to.address), port: d.to.port } } : {}) });
        }
        if (errno) this.emit('error', fromNative('receive udp', Object.assign(new Error('recvmsg'), { errno, syscall: 'recvmsg' })));
      },
      `listen on udp port ${String(port)}`,
    );
  }

  /**
   * Answers a received datagram from the address it was sent to, as a
   * transparent proxy must (the client takes answers from that address
   * only). REDIRECT (delivered to this socket's port): sent from this
   * socket with the delivered address as source, which conntrack turns
   * back into the original destination. TPROXY: sent from a transparent
   * socket bound to the original address and port for this one datagram
   * (kept open, it would take the client's next datagrams from the proxy).
   * @example
   * listener.on('message', (d) => void listener.reply(d, Buffer.from('answer')));
   */
  async reply(datagram: UdpDatagram, data: Buffer): Promise<void> {
    const receiver = this.receiver;
    if (!receiver) throw new ValidationError('listener', this.port, 'is closed');
    // Checked here: the native send would fail with a bare TypeError, dgram's with another.
    if (!(data instanceof Uint8Array)) throw new ValidationError('data', data, 'must be a Buffer');
    if (!isObject(datagram) || !isObject(datagram.from)) throw new ValidationError('datagram', datagram, 'must be a datagram this listener received');
    const { from, to } = datagram;
    if (to && to.port !== this.port) {
      const sock = await bindUdp({ netns: this.netns, host: to.address, port: to.port, transparent: true, reuseAddr: true });
      try {
        await new Promise<void>((resolve, reject) => sock.send(data, from.port, from.address, (e) => (e ? reject(e) : resolve())));
      } finally {
        sock.close();
      }
      return;
    }
    const mapped = (a: string) => (this.family === 6 && familyOfAddress(a) === 4 ? `::ffff:${a}` : a);
    try {
      if (to) receiver.send(data, this.family, mapped(from.address), from.port, mapped(to.address));
      else receiver.send(data, this.family, mapped(from.address), from.port);
    } catch (e) {
      throw fromNative(`send udp to ${from.address}:${String(from.port)}`, e);
    }
  }

  /**
   * Where a received datagram was going before it was intercepted: under
   * TPROXY its delivered destination; under REDIRECT (delivered to this
   * socket's own port) the original destination conntrack recorded for the
   * flow, looked up by its reply tuple (remembered per sender while the flow
   * is active). Datagrams sent straight to the socket answer its address.
   * @example
   * listener.on('message', async (d) => {
   *   const dst = await listener.originalDestination(d); // e.g. { address: '10.0.0.10', port: 53, ... }
   * });
   */
  async originalDestination(datagram: UdpDatagram): Promise<OriginalDestination> {
    const to = datagram.to;
    if (!to) throw new ValidationError('datagram', null, 'carries no destination (not received by a UdpListener)');
    const family = familyOfAddress(to.address);
    if (to.port !== this.port) return { address: to.address, port: to.port, family, source: 'local-address' };
    this.handle ??= open(this.netns === undefined ? {} : { netns: this.netns });
    const found = await this.flows.lookup(await this.handle, datagram.from, to);
    return found ? { ...found, family, source: 'conntrack' } : { address: to.address, port: to.port, family, source: 'local-address' };
  }

  /**
   * Lets the process exit while this listener is open (it still receives
   * while the process runs), as `dgram.Socket#unref()`; {@link ref} undoes
   * it. No effect once closed. Chainable.
   * @example
   * const metrics = (await listenUdp({ port: 8125 }, count)).unref(); // does not hold the process open
   */
  unref(): this {
    this.receiver?.unref();
    return this;
  }

  /**
   * Keeps the process alive while this listener is open (the default; undoes
   * {@link unref}). No effect once closed. Chainable.
   * @example
   * listener.unref();
   * // ... later, while a reply is still expected:
   * listener.ref();
   */
  ref(): this {
    this.receiver?.ref();
    return this;
  }

  /**
   * Stops receiving and closes the socket.
   * @example
   * listener.close();
   */
  close(): void {
    this.receiver?.close();
    this.receiver = undefined;
    void this.handle?.then((h) => h.close()).catch(() => undefined);
    this.handle = undefined;
  }
}

/**
 * Opens a UDP socket in a namespace for a transparent proxy: each datagram
 * comes with where it was going ({@link UdpListener}).
 * @example
 * // a TPROXY target: receives UDP for any address diverted to port 15053
 * const dns = await listenUdp({ netns: 'pod', port: 15053, transparent: true }, (d) => console.log(d.from, d.to));
 */
export async function listenUdp(opts: UdpListenOptions, onMessage?: (datagram: UdpDatagram) => void): Promise<UdpListener> {
  rejectUnknownKeys(opts, LISTEN_UDP_KEYS, 'listenUdp options');
  const host = opts.host ?? '::';
  const family = parseIp(host, 'host').family;
  const port = opts.port as unknown;
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) throw new ValidationError('port', port, 'must be an integer 1-65535');
  const mark = opts.mark === undefined ? undefined : validateU32(opts.mark, 'mark');
  // JavaScript callers are not held to the types: "false" would turn IP_TRANSPARENT on.
  for (const field of ['transparent', 'reusePort'] as const) {
    const v: unknown = opts[field];
    if (v !== undefined && typeof v !== 'boolean') throw new ValidationError(field, v, 'must be a boolean');
  }
  if (onMessage !== undefined && typeof onMessage !== 'function') throw new ValidationError('onMessage', onMessage, 'must be a function');
  const fd = await withNetnsAsync(opts.netns, (nsfd) =>
    makeInetSocket(
      nsfd,
      { family, udp: true, bind: true, host, port: port as number, reusePort: opts.reusePort, transparent: opts.transparent, mark, recvOrigDst: true },
      `listen on udp ${host}:${String(port)}`,
    ),
  );
  const listener = new UdpListener(fd, opts.netns, family, port as number);
  if (onMessage) listener.on('message', onMessage);
  return listener;
}
