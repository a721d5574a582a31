/**
 * bitwise: `dreg = (sreg & mask) ^ xor` (prefix matches, flag tests), or a
 * shift of the register by `data` bits.
 * @module
 */
import { readData, unknownAttributes, writeRawAttributes, writeValue } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_BITWISE_SREG = 1;
const NFTA_BITWISE_DREG = 2;
const NFTA_BITWISE_LEN = 3;
const NFTA_BITWISE_MASK = 4;
const NFTA_BITWISE_XOR = 5;
const NFTA_BITWISE_OP = 6;
const NFTA_BITWISE_DATA = 7;
const KNOWN = [1, 2, 3, 4, 5, 6, 7];

/** Bitwise operation. */
export type BitwiseOp = 'mask-xor' | 'lshift' | 'rshift';
export const BITWISE_OPS = new NameTable<BitwiseOp>('bitwise operation', [
  ['mask-xor', 0],
  ['lshift', 1],
  ['rshift', 2],
]);

/** `bitwise`: masks/xors or shifts a register (`ct state & established`). */
export interface BitwiseExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'bitwise';
  /** Source register. */
  sreg: number;
  /** Destination register. */
  dreg: number;
  /** Bytes operated on. */
  len: number;
  /** Absent means mask-xor (the kernel's default, and what it reports). */
  op?: BitwiseOp | number;
  /** mask-xor operands, `len` bytes each. */
  mask?: Buffer;
  /** mask-xor: the xor operand. */
  xor?: Buffer;
  /** Shift amount for lshift/rshift (a 4-byte host-order value). */
  data?: Buffer;
}

export const bitwiseCodec: ExpressionCodec<BitwiseExpression> = {
  name: 'bitwise',
  type: 'bitwise',
  encode(w, e) {
    w.be32(NFTA_BITWISE_SREG, e.sreg);
    w.be32(NFTA_BITWISE_DREG, e.dreg);
    w.be32(NFTA_BITWISE_LEN, e.len);
    if (e.op !== undefined) w.be32(NFTA_BITWISE_OP, BITWISE_OPS.number(e.op));
    if (e.mask) writeValue(w, NFTA_BITWISE_MASK, e.mask);
    if (e.xor) writeValue(w, NFTA_BITWISE_XOR, e.xor);
    if (e.data) writeValue(w, NFTA_BITWISE_DATA, e.data);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: BitwiseExpression = {
      type: 'bitwise',
      sreg: be32Or0(a, NFTA_BITWISE_SREG),
      dreg: be32Or0(a, NFTA_BITWISE_DREG),
      len: be32Or0(a, NFTA_BITWISE_LEN),
    };
    const op = a.be32(NFTA_BITWISE_OP);
    if (op !== undefined) e.op = BITWISE_OPS.name(op);
    setIf(e, 'mask', readData(a.nested(NFTA_BITWISE_MASK)).value);
    setIf(e, 'xor', readData(a.nested(NFTA_BITWISE_XOR)).value);
    setIf(e, 'data', readData(a.nested(NFTA_BITWISE_DATA)).value);
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
