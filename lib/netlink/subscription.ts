/**
 * A receive-only netlink socket joined to multicast groups: the kernel's
 * change notifications, one message at a time. It is separate from the
 * handle's request socket so a burst of notifications can never delay or
 * overflow request replies, and vice versa.
 *
 * Nothing is ever dropped silently: when the kernel could not queue a
 * notification (ENOBUFS), or the consumer fell so far behind that the
 * backlog hit its limit, the stream carries an {@link OVERRUN} marker at that
 * point and the consumer must resync from a fresh dump.
 * @module
 */
import { native, NativeEventKind, type NativeNetlinkSocket } from '../native/binding';
import { NLMSG_MIN_TYPE } from './constants';
import { openNetlinkSocketFd } from './connection';
import { checkBufferBytes } from './connection-options';
import { NetlinkError, ValidationError, fromNative } from './errors';
import { parseMessages, type NetlinkMessage } from './parser';

/** Marks the place in the stream where notifications were lost. */
export const OVERRUN: unique symbol = Symbol('netlink overrun');
export type Overrun = typeof OVERRUN;

export interface SubscriptionOptions {
  protocol: number;
  /** Namespace fd to listen in; -1 or absent: the caller's namespace. */
  netnsFd?: number;
  /** Multicast groups to join (RTNLGRP_*, NFNLGRP_*). */
  groups: number[];
  /** SO_RCVBUF in bytes (default 4 MiB). Small values make kernel overruns likely. */
  receiveBufferBytes?: number;
  /** Most messages kept for a slow consumer before declaring an overrun (default 100,000). */
  maxQueued?: number;
  /**
   * Make the socket now, on the event loop, even in another namespace (what
   * deprecated APIs promised: joined when the constructor returns). Default:
   * off the event loop, see {@link NetlinkSubscription.ready}.
   */
  openNow?: boolean;
}

const DEFAULT_MAX_QUEUED = 100_000;

export class NetlinkSubscription {
  private socket?: NativeNetlinkSocket;
  private readonly queue: Array<NetlinkMessage | Overrun> = [];
  private readonly maxQueued: number;
  private waiter?: () => void;
  private failure?: Error;
  private closed = false;
  private waiting = false;
  /**
   * Settles once the socket has joined its groups: notifications are
   * captured from then on. In the caller's own namespace that is already the
   * case when the constructor returns; in another namespace the socket is
   * made off the event loop (entering a namespace takes a thread).
   */
  readonly ready: Promise<void>;

  constructor(opts: SubscriptionOptions) {
    this.maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 1) {
      throw new ValidationError('maxQueued', opts.maxQueued, 'must be a positive whole number of messages');
    }
    checkBufferBytes('receiveBufferBytes', opts.receiveBufferBytes);
    const adopt = (fd: number | undefined) => {
      try {
        this.socket = new (native().NetlinkSocket)(
          opts.protocol,
          opts.netnsFd ?? -1,
          { rcvbuf: opts.receiveBufferBytes, groups: opts.groups, fd },
          (kind, payload, errno) => this.onEvent(kind, payload, errno),
        );
      } catch (e) {
        throw fromNative('open netlink subscription', e);
      }
      if (this.waiting) this.socket.ref();
    };
    const nsfd = opts.netnsFd ?? -1;
    if (nsfd < 0 || opts.openNow) {
      adopt(undefined);
      this.ready = Promise.resolve();
      return;
    }
    this.ready = openNetlinkSocketFd(opts.protocol, nsfd).then(
      (fd) => {
        if (this.closed)
          native().heldFdClose(fd); // held by the addon until adopted (socket-open.ts)
        else adopt(fd);
      },
      (e: unknown) => {
        throw fromNative('open netlink subscription', e);
      },
    );
    this.ready.catch((e: unknown) => {
      this.failure = e instanceof Error ? e : new Error(String(e)); // next() reports it
      this.wake();
    });
  }

  /** Whether close() ran (by the stream, or by the handle closing). */
  get isClosed(): boolean {
    return this.closed;
  }

  private resolveClosed: () => void = () => undefined;
  /** Settles when close() runs: a stream stops waiting on work (a dump) that would outlive it. */
  readonly whenClosed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  /** Messages waiting to be read. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * The next notification, {@link OVERRUN}, or undefined once closed.
   * While a caller waits, the subscription keeps the process alive.
   */
  async next(): Promise<NetlinkMessage | Overrun | undefined> {
    while (this.queue.length === 0) {
      if (this.failure) throw this.failure;
      if (this.closed) return undefined;
      if (this.waiter) throw new Error('NetlinkSubscription.next: already waiting (one reader at a time)');
      // Waiting keeps the process alive (while the socket is being made, the
      // pending open does; the socket is referenced as soon as it arrives).
      this.waiting = true;
      this.socket?.ref();
      try {
        await new Promise<void>((resolve) => (this.waiter = resolve));
      } finally {
        this.waiter = undefined;
        this.waiting = false;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run while we waited
        if (!this.closed) this.socket?.unref();
      }
    }
    return this.queue.shift();
  }

  /** Stops listening and releases the socket; a waiting next() returns undefined. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.socket?.close(); // not made yet: closed as soon as it arrives
    this.wake();
    this.resolveClosed();
  }

  private onEvent(kind: NativeEventKind, payload: Buffer | number[], errno: number): void {
    if (this.closed) return;
    switch (kind) {
      case NativeEventKind.Messages:
        for (const m of parseMessages(payload as Buffer)) {
          if (m.type < NLMSG_MIN_TYPE) continue; // NOOP / DONE / ERROR: not notifications
          if (this.queue.length >= this.maxQueued) {
            // The consumer is too slow: drop the backlog rather than grow without bound.
            this.queue.length = 0;
            this.markOverrun();
          }
          this.queue.push(m);
        }
        break;
      case NativeEventKind.Overrun:
        this.markOverrun();
        break;
      case NativeEventKind.Fatal:
        this.failure = new NetlinkError({ errno, operation: 'receive netlink notifications' });
        break;
      default:
        return; // Sent / SendError: this socket never sends; OverrunBegan: the Overrun that follows marks the gap
    }
    this.wake();
  }

  private markOverrun(): void {
    // One marker per gap is enough: the remedy (resync) is the same.
    if (this.queue[this.queue.length - 1] !== OVERRUN) this.queue.push(OVERRUN);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
