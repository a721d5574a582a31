/**
 * The requests a connection makes in one tick, of any kind but exclusive
 * batches and bulk calls (gets, dumps, creates answered with their echo,
 * ack-only groups), handed to its I/O thread in one piece: one enqueue, one
 * eventfd write, one sendmsg. Handed one by one, the I/O thread woke on the
 * first and mostly sent it alone before the second was queued (an attach's
 * bridge lookup and veth create: bench/notes.md, attach-state).
 *
 * The kernel (netlink_rcv_skb) runs the requests of one datagram in order,
 * each on its own: every request keeps its own sequence number and NLM_F_ACK,
 * so each gets its own replies and a refusal fails only its own promise. A
 * dump among them starts where it lies (its first part is made then, the rest
 * as the socket is read); the connection's dump slot still lets one dump run
 * per socket. A hand-off holds at most {@link BULK_PART_BYTES} (what the I/O
 * thread coalesces anyway); a request larger than that goes alone.
 *
 * The native socket names a hand-off by one token, the first request's
 * sequence number: the requests that shared it carry that token as `sentAs`,
 * so a send error, the unsent requests at close and an overrun's unsent set
 * (all given as tokens) reach each of them.
 * @module
 */
import { BULK_PART_BYTES } from './bulk-send';

/** A request or ack group as the tracker holds it: its token is its first sequence number until it shares a hand-off. */
export interface TickEntry {
  readonly firstSeq: number;
  /** The token of the hand-off that carries it. */
  sentAs: number;
}

/** Hands one datagram (requests back to back) to the socket; `entries` are the requests in it, for their failure. */
export type HandOff = (message: Buffer, token: number, entries: TickEntry[]) => void;

/** See the module comment. */
export class SendTick {
  /**
   * The requests back to back, copied as they come: a caller may give the same Buffer to a second call of the
   * tick, whose sequence number the connection stamps into it before this hand-off (both would leave with it).
   */
  private buf?: Buffer;
  private entries: TickEntry[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushLater = (): void => {
    // The tick's ack group joins while the flush still counts as scheduled: its push queues no second microtask
    // (one that would find nothing). A request made from the hand-off on (a failure settling a call) queues its own.
    try {
      this.before();
    } finally {
      this.scheduled = false;
    }
    this.handOver();
  };

  /**
   * @param handOff the socket's send
   * @param before runs first in each flush (the connection's ack group of this tick joins the hand-off)
   */
  constructor(
    private readonly handOff: HandOff,
    private readonly before: () => void = () => undefined,
  ) {}

  /** Requests waiting for the end of the tick. */
  get size(): number {
    return this.entries.length;
  }

  /** Queues a numbered request (a message, or an ack group's datagram) for this tick's hand-off. */
  push(message: Buffer, entry: TickEntry): void {
    const size = (message.length + 3) & ~3;
    if (this.bytes > 0 && this.bytes + size > BULK_PART_BYTES) this.handOver(); // the kernel starts on these meanwhile
    const buf = this.room(size);
    buf.set(message, this.bytes);
    // Padded to 4 between messages, as within a datagram (a message's length need not be).
    if (size !== message.length) buf.fill(0, this.bytes + message.length, this.bytes + size);
    this.entries.push(entry);
    this.bytes += size;
    this.schedule();
  }

  /** The tick's buffer with `size` bytes free after what it holds: the first request's size (most ticks hold one), then grown. */
  private room(size: number): Buffer {
    const buf = this.buf;
    if (buf && this.bytes + size <= buf.length) return buf;
    let n = buf ? Math.max(buf.length * 2, 512) : size;
    while (n < this.bytes + size) n *= 2;
    const next = Buffer.allocUnsafe(n);
    if (buf) buf.copy(next, 0, 0, this.bytes);
    return (this.buf = next);
  }

  /** Makes sure a flush runs at the end of this tick (microtask). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.flushLater);
  }

  /** Hands over what was queued, after what `before` adds (before a batch or bulk call, which go on their own, and at the tick's end). */
  flush(): void {
    this.before();
    this.handOver();
  }

  /** Hands over what was queued now, without `before` (a full ack group: the kernel starts on it while the next is made). */
  handOver(): void {
    const n = this.entries.length;
    if (n === 0 || !this.buf) return;
    const message = this.bytes === this.buf.length ? this.buf : this.buf.subarray(0, this.bytes);
    const entries = this.entries;
    this.buf = undefined;
    this.entries = [];
    this.bytes = 0;
    const token = entries[0].sentAs;
    if (n > 1) for (const e of entries) e.sentAs = token;
    this.handOff(message, token, entries);
  }

  /** The connection closes (or its receive failed): what was queued is never sent; its entries, whose tokens count as unsent. */
  drop(): TickEntry[] {
    const entries = this.entries;
    this.buf = undefined;
    this.entries = [];
    this.bytes = 0;
    return entries;
  }

  /** The tokens of what waits here (never handed to the kernel yet). */
  tokens(): number[] {
    return this.entries.map((e) => e.sentAs);
  }
}
