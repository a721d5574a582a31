/**
 * Loads the C++ addon (a prebuilt binary from prebuilds/ or the locally built
 * one in build/) and describes what it exports. Nothing outside lib/ should
 * import this: the rest of the library wraps it in typed APIs.
 * @internal
 * @module
 */
import * as path from 'node:path';

/** An async netlink socket owned by the addon (its I/O thread sends and reads); see native/netlink_socket.h. */
export interface NativeNetlinkSocket {
  send(data: Uint8Array, token: number, exclusive: boolean): void;
  /**
   * Before the first send() only: on the libuv pool, sends one datagram and returns every reply available (waiting up to
   * waitMs for the first). A receive error met after some replies were read comes on them as `errno` (not a rejection).
   */
  transact(data: Uint8Array, waitMs: number): Promise<Buffer & { errno?: number }>;
  /** Keeps the event loop alive (something waits on this socket). */
  ref(): void;
  unref(): void;
  /** Stops reading replies until resume() (backpressure for a slow consumer). */
  pause(): void;
  resume(): void;
  /** Closes without waiting; returns the tokens of requests never handed to the kernel. */
  close(): number[];
  /**
   * Drops the queued, not yet sent requests whose token lies in [first, last] (a rejected bulk call's later parts);
   * returns their tokens. `all`: every queued request, batches too (after a fatal receive error).
   */
  cancel(first: number, last: number, all?: boolean): number[];
  /** Tokens of the queued requests not yet handed to the kernel, in order (exact while an overrun is handled: the I/O thread holds its sending). */
  unsent(): number[];
  /** The name of link `index` in the socket's namespace, read with ioctl(SIOCGIFNAME) (no request); null: no such link. Throws EBADF once closed. */
  linkName(index: number): string | null;
  readonly portId: number;
}

/** A blocking netlink socket (no thread): send and receive on the caller's thread. */
export interface NativeNetlinkSyncSocket {
  send(data: Uint8Array): void;
  /** Waits up to timeoutMs (-1: forever) for a datagram, then returns everything available. */
  recv(timeoutMs: number): Buffer;
  close(): void;
  /** As NativeNetlinkSocket.linkName. */
  linkName(index: number): string | null;
  readonly portId: number;
}

/** What the I/O thread reports; mirrors NetlinkIo::EventKind. */
export const enum NativeEventKind {
  Messages = 0,
  Sent = 1,
  SendError = 2,
  Overrun = 3,
  Fatal = 4,
  /** ENOBUFS was read here, ahead of the messages read after it (native/netlink_io.h); Overrun follows once the queue was read empty. */
  OverrunBegan = 5,
}

export type NativeEventCallback = (kind: NativeEventKind, payload: Buffer | number[], errno: number) => void;

export interface NativeSocketOptions {
  rcvbuf?: number;
  sndbuf?: number;
  groups?: number[];
  /** A netlink socket from netlinkSocketOpen, adopted instead of creating one (taken out of the environment's held set). */
  fd?: number;
}

export interface NativeInetSocketOptions {
  family: 4 | 6;
  udp?: boolean;
  bind?: boolean;
  host?: string;
  port?: number;
  reuseAddr?: boolean;
  reusePort?: boolean;
  v6only?: boolean;
  freebind?: boolean;
  /** IP_TRANSPARENT / IPV6_TRANSPARENT, set before bind. */
  transparent?: boolean;
  /** SO_MARK. */
  mark?: number;
  backlog?: number;
  /** IP_RECVORIGDSTADDR (and IPV6_RECVORIGDSTADDR): for a {@link NativeUdpReceiver}. */
  recvOrigDst?: boolean;
}

/** A UDP socket read with recvmsg by a thread of its own, batches handed to the event loop (native/udp_receiver.cc); owns its fd. */
export interface NativeUdpReceiver {
  /** Bytes sent (0: dropped, the send buffer was full); `source`: the local address to send from (IP(V6)_PKTINFO). */
  send(data: Buffer, family: 4 | 6, address: string, port: number, source?: string): number;
  /** Keeps the event loop alive while receiving (the default). */
  ref(): void;
  /** Receives without keeping the event loop alive. */
  unref(): void;
  close(): void;
}

export interface NativeTunOptions {
  tap?: boolean;
  noPi?: boolean;
  multiQueue?: boolean;
  vnetHdr?: boolean;
  owner?: number;
  group?: number;
}

/** A socket a short-lived handle's first round kept (native: closed by its finalizer unless taken or closed). */
export interface KeptSocket {
  readonly __keptSocket: never;
}

export interface NativeBinding {
  NetlinkSocket: new (protocol: number, netnsFd: number, options: NativeSocketOptions, onEvent: NativeEventCallback) => NativeNetlinkSocket;
  NetlinkSyncSocket: new (protocol: number, netnsFd: number, options: Omit<NativeSocketOptions, 'groups' | 'fd'>) => NativeNetlinkSyncSocket;
  /**
   * A netlink socket made in the namespace on the pool: held by this environment (closed at a worker's end) until a
   * NetlinkSocket adopts it by `fd`; close one never adopted with heldFdClose, not closeFd.
   */
  netlinkSocketOpen(protocol: number, netnsFd: number): Promise<number>;
  /** One round in a namespace: a socket made there, the request sent, every reply read, the socket closed (lib/netlink/one-shot.ts). */
  netlinkTransactIn(protocol: number, netnsFd: number, request: Uint8Array, waitMs: number): Promise<Buffer>;
  /**
   * The same round keeping its socket when it succeeded: the replies and the socket, held by a native
   * object that closes it when collected or when the environment goes away (a worker's end), unless
   * taken or closed first (lib/netlink/first-round.ts).
   */
  netlinkTransactIn(protocol: number, netnsFd: number, request: Uint8Array, waitMs: number, keep: true): Promise<[Buffer, KeptSocket]>;
  /** The next round on a socket such a round kept (sent and read on a dup of it). */
  netlinkTransactFd(kept: KeptSocket, request: Uint8Array, waitMs: number): Promise<Buffer>;
  /** The kept socket's fd, the caller's from now on (-1 once taken or closed). */
  netlinkKeptTake(kept: KeptSocket): number;
  /** Closes the kept socket now (a no-op once taken or closed). */
  netlinkKeptClose(kept: KeptSocket): void;
  /** More tasks are runnable on the machine right now than it has CPUs online (/proc/loadavg), the rule SpinPolicy spins by. */
  cpusContended(): boolean;
  /**
   * Indexes a run of one request's dump replies from `start` (native/netlink_index.cc): a row of `stride`
   * int32s per message (payload start and end, type, flags | 0x10000 when an attribute has no column, then
   * per column where its first attribute's data lies, -1 absent). Returns rows * 2 + 1 if one was NLM_F_DUMP_INTR.
   */
  netlinkIndex(buffer: Uint8Array, start: number, seq: number, headerLength: number, columns: Uint8Array, rows: Int32Array, stride: number): number;
  netnsPrepareDir(dir: string): void;
  netnsCreateNamed(path: string): Promise<void>;
  netnsCreateNamedSync(path: string): void;
  netnsDeleteNamed(path: string): Promise<void>;
  netnsDeleteNamedSync(path: string): void;
  /** A new anonymous namespace's fd, held by this environment (closed at its end unless heldFdClose'd first). */
  netnsCreateAnonymous(): Promise<number>;
  /** open(path, O_RDONLY) for a namespace file, held by this environment (native/held_fd.h): closed at a worker's end unless heldFdClose'd first. */
  heldFdOpen(path: string): number;
  /** Closes an fd from heldFdOpen or netnsCreateAnonymous; false (nothing closed) for one this environment does not hold. */
  heldFdClose(fd: number): boolean;
  /** Takes a held fd over (a Node socket adopts it): forgotten by the environment, not closed; false if not held. */
  heldFdTake(fd: number): boolean;
  /** The CLONE_NEW* type of the namespace an nsfs fd refers to (ioctl NS_GET_NSTYPE); 0 when the kernel cannot tell. */
  netnsType(fd: number): number;
  sysctlRead(netnsFd: number, path: string): Promise<string>;
  sysctlReadSync(netnsFd: number, path: string): string;
  sysctlWrite(netnsFd: number, path: string, value: string): Promise<void>;
  sysctlWriteSync(netnsFd: number, path: string, value: string): void;
  /** A TCP/UDP socket made inside the namespace off the event loop. An IPv6 zone must be numeric ("fe80::1%3"). */
  inetSocket(netnsFd: number, options: NativeInetSocketOptions): Promise<number>;
  tcpConnect(fd: number, family: 4 | 6, host: string, port: number, timeoutMs: number): Promise<void>;
  /** SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST of a connected TCP socket. */
  originalDst(fd: number, family: 4 | 6): { address: string; port: number };
  closeFd(fd: number): void;
  /** Polls `fd` and calls back with the datagrams read (and a receive errno, 0 when none). */
  UdpReceiver: new (
    fd: number,
    onDatagrams: (list: Array<{ data: Buffer; from: { address: string; port: number }; to?: { address: string; port: number } }>, errno: number) => void,
  ) => NativeUdpReceiver;
  tunCreate(netnsFd: number, name: string, options: NativeTunOptions): void;
  /** Waits (off the event loop) for an exclusive flock; closing the fd releases it. */
  lockExclusive(fd: number): Promise<void>;
  tryLockExclusive(fd: number): boolean;
}

let loaded: NativeBinding | undefined;

/** The addon, loaded on first use. */
export function native(): NativeBinding {
  if (!loaded) {
    assertLinux();
    // lib/native and dist/native both sit two levels below the package root.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- node-gyp-build ships no types; require() lets us type it right here
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    loaded = load(path.join(__dirname, '..', '..'));
  }
  return loaded;
}

/**
 * Makes {@link native} return `standIn` instead of the addon (undefined: the addon again). For the build only:
 * scripts/warm-connection.mjs drives the real connection classes over a made-up kernel, so the V8 code cache
 * holds the path a first request runs, and nothing reaches a kernel. The library never calls it.
 * @internal
 * @example
 * useNativeStandIn(fakeBinding);
 * try { await warmUp(); } finally { useNativeStandIn(undefined); }
 */
export function useNativeStandIn(standIn: NativeBinding | undefined): void {
  loaded = standIn; // undefined: native() loads the addon again (node-gyp-build's require is cached)
}

/** Throws one clear error on platforms without netlink. */
export function assertLinux(): void {
  if (process.platform !== 'linux') {
    throw new Error(`nlkit speaks Linux netlink and runs on Linux only (this is ${process.platform}). ` + 'Import it only where process.platform === "linux".');
  }
}
