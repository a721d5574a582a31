/**
 * DNS over TCP frames each message with a two-byte length (RFC 1035 4.2.2).
 * @module
 */
import type * as net from 'node:net';

/** The message with its length prefix. */
export function frame(message: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(message.length);
  return Buffer.concat([len, message]);
}

/** Calls `onMessage` for each complete message arriving on the socket. */
export function readFrames(socket: net.Socket, onMessage: (message: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < 2 + len) break;
      const message = pending.subarray(2, 2 + len);
      pending = pending.subarray(2 + len);
      onMessage(message);
    }
  });
}
