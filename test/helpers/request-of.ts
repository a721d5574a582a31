// Runs an operation up to its first request of a message type and returns
// that request's bytes instead of sending it: for comparing nlkit's requests
// with what iproute2 sends (the fixtures captured by
// test/fixtures/capture-ip-requests.mjs).
import type { Operation } from '../../lib/netlink/operation';

/** The first request of `type` that `op` sends (the replies to earlier ones, name lookups, are the handle's). */
export function* requestOf(type: number, op: Operation<unknown>): Operation<Buffer> {
  let step = op.next();
  while (!step.done) {
    const s = step.value;
    if ('message' in s && s.message.readUInt16LE(4) === type) return Buffer.from(s.message);
    step = op.next(yield s);
  }
  throw new Error(`the operation sent no message of type ${type}`);
}

/** A request as the capture keeps it: NLM_F_ACK set (the connection sets it when sending, but on dumps), sequence and port id zeroed. */
export function asCaptured(request: Buffer): Buffer {
  const out = Buffer.from(request);
  const NLM_F_DUMP = 0x300;
  if ((out.readUInt16LE(6) & NLM_F_DUMP) !== NLM_F_DUMP) out.writeUInt16LE(out.readUInt16LE(6) | 4, 6);
  out.writeUInt32LE(0, 8);
  out.writeUInt32LE(0, 12);
  return out;
}
