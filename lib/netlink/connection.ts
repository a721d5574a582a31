/**
 * Netlink connections: a socket in one namespace plus the request engine.
 *
 * {@link NetlinkConnection} is the async one used by every handle: its native
 * socket has an I/O thread, so the event loop never waits on the kernel, many
 * requests can be in flight, and each promise gets exactly its own replies.
 * The blocking {@link NetlinkSyncConnection} (connection-sync.ts) is
 * re-exported from here.
 * @module
 */
import { native, NativeEventKind, type NativeNetlinkSocket } from '../native/binding';
import { DumpSlot, isDumpRequest } from './dump-slot';
import { EINTR } from './errno';
import { ClosedError, NetlinkError, fromNative, requestOverrun } from './errors';
import { markInterrupted, type AsyncExecutor, type NetlinkCall } from './operation';
import type { NetlinkMessage } from './parser';
import { sendBulk, sendParts } from './bulk-send';
import { closedError, failReceive, sendError, stoppableBulk } from './bulk-stop';
import { PendingRequest } from './request-tracker';
import { checkBufferBytes, checkCloseOptions, type CloseOptions, type ConnectionOptions } from './connection-options';
import { openNetlinkSocketFd } from './socket-open';
import { ThreadlessSender } from './threadless';
import { ConnectionCore, DUMP_RETRIES } from './connection-core';
import { AckTick, type AckGroup, type Completion, type InPlaceRequest } from './ack-group';
import { SendTick, type TickEntry } from './send-tick';
import { loopPoll } from './loop-poll';

export type { CloseOptions, ConnectionOptions } from './connection-options';
// Re-exported: handles and subscriptions open their sockets through here.
export { openNetlinkSocketFd };
export { NetlinkSyncConnection } from './connection-sync';

/**
 * A streamed dump stops reading from the socket when this many messages wait
 * for the consumer, and reads again when it is down to STREAM_LOW_WATER: the
 * kernel produces the next part of a dump only when the previous was read.
 */
const STREAM_HIGH_WATER = 4096;
const STREAM_LOW_WATER = 1024;

/** Async netlink connection; see the module comment. */
export class NetlinkConnection extends ConnectionCore implements AsyncExecutor {
  protected socket: NativeNetlinkSocket | undefined;
  /** Set while the socket is being made off the event loop; calls wait for it. */
  private opening?: Promise<void>;
  private readonly dumpSlot = new DumpSlot();
  private refs = 0;
  /** close({ drain: true }) is waiting: new calls are refused. */
  private draining = false;
  /** Calls made and not yet settled (including dumps waiting for their turn). */
  private active = 0;
  /** @internal messages received so far, its streams' included (tests of backpressure read it). */
  messagesReceived = 0;
  /** A stream's own connection: the connection it streams for, which counts its messages too. */
  private counted?: NetlinkConnection;
  /** The connections of the streams running (closed with this one). */
  private readonly streams = new Set<NetlinkConnection>();
  /** The connection of a stream read to its end, for the next stream (closed with this one). */
  private spare?: NetlinkConnection;
  private idle?: () => void;
  /** Sends the first requests without the socket's I/O thread (see threadless.ts); not for subscriptions. */
  private threadless?: ThreadlessSender;
  /** This tick's requests (ack-only groups among them), handed to the I/O thread together (send-tick.ts). */
  private readonly sendTick = new SendTick(
    (message, token, entries) => this.handOff(message, token, entries),
    () => this.ackTick.flush(),
  );
  /** Ack-only requests of this tick, sent together (ack-group.ts), flushed with the send tick. */
  private readonly ackTick = new AckTick(
    (g, full) => this.sendGroup(g, full),
    () => this.settled(),
    () => this.sendTick.schedule(),
  );

  constructor(opts: ConnectionOptions) {
    super();
    checkBufferBytes('receiveBufferBytes', opts.receiveBufferBytes);
    checkBufferBytes('sendBufferBytes', opts.sendBufferBytes);
    this.tracker.onFinish = () => this.unref();
    this.opts = opts;
    if (opts.openSocket) this.startOpening(opts.openSocket);
    else this.adopt(opts.fd);
  }

  private readonly opts: ConnectionOptions;

  /** Wraps the socket (made now, or the fd made off the event loop) in the native I/O object. */
  private adopt(fd: number | undefined): void {
    const o = this.opts;
    try {
      this.socket = new (native().NetlinkSocket)(
        o.protocol,
        o.netnsFd ?? -1,
        { rcvbuf: o.receiveBufferBytes, sndbuf: o.sendBufferBytes, groups: o.groups, fd },
        (kind, payload, errno) => {
          this.onEvent(kind, payload, errno);
        },
      );
    } catch (e) {
      throw fromNative('open netlink socket', e);
    }
    if (!o.groups?.length) this.threadless = new ThreadlessSender(this.socket, this.tracker, (replies) => this.onEvent(NativeEventKind.Messages, replies, 0));
    if (this.refs > 0) this.socket.ref();
  }

  private startOpening(openSocket: () => Promise<number>): void {
    this.opening = openSocket().then(
      (fd) => {
        this.opening = undefined;
        if (this.closed)
          native().heldFdClose(fd); // held by the addon until adopted (socket-open.ts)
        else this.adopt(fd);
      },
      (e: unknown) => {
        this.opening = undefined; // the next call tries again
        throw fromNative('open netlink socket', e);
      },
    );
    this.opening.catch(() => undefined); // reported to each call that waits for it
  }

  /** Resolves once the socket exists (made now if an earlier attempt failed). */
  private whenOpen(): Promise<void> | undefined {
    const { openSocket } = this.opts;
    if (!this.socket && !this.opening && openSocket && !this.closed) this.startOpening(openSocket);
    return this.opening;
  }

  /**
   * A connection whose socket is made inside the namespace off the event loop
   * (entering a namespace takes a thread); usable at once.
   */
  static inNamespace(opts: Omit<ConnectionOptions, 'fd' | 'openSocket'> & { netnsFd: number }): NetlinkConnection {
    return new NetlinkConnection({ ...opts, openSocket: () => openNetlinkSocketFd(opts.protocol, opts.netnsFd) });
  }

  /** Runs one call and resolves with its replies (all of them, for a dump). */
  execute(c: NetlinkCall): Promise<NetlinkMessage[]> {
    if (this.closed || this.draining) return Promise.reject(new ClosedError(c.operation));
    this.active++;
    const opening = this.whenOpen();
    // A dump given to call() holds the socket's one dump slot like dump() does: sent while another dump runs,
    // the kernel would refuse whichever came second with EBUSY (links.list() included).
    const callDump = c.kind === 'ack' && isDumpRequest(c.message);
    // Hot path (socket open, not a dump): one promise and one callback per
    // request, which counts itself settled; thousands may be in flight.
    if (!opening && c.kind !== 'dump' && !callDump) return this.send(c, true);
    const done = () => this.settled();
    const run = () => (c.kind === 'dump' ? this.executeDump(c) : callDump ? this.sendInDumpSlot(c) : this.send(c, false));
    const p = opening ? opening.then(run) : run();
    p.then(done, done);
    return p;
  }

  /**
   * Adds an ack-only request to this tick's datagram (ack-group.ts): the
   * call's message, or without a call one that writes itself; `r` gets the
   * outcome. False, with nothing done, while the socket is being made or if
   * `r` could not write itself.
   */
  submitAckOnly(r: Completion | InPlaceRequest, c?: NetlinkCall): boolean {
    if (!this.socket || this.closed || this.draining) return false;
    if (c) this.ackTick.push(c.message, c.operation, r);
    else if (!this.ackTick.write(r as InPlaceRequest)) return false;
    this.active++;
    return true;
  }

  private settled(): void {
    if (--this.active === 0) this.idle?.();
  }

  /** A dump given to call(): sent once (never restarted) while it holds the dump slot. */
  private async sendInDumpSlot(c: NetlinkCall): Promise<NetlinkMessage[]> {
    if (!this.dumpSlot.tryAcquire()) await this.dumpSlot.acquire(); // free: sent in this tick, in call order
    try {
      return await this.send(c, false);
    } finally {
      this.dumpSlot.release();
    }
  }

  private async executeDump(c: NetlinkCall): Promise<NetlinkMessage[]> {
    if (!this.dumpSlot.tryAcquire()) await this.dumpSlot.acquire(); // free: sent in this tick, in call order
    try {
      for (let attempt = 0; ; attempt++) {
        const { replies, interrupted } = await this.sendDump(c);
        if (!interrupted) return replies;
        if (c.restartInterrupted === false) {
          markInterrupted(replies); // dumpOnce tells (the flag may be on NLMSG_DONE only)
          return replies;
        }
        if (attempt >= DUMP_RETRIES) throw new NetlinkError({ errno: EINTR, operation: c.operation });
      }
    } finally {
      this.dumpSlot.release();
    }
  }

  /**
   * Streams a dump message by message. Throws DumpInterruptedError at the end
   * if the kernel flagged the dump as inconsistent (list again). A consumer
   * that reads slowly holds the kernel back: at most a few thousand messages
   * wait in memory, however large the dump.
   *
   * The dump runs on a socket of its own, made for it and closed when the
   * stream ends (`break` closes it at once); one read to its end is kept for
   * the next stream until this connection closes. Backpressure stops reading from
   * a socket, and the kernel makes a dump's next part only when the previous
   * one was read; on the connection's own socket a consumer that stopped
   * reading would hold back every other call, whose replies queue behind the
   * unread parts. So the stream is not ordered after calls still in flight:
   * it sees what those that resolved before it started did.
   */
  async *stream(c: NetlinkCall): AsyncGenerator<NetlinkMessage, void, undefined> {
    if (this.closed || this.draining) throw new ClosedError(c.operation);
    this.active++;
    let own: NetlinkConnection | undefined;
    const queue: NetlinkMessage[] = [];
    // Set from the socket's callbacks: `as boolean` keeps TypeScript from narrowing them to their first value.
    let done = false as boolean;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let paused = false as boolean;
    const resume = () => {
      if (!paused) return;
      paused = false;
      if (!own?.closed) own?.socket?.resume();
    };
    try {
      own = this.spare ?? this.streamConnection();
      this.spare = undefined;
      this.streams.add(own);
      await own.whenOpen();
      await own.threadless?.handOver(); // backpressure needs the I/O thread
      own.checkOpen(c.operation);
      own.start(
        c,
        (err) => {
          done = true;
          failure = err;
          resume();
          wake?.();
        },
        (m) => {
          queue.push(m);
          if (!paused && queue.length >= STREAM_HIGH_WATER) {
            paused = true;
            own?.socket?.pause();
          }
          wake?.();
        },
      );
      for (;;) {
        for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
          if (paused && queue.length <= STREAM_LOW_WATER) resume();
          yield m;
        }
        if (done) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (failure) throw failure;
    } finally {
      // Failed or stopped early: closing the socket ends a dump not read to its end. Read to its end, the socket
      // is clean: kept for the next stream (making one costs a pool job, in another namespace the netns thread).
      if (own) {
        this.streams.delete(own);
        if (!done || failure || !this.keepSpare(own)) own.closeNow();
      }
      this.settled();
    }
  }

  /** Keeps the connection of a stream read to its end for the next stream, if none is kept and both are open. */
  private keepSpare(own: NetlinkConnection): boolean {
    if (this.closed || own.closed || this.spare || own.tracker.size > 0) return false;
    this.spare = own;
    return true;
  }

  /** A connection like this one (protocol, namespace, buffers; no groups) for one stream. */
  private streamConnection(): NetlinkConnection {
    const { protocol, netnsFd, receiveBufferBytes, sendBufferBytes } = this.opts;
    const o = { protocol, receiveBufferBytes, sendBufferBytes };
    const conn = netnsFd !== undefined && netnsFd >= 0 ? NetlinkConnection.inNamespace({ ...o, netnsFd }) : new NetlinkConnection(o);
    conn.counted = this;
    return conn;
  }

  /**
   * Closes the socket. Without options it returns at once and never blocks:
   * pending requests reject with {@link ClosedError} (`sent: false` if the
   * kernel never got them, `true` if it did and the outcome is unknown).
   * With `{ drain: true }` it refuses new requests, waits for every request
   * already made to be answered, then closes. Safe to call twice.
   */
  close(): void;
  close(opts: CloseOptions & { drain: true }): Promise<void>;
  close(opts?: CloseOptions): void | Promise<void>;
  close(opts?: CloseOptions): void | Promise<void> {
    if (checkCloseOptions(opts).drain) return this.drainAndClose();
    this.closeNow();
  }

  private async drainAndClose(): Promise<void> {
    this.draining = true;
    while (this.active > 0 && !this.closed) await new Promise<void>((r) => (this.idle = r));
    this.idle = undefined;
    this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.draining = false;
    // The addon stops its thread without waiting and names the requests it
    // never handed to the kernel; everything else pending was sent.
    // No socket yet: it is closed as soon as it arrives, and nothing was sent.
    for (const s of this.streams) s.closeNow(); // their streams end with ClosedError
    this.spare?.closeNow();
    this.spare = undefined;
    const corked = this.sendTick.drop().map((e) => e.sentAs); // never handed to the socket
    const unsent = new Set([...(this.threadless?.close() ?? []), ...(this.socket ? this.socket.close() : []), ...corked]);
    this.ackTick.close((op) => new ClosedError(op, false));
    for (const p of this.tracker.pending()) this.tracker.fail(closedError(p, unsent), p);
    this.tracker.fail((op, token) => new ClosedError(op, !unsent.has(token)));
    this.idle?.();
  }

  /** Sends an ack or batch call; with `counted` its settlement also ends the call's `active` count. */
  private send(c: NetlinkCall, counted: boolean): Promise<NetlinkMessage[]> {
    if (this.closed) {
      if (counted) this.settled();
      return Promise.reject(new ClosedError(c.operation));
    }
    // No closure here refers to `c`: the callback, alive until the ack, does
    // not keep the call and its message alive.
    let settle!: (err: Error | undefined, replies: NetlinkMessage[]) => void;
    const promise = new Promise<NetlinkMessage[]>((resolve, reject) => {
      let done = false;
      settle = (err, replies) => {
        if (done) return;
        done = true;
        if (counted) this.settled();
        if (err) reject(err);
        else resolve(replies);
      };
    });
    try {
      this.start(c, settle);
    } catch (e) {
      settle(e instanceof Error ? e : new Error(String(e)), []); // as a throw in the executor did (a no-op if settled)
    }
    return promise;
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
    // Requests go in the order they were made: a batch or a bulk call goes on its own, after this tick's others.
    if (c.kind === 'batch' || c.kind === 'bulk') this.sendTick.flush();
    else this.ackTick.flush();
    // A failed bulk call cancels its parts still queued and says how many went (bulk-stop.ts).
    const bulk = c.kind === 'bulk' ? stoppableBulk(this.socket, settle) : undefined;
    // A bulk call in parts (NetlinkCall.nextPart) once the I/O thread sends (before, it goes whole: threadless.ts).
    if (bulk && c.nextPart && this.socket && !this.threadless?.active) {
      // Numbered only: its last request has NLM_F_ACK. Replies reach the tracker through the event loop, after this.
      const sent = sendParts(this.socket, c, (part) => this.stamp({ kind: 'batch', message: part, operation: c.operation }));
      const p = new PendingRequest('bulk', c.operation, sent.first, sent.last, bulk.settle);
      bulk.track(p);
      this.tracker.add(p);
      this.ref();
      if (sent.failure !== undefined) this.tracker.fail(fromNative(c.operation, sent.failure), p);
      return;
    }
    const [first, last] = this.stamp(c);
    const p = new PendingRequest(c.kind, c.operation, first, last, bulk?.settle ?? settle, onMessage, c.collect);
    bulk?.track(p);
    if (c.collect && !onMessage) [p.collectAt, p.collectRows] = [c.collectAt, c.collectRows];
    // The tracker's onFinish hook unrefs the socket: no per-request wrapper.
    this.tracker.add(p);
    this.ref();
    try {
      if (!this.socket) throw new Error('no socket after checkOpen'); // unreachable: failed like a send
      if (this.threadless?.active) this.threadless.send(c.message, first, c.kind === 'batch', c.kind === 'bulk');
      else if (c.kind === 'ack' || c.kind === 'dump') {
        this.sendTick.push(c.message, p); // handed over at the tick's end (send-tick.ts)
        return;
      } else if (c.kind === 'bulk') sendBulk(this.socket, c.message);
      else this.socket.send(c.message, first, true);
      loopPoll.expect();
    } catch (e) {
      // Not queued (no thread could be started: EAGAIN): never sent.
      this.tracker.fail(fromNative(c.operation, e), p);
    }
  }

  /**
   * Numbers a group of ack-only requests (NLM_F_ACK on its last only) and queues it as one datagram with
   * this tick's other requests; `full`: at once (the next request did not fit it), so the kernel starts on it.
   */
  private sendGroup(g: AckGroup, full: boolean): void {
    const message = g.take();
    [g.firstSeq, g.lastSeq] = this.stamp({ kind: 'bulk', message, operation: '' });
    this.tracker.addGroup(g);
    this.ref();
    if (this.threadless?.active) {
      try {
        this.threadless.send(message, g.firstSeq, false);
        loopPoll.expect();
      } catch (e) {
        this.tracker.fail((op) => fromNative(op, e), g); // not queued: never sent
      }
      return;
    }
    this.sendTick.push(message, g);
    if (full) this.sendTick.handOver();
  }

  /** Queues one datagram of this tick's requests (`entries`) to the I/O thread; if it cannot be queued, they fail as never sent. */
  private handOff(message: Buffer, token: number, entries: TickEntry[]): void {
    try {
      if (!this.socket) throw new Error('no socket after checkOpen'); // unreachable: failed like a send
      this.socket.send(message, token, false);
      loopPoll.expect();
    } catch (e) {
      // Not queued (no thread could be started: EAGAIN): never sent.
      for (const x of entries) {
        const p = x as PendingRequest | AckGroup;
        this.tracker.fail(p instanceof PendingRequest ? fromNative(p.operation, e) : (op) => fromNative(op, e), p);
      }
    }
  }

  private onEvent(kind: NativeEventKind, payload: Buffer | number[], errno: number): void {
    if (this.closed) return;
    loopPoll.arrived();
    switch (kind) {
      case NativeEventKind.Messages: {
        const n = this.tracker.feedReceived(payload as Buffer);
        this.messagesReceived += n;
        if (this.counted) this.counted.messagesReceived += n;
        break;
      }
      case NativeEventKind.Sent:
        for (const t of payload as number[]) {
          const p = this.tracker.get(t);
          if (p) this.tracker.sent(p);
        }
        break;
      case NativeEventKind.SendError:
        // A token may stand for several requests and groups: those that shared a hand-off (send-tick.ts).
        for (const t of payload as number[]) {
          for (const p of this.tracker.sentIn(t))
            this.tracker.fail(p instanceof PendingRequest ? sendError(p, errno, t) : (operation) => new NetlinkError({ errno, operation }), p);
        }
        break;
      case NativeEventKind.OverrunBegan:
        // ENOBUFS read, ahead of the messages read after it: a group or bulk call sent before it cannot be
        // settled as a success by its last ack (request-tracker.ts overrunBegan). Nothing was sent since the read.
        this.tracker.overrunBegan((op) => requestOverrun(op), this.unsent());
        break;
      case NativeEventKind.Overrun:
        // Posted once the queue was read empty after the ENOBUFS, and the I/O thread sends nothing until this
        // returns: what is still queued was never sent and goes on normally (request-tracker.ts failSent).
        this.tracker.failSent((op) => requestOverrun(op), this.unsent());
        break;
      case NativeEventKind.Fatal:
        // Any other receive error: replies may be lost. The I/O thread sends nothing until this returns, so
        // what is still queued is cancelled here and never sent; everything pending fails with the error.
        failReceive(this.tracker, errno, new Set([...(this.socket?.cancel(0, 0xffffffff, true) ?? []), ...this.sendTick.drop().map((e) => e.sentAs)]));
        break;
    }
  }

  /** Tokens of the requests not handed to the kernel yet: queued to the I/O thread, or still in this tick's hand-off. */
  private unsent(): Set<number> {
    const unsent = new Set(this.socket?.unsent());
    for (const t of this.sendTick.tokens()) unsent.add(t);
    return unsent;
  }

  // The socket keeps the process alive only while something waits on it.
  private ref(): void {
    if (this.refs++ === 0 && !this.closed) this.socket?.ref();
  }
  private unref(): void {
    if (--this.refs === 0 && !this.closed) this.socket?.unref();
  }
}
