/**
 * Loads the C++ addon (a prebuilt binary from prebuilds/ or the locally built
 * one in build/) and describes what it exports. Nothing outside lib/ should
 * import this: the rest of the library wraps it in typed APIs.
 * @internal
 * @module
 */
import * as path from 'node:path';

/** A netlink socket owned by the addon; see native/netlink_socket.h. */
export interface NativeNetlinkSocket {
  send(data: Uint8Array, token: number, exclusive: boolean): void;
  sendSync(data: Uint8Array): void;
  recvSync(timeoutMs: number): Buffer;
  addMembership(group: number): void;
  dropMembership(group: number): void;
  setReceiveBuffer(bytes: number): number;
  /** Keeps the event loop alive (something waits on this socket). */
  ref(): void;
  unref(): void;
  /** Stops reading replies until resume() (backpressure for a slow consumer). */
  pause(): void;
  resume(): void;
  /** Closes without waiting; returns the tokens of requests never handed to the kernel. */
  close(): number[];
  readonly portId: number;
  readonly fd: number;
}

/** What the I/O thread reports; mirrors NetlinkSocket::EventKind. */
export const enum NativeEventKind {
  Messages = 0,
  Sent = 1,
  SendError = 2,
  Overrun = 3,
  Fatal = 4,
}

export type NativeEventCallback = (kind: NativeEventKind, payload: Buffer | number[], errno: number) => void;

export interface NativeSocketOptions {
  rcvbuf?: number;
  sndbuf?: number;
  groups?: number[];
  /** A netlink socket from netlinkSocketOpen, adopted instead of creating one. */
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
  backlog?: number;
}

export interface NativeTunOptions {
  tap?: boolean;
  noPi?: boolean;
  multiQueue?: boolean;
  vnetHdr?: boolean;
  owner?: number;
  group?: number;
}

export interface NativeBinding {
  NetlinkSocket: new (
    protocol: number,
    netnsFd: number,
    options: NativeSocketOptions,
    onEvent?: NativeEventCallback,
  ) => NativeNetlinkSocket;
  netlinkSocketOpen(protocol: number, netnsFd: number): Promise<number>;
  netnsPrepareDir(dir: string): void;
  netnsCreateNamed(path: string, async: true): Promise<void>;
  netnsCreateNamed(path: string, async: false): void;
  netnsDeleteNamed(path: string, async: true): Promise<void>;
  netnsDeleteNamed(path: string, async: false): void;
  netnsCreateAnonymous(async: true): Promise<number>;
  netnsCreateAnonymous(async: false): number;
  sysctlRead(netnsFd: number, path: string, async: true): Promise<string>;
  sysctlRead(netnsFd: number, path: string, async: false): string;
  sysctlWrite(netnsFd: number, path: string, value: string, async: true): Promise<void>;
  sysctlWrite(netnsFd: number, path: string, value: string, async: false): void;
  inetSocket(netnsFd: number, options: NativeInetSocketOptions): number;
  tcpConnect(fd: number, family: 4 | 6, host: string, port: number, timeoutMs: number): Promise<void>;
  closeFd(fd: number): void;
  tunCreate(netnsFd: number, name: string, options: NativeTunOptions): void;
  flock(fd: number, mode: 'exclusive' | 'shared' | 'unlock', async: true): Promise<void>;
  flock(fd: number, mode: 'exclusive' | 'shared' | 'unlock', async: false): void;
}

let loaded: NativeBinding | undefined;

/** The addon, loaded on first use. */
export function native(): NativeBinding {
  if (!loaded) {
    assertLinux();
    // lib/native and dist/native both sit two levels below the package root.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    loaded = load(path.join(__dirname, '..', '..'));
  }
  return loaded;
}

/** Throws one clear error on platforms without netlink. */
export function assertLinux(): void {
  if (process.platform !== 'linux') {
    throw new Error(
      `nlkit speaks Linux netlink and runs on Linux only (this is ${process.platform}). ` +
        'Import it only where process.platform === "linux".',
    );
  }
}
