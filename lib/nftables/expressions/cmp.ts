/**
 * cmp: compares a register with constant bytes; the rule stops here when the
 * comparison is false.
 * @module
 */
import { readValue, unknownAttributes, writeRawAttributes, writeValue } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_CMP_SREG = 1;
const NFTA_CMP_OP = 2;
const NFTA_CMP_DATA = 3;
const KNOWN = [1, 2, 3];

/** Comparison operator. */
export type CmpOp = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte';
export const CMP_OPS = new NameTable<CmpOp>('cmp operator', [
  ['eq', 0],
  ['neq', 1],
  ['lt', 2],
  ['lte', 3],
  ['gt', 4],
  ['gte', 5],
]);

/** `cmp`: compares a register with a constant; the rule stops when it does not hold. */
export interface CmpExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'cmp';
  /** Register compared. */
  sreg: number;
  /** Comparison operator. */
  op: CmpOp | number;
  /** The constant, in the register's byte order (network order for header fields). */
  data: Buffer;
}

export const cmpCodec: ExpressionCodec<CmpExpression> = {
  name: 'cmp',
  type: 'cmp',
  encode(w, e) {
    w.be32(NFTA_CMP_SREG, e.sreg);
    w.be32(NFTA_CMP_OP, CMP_OPS.number(e.op));
    writeValue(w, NFTA_CMP_DATA, e.data);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: CmpExpression = {
      type: 'cmp',
      sreg: be32Or0(a, NFTA_CMP_SREG),
      op: CMP_OPS.name(be32Or0(a, NFTA_CMP_OP)),
      data: readValue(a.nested(NFTA_CMP_DATA)),
    };
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
