/**
 * Sequence numbers of a call's messages: the connection numbers them
 * 1 … 0xfffffffe and wraps to 1 (never 0), so the messages of one call may
 * cross the wrap (a daemon's bulk calls reach it within days).
 * @module
 */

/** Whether `seq` lies in [first, last] of one call's messages, also across the wrap. */
export function seqInRange(seq: number, first: number, last: number): boolean {
  return first <= last ? seq >= first && seq <= last : seq >= first || seq <= last;
}

/** The index of message `seq` in a call whose first message is `first` (0, 1, …), also across the wrap. */
export function seqIndex(seq: number, first: number): number {
  return seq >= first ? seq - first : seq + 0xfffffffe - first;
}
