/**
 * Matches replies to requests by sequence number and decides when each
 * request is complete. Shared by the async and the sync connection, so both
 * follow exactly the same protocol rules.
 * @module
 */
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_DUMP_INTR } from './constants';
import type { AckGroup, ErrorFor } from './ack-group';
import { DumpInterruptedError, NetlinkError, NetlinkOverrunError } from './errors';
import { decodeDoneMessage, decodeErrorMessage, type ErrorReply } from './extack';
import { native } from '../native/binding';
import { markCollected, type RowCollector } from './operation';
import type { NetlinkMessage } from './parser';
import { ReceivedMessage } from './received-message';
import { seqInRange, seqIndex } from './sequence';

export type RequestKind = 'ack' | 'dump' | 'batch' | 'bulk';

/** One request in flight. */
export class PendingRequest {
  /** The replies so far; made with the first one (an ack has none: thousands in flight keep no array each). */
  replies?: NetlinkMessage[];
  /** Set when a dump saw NLM_F_DUMP_INTR. */
  interrupted = false;
  /** First error of a batch; the batch settles on `sent`. */
  batchError?: NetlinkError;
  /**
   * A batch's replies were partly dropped: its NetlinkOverrunError (reported if no kernel error explains the batch).
   * A bulk call sent before an overrun began: its error, even if its last ack arrives (a refusal may be lost).
   */
  overrun?: Error;
  settled = false;
  /** What `collect` threw first (the dump fails with it at its end). */
  collectError?: Error;
  /** Collected dumps: `collect` reading the received bytes in place (NetlinkCall.collectAt). */
  collectAt?: (type: number, buffer: Buffer, start: number, end: number) => unknown;
  /** Collected dumps: `collectAt` for runs of messages indexed natively (NetlinkCall.collectRows). */
  collectRows?: RowCollector;
  /** The token of the hand-off that carried it to the socket: its first sequence number unless it shared one (send-tick.ts). */
  sentAs: number;

  constructor(
    readonly kind: RequestKind,
    readonly operation: string,
    readonly firstSeq: number,
    readonly lastSeq: number,
    /** Called once with the outcome. */
    readonly settle: (error: Error | undefined, replies: NetlinkMessage[], interrupted: boolean) => void,
    /** Streaming dumps: receives each message instead of collecting it. */
    readonly onMessage?: (m: NetlinkMessage) => void,
    /** Collected dumps: what to keep of each message instead of the message (NetlinkCall.collect). */
    readonly collect?: (m: NetlinkMessage) => unknown,
  ) {
    this.sentAs = firstSeq;
    // A collected dump's array is marked as holding collected values: made now, not with the first reply.
    if (collect) markCollected((this.replies = []));
  }
}

/** The rows of {@link collectRun}, reused: each batch is collected before the next is indexed. */
const ROWS = new Int32Array(16384);
/** Messages in the last {@link collectRun}. */
let runLength = 0;

/**
 * Collects the messages of `p` from `at` (one at least: the caller saw it is
 * p's) through its row collector; returns where the run ended.
 */
function collectRun(p: PendingRequest, rows: RowCollector, buf: Buffer, at: number, seq: number): number {
  const addon = native();
  const capacity = Math.floor(ROWS.length / rows.stride);
  let off = at;
  runLength = 0;
  for (;;) {
    const result = addon.netlinkIndex(buf, off, seq, rows.headerLength, rows.columns, ROWS, rows.stride);
    const count = result >>> 1;
    if (result & 1) p.interrupted = true;
    if (count === 0) return off;
    runLength += count;
    // NLMSG_ALIGN of the last message's end (messages start 4-aligned).
    off = (ROWS[(count - 1) * rows.stride + 1] + 3) & ~3;
    if (!p.collectError) {
      try {
        rows.collect(buf, ROWS, count, p.replies as unknown[]);
      } catch (e) {
        p.collectError = e instanceof Error ? e : new Error(String(e));
      }
    }
    if (count < capacity) return off;
  }
}

export class RequestTracker {
  private readonly bySeq = new Map<number, PendingRequest>();
  /** Batches and bulk calls: requests of several messages, matched by their range of sequence numbers. */
  private readonly batches = new Set<PendingRequest>();
  /** Ack-only requests sent together (ack-group.ts), in the order sent, which is the order answered. */
  private readonly groups = new Set<AckGroup>();
  /** Called for every request (and group) as it completes, before its own settle callback. */
  onFinish?: () => void;

  get size(): number {
    return this.bySeq.size + this.batches.size + this.groups.size;
  }

  addGroup(g: AckGroup): void {
    this.groups.add(g);
  }

  /** The pending request or group (ack-group.ts) sent with token `firstSeq` (its first sequence number). */
  sentWith(firstSeq: number): PendingRequest | AckGroup | undefined {
    const p = this.get(firstSeq);
    if (p) return p;
    for (const g of this.groups) if (g.firstSeq === firstSeq) return g;
    return undefined;
  }

  /**
   * Everything pending that the hand-off with `token` carried: the requests and groups that shared it
   * (send-tick.ts), or the batch or bulk call sent with it (a bulk call's part: any of its messages). A scan: for
   * send errors only.
   */
  sentIn(token: number): Array<PendingRequest | AckGroup> {
    const out: Array<PendingRequest | AckGroup> = [];
    for (const p of this.bySeq.values()) if (p.sentAs === token) out.push(p);
    for (const g of this.groups) if (g.sentAs === token) out.push(g);
    if (out.length > 0) return out;
    for (const b of this.batches) if (b.kind === 'bulk' ? seqInRange(token, b.firstSeq, b.lastSeq) : b.firstSeq === token) return [b];
    return out;
  }

  add(p: PendingRequest): void {
    if (p.kind === 'batch' || p.kind === 'bulk') this.batches.add(p);
    else this.bySeq.set(p.firstSeq, p);
  }

  /** Every request still pending. */
  pending(): PendingRequest[] {
    return [...this.bySeq.values(), ...this.batches];
  }

  /** The pending request whose first sequence number is `firstSeq` (for a bulk call: any of its messages, as each part is sent on its own). */
  get(firstSeq: number): PendingRequest | undefined {
    const p = this.bySeq.get(firstSeq);
    if (p) return p;
    for (const b of this.batches) if (b.kind === 'bulk' ? seqInRange(firstSeq, b.firstSeq, b.lastSeq) : b.firstSeq === firstSeq) return b;
    return undefined;
  }

  /** Routes received messages to their requests. Unmatched messages are returned. */
  feed(messages: NetlinkMessage[]): NetlinkMessage[] {
    const strays: NetlinkMessage[] = [];
    for (const m of messages) {
      if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) continue;
      const p = this.bySeq.get(m.seq) ?? this.findBatch(m.seq);
      if (p) this.onMessage(p, m);
      else if (!this.onGroupMessage(m)) strays.push(m);
    }
    return strays;
  }

  /**
   * {@link feed} for a received buffer (datagrams back to back). The messages
   * of a dump with `collectAt` are collected where they lie, without a
   * message object each (5,000 of them for a dump of 5,000 routes); the others
   * go to {@link feed} as {@link ReceivedMessage}s, in order. Returns how many
   * messages the buffer held (a truncated tail is left out, as splitMessages does).
   */
  feedReceived(buf: Buffer): number {
    let count = 0;
    let rest: ReceivedMessage[] | undefined;
    let p: PendingRequest | undefined;
    let pSeq = -1;
    const end = buf.length;
    // Plain byte reads and literal numbers (16: the header's length; 0x10:
    // NLMSG_MIN_TYPE; 0x10: NLM_F_DUMP_INTR), as in splitMessages: this runs for
    // every message of every dump, interpreted at first in a new process.
    for (let off = 0; off + 16 <= end;) {
      const len = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
      if (len < 16 || off + len > end) break;
      const at = off;
      off += (len + 3) & ~3;
      count++;
      const type = buf[at + 4] | (buf[at + 5] << 8);
      const seq = (buf[at + 8] | (buf[at + 9] << 8) | (buf[at + 10] << 16) | (buf[at + 11] << 24)) >>> 0;
      // Control messages (acks, NLMSG_DONE) and other replies take the general path.
      if (type >= 0x10 && seq !== pSeq) {
        pSeq = seq;
        p = this.bySeq.get(seq);
      }
      const flags = buf[at + 6] | (buf[at + 7] << 8);
      if (type >= 0x10 && p?.collectAt && !p.settled) {
        if (rest) {
          this.feed(rest);
          rest = undefined;
        }
        // The run of this dump's messages from here, indexed natively (at least this one).
        const next = p.collectRows && !p.collectError ? collectRun(p, p.collectRows, buf, at, seq) : at;
        if (next > at) {
          off = next;
          count += runLength - 1;
          continue;
        }
        if (flags & 0x10) p.interrupted = true;
        if (p.collectError) continue;
        try {
          const x = p.collectAt(type, buf, at + 16, at + len);
          if (x !== undefined) (p.replies as unknown[]).push(x);
        } catch (e) {
          p.collectError = e instanceof Error ? e : new Error(String(e));
        }
        continue;
      }
      const pid = (buf[at + 12] | (buf[at + 13] << 8) | (buf[at + 14] << 16) | (buf[at + 15] << 24)) >>> 0;
      (rest ??= []).push(new ReceivedMessage(type, flags, seq, pid, buf, at + 16, at + len));
    }
    if (rest?.length) this.feed(rest);
    return count;
  }

  /** The datagram carrying `p` was processed: batches complete here. */
  sent(p: PendingRequest): void {
    if (p.kind !== 'batch' || p.settled) return;
    this.finish(p, p.batchError ?? p.overrun);
  }

  /**
   * Fails one request or group (send error) or, without `p`, every request.
   * `error` may be made per request, from its operation and send token.
   */
  fail(error: Error | ErrorFor, p?: PendingRequest | AckGroup): void {
    if (p && !(p instanceof PendingRequest)) {
      this.finishGroup(p, error);
      return;
    }
    const victims = p ? [p] : [...this.bySeq.values(), ...this.batches];
    if (!p) for (const g of [...this.groups]) this.finishGroup(g, error);
    for (const v of victims) {
      // A batch settles once its datagram was processed (`sent`). An overrun
      // before that only cost some of its replies (a failing 100k-command
      // batch errors on every command); its first error, still to be read,
      // names the culprit, so keep the overrun only as the fallback.
      if (!p && v.kind === 'batch' && error instanceof NetlinkOverrunError) {
        v.overrun ??= error;
        continue;
      }
      this.finish(v, typeof error === 'function' ? error(v.operation, v.firstSeq) : error);
    }
  }

  /**
   * An overrun (ENOBUFS), reported once the socket's queue was read empty
   * after it. From the drop until the recvmsg that finds the queue empty the
   * kernel drops every reply to the socket (NETLINK_S_CONGESTED, set by
   * netlink_overrun, cleared by netlink_rcv_wake); the replies queued before
   * the drop were fed already. rtnetlink and nfnetlink answer a request while
   * its sendmsg runs, so a request sent before this report (not in `unsent`:
   * the tokens of those still queued) and still waiting lost its reply: it
   * fails with `error` (a batch keeps it as its fallback, see {@link fail}).
   * A request not sent yet is left alone: it is answered normally.
   */
  failSent(error: ErrorFor, unsent: ReadonlySet<number>): void {
    for (const g of [...this.groups]) if (!unsent.has(g.sentAs)) this.finishGroup(g, error);
    for (const v of [...this.bySeq.values(), ...this.batches]) {
      if (unsent.has(v.sentAs)) continue; // a bulk call's first part: none of it went
      const e = error(v.operation, v.firstSeq);
      if (v.kind === 'batch') v.overrun ??= e;
      else this.finish(v, e);
    }
  }

  /**
   * ENOBUFS was read (the I/O thread's kOverrunBegan, or a thread-less
   * round's): the kernel lost a reply to a request sent before this point
   * (not in `unsent`). It need not have dropped the later ones: netlink_ack
   * sets sk_err without dropping anything when it cannot allocate the ack.
   * A request answered on its own learns its outcome from its own reply; but
   * a group or bulk call gets only its refusals and its last ack, so a lost
   * refusal would read as success. Those sent before this point and not
   * finished fail with `error` (sent: true) even if their last ack comes:
   * refusals still read are kept, and so is a group's last request's own
   * ack; the rest is unknown.
   */
  overrunBegan(error: ErrorFor, unsent: ReadonlySet<number>): void {
    for (const g of this.groups) if (!unsent.has(g.sentAs)) g.overrun ??= error;
    for (const b of this.batches) if (b.kind === 'bulk' && !unsent.has(b.firstSeq)) b.overrun ??= error(b.operation, b.firstSeq);
  }

  /** A reply to a request of a group: only refusals and the ack of its last request come back. */
  private onGroupMessage(m: NetlinkMessage): boolean {
    let g: AckGroup | undefined;
    for (const x of this.groups) {
      if (seqInRange(m.seq, x.firstSeq, x.lastSeq)) {
        g = x;
        break;
      }
    }
    if (!g) return false;
    if (m.type !== NLMSG_ERROR) return true;
    if (m.payload.length >= 4 && m.payload.readInt32LE(0) !== 0) {
      const i = seqIndex(m.seq, g.firstSeq);
      g.refuse(i, this.error(g.operation(i), decodeErrorMessage(m)));
    }
    // The kernel handled the group's requests in order: all before the last without a refusal succeeded
    // (unknown if the group was sent before an overrun began, see overrunBegan; the last one's ack is its own).
    if (m.seq === g.lastSeq) {
      if (g.overrun) g.acked(g.size - 1);
      this.finishGroup(g, g.overrun);
    }
    return true;
  }

  private finishGroup(g: AckGroup, error: Error | ErrorFor | undefined): void {
    if (!this.groups.delete(g)) return;
    this.onFinish?.();
    g.settleRest(error);
  }

  private findBatch(seq: number): PendingRequest | undefined {
    for (const b of this.batches) if (seqInRange(seq, b.firstSeq, b.lastSeq)) return b;
    return undefined;
  }

  private onMessage(p: PendingRequest, m: NetlinkMessage): void {
    if (p.kind === 'bulk') {
      // Only refusals and the last request's ack come back (see NetlinkCall): keep the refusals.
      if (m.type !== NLMSG_ERROR) return;
      if (m.payload.length >= 4 && m.payload.readInt32LE(0) !== 0) (p.replies ??= []).push(m);
      if (m.seq === p.lastSeq) this.finish(p, p.overrun);
      return;
    }
    if (m.type === NLMSG_ERROR) {
      const e = decodeErrorMessage(m);
      if (p.kind === 'batch') {
        if (e.errno !== 0 && !p.batchError) p.batchError = this.error(p.operation, e, seqIndex(m.seq, p.firstSeq));
        return;
      }
      this.finish(p, e.errno === 0 ? undefined : this.error(p.operation, e));
      return;
    }
    // An `ack` call ends here too when its message carried NLM_F_DUMP (given to call(), not dump()): the kernel
    // answers a dump with its parts and NLMSG_DONE, never an ack, so the call would otherwise wait forever.
    if (m.type === NLMSG_DONE && (p.kind === 'dump' || p.kind === 'ack')) {
      // The kernel checks the dump once more as it ends (netlink_dump_done): a change after the last part flags only this.
      if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
      const e = decodeDoneMessage(m);
      let error: Error | undefined = e.errno === 0 ? p.collectError : this.error(p.operation, e);
      // A stream (or a call, which is never restarted) cannot be restarted behind the consumer's back: tell it.
      if (!error && (p.onMessage || p.kind === 'ack') && p.interrupted) error = new DumpInterruptedError(p.operation);
      this.finish(p, error);
      return;
    }
    if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
    if (p.onMessage) {
      // After an interruption the rest of the stream is inconsistent: drop it
      // and fail at NLMSG_DONE, which also frees the socket's dump slot.
      if (!p.interrupted) p.onMessage(m);
    } else if (p.collect) {
      // Decoded as it arrives: the message itself is garbage at once. A
      // throwing decoder fails the dump at its end (the kernel sends the rest anyway).
      if (p.collectError) return;
      try {
        const x = p.collect(m);
        if (x !== undefined) (p.replies as unknown[]).push(x);
      } catch (e) {
        p.collectError = e instanceof Error ? e : new Error(String(e));
      }
    } else {
      (p.replies ??= []).push(m);
    }
  }

  private error(operation: string, e: ErrorReply, commandIndex?: number): NetlinkError {
    return new NetlinkError({
      errno: e.errno,
      operation,
      extack: e.extack,
      extackOffset: e.extackOffset,
      missingAttribute: e.missingAttribute,
      commandIndex,
    });
  }

  private finish(p: PendingRequest, error: Error | undefined): void {
    if (p.settled) return;
    p.settled = true;
    if (p.kind === 'batch' || p.kind === 'bulk') this.batches.delete(p);
    else this.bySeq.delete(p.firstSeq);
    this.onFinish?.();
    p.settle(error, p.replies ?? [], p.interrupted);
  }
}
