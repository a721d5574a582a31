/**
 * Netlink connections: a socket in one namespace plus the request engine.
 *
 * {@link NetlinkConnection} is the async one used by every handle: its native
 * socket has an I/O thread, so the event loop never waits on the kernel, many
 * requests can be in flight, and each promise gets exactly its own replies.
 * {@link NetlinkSyncConnection} blocks the caller instead, for scripts.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { native, NativeEventKind, type NativeNetlinkSocket } from '../native/binding';
import { NLM_F_ACK } from './constants';
import { ClosedError, NetlinkError, NetlinkOverrunError, fromNative } from './errors';
import type { AsyncExecutor, NetlinkCall, SyncExecutor } from './operation';
import { parseMessages, type NetlinkMessage } from './parser';
import { PendingRequest, RequestTracker } from './request-tracker';

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
}

/**
 * Creates a netlink socket inside a namespace off the main thread (entering a
 * namespace takes a fresh thread and a setns: about 0.4 ms, at times several
 * ms). Pass the fd as `ConnectionOptions.fd`.
 */
export async function openNetlinkSocketFd(protocol: number, netnsFd: number): Promise<number> {
  try {
    return await native().netlinkSocketOpen(protocol, netnsFd);
  } catch (e) {
    throw fromNative('open netlink socket', e);
  }
}

/** How often a collected dump is restarted after NLM_F_DUMP_INTR before giving up. */
const DUMP_RETRIES = 8;

abstract class ConnectionCore {
  protected readonly tracker = new RequestTracker();
  protected closed = false;
  private seq = 0;

  protected abstract readonly socket: NativeNetlinkSocket;

  /** The socket's netlink port id (nl_pid). */
  get portId(): number {
    return this.socket.portId;
  }

  /** Numbers every message of the call; returns the first and last sequence numbers. */
  protected stamp(c: NetlinkCall): [number, number] {
    const buf = c.message;
    let first = 0;
    let last = 0;
    let off = 0;
    while (off + 16 <= buf.length) {
      const len = buf.readUInt32LE(off);
      this.seq = this.seq >= 0xfffffffe ? 1 : this.seq + 1;
      buf.writeUInt32LE(this.seq, off + 8);
      if (c.kind === 'ack') buf.writeUInt16LE(buf.readUInt16LE(off + 6) | NLM_F_ACK, off + 6);
      if (first === 0) first = this.seq;
      last = this.seq;
      if (len < 16) break;
      off += (len + 3) & ~3;
    }
    return [first, last];
  }

  protected checkOpen(operation: string): void {
    if (this.closed) throw new ClosedError(operation);
  }
}

/** Async netlink connection; see the module comment. */
export class NetlinkConnection extends ConnectionCore implements AsyncExecutor {
  protected readonly socket: NativeNetlinkSocket;
  private dumpActive = false;
  private readonly dumpWaiters: Array<() => void> = [];
  private refs = 0;

  constructor(opts: ConnectionOptions) {
    super();
    try {
      this.socket = new (native().NetlinkSocket)(
        opts.protocol,
        opts.netnsFd ?? -1,
        { rcvbuf: opts.receiveBufferBytes, sndbuf: opts.sendBufferBytes, groups: opts.groups, fd: opts.fd },
        (kind, payload, errno) => this.onEvent(kind, payload, errno),
      );
    } catch (e) {
      throw fromNative('open netlink socket', e);
    }
    this.tracker.onFinish = () => this.unref();
  }

  /** Runs one call and resolves with its replies (all of them, for a dump). */
  execute(c: NetlinkCall): Promise<NetlinkMessage[]> {
    return c.kind === 'dump' ? this.executeDump(c) : this.send(c);
  }

  private async executeDump(c: NetlinkCall): Promise<NetlinkMessage[]> {
    await this.acquireDumpSlot();
    try {
      for (let attempt = 0; ; attempt++) {
        const { replies, interrupted } = await this.sendDump(c);
        if (!interrupted) return replies;
        if (attempt >= DUMP_RETRIES) throw new NetlinkError({ errno: 4 /* EINTR */, operation: c.operation });
      }
    } finally {
      this.releaseDumpSlot();
    }
  }

  /**
   * Streams a dump message by message. Throws DumpInterruptedError at the end
   * if the kernel flagged the dump as inconsistent (list again).
   */
  async *stream(c: NetlinkCall): AsyncGenerator<NetlinkMessage, void, undefined> {
    await this.acquireDumpSlot();
    const queue: NetlinkMessage[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    try {
      this.checkOpen(c.operation);
      this.start(c, (err) => {
        done = true;
        failure = err;
        wake?.();
      }, (m) => {
        queue.push(m);
        wake?.();
      });
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (done) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (failure) throw failure;
    } finally {
      this.releaseDumpSlot();
    }
  }

  /** Fails everything pending and closes the socket. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tracker.fail(new ClosedError('netlink request'));
    this.socket.close();
  }

  private send(c: NetlinkCall): Promise<NetlinkMessage[]> {
    return new Promise((resolve, reject) => {
      this.checkOpen(c.operation);
      this.start(c, (err, replies) => (err ? reject(err) : resolve(replies)));
    });
  }

  private sendDump(c: NetlinkCall): Promise<{ replies: NetlinkMessage[]; interrupted: boolean }> {
    return new Promise((resolve, reject) => {
      this.checkOpen(c.operation);
      this.start(c, (err, replies, interrupted) => (err ? reject(err) : resolve({ replies, interrupted })));
    });
  }

  private start(
    c: NetlinkCall,
    settle: (err: Error | undefined, replies: NetlinkMessage[], interrupted: boolean) => void,
    onMessage?: (m: NetlinkMessage) => void,
  ): void {
    const [first, last] = this.stamp(c);
    // The tracker's onFinish hook unrefs the socket: no per-request wrapper.
    this.tracker.add(new PendingRequest(c.kind, c.operation, first, last, settle, onMessage));
    this.ref();
    this.socket.send(c.message, first, c.kind === 'batch');
  }

  private onEvent(kind: NativeEventKind, payload: Buffer | number[], errno: number): void {
    if (this.closed) return;
    switch (kind) {
      case NativeEventKind.Messages:
        this.tracker.feed(parseMessages(payload as Buffer));
        break;
      case NativeEventKind.Sent:
        for (const t of payload as number[]) {
          const p = this.tracker.get(t);
          if (p) this.tracker.sent(p);
        }
        break;
      case NativeEventKind.SendError:
        for (const t of payload as number[]) {
          const p = this.tracker.get(t);
          if (p) this.tracker.fail(new NetlinkError({ errno, operation: p.operation }), p);
        }
        break;
      case NativeEventKind.Overrun:
        this.tracker.fail(new NetlinkOverrunError('netlink request'));
        break;
      case NativeEventKind.Fatal:
        this.tracker.fail(new NetlinkError({ errno, operation: 'netlink receive' }));
        break;
    }
  }

  // Only one dump may run per netlink socket (the kernel answers EBUSY).
  private acquireDumpSlot(): Promise<void> {
    if (!this.dumpActive) {
      this.dumpActive = true;
      return Promise.resolve();
    }
    return new Promise((r) => this.dumpWaiters.push(r));
  }

  private releaseDumpSlot(): void {
    const next = this.dumpWaiters.shift();
    if (next) next();
    else this.dumpActive = false;
  }

  // The socket keeps the process alive only while something waits on it.
  private ref(): void {
    if (this.refs++ === 0 && !this.closed) this.socket.ref();
  }
  private unref(): void {
    if (--this.refs === 0 && !this.closed) this.socket.unref();
  }
}

/** Blocking netlink connection for scripts; same protocol rules as the async one. */
export class NetlinkSyncConnection extends ConnectionCore implements SyncExecutor {
  protected readonly socket: NativeNetlinkSocket;

  constructor(opts: ConnectionOptions) {
    super();
    try {
      this.socket = new (native().NetlinkSocket)(opts.protocol, opts.netnsFd ?? -1, {
        rcvbuf: opts.receiveBufferBytes,
        sndbuf: opts.sendBufferBytes,
      });
    } catch (e) {
      throw fromNative('open netlink socket', e);
    }
  }

  executeSync(c: NetlinkCall): NetlinkMessage[] {
    for (let attempt = 0; ; attempt++) {
      const r = this.once(c);
      if (!r.interrupted) return r.replies;
      if (attempt >= DUMP_RETRIES) throw new NetlinkError({ errno: 4, operation: c.operation });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private once(c: NetlinkCall): { replies: NetlinkMessage[]; interrupted: boolean } {
    this.checkOpen(c.operation);
    const [first, last] = this.stamp(c);
    let outcome: { err?: Error; replies: NetlinkMessage[]; interrupted: boolean } | undefined;
    const p = new PendingRequest(c.kind, c.operation, first, last, (err, replies, interrupted) => {
      outcome = { err, replies, interrupted };
    });
    this.tracker.add(p);
    try {
      this.socket.sendSync(c.message);
    } catch (e) {
      const errno = (e as { errno?: number }).errno ?? 5;
      this.tracker.fail(new NetlinkError({ errno, operation: c.operation }), p);
    }
    // Batch replies are queued while sendmsg runs: drain what is there, then done.
    const timeout = c.kind === 'batch' ? 0 : -1;
    while (!outcome) {
      let buf: Buffer;
      try {
        buf = this.socket.recvSync(timeout);
      } catch (e) {
        const errno = (e as { errno?: number }).errno;
        this.tracker.fail(errno === osConstants.errno.ENOBUFS ? new NetlinkOverrunError(c.operation) : fromNative(c.operation, e), p);
        break;
      }
      if (buf.length === 0 && c.kind === 'batch') {
        this.tracker.sent(p);
        break;
      }
      this.tracker.feed(parseMessages(buf));
    }
    if (!outcome) throw new Error('unreachable: request did not settle');
    const o = outcome as { err?: Error; replies: NetlinkMessage[]; interrupted: boolean };
    if (o.err) throw o.err;
    return o;
  }
}
