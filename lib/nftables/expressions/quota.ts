/**
 * quota: matches until (or, inverted, after) a byte budget is used up.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_QUOTA_BYTES = 1;
const NFTA_QUOTA_FLAGS = 2;
const NFTA_QUOTA_CONSUMED = 4;
const NFT_QUOTA_F_INV = 1;
const NFT_QUOTA_F_DEPLETED = 2;
const KNOWN = [1, 2, 3, 4];

/** `quota`: matches until (or once, with `invert`) a byte quota is used up. */
export interface QuotaExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'quota';
  /** The quota in bytes. */
  bytes: bigint;
  /** Bytes used so far. */
  consumed?: bigint;
  /** Match once the quota is exceeded (`quota over`). */
  invert?: boolean;
  /** Reported by the kernel once the quota ran out. */
  depleted?: boolean;
}

export const quotaCodec: ExpressionCodec<QuotaExpression> = {
  name: 'quota',
  type: 'quota',
  encode(w, e) {
    w.be64(NFTA_QUOTA_BYTES, e.bytes);
    w.be32(NFTA_QUOTA_FLAGS, e.invert ? NFT_QUOTA_F_INV : 0);
    if (e.consumed !== undefined) w.be64(NFTA_QUOTA_CONSUMED, e.consumed);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: QuotaExpression = { type: 'quota', bytes: a.be64(NFTA_QUOTA_BYTES) ?? 0n };
    const flags = a.be32(NFTA_QUOTA_FLAGS) ?? 0;
    if (flags & NFT_QUOTA_F_INV) e.invert = true;
    if (flags & NFT_QUOTA_F_DEPLETED) e.depleted = true;
    setIf(e, 'consumed', a.be64(NFTA_QUOTA_CONSUMED));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
