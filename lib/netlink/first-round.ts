/**
 * The rtnetlink connection of a short-lived handle (`open({ shortLived: true })`):
 * its socket is made by the pool job that sends the first round of requests
 * (those asked in the first tick), inside the namespace, and kept; the next
 * rounds are a pool job each on that socket (one-shot.ts, `keep`). A handle
 * opened to make a few requests and be closed (a container's namespace
 * configured at attach) then pays one hand-off to the pool and the namespace
 * thread for the socket and its first requests together and no socket
 * object, where `open()` pays a job for the socket, a socket object with its
 * event channel, then a job per round. Anything else (a dump, a transaction,
 * a round over 64 KiB, more than {@link MAX_ROUNDS} rounds) waits for the
 * rounds in flight and goes to a full {@link NetlinkConnection} that adopts
 * the kept socket.
 * @internal
 * @module
 */
import { NetlinkConnection } from './connection';
import type { CloseOptions } from './connection-options';
import { checkCloseOptions } from './connection-options';
import { ClosedError } from './errors';
import { OneShotConnection } from './one-shot';
import type { AsyncExecutor, LinkNameReader, NetlinkCall } from './operation';
import type { NetlinkMessage } from './parser';
import type { Completion, InPlaceRequest } from './ack-group';

/** A round larger than this goes to the full connection (whose I/O thread sends it in parts). */
const MAX_ROUND_BYTES = 64 * 1024;
/** Rounds on the kept socket before the handle moves to the full connection (it is not short-lived, then). */
const MAX_ROUNDS = 8;

/** See the module comment. */
export class FirstRoundConnection implements AsyncExecutor, LinkNameReader {
  private readonly first: OneShotConnection;
  private conn?: NetlinkConnection;
  /** Calls waiting for the connection (after the first round); later calls queue behind them. */
  private waiting = 0;
  private ready?: Promise<NetlinkConnection>;
  private closed = false;
  private draining = false;

  constructor(
    private readonly protocol: number,
    private readonly netnsFd: number,
    private readonly receiveBufferBytes?: number,
  ) {
    this.first = new OneShotConnection(protocol, netnsFd, true);
  }

  execute(c: NetlinkCall): Promise<NetlinkMessage[]> {
    if (this.conn && this.waiting === 0) return this.conn.execute(c);
    if (this.closed || this.draining) return Promise.reject(new ClosedError(c.operation));
    // Once a call waits for the connection, later ones follow it (they must not overtake it on another socket).
    if (c.kind === 'ack' && !this.ready && this.first.rounds < MAX_ROUNDS && this.first.queuedBytes + c.message.length <= MAX_ROUND_BYTES) {
      return this.first.execute(c);
    }
    this.waiting++;
    return this.connection().then(
      (conn) => {
        this.waiting--;
        return conn.execute(c);
      },
      (e: unknown) => {
        this.waiting--;
        throw this.closed ? new ClosedError(c.operation, false) : e;
      },
    );
  }

  /**
   * Link names on the full connection's socket once it serves the calls;
   * before (the one-shot rounds, no socket object here) undefined: asked by request.
   * @example
   * const names = conn.readLinkNames([2], 'name links') ?? (await askByRequest([2]));
   */
  readLinkNames(indexes: readonly number[], operation: string): Map<number, string> | undefined {
    return this.conn && this.waiting === 0 && !this.closed ? this.conn.readLinkNames(indexes, operation) : undefined;
  }

  /** Single-request grouping (ack-group.ts) once the full connection exists; before, calls go through execute(). */
  submitAckOnly(r: Completion | InPlaceRequest, c?: NetlinkCall): boolean {
    return this.conn !== undefined && this.waiting === 0 && this.conn.submitAckOnly(r, c);
  }

  /** The full connection, made once the first round is done (or at once with a socket of its own if none was asked). */
  connection(): Promise<NetlinkConnection> {
    if (this.conn) return Promise.resolve(this.conn);
    this.ready ??= this.first.idle().then(() => {
      if (this.closed) throw new ClosedError('open netlink socket');
      if (this.conn) return this.conn; // made meanwhile by connectionNow()
      try {
        return this.adopt();
      } catch (e) {
        this.ready = undefined; // the next call tries again
        throw e;
      }
    });
    return this.ready;
  }

  /**
   * The full connection now (a streamed dump needs it): with the kept socket
   * if no round is queued or in flight, else with a socket of its own (the
   * rounds finish on the kept one, which is then closed).
   */
  connectionNow(): NetlinkConnection {
    if (this.conn) return this.conn;
    if (this.first.isIdle) return this.adopt();
    this.conn = NetlinkConnection.inNamespace({ protocol: this.protocol, netnsFd: this.netnsFd, receiveBufferBytes: this.receiveBufferBytes });
    void this.first.idle().then(() => this.first.close()); // what it has queued or in flight goes first
    return this.conn;
  }

  /** Moves to the full connection, with the kept socket if there is one (the one-shot rounds are all done). */
  private adopt(): NetlinkConnection {
    const fd = this.first.takeSocket();
    this.first.close();
    this.conn =
      fd >= 0
        ? new NetlinkConnection({ protocol: this.protocol, netnsFd: this.netnsFd, fd, receiveBufferBytes: this.receiveBufferBytes })
        : NetlinkConnection.inNamespace({ protocol: this.protocol, netnsFd: this.netnsFd, receiveBufferBytes: this.receiveBufferBytes });
    return this.conn;
  }

  /** As NetlinkConnection.close(): now (pending calls fail with ClosedError), or once every call made is answered. */
  close(): void;
  close(opts: CloseOptions & { drain: true }): Promise<void>;
  close(opts?: CloseOptions): void | Promise<void>;
  close(opts?: CloseOptions): void | Promise<void> {
    if (checkCloseOptions(opts).drain) return this.drainAndClose();
    this.closeNow();
  }

  private async drainAndClose(): Promise<void> {
    this.draining = true;
    await this.first.idle();
    // Calls waiting for the connection go to it first (their callbacks were registered before this one).
    if (this.ready) await this.ready.catch(() => undefined);
    await this.conn?.close({ drain: true });
    this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.draining = false;
    this.first.close(true);
    this.conn?.close();
  }
}
