/**
 * TCP and UDP sockets inside a network namespace, as Node's own net.Server,
 * net.Socket and dgram.Socket objects: serve and probe traffic in any
 * namespace from one process. The addon creates the socket in the namespace;
 * Node adopts the fd.
 * @module
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { ValidationError } from '../netlink/errors';
import { adoptInetSocket, connectInetSocket, makeInetSocket } from '../system/inet-socket';
import { withNetnsAsync, type NetnsRef } from '../netns/namespace';
import { open } from '../handle';
import { parseIp, type IpFamily } from '../validate/ip';
import { validateU32 } from '../validate/integers';
import { keysOf, rejectUnknownKeys } from '../validate/options';

/** Where to bind. */
export interface BindOptions {
  /** Namespace to create the socket in; default the caller's. */
  netns?: NetnsRef;
  /** Local address; default 0.0.0.0 (or :: when family is 6). */
  host?: string;
  /** Local port; 0 or absent picks a free one. */
  port?: number;
  /** 4 or 6 when `host` does not tell (default 4). */
  family?: IpFamily;
  /** SO_REUSEPORT: several sockets (servers) share one port. */
  reusePort?: boolean;
  /** SO_REUSEADDR (default true for TCP listeners, as Node does). */
  reuseAddr?: boolean;
  /** Bind to an address not (yet) configured (IP_FREEBIND). */
  freebind?: boolean;
  /** For "::": accept IPv6 only. */
  ipv6Only?: boolean;
}

/** Options of {@link listenTcp}. */
export interface ListenOptions extends BindOptions {
  /** Listen backlog (Node's default when absent). */
  backlog?: number;
  /** A server to listen with (e.g. `http.createServer(handler)`); default a new net.Server. */
  server?: net.Server;
  /**
   * IP_TRANSPARENT (IPV6_TRANSPARENT), set before bind: accept connections
   * that an nftables `tproxy` rule diverts to this socket, whatever their
   * destination address (a transparent proxy). Needs CAP_NET_ADMIN.
   */
  transparent?: boolean;
  /** SO_MARK on the listener, inherited by the connections it accepts (their replies carry it). */
  mark?: number;
}

/** Options of {@link bindUdp}. */
export interface UdpBindOptions extends BindOptions {
  /**
   * IP_TRANSPARENT (IPV6_TRANSPARENT): bind an address this namespace does
   * not have — a transparent UDP proxy answering its client from the
   * address the client sent to. Needs CAP_NET_ADMIN.
   */
  transparent?: boolean;
  /** SO_MARK: a firewall mark on every datagram sent (a proxy's upstream, excluded from interception). */
  mark?: number;
}

/** Options of {@link connectTcp}. */
export interface ConnectOptions {
  /** Namespace to connect from; default the caller's. */
  netns?: NetnsRef;
  /** Server address (an IP address). */
  host: string;
  /** Server port. */
  port: number;
  /** Local address (and port) to bind before connecting. */
  localAddress?: string;
  /** Local port to bind before connecting. */
  localPort?: number;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** SO_MARK: a firewall mark on every packet of the connection (a proxy's upstream, excluded from interception). */
  mark?: number;
  /** IP_TRANSPARENT: lets `localAddress` be an address this namespace does not have (a proxy keeping the client's address). */
  transparent?: boolean;
}

function checkPort(port: unknown, field = 'port'): number {
  if (port === undefined) return 0;
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw new ValidationError(field, port, 'must be an integer 0-65535');
  }
  return port as number;
}

const LISTEN_KEYS = keysOf<ListenOptions>()([
  'netns',
  'host',
  'port',
  'family',
  'reusePort',
  'reuseAddr',
  'freebind',
  'ipv6Only',
  'backlog',
  'server',
  'transparent',
  'mark',
]);
const UDP_KEYS = keysOf<UdpBindOptions>()(['netns', 'host', 'port', 'family', 'reusePort', 'reuseAddr', 'freebind', 'ipv6Only', 'transparent', 'mark']);
const CONNECT_KEYS = keysOf<ConnectOptions>()(['netns', 'host', 'port', 'localAddress', 'localPort', 'timeoutMs', 'mark', 'transparent']);

/** Socket flags are booleans: a string like 'false' would otherwise turn the option on. */
function checkFlags(opts: object, fields: readonly string[]): void {
  for (const field of fields) {
    const v = (opts as Record<string, unknown>)[field];
    if (v !== undefined && typeof v !== 'boolean') throw new ValidationError(field, v, 'must be a boolean');
  }
}
const SOCKET_FLAGS = ['reusePort', 'reuseAddr', 'freebind', 'ipv6Only', 'transparent'] as const;

function checkMark(mark: unknown): number | undefined {
  return mark === undefined ? undefined : validateU32(mark, 'mark');
}

/** An address without its IPv6 zone ("fe80::1%eth0" → "fe80::1", "eth0"). */
function splitZone(host: string): { address: string; zone?: string } {
  const pct = host.indexOf('%');
  return pct < 0 ? { address: host } : { address: host.slice(0, pct), zone: host.slice(pct + 1) };
}

function familyOf(host: string | undefined, family: IpFamily | undefined): IpFamily {
  if (host !== undefined) return parseIp(splitZone(host).address, 'host', family).family;
  return family ?? 4;
}

/**
 * The host as the addon takes it: an IPv6 zone given as an interface name is
 * resolved to its index inside the socket's namespace (names differ between
 * namespaces, so the caller's if_nametoindex would be wrong).
 */
async function withNumericZone(host: string | undefined, netns: NetnsRef | undefined): Promise<string | undefined> {
  if (host === undefined) return undefined;
  const { address, zone } = splitZone(host);
  if (zone === undefined) return host;
  if (parseIp(address, 'host').family !== 6) throw new ValidationError('host', host, 'a zone (%) is for IPv6 link-local addresses only');
  if (/^\d+$/.test(zone)) return host;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (zone === '' || /[\x00-\x1f\x7f/\s]/.test(zone)) throw new ValidationError('host', host, 'the zone must be an interface name or index');
  const h = await open(netns === undefined ? {} : { netns });
  try {
    return `${address}%${(await h.links.get(zone)).index}`;
  } finally {
    h.close();
  }
}

/**
 * Opens a listening TCP socket in a namespace and returns a listening net.Server.
 * @example
 * const server = await listenTcp({ netns: 'c1', port: 8080 }, (sock) => sock.end('hi\n'));
 * const web = await listenTcp({ netns: 'c1', port: 80, server: http.createServer(app) });
 * // a TPROXY target: takes connections for any address diverted to port 15001
 * const proxy = await listenTcp({ netns: 'pod', port: 15001, transparent: true }, (sock) => sock.end());
 */
export async function listenTcp<S extends net.Server = net.Server>(
  opts: ListenOptions & { server?: S },
  onConnection?: (socket: net.Socket) => void,
): Promise<S> {
  rejectUnknownKeys(opts, LISTEN_KEYS, 'listenTcp options');
  checkFlags(opts, SOCKET_FLAGS);
  const family = familyOf(opts.host, opts.family);
  const port = checkPort(opts.port);
  const host = await withNumericZone(opts.host, opts.netns);
  const fd = await withNetnsAsync(opts.netns, (nsfd) =>
    makeInetSocket(
      nsfd,
      {
        family,
        bind: true,
        host,
        port,
        reuseAddr: opts.reuseAddr ?? true,
        reusePort: opts.reusePort,
        freebind: opts.freebind,
        v6only: opts.ipv6Only,
        transparent: opts.transparent,
        mark: checkMark(opts.mark),
        backlog: opts.backlog ?? 511,
      },
      `listen on tcp ${opts.host ?? '*'}:${port}`,
    ),
  );
  const server = (opts.server ?? net.createServer()) as S;
  if (onConnection) server.on('connection', onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A server that listens already throws here, before it took the fd: closed, not left bound.
    adoptInetSocket(fd, () =>
      server.listen({ fd }, () => {
        server.off('error', reject);
        resolve();
      }),
    );
  });
  return server;
}

/**
 * Opens a TCP connection from inside a namespace; resolves once connected.
 * @example
 * const sock = await connectTcp({ netns: 'c2', host: '10.0.0.2', port: 8080 });
 * // a proxy's upstream: marked (so interception lets it pass), from the client's own address
 * const up = await connectTcp({ netns: 'pod', host: '10.0.0.2', port: 80, mark: 0x539, localAddress: '10.0.1.5', transparent: true });
 */
export async function connectTcp(opts: ConnectOptions): Promise<net.Socket> {
  rejectUnknownKeys(opts, CONNECT_KEYS, 'connectTcp options');
  checkFlags(opts, SOCKET_FLAGS);
  const family = familyOf(opts.host, undefined);
  const port = checkPort(opts.port);
  if (port === 0) throw new ValidationError('port', opts.port, 'must be 1-65535 to connect');
  const localPort = checkPort(opts.localPort, 'localPort');
  const mark = checkMark(opts.mark);
  if (opts.localAddress !== undefined && familyOf(opts.localAddress, undefined) !== family) {
    throw new ValidationError('localAddress', opts.localAddress, `must be an IPv${family} address like host`);
  }
  const host = (await withNumericZone(opts.host, opts.netns)) as string;
  const localAddress = await withNumericZone(opts.localAddress, opts.netns);
  return withNetnsAsync(opts.netns, async (nsfd) => {
    const bind = opts.localAddress !== undefined || opts.localPort !== undefined;
    const what = `connect to ${opts.host}:${port}`;
    const fd = await makeInetSocket(
      nsfd,
      { family, bind, host: localAddress, port: localPort, reuseAddr: opts.transparent, transparent: opts.transparent, mark },
      what,
    );
    await connectInetSocket(fd, family, host, port, opts.timeoutMs ?? 5000, what);
    return adoptInetSocket(fd, () => new net.Socket({ fd, readable: true, writable: true }));
  });
}

/**
 * Opens a bound UDP socket in a namespace as a dgram.Socket.
 * @example
 * const udp = await bindUdp({ netns: 'c1', port: 5353 });
 * udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
 * // a proxy's upstream (marked: not intercepted), and its answer from the client's original destination
 * const upstream = await bindUdp({ netns: 'pod', mark: 0x539 });
 * const asServer = await bindUdp({ netns: 'pod', host: '10.0.0.10', port: 53, transparent: true, reuseAddr: true });
 */
export async function bindUdp(opts: UdpBindOptions = {}): Promise<dgram.Socket> {
  rejectUnknownKeys(opts, UDP_KEYS, 'bindUdp options');
  checkFlags(opts, SOCKET_FLAGS);
  const family = familyOf(opts.host, opts.family);
  const port = checkPort(opts.port);
  const host = await withNumericZone(opts.host, opts.netns);
  const fd = await withNetnsAsync(opts.netns, (nsfd) =>
    makeInetSocket(
      nsfd,
      {
        family,
        udp: true,
        bind: true,
        host,
        port,
        reuseAddr: opts.reuseAddr,
        reusePort: opts.reusePort,
        freebind: opts.freebind,
        v6only: opts.ipv6Only,
        transparent: opts.transparent,
        mark: checkMark(opts.mark),
      },
      `bind udp ${opts.host ?? '*'}:${port}`,
    ),
  );
  const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    adoptInetSocket(fd, () =>
      sock.bind({ fd }, () => {
        sock.off('error', reject);
        resolve();
      }),
    );
  });
  return sock;
}
