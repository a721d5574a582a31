/**
 * A bulk call encoded while it is sent: when every item of a bulk write
 * passed its family's simple check (nothing is sent before all did), the
 * requests are written one 64 KiB part at a time and the connection queues
 * part k to its I/O thread before it asks for part k+1, so the kernel works
 * on one part while JavaScript writes the next (NetlinkCall.nextPart).
 * @module
 */
import { BULK_PART_BYTES } from './bulk-send';
import { NLM_F_ACK } from './constants';
import type { NetlinkCall } from './operation';
import { NetlinkWriter } from './writer';

/** The bulk call of items that all passed the simple check: one request per item, in order. */
export class PartedBulkCall implements NetlinkCall {
  readonly kind = 'bulk' as const;
  private cursor = 0;
  private first: Buffer | undefined;
  private whole: Buffer | undefined;

  constructor(
    private readonly count: number,
    /** Writes item `index`'s request (the item was checked: it cannot fail). */
    private readonly encode: (w: NetlinkWriter, index: number) => void,
    readonly operation: string,
  ) {}

  /**
   * The next part (whole requests, at most 64 KiB), or undefined after the
   * last. The last request carries NLM_F_ACK: its ack completes the call.
   */
  nextPart(): Buffer | undefined {
    const { count } = this;
    if (this.cursor >= count) return undefined;
    const w = new NetlinkWriter(BULK_PART_BYTES);
    while (this.cursor < count) {
      const before = w.length;
      this.encode(w, this.cursor);
      if (w.length > BULK_PART_BYTES && before > 0) {
        w.rewind(before);
        break;
      }
      this.cursor++;
    }
    // A view, not a copy: the writer is this part's alone.
    const part = w.written();
    if (this.cursor === count) {
      const last = w.messageOffsets[w.messageOffsets.length - 1];
      part.writeUInt16LE(part.readUInt16LE(last + 6) | NLM_F_ACK, last + 6);
    }
    this.first ??= part;
    return part;
  }

  /** All requests in one buffer, for executors that send a call whole (not together with nextPart). */
  get message(): Buffer {
    if (!this.whole) {
      const parts: Buffer[] = [];
      for (let p = this.nextPart(); p; p = this.nextPart()) parts.push(p);
      this.whole = this.first = Buffer.concat(parts);
    }
    return this.whole;
  }

  /** The sequence number the connection stamped on the first request. */
  get firstSeq(): number {
    return (this.first ?? this.message).readUInt32LE(8);
  }
}
