/**
 * numgen: a number in [offset, offset + modulus) per packet, random or
 * round-robin — the key of weighted load-balancing maps.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_NG_DREG = 1;
const NFTA_NG_MODULUS = 2;
const NFTA_NG_TYPE = 3;
const NFTA_NG_OFFSET = 4;
const KNOWN = [1, 2, 3, 4];

/** How numgen generates numbers. */
export type NumgenMode = 'incremental' | 'random';
export const NUMGEN_MODES = new NameTable<NumgenMode>('numgen mode', [
  ['incremental', 0],
  ['random', 1],
]);

/** `numgen`: a number per packet, incremental or random, modulo `modulus` (load balancing). */
export interface NumgenExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'numgen';
  /** Destination register. */
  dreg: number;
  /** Incremental or random. */
  mode: NumgenMode | number;
  /** Numbers are 0 to modulus-1 (plus `offset`). */
  modulus: number;
  /** Added to the result; the kernel always reports it (0 by default). */
  offset?: number;
}

export const numgenCodec: ExpressionCodec<NumgenExpression> = {
  name: 'numgen',
  type: 'numgen',
  encode(w, e) {
    w.be32(NFTA_NG_DREG, e.dreg);
    w.be32(NFTA_NG_MODULUS, e.modulus);
    w.be32(NFTA_NG_TYPE, NUMGEN_MODES.number(e.mode));
    if (e.offset !== undefined) w.be32(NFTA_NG_OFFSET, e.offset);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: NumgenExpression = {
      type: 'numgen',
      dreg: be32Or0(a, NFTA_NG_DREG),
      mode: NUMGEN_MODES.name(be32Or0(a, NFTA_NG_TYPE)),
      modulus: be32Or0(a, NFTA_NG_MODULUS),
    };
    setIf(e, 'offset', a.be32(NFTA_NG_OFFSET));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
