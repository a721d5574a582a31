/**
 * range: tests `from <= register <= to` (or its negation), comparing bytes
 * as big-endian numbers — port ranges like `tcp dport 1000-2000 != ...`.
 * @module
 */
import { readValue, unknownAttributes, writeRawAttributes, writeValue } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_RANGE_SREG = 1;
const NFTA_RANGE_OP = 2;
const NFTA_RANGE_FROM_DATA = 3;
const NFTA_RANGE_TO_DATA = 4;
const KNOWN = [1, 2, 3, 4];

/** Inside (eq) or outside (neq) the range. */
export type RangeOp = 'eq' | 'neq';
export const RANGE_OPS = new NameTable<RangeOp>('range operator', [
  ['eq', 0],
  ['neq', 1],
]);

/** `range`: matches a register against an inclusive range. */
export interface RangeExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'range';
  /** Register compared. */
  sreg: number;
  /** Inside or outside the range. */
  op: RangeOp | number;
  /** First value, in the register's byte order. */
  from: Buffer;
  /** Last value, in the register's byte order. */
  to: Buffer;
}

export const rangeCodec: ExpressionCodec<RangeExpression> = {
  name: 'range',
  type: 'range',
  encode(w, e) {
    w.be32(NFTA_RANGE_SREG, e.sreg);
    w.be32(NFTA_RANGE_OP, RANGE_OPS.number(e.op));
    writeValue(w, NFTA_RANGE_FROM_DATA, e.from);
    writeValue(w, NFTA_RANGE_TO_DATA, e.to);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: RangeExpression = {
      type: 'range',
      sreg: be32Or0(a, NFTA_RANGE_SREG),
      op: RANGE_OPS.name(be32Or0(a, NFTA_RANGE_OP)),
      from: readValue(a.nested(NFTA_RANGE_FROM_DATA)),
      to: readValue(a.nested(NFTA_RANGE_TO_DATA)),
    };
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
