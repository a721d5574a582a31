/**
 * last: remembers when a packet last reached it (`last used never`,
 * `last used 1s`). Listed rules carry the time since that packet, and
 * re-adding one keeps it (the kernel takes NFTA_LAST_MSECS as "this long ago").
 * @module
 */
import { validateInteger } from '../../validate/integers';
import { unknownAttributes, writeRawAttributes } from '../data';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_LAST_SET = 1;
const NFTA_LAST_MSECS = 2;
const KNOWN = [1, 2, 3]; // 3: NFTA_LAST_PAD

/** `last`: when a packet last reached this point of the rule. */
export interface LastExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'last';
  /** Milliseconds since the last packet; absent: never used. */
  used?: number;
}

export const lastCodec: ExpressionCodec<LastExpression> = {
  name: 'last',
  type: 'last',
  encode(w, e) {
    // nft writes both, time first, also for `last used never` (0, unset).
    w.be64(NFTA_LAST_MSECS, BigInt(e.used === undefined ? 0 : validateInteger(e.used, 'last used', 0, Number.MAX_SAFE_INTEGER)));
    w.be32(NFTA_LAST_SET, e.used === undefined ? 0 : 1);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: LastExpression = { type: 'last' };
    if (a.be32(NFTA_LAST_SET)) e.used = Number(a.be64(NFTA_LAST_MSECS) ?? 0n);
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
