/**
 * Requests that need only the kernel's ack (a route add or delete: no echo,
 * no reply data), made in the same tick, sent together: one datagram per
 * 64 KiB instead of a queued send each, and only the last request of a
 * datagram carries NLM_F_ACK. The kernel (netlink_rcv_skb) answers the
 * others only when it refuses them and handles a datagram's requests in
 * order, going on after a refusal; so the last one's ack means every earlier
 * request of the datagram without a refusal succeeded. One ack skb, recv and
 * parsed message per datagram instead of per request, and one tracker entry
 * ({@link AckGroup}) for all of them.
 *
 * A lost refusal cannot read as a success. The first read after a loss
 * reports ENOBUFS, ahead of the replies queued before it; a group sent before
 * that read and not finished fails with NetlinkOverrunError (`sent`: its
 * requests reached the kernel) even if its last ack follows (but for that
 * last request, whose ack is its own, and the refusals read)
 * (RequestTracker.overrunBegan): after a drop for a full receive buffer the
 * kernel drops every later reply too (NETLINK_S_CONGESTED) until the queue
 * was read empty, but when it cannot allocate a reply (netlink_ack) it only
 * sets the error and queues the later ones. A group still queued then is sent
 * afterwards and answered (RequestTracker.failSent).
 * @module
 */
import { BULK_PART_BYTES } from './bulk-send';
import type { NetlinkMessage } from './parser';

/** Receives the outcome of one request (a SingleRequest's runner); `replies` is empty for an ack-only request. */
export interface Completion {
  complete(error: Error | undefined, replies: NetlinkMessage[]): void;
}

/**
 * An ack-only request that writes itself into its group's buffer (a route of
 * the common shape): no message Buffer, no operation string until it fails.
 */
export interface InPlaceRequest extends Completion {
  /**
   * Writes the request at `offset` of `buf` (at most {@link IN_PLACE_MAX_BYTES}
   * are free there) and returns where it ends, 4-aligned; or -1, and the
   * group keeps nothing of what it wrote (also when it throws).
   */
  writeAt(buf: Buffer, offset: number): number;
  /** The request's operation, for its error: "add route 10.0.0.1/32". */
  describe(): string;
}

/** The most a request written in place may take: a group is sent once less than this is left of its 64 KiB. */
export const IN_PLACE_MAX_BYTES = 1024;

/** An error for a request, made from its operation and the token it was sent with. */
export type ErrorFor = (operation: string, token: number) => Error;

/** What an ack-only request resolves with: it has no replies. Frozen: shared by all. */
const NO_REPLIES: NetlinkMessage[] = Object.freeze([]) as unknown as NetlinkMessage[];

/** The requests of one datagram; the tracker's one entry for all of them. */
export class AckGroup {
  /** Sequence numbers of the first and last request (set when sent; consecutive). */
  firstSeq = 0;
  lastSeq = 0;
  /** Set when the group shared a hand-off with requests before it (send-tick.ts). */
  private sharedToken?: number;
  /** Sent before an overrun began: the requests not refused fail so, even when the last ack comes (RequestTracker.overrunBegan). */
  overrun?: ErrorFor;
  /**
   * The requests back to back (let go once sent: the socket copies the bytes).
   * A plain buffer, not a NetlinkWriter: a request written in place gets it
   * and an offset, one call instead of one per field (route-in-place.ts).
   */
  private buf: Buffer | undefined = Buffer.allocUnsafe(512);
  private len = 0;
  /** Each request's operation by index; none for one written in place (it describes itself: no entry per call). */
  private readonly operations: Array<string | undefined> = [];
  /** Each request's receiver; undefined once it has its outcome. */
  private readonly waiting: Array<Completion | InPlaceRequest | undefined> = [];

  /** @param onSettled called once per request as it settles (the connection counts calls in flight) */
  constructor(private readonly onSettled: () => void) {}

  /** The token of the hand-off that carried the group: its first sequence number unless it shared one (send-tick.ts). */
  get sentAs(): number {
    return this.sharedToken ?? this.firstSeq;
  }

  set sentAs(token: number) {
    this.sharedToken = token;
  }

  /** Requests in the group. */
  get size(): number {
    return this.waiting.length;
  }

  /** Bytes of the requests so far. */
  get bytes(): number {
    return this.len;
  }

  add(message: Buffer, operation: string, done: Completion): void {
    const size = (message.length + 3) & ~3; // padded to 4, as between the messages of a datagram
    const buf = this.room(size);
    if (buf) {
      buf.set(message, this.len);
      buf.fill(0, this.len + message.length, this.len + size);
      this.len += size;
    }
    this.operations[this.waiting.length] = operation;
    this.waiting.push(done);
  }

  /** Adds a request that writes itself (see {@link InPlaceRequest}); false if it could not. */
  write(r: InPlaceRequest): boolean {
    const buf = this.room(IN_PLACE_MAX_BYTES);
    if (!buf) return false;
    // The length moves only past a request written whole: a refusal or a throw leaves nothing.
    const end = r.writeAt(buf, this.len);
    if (end < 0) return false;
    this.len = end;
    this.waiting.push(r);
    return true;
  }

  /** The buffer with `bytes` free after the requests so far (grown if needed); undefined once taken. */
  private room(bytes: number): Buffer | undefined {
    const buf = this.buf;
    if (!buf || this.len + bytes <= buf.length) return buf;
    let size = buf.length * 2;
    while (size < this.len + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    buf.copy(next, 0, 0, this.len);
    return (this.buf = next);
  }

  /** The requests back to back, to be numbered and sent (a view: valid until the group is let go). */
  take(): Buffer {
    const out = this.buf ? this.buf.subarray(0, this.len) : Buffer.alloc(0);
    this.buf = undefined;
    return out;
  }

  /** The operation of request `index` (its sequence number minus firstSeq), for its error. */
  operation(index: number): string {
    return this.operations[index] ?? (this.waiting[index] as Partial<InPlaceRequest> | undefined)?.describe?.() ?? 'netlink request';
  }

  /** Request `index` was refused (a no-op if it already settled). */
  refuse(index: number, error: Error): void {
    this.settle(index, error);
  }

  /** Request `index` got its own ack: it succeeded (a no-op if it already settled). */
  acked(index: number): void {
    this.settle(index, undefined);
  }

  /** Every request not settled yet: succeeded (no error), or failed. */
  settleRest(error: Error | ErrorFor | undefined): void {
    for (let i = 0; i < this.waiting.length; i++) {
      if (this.waiting[i]) this.settle(i, typeof error === 'function' ? error(this.operation(i), this.sentAs) : error);
    }
  }

  private settle(index: number, error: Error | undefined): void {
    const done = this.waiting[index];
    if (!done) return;
    this.waiting[index] = undefined;
    this.onSettled();
    done.complete(error, NO_REPLIES);
  }
}

/**
 * Collects the ack-only requests of the current tick into groups: a group is
 * sent when the next request would not fit its 64 KiB (so the kernel works
 * on one part while the next is made), and the last at the end of the tick
 * (a microtask), so a single awaited request still goes at once. The async
 * connection hands a group to its send tick (send-tick.ts), which gives the
 * tick's other requests and the group to the I/O thread together.
 */
export class AckTick {
  private group?: AckGroup;
  private scheduled = false;
  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /**
   * @param send numbers, tracks and sends a group (the connection); `full`: sent before the tick's end, as the next request did not fit
   * @param onSettled see {@link AckGroup}
   * @param endOfTick schedules the flush at the tick's end; by default a microtask of its own (the connection's
   * flushes its send tick, send-tick.ts, which flushes this first)
   */
  constructor(
    private readonly send: (g: AckGroup, full: boolean) => void,
    private readonly onSettled: () => void,
    endOfTick?: () => void,
  ) {
    this.schedule = endOfTick ?? this.ownMicrotask;
  }

  /** Makes sure the group is flushed at the end of this tick. */
  private readonly schedule: () => void;

  private readonly ownMicrotask = (): void => {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.flushLater);
  };

  push(message: Buffer, operation: string, done: Completion): void {
    this.groupFor(message.length).add(message, operation, done);
    this.schedule();
  }

  /** Adds a request that writes itself into the group; false (nothing added) if it could not. */
  write(r: InPlaceRequest): boolean {
    if (!this.groupFor(IN_PLACE_MAX_BYTES).write(r)) return false;
    this.schedule();
    return true;
  }

  /** The group to add `bytes` to: the current one, or a new one once that is full (it is sent now). */
  private groupFor(bytes: number): AckGroup {
    const g = this.group;
    if (g && (g.bytes === 0 || g.bytes + bytes <= BULK_PART_BYTES)) return g;
    this.group = undefined; // not flushed again by what send() does
    if (g) this.send(g, true);
    return (this.group = new AckGroup(this.onSettled));
  }

  /** Sends what was collected (before any other request, which must not overtake these). */
  flush(): void {
    const g = this.group;
    this.group = undefined;
    if (g && g.size > 0) this.send(g, false);
  }

  /** The connection closes: what was collected was never sent. */
  close(error: ErrorFor): void {
    const g = this.group;
    this.group = undefined;
    g?.settleRest(error);
  }
}
