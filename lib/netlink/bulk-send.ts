/**
 * Sending a bulk call (a NetlinkCall of kind `bulk`): its requests go out in
 * parts of at most 64 KiB, split between messages, the way libmnl's callers
 * send them. One part carries ~1,500 route requests in one sendmsg, and the
 * acks of one part always fit the receive buffer before they are read.
 * @module
 */
import type { PendingRequest } from './request-tracker';

/** Largest part sent in one datagram (the I/O thread coalesces up to the same size). */
export const BULK_PART_BYTES = 64 * 1024;

/** A part of a bulk call: bytes [start, end) holding `messages` requests. */
export interface BulkPart {
  start: number;
  end: number;
  messages: number;
}

/** Splits back-to-back messages into parts of at most `max` bytes (a larger message is a part of its own). */
export function bulkParts(buf: Buffer, max = BULK_PART_BYTES): BulkPart[] {
  const parts: BulkPart[] = [];
  let start = 0;
  let messages = 0;
  let off = 0;
  while (off + 16 <= buf.length) {
    const next = off + ((Math.max(buf.readUInt32LE(off), 16) + 3) & ~3);
    if (off > start && next - start > max) {
      parts.push({ start, end: off, messages });
      start = off;
      messages = 0;
    }
    messages++;
    off = next;
  }
  if (messages > 0) parts.push({ start, end: Math.min(off, buf.length), messages });
  return parts;
}

/**
 * Queues the parts of a stamped bulk call on an async socket; each part's
 * token is the sequence number of its first message (a send error names it).
 */
export function sendBulk(socket: { send(buf: Buffer, token: number, exclusive: boolean): void }, message: Buffer): void {
  for (const part of bulkParts(message)) socket.send(message.subarray(part.start, part.end), message.readUInt32LE(part.start + 8), false);
}

/**
 * Sends the parts of a stamped bulk call on a blocking socket, reading the
 * answers to each part before sending the next (so they never overflow the
 * receive buffer); the caller reads the last part's answers.
 */
export function sendBulkSync(
  socket: { send(buf: Buffer): void; recv(timeout: number): Buffer },
  message: Buffer,
  p: PendingRequest,
  feed: (buf: Buffer) => void,
): void {
  let sent = 0;
  for (const part of bulkParts(message)) {
    while (!p.settled && p.acked < sent) feed(socket.recv(-1));
    socket.send(message.subarray(part.start, part.end));
    sent += part.messages;
  }
}
