/**
 * Sending a bulk call (a NetlinkCall of kind `bulk`): its requests go out in
 * parts of at most 64 KiB, split between messages, the way libmnl's callers
 * send them: one part carries ~1,500 route requests in one sendmsg, and
 * the kernel's answers to one part always fit the receive buffer before
 * they are read.
 * @module
 */
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
 * Sends the parts of a stamped bulk call on a blocking socket. The kernel
 * handles a part while it is sent, so its refusals are queued when send
 * returns: they are read before the next part (never too many for the
 * receive buffer); the caller then waits for the last request's ack.
 * `progress.sent` counts the requests handed to the kernel, also when a
 * send or a read throws (the parts after it are never sent).
 */
export function sendBulkSync(
  socket: { send(buf: Buffer): void; recv(timeout: number): Buffer },
  message: Buffer,
  feed: (buf: Buffer) => void,
  progress: { sent: number },
): void {
  for (const part of bulkParts(message)) {
    socket.send(message.subarray(part.start, part.end));
    progress.sent += part.messages;
    for (let buf = socket.recv(0); buf.length > 0; buf = socket.recv(0)) feed(buf);
  }
}

/**
 * Numbers and queues the parts of a call produced in parts
 * (NetlinkCall.nextPart) on an async socket, each before the next is
 * encoded: the I/O thread sends part k while part k+1 is written. Returns
 * the first and last sequence numbers and what stopped the sending, if
 * anything.
 */
export function sendParts(
  socket: { send(buf: Buffer, token: number, exclusive: boolean): void },
  call: { nextPart?(): Buffer | undefined },
  stamp: (part: Buffer) => [number, number],
): { first: number; last: number; failure: unknown } {
  let first = 0;
  let last = 0;
  try {
    for (let part = call.nextPart?.(); part; part = call.nextPart?.()) {
      const [f, l] = stamp(part);
      if (first === 0) first = f;
      last = l;
      socket.send(part, f, false);
    }
  } catch (failure) {
    return { first, last, failure };
  }
  return { first, last, failure: undefined };
}
