/**
 * Sequence numbers of a call's messages: the connection numbers them
 * 1 … 0xfffffffe and wraps to 1 (never 0), so the messages of one call may
 * cross the wrap (a daemon's bulk calls reach it within days).
 * @module
 */
import { NLM_F_ACK } from './constants';

/** Numbers the messages a connection sends. */
export class SequenceCounter {
  private seq = 0;

  /**
   * Numbers every message of `buf` in place and sets NLM_F_ACK on each
   * (`all`: an ack call), on the last only (`last`: a bulk call, see
   * NetlinkCall) or on none; returns the first and last sequence numbers.
   */
  stamp(buf: Buffer, ack: 'all' | 'last' | 'none'): [number, number] {
    let first = 0;
    let last = 0;
    let off = 0;
    let seq = this.seq;
    const n = buf.length;
    // Byte loads and stores, not readUInt32LE & co.: a group of a fresh process's route churn has
    // ~1,500 messages, stamped before V8 has optimised anything (each Buffer method is a call).
    while (off + 16 <= n) {
      const len = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
      seq = seq >= 0xfffffffe ? 1 : seq + 1;
      buf[off + 8] = seq & 0xff;
      buf[off + 9] = (seq >>> 8) & 0xff;
      buf[off + 10] = (seq >>> 16) & 0xff;
      buf[off + 11] = seq >>> 24;
      const next = off + ((len + 3) & ~3);
      if (ack === 'all' || (ack === 'last' && next >= n)) buf[off + 6] |= NLM_F_ACK; // the flags' low byte
      if (first === 0) first = seq;
      last = seq;
      if (len < 16) break;
      off = next;
    }
    this.seq = seq;
    return [first, last];
  }
}

/** Whether `seq` lies in [first, last] of one call's messages, also across the wrap. */
export function seqInRange(seq: number, first: number, last: number): boolean {
  return first <= last ? seq >= first && seq <= last : seq >= first || seq <= last;
}

/** The index of message `seq` in a call whose first message is `first` (0, 1, …), also across the wrap. */
export function seqIndex(seq: number, first: number): number {
  return seq >= first ? seq - first : seq + 0xfffffffe - first;
}
