// The connection numbers each message of a call in place (lib/netlink/sequence.ts):
// consecutive sequence numbers across the wrap (0xfffffffe → 1, never 0), and
// NLM_F_ACK on every message, on the last only, or on none.
import { describe, expect, it } from 'vitest';
import { NLM_F_ACK } from '../../lib/netlink/constants';
import { SequenceCounter } from '../../lib/netlink/sequence';
import { NetlinkWriter } from '../../lib/netlink/writer';

/** Three messages of 20, 36 and 20 bytes, with flags 0x300 | NLM_F_REQUEST. */
function messages(): Buffer {
  const w = new NetlinkWriter();
  w.begin(0x10, 0x300).struct(4);
  w.end().begin(0x11, 0x300).struct(20);
  w.end().begin(0x12, 0x300).bytes(Uint8Array.of(7));
  return Buffer.from(w.end().finish());
}

const seqs = (b: Buffer) => [0, 20, 56].map((off) => b.readUInt32LE(off + 8));
const acked = (b: Buffer) => [0, 20, 56].map((off) => (b.readUInt16LE(off + 6) & NLM_F_ACK) !== 0);

describe('sequence numbers of a call', () => {
  it('numbers every message and sets NLM_F_ACK on all, the last or none, keeping the other flags', () => {
    const c = new SequenceCounter();
    const all = messages();
    expect(c.stamp(all, 'all')).toEqual([1, 3]);
    expect([seqs(all), acked(all)]).toEqual([
      [1, 2, 3],
      [true, true, true],
    ]);
    const last = messages();
    expect(c.stamp(last, 'last')).toEqual([4, 6]);
    expect([seqs(last), acked(last)]).toEqual([
      [4, 5, 6],
      [false, false, true],
    ]);
    const none = messages();
    expect(c.stamp(none, 'none')).toEqual([7, 9]);
    expect(acked(none)).toEqual([false, false, false]);
    expect([0, 20, 56].map((off) => none.readUInt16LE(off + 6) & ~NLM_F_ACK)).toEqual([0x301, 0x301, 0x301]);
    expect([0, 20, 56].map((off) => last.readUInt32LE(off))).toEqual([20, 36, 20]); // lengths untouched
  });

  it('wraps from 0xfffffffe to 1 inside one call', () => {
    const c = new SequenceCounter();
    (c as unknown as { seq: number }).seq = 0xfffffffd;
    const b = messages();
    expect(c.stamp(b, 'last')).toEqual([0xfffffffe, 2]);
    expect(seqs(b)).toEqual([0xfffffffe, 1, 2]);
  });
});
