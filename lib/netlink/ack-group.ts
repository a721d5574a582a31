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
 * A refusal lost to a full receive buffer cannot read as a success: the
 * kernel drops every later reply too until the socket is read, and the read
 * reports ENOBUFS before anything queued after the loss; the connection then
 * fails every pending request with NetlinkOverrunError (the datagram's ack is
 * among the dropped replies).
 * @module
 */
import { BULK_PART_BYTES } from './bulk-send';
import type { NetlinkMessage } from './parser';

/** Receives the outcome of one request (a SingleRequest's runner); `replies` is empty for an ack-only request. */
export interface Completion {
  complete(error: Error | undefined, replies: NetlinkMessage[]): void;
}

/** An error for a request, made from its operation and the token it was sent with. */
export type ErrorFor = (operation: string, token: number) => Error;

/** What an ack-only request resolves with: it has no replies. Frozen: shared by all. */
const NO_REPLIES: NetlinkMessage[] = Object.freeze([]) as unknown as NetlinkMessage[];

/** The requests of one datagram; the tracker's one entry for all of them. */
export class AckGroup {
  /** Sequence numbers of the first and last request (set when sent; consecutive). */
  firstSeq = 0;
  lastSeq = 0;
  /** Bytes of the requests so far. */
  bytes = 0;
  private messages: Buffer[] | undefined = [];
  private readonly operations: string[] = [];
  /** Each request's receiver; undefined once it has its outcome. */
  private readonly waiting: Array<Completion | undefined> = [];

  /** @param onSettled called once per request as it settles (the connection counts calls in flight) */
  constructor(private readonly onSettled: () => void) {}

  /** Requests in the group. */
  get size(): number {
    return this.waiting.length;
  }

  add(message: Buffer, operation: string, done: Completion): void {
    this.messages?.push(message);
    this.operations.push(operation);
    this.waiting.push(done);
    this.bytes += (message.length + 3) & ~3;
  }

  /** The requests back to back, to be numbered and sent; the messages are let go (the socket copies the bytes). */
  take(): Buffer {
    const out = Buffer.alloc(this.bytes); // zeroed: the padding between messages
    let off = 0;
    for (const m of this.messages ?? []) {
      m.copy(out, off);
      off += (m.length + 3) & ~3;
    }
    this.messages = undefined;
    return out;
  }

  /** The operation of request `index` (its sequence number minus firstSeq), for its error. */
  operation(index: number): string {
    return this.operations[index] ?? 'netlink request';
  }

  /** Request `index` was refused (a no-op if it already settled). */
  refuse(index: number, error: Error): void {
    this.settle(index, error);
  }

  /** Every request not settled yet: succeeded (no error), or failed. */
  settleRest(error: Error | ErrorFor | undefined): void {
    for (let i = 0; i < this.waiting.length; i++) {
      if (this.waiting[i]) this.settle(i, typeof error === 'function' ? error(this.operations[i], this.firstSeq) : error);
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
 * (a microtask), so a single awaited request still goes at once.
 */
export class AckTick {
  private group?: AckGroup;
  private scheduled = false;
  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /**
   * @param send numbers, tracks and sends a group (the connection)
   * @param onSettled see {@link AckGroup}
   */
  constructor(
    private readonly send: (g: AckGroup) => void,
    private readonly onSettled: () => void,
  ) {}

  push(message: Buffer, operation: string, done: Completion): void {
    let g = this.group;
    if (g && g.bytes + message.length > BULK_PART_BYTES) {
      this.group = undefined;
      this.send(g);
      g = undefined;
    }
    g ??= this.group = new AckGroup(this.onSettled);
    g.add(message, operation, done);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushLater);
    }
  }

  /** Sends what was collected (before any other request, which must not overtake these). */
  flush(): void {
    const g = this.group;
    if (!g) return;
    this.group = undefined;
    this.send(g);
  }

  /** The connection closes: what was collected was never sent. */
  close(error: ErrorFor): void {
    const g = this.group;
    this.group = undefined;
    g?.settleRest(error);
  }
}
