/**
 * lookup: tests whether the register is in a set (`ip saddr @allowed`), or
 * for maps loads the mapped data/verdict into `dreg` (`vmap`, `dnat to ... map`).
 * @module
 */
import { validateNftName } from '../../validate/names';
import { unknownAttributes, writeRawAttributes } from '../data';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_LOOKUP_SET = 1;
const NFTA_LOOKUP_SREG = 2;
const NFTA_LOOKUP_DREG = 3;
const NFTA_LOOKUP_SET_ID = 4;
const NFTA_LOOKUP_FLAGS = 5;
const NFT_LOOKUP_F_INV = 1;
const KNOWN = [1, 2, 3, 4, 5];

/** `lookup`: matches a register against a set, or maps it through a map. */
export interface LookupExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'lookup';
  /** Set name ("__set%d" for an anonymous set created in the same transaction). */
  set: string;
  /** NFTA_SET_ID of a set created in the same transaction. */
  setId?: number;
  /** Register holding the key. */
  sreg: number;
  /** For maps: where the mapped value goes (0 for verdict maps). */
  dreg?: number;
  /** Match when the key is NOT in the set. */
  invert?: boolean;
  /** Flag bits nlkit has no name for. */
  otherFlags?: number;
}

export const lookupCodec: ExpressionCodec<LookupExpression> = {
  name: 'lookup',
  type: 'lookup',
  encode(w, e) {
    w.string(NFTA_LOOKUP_SET, validateNftName(e.set, 'lookup set'));
    if (e.setId !== undefined) w.be32(NFTA_LOOKUP_SET_ID, e.setId);
    w.be32(NFTA_LOOKUP_SREG, e.sreg);
    if (e.dreg !== undefined) w.be32(NFTA_LOOKUP_DREG, e.dreg);
    const flags = (e.invert ? NFT_LOOKUP_F_INV : 0) | (e.otherFlags ?? 0);
    if (flags) w.be32(NFTA_LOOKUP_FLAGS, flags);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: LookupExpression = { type: 'lookup', set: a.string(NFTA_LOOKUP_SET) ?? '', sreg: be32Or0(a, NFTA_LOOKUP_SREG) };
    setIf(e, 'setId', a.be32(NFTA_LOOKUP_SET_ID));
    setIf(e, 'dreg', a.be32(NFTA_LOOKUP_DREG));
    const flags = a.be32(NFTA_LOOKUP_FLAGS) ?? 0;
    if (flags & NFT_LOOKUP_F_INV) e.invert = true;
    if (flags & ~NFT_LOOKUP_F_INV) e.otherFlags = flags & ~NFT_LOOKUP_F_INV;
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
