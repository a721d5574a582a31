/**
 * limit: token-bucket rate limit in packets or bytes per time unit; the rule
 * stops for packets over the limit (or under it, when inverted).
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_LIMIT_RATE = 1;
const NFTA_LIMIT_UNIT = 2;
const NFTA_LIMIT_BURST = 3;
const NFTA_LIMIT_TYPE = 4;
const NFTA_LIMIT_FLAGS = 5;
const NFT_LIMIT_F_INV = 1;
const KNOWN = [1, 2, 3, 4, 5, 6];

/** What a limit counts. */
export type LimitType = 'packets' | 'bytes';
export const LIMIT_TYPES = new NameTable<LimitType>('limit type', [
  ['packets', 0],
  ['bytes', 1],
]);

/** Time units nft names, in seconds. */
export const LIMIT_UNITS = new NameTable<'second' | 'minute' | 'hour' | 'day' | 'week'>('limit unit', [
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86400],
  ['week', 604800],
]);

/** `limit`: matches while traffic stays within a rate. */
export interface LimitExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'limit';
  /** Packets (or bytes) per unit. */
  rate: number;
  /** The unit in seconds (1 = per second, 60 = per minute, ...). */
  unit: number;
  /** Packets (or bytes) allowed above the rate in a burst. */
  burst: number;
  /** Packets or bytes. */
  limitType: LimitType | number;
  /** Match packets over the limit instead (`limit rate over`). */
  invert?: boolean;
}

export const limitCodec: ExpressionCodec<LimitExpression> = {
  name: 'limit',
  type: 'limit',
  encode(w, e) {
    w.be64(NFTA_LIMIT_RATE, BigInt(e.rate));
    w.be64(NFTA_LIMIT_UNIT, BigInt(e.unit));
    w.be32(NFTA_LIMIT_BURST, e.burst);
    w.be32(NFTA_LIMIT_TYPE, LIMIT_TYPES.number(e.limitType));
    w.be32(NFTA_LIMIT_FLAGS, e.invert ? NFT_LIMIT_F_INV : 0);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: LimitExpression = {
      type: 'limit',
      rate: Number(a.be64(NFTA_LIMIT_RATE) ?? 0n),
      unit: Number(a.be64(NFTA_LIMIT_UNIT) ?? 0n),
      burst: be32Or0(a, NFTA_LIMIT_BURST),
      limitType: LIMIT_TYPES.name(be32Or0(a, NFTA_LIMIT_TYPE)),
    };
    if ((a.be32(NFTA_LIMIT_FLAGS) ?? 0) & NFT_LIMIT_F_INV) e.invert = true;
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
