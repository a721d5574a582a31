/**
 * Bulk calls produced part by part (NetlinkCall kind `bulk` with nextPart):
 * the requests are written one 64 KiB part at a time and the connection
 * queues part k to its I/O thread before it asks for part k+1, so the kernel
 * works on one part while JavaScript writes the next. Every family's bulk
 * write goes this way: routes and neighbours (lib/netlink/bulk.ts) and the
 * conntrack flush's deletes (lib/conntrack/bulk-delete.ts); their refusals
 * come back by request index ({@link bulkFailures} in bulk.ts).
 * @module
 */
import { BULK_PART_BYTES } from './bulk-send';
import { NLM_F_ACK } from './constants';
import type { NetlinkCall } from './operation';
import { NetlinkWriter } from './writer';

/** A bulk call written part by part; a subclass says how to write the next part. */
export abstract class BulkCall implements NetlinkCall {
  readonly kind = 'bulk' as const;
  private first: Buffer | undefined;
  private whole: Buffer | undefined;

  constructor(readonly operation: string) {}

  /**
   * Writes the next part (whole requests, at most 64 KiB unless one request
   * is larger), or undefined after the last; with it the offset of the
   * call's last request when the part holds it (else -1).
   */
  protected abstract writePart(): [part: Buffer, lastRequest: number] | undefined;

  /**
   * The next part, or undefined after the last. The call's last request
   * carries NLM_F_ACK: its ack completes the call.
   */
  nextPart(): Buffer | undefined {
    const next = this.writePart();
    if (!next) return undefined;
    const [part, last] = next;
    if (last >= 0) part.writeUInt16LE(part.readUInt16LE(last + 6) | NLM_F_ACK, last + 6);
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

/** The bulk call of items that all passed the simple check: one request per item, in order. */
export class PartedBulkCall extends BulkCall {
  private cursor = 0;

  constructor(
    private readonly count: number,
    /** Writes item `index`'s request (the item was checked: it cannot fail). */
    private readonly encode: (w: NetlinkWriter, index: number) => void,
    operation: string,
  ) {
    super(operation);
  }

  protected writePart(): [Buffer, number] | undefined {
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
    return [w.written(), this.cursor === count ? w.messageOffsets[w.messageOffsets.length - 1] : -1];
  }
}
