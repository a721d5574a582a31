/**
 * flow_offload: enters the packet's connection into a flowtable (`flow add
 * @ft`), whose fast path then carries its later packets.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { validateNftName } from '../../validate/names';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_FLOW_TABLE_NAME = 1;
const KNOWN = [1];

/** `flow add @name`: offload the connection to a flowtable of the rule's table. */
export interface FlowOffloadExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'flow_offload';
  /** The flowtable's name. */
  flowtable: string;
}

export const flowOffloadCodec: ExpressionCodec<FlowOffloadExpression> = {
  name: 'flow_offload',
  type: 'flow_offload',
  encode(w, e) {
    w.string(NFTA_FLOW_TABLE_NAME, validateNftName(e.flowtable, 'flowtable'));
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: FlowOffloadExpression = { type: 'flow_offload', flowtable: a.string(NFTA_FLOW_TABLE_NAME) ?? '' };
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
