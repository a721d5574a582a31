/**
 * Messages as a connection receives them: the header is read, the payload
 * stays where it is in the received buffer until someone asks for it. A dump
 * of 5,000 routes is 5,000 messages; a Buffer view each (what
 * {@link parseMessages} makes) cost more than decoding most of them, and hot
 * decoders read the bytes in place (`buffer`, `payloadStart`, `payloadEnd`).
 * @module
 */
import { NLMSG_HDRLEN, align4 } from './constants';
import type { NetlinkMessage } from './parser';

/** A received message whose payload view is made on first use. */
export class ReceivedMessage implements NetlinkMessage {
  private view: Buffer | undefined = undefined;

  constructor(
    public type: number,
    public flags: number,
    public seq: number,
    public pid: number,
    /** The buffer the message was received in (shared by every message of it). */
    readonly buffer: Buffer,
    /** Where the payload starts in `buffer`. */
    readonly payloadStart: number,
    /** Where it ends. */
    readonly payloadEnd: number,
  ) {}

  /** Everything after the 16-byte header (a view into `buffer`, made once). */
  get payload(): Buffer {
    return (this.view ??= this.buffer.subarray(this.payloadStart, this.payloadEnd));
  }
}

/**
 * {@link parseMessages} for the receive path: the same messages, each a
 * {@link ReceivedMessage}; a truncated tail is left out rather than misread.
 */
export function splitMessages(buf: Buffer): ReceivedMessage[] {
  const out: ReceivedMessage[] = [];
  let off = 0;
  const end = buf.length;
  while (off + NLMSG_HDRLEN <= end) {
    // Plain byte reads: this runs for every message of every dump.
    const len = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
    if (len < NLMSG_HDRLEN || off + len > end) break;
    out.push(
      new ReceivedMessage(
        buf[off + 4] | (buf[off + 5] << 8),
        buf[off + 6] | (buf[off + 7] << 8),
        (buf[off + 8] | (buf[off + 9] << 8) | (buf[off + 10] << 16) | (buf[off + 11] << 24)) >>> 0,
        (buf[off + 12] | (buf[off + 13] << 8) | (buf[off + 14] << 16) | (buf[off + 15] << 24)) >>> 0,
        buf,
        off + NLMSG_HDRLEN,
        off + len,
      ),
    );
    off += align4(len);
  }
  return out;
}
