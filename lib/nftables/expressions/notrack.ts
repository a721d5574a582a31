/**
 * notrack: exempts the packet from connection tracking (raw-priority chains).
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

/** `notrack`: the packet bypasses connection tracking. */
export interface NotrackExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'notrack';
}

export const notrackCodec: ExpressionCodec<NotrackExpression> = {
  name: 'notrack',
  type: 'notrack',
  encode(w, e) {
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: NotrackExpression = { type: 'notrack' };
    setIf(e, 'unknownAttributes', unknownAttributes(a, []));
    return e;
  },
};
