/**
 * What the async and the blocking netlink connection share: the request
 * tracker (one set of protocol rules), the sequence numbers, the closed
 * state, and link names read on the socket.
 * @module
 */
import { ClosedError } from './errors';
import type { LinkNameReader, NetlinkCall } from './operation';
import { RequestTracker } from './request-tracker';
import { SequenceCounter } from './sequence';
import { readSocketLinkNames, type LinkNameSocket } from './socket-link-names';

/** How often a collected dump is restarted after NLM_F_DUMP_INTR before giving up. */
export const DUMP_RETRIES = 8;

/** The base of the async and blocking connections (not itself exported by the package; its declaration ships because theirs extend it). */
export abstract class ConnectionCore implements LinkNameReader {
  protected readonly tracker = new RequestTracker();
  protected closed = false;
  private readonly seqs = new SequenceCounter();
  /** A security policy refused SIOCGIFNAME on this socket: names are asked by request. */
  private linkNamesRefused = false;

  protected abstract readonly socket: (LinkNameSocket & { readonly portId: number }) | undefined;

  /** The socket's netlink port id (nl_pid); 0 while the socket is still being made. */
  get portId(): number {
    return this.socket?.portId ?? 0;
  }

  /**
   * Link names read on this connection's socket (socket-link-names.ts);
   * undefined while it is being made, once closed, or once a security policy
   * refused the read on it (then the caller asks by request).
   * @example
   * const names = conn.readLinkNames([2, 3], 'name links'); // Map { 2 => 'eth0' } if 3 is gone
   */
  readLinkNames(indexes: readonly number[], operation: string): Map<number, string> | undefined {
    if (!this.socket || this.closed || this.linkNamesRefused) return undefined;
    const names = readSocketLinkNames(this.socket, indexes, operation);
    // A policy refused the ioctl on this socket: it will again, so ask by request from now on.
    if (names === undefined) this.linkNamesRefused = true;
    return names;
  }

  /** Numbers every message of the call (see SequenceCounter); returns the first and last sequence numbers. */
  protected stamp(c: NetlinkCall): [number, number] {
    return this.seqs.stamp(c.message, c.kind === 'ack' ? 'all' : c.kind === 'bulk' ? 'last' : 'none');
  }

  protected checkOpen(operation: string): void {
    if (this.closed) throw new ClosedError(operation);
  }
}
