/**
 * The blocking netlink connection, for scripts: the same request tracker
 * and protocol rules as the async NetlinkConnection (connection.ts), but the caller
 * waits in send and recv instead of an I/O thread.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { native, type NativeNetlinkSyncSocket } from '../native/binding';
import { EINTR, EIO } from './errno';
import { NetlinkError, SystemError, fromNative, requestOverrun } from './errors';
import { markInterrupted, type NetlinkCall, type SyncExecutor } from './operation';
import type { NetlinkMessage } from './parser';
import { sendBulkSync } from './bulk-send';
import { hasItemsSent, withItemsSent } from './bulk-stop';
import { PendingRequest } from './request-tracker';
import { checkBufferBytes, type ConnectionOptions } from './connection-options';
import { ConnectionCore, DUMP_RETRIES } from './connection-core';

/** Blocking netlink connection for scripts; same protocol rules as the async one. */
export class NetlinkSyncConnection extends ConnectionCore implements SyncExecutor {
  protected readonly socket: NativeNetlinkSyncSocket;

  constructor(opts: ConnectionOptions) {
    super();
    checkBufferBytes('receiveBufferBytes', opts.receiveBufferBytes);
    checkBufferBytes('sendBufferBytes', opts.sendBufferBytes);
    try {
      this.socket = new (native().NetlinkSyncSocket)(opts.protocol, opts.netnsFd ?? -1, {
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
      if (c.restartInterrupted === false) {
        markInterrupted(r.replies); // dumpOnce tells (the flag may be on NLMSG_DONE only)
        return r.replies;
      }
      if (attempt >= DUMP_RETRIES) throw new NetlinkError({ errno: EINTR, operation: c.operation });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  /**
   * The kernel dropped replies of `p`, the one request in flight (it was
   * sent: `itemsSent` of a bulk call): it fails. The socket is then read
   * empty: until a recvmsg finds its queue empty the kernel drops every reply
   * to it (NETLINK_S_CONGESTED), so the next call's would be lost; and a dump
   * still running is read to its end. What is read is stray.
   */
  private overrun(p: PendingRequest, itemsSent?: number): void {
    this.tracker.fail(requestOverrun(p.operation, itemsSent), p);
    for (;;) {
      try {
        const buf = this.socket.recv(0);
        if (buf.length === 0) return;
        this.tracker.feedReceived(buf);
      } catch (e) {
        if ((e as { errno?: number }).errno !== osConstants.errno.ENOBUFS) throw e;
      }
    }
  }

  private once(c: NetlinkCall): { replies: NetlinkMessage[]; interrupted: boolean } {
    this.checkOpen(c.operation);
    const [first, last] = this.stamp(c);
    // Set by the tracker's callback: the assertion keeps TypeScript from narrowing it to undefined.
    let outcome = undefined as { err?: Error; replies: NetlinkMessage[]; interrupted: boolean } | undefined;
    const bulk = c.kind === 'bulk' ? { sent: 0 } : undefined; // requests of a bulk call handed to the kernel
    const p = new PendingRequest(
      c.kind,
      c.operation,
      first,
      last,
      (err, replies, interrupted) => {
        // A failed bulk call says how many of its requests went, as on the async path (bulk-stop.ts).
        if (err && bulk && !hasItemsSent(err)) err = withItemsSent(err, bulk.sent, c.operation);
        outcome = { err, replies, interrupted };
      },
      undefined,
      c.collect,
    );
    if (c.collect) [p.collectAt, p.collectRows] = [c.collectAt, c.collectRows];
    this.tracker.add(p);
    try {
      if (bulk) sendBulkSync(this.socket, c.message, (buf) => this.tracker.feedReceived(buf), bulk);
      else this.socket.send(c.message);
    } catch (e) {
      const errno = (e as { errno?: number }).errno ?? EIO;
      // A bulk call reads its refusals between parts: ENOBUFS there means some were lost, as on the async path.
      if (errno === osConstants.errno.ENOBUFS && bulk) this.overrun(p, bulk.sent);
      // A bulk call's read between its parts failed: not a refusal of the kernel (the parts before it went).
      else if (bulk && !(e as { syscall?: string }).syscall?.startsWith('send')) this.tracker.fail(receiveError(c.operation, e, bulk), p);
      else this.tracker.fail(new NetlinkError({ errno, operation: c.operation, itemsSent: bulk?.sent }), p);
    }
    // Batch replies are queued while sendmsg runs: drain what is there, then done.
    const timeout = c.kind === 'batch' ? 0 : -1;
    while (!outcome) {
      let buf: Buffer;
      try {
        buf = this.socket.recv(timeout);
      } catch (e) {
        if ((e as { errno?: number }).errno !== osConstants.errno.ENOBUFS) {
          this.tracker.fail(receiveError(c.operation, e, bulk), p);
          break;
        }
        // A batch reads on: its first error, still to come, names the culprit (the overrun is its fallback).
        if (c.kind === 'batch') p.overrun ??= requestOverrun(c.operation);
        else this.overrun(p, bulk?.sent);
        continue;
      }
      if (buf.length === 0 && c.kind === 'batch') {
        this.tracker.sent(p);
        break;
      }
      this.tracker.feedReceived(buf);
    }
    if (!outcome) throw new Error('unreachable: request did not settle');
    if (outcome.err) throw outcome.err;
    return outcome;
  }
}

/**
 * A read failed (not ENOBUFS) after the request went, its answer unread: as on the async path (bulk-stop.ts
 * failReceive), a SystemError saying the kernel had it (a bulk call: its first `itemsSent` items), not a refusal.
 */
function receiveError(operation: string, e: unknown, bulk?: { sent: number }): Error {
  const { errno, syscall } = e as { errno?: number; syscall?: string };
  if (typeof errno !== 'number') return fromNative(operation, e);
  return new SystemError(operation, errno, syscall ?? 'recvmsg(netlink)', { sent: bulk ? bulk.sent > 0 : true, itemsSent: bulk?.sent });
}
