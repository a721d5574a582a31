/**
 * immediate: puts a constant into a register — a verdict into register 0
 * (accept, drop, jump, goto, return, continue) or bytes into a data register
 * (NAT addresses, a mark to set).
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { readData, unknownAttributes, writeRawAttributes, writeValue, writeVerdict, type Verdict } from '../data';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_IMMEDIATE_DREG = 1;
const NFTA_IMMEDIATE_DATA = 2;
const KNOWN = [1, 2];

/** `immediate`: loads a constant or a verdict into a register. */
export interface ImmediateExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'immediate';
  /** 0 (the verdict register) for verdicts. */
  dreg: number;
  /** Bytes for a data register. */
  data?: Buffer;
  /** A verdict for register 0. */
  verdict?: Verdict;
}

export const immediateCodec: ExpressionCodec<ImmediateExpression> = {
  name: 'immediate',
  type: 'immediate',
  encode(w, e) {
    if ((e.data === undefined) === (e.verdict === undefined)) throw new ValidationError('immediate', e, 'needs exactly one of data or verdict');
    w.be32(NFTA_IMMEDIATE_DREG, e.dreg);
    if (e.verdict) writeVerdict(w, NFTA_IMMEDIATE_DATA, e.verdict);
    else if (e.data !== undefined) writeValue(w, NFTA_IMMEDIATE_DATA, e.data);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: ImmediateExpression = { type: 'immediate', dreg: be32Or0(a, NFTA_IMMEDIATE_DREG) };
    const d = readData(a.nested(NFTA_IMMEDIATE_DATA));
    setIf(e, 'data', d.value);
    setIf(e, 'verdict', d.verdict);
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
