/**
 * byteorder: converts a register between host and network byte order
 * (numgen results feeding big-endian map keys).
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_BYTEORDER_SREG = 1;
const NFTA_BYTEORDER_DREG = 2;
const NFTA_BYTEORDER_OP = 3;
const NFTA_BYTEORDER_LEN = 4;
const NFTA_BYTEORDER_SIZE = 5;
const KNOWN = [1, 2, 3, 4, 5];

/** Byte-order conversion: network to host or back. */
export type ByteorderOp = 'ntoh' | 'hton';
export const BYTEORDER_OPS = new NameTable<ByteorderOp>('byteorder operation', [
  ['ntoh', 0],
  ['hton', 1],
]);

/** `byteorder`: converts a register between network and host byte order. */
export interface ByteorderExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'byteorder';
  /** Source register. */
  sreg: number;
  /** Destination register. */
  dreg: number;
  /** Direction of the conversion. */
  op: ByteorderOp | number;
  /** Total bytes converted. */
  len: number;
  /** Size of each converted word: 2, 4 or 8. */
  size: number;
}

export const byteorderCodec: ExpressionCodec<ByteorderExpression> = {
  name: 'byteorder',
  type: 'byteorder',
  encode(w, e) {
    w.be32(NFTA_BYTEORDER_SREG, e.sreg);
    w.be32(NFTA_BYTEORDER_DREG, e.dreg);
    w.be32(NFTA_BYTEORDER_OP, BYTEORDER_OPS.number(e.op));
    w.be32(NFTA_BYTEORDER_LEN, e.len);
    w.be32(NFTA_BYTEORDER_SIZE, e.size);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: ByteorderExpression = {
      type: 'byteorder',
      sreg: be32Or0(a, NFTA_BYTEORDER_SREG),
      dreg: be32Or0(a, NFTA_BYTEORDER_DREG),
      op: BYTEORDER_OPS.name(be32Or0(a, NFTA_BYTEORDER_OP)),
      len: be32Or0(a, NFTA_BYTEORDER_LEN),
      size: be32Or0(a, NFTA_BYTEORDER_SIZE),
    };
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
