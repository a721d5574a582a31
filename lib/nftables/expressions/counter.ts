/**
 * counter: counts packets and bytes that reach it.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { validateCounterValue } from '../ranges';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_COUNTER_BYTES = 1;
const NFTA_COUNTER_PACKETS = 2;
const KNOWN = [1, 2, 3];

/** `counter`: counts packets and bytes. */
export interface CounterExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'counter';
  /** Current values when listed; starting values when written (default 0). */
  packets?: bigint;
  /** Current byte count when listed; starting value when written (default 0). */
  bytes?: bigint;
}

export const counterCodec: ExpressionCodec<CounterExpression> = {
  name: 'counter',
  type: 'counter',
  encode(w, e) {
    // Checked first: a negative start failed as a RangeError half-way through the message.
    if (e.bytes !== undefined) validateCounterValue(e.bytes, 'counter bytes');
    if (e.packets !== undefined) validateCounterValue(e.packets, 'counter packets');
    if (e.bytes !== undefined) w.be64(NFTA_COUNTER_BYTES, e.bytes);
    if (e.packets !== undefined) w.be64(NFTA_COUNTER_PACKETS, e.packets);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: CounterExpression = { type: 'counter' };
    setIf(e, 'packets', a.be64(NFTA_COUNTER_PACKETS));
    setIf(e, 'bytes', a.be64(NFTA_COUNTER_BYTES));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
