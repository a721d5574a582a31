/**
 * connlimit: matches on the number of tracked connections of the packet's
 * flow key (`ct count over 10`; usually in a set element, keyed by address).
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_CONNLIMIT_COUNT = 1;
const NFTA_CONNLIMIT_FLAGS = 2;
const KNOWN = [1, 2];
const NFT_CONNLIMIT_F_INV = 1;

/** `connlimit`: `ct count 10` matches while at most 10 connections exist; `invert`: `ct count over 10`. */
export interface ConnlimitExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'connlimit';
  /** Connection count limit. */
  count: number;
  /** Match when the count is over the limit. */
  invert?: boolean;
}

export const connlimitCodec: ExpressionCodec<ConnlimitExpression> = {
  name: 'connlimit',
  type: 'connlimit',
  encode(w, e) {
    w.be32(NFTA_CONNLIMIT_COUNT, e.count);
    w.be32(NFTA_CONNLIMIT_FLAGS, e.invert ? NFT_CONNLIMIT_F_INV : 0);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: ConnlimitExpression = { type: 'connlimit', count: be32Or0(a, NFTA_CONNLIMIT_COUNT) };
    if (be32Or0(a, NFTA_CONNLIMIT_FLAGS) & NFT_CONNLIMIT_F_INV) e.invert = true;
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
