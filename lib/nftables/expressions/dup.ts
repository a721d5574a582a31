/**
 * dup: sends a copy of the packet to an address (via a device) held in
 * registers (`dup to 10.0.0.1 device "eth1"`; netdev: `dup to "eth1"`).
 * ip, ip6 and netdev tables.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_DUP_SREG_ADDR = 1;
const NFTA_DUP_SREG_DEV = 2;
const KNOWN = [1, 2];

/** `dup`: duplicates the packet to the gateway address and/or device (interface index) in registers. */
export interface DupExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'dup';
  /** Register holding the gateway address. */
  regAddr?: number;
  /** Register holding the output interface index. */
  regDev?: number;
}

export const dupCodec: ExpressionCodec<DupExpression> = {
  name: 'dup',
  type: 'dup',
  encode(w, e) {
    if (e.regAddr !== undefined) w.be32(NFTA_DUP_SREG_ADDR, e.regAddr);
    if (e.regDev !== undefined) w.be32(NFTA_DUP_SREG_DEV, e.regDev);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: DupExpression = { type: 'dup' };
    setIf(e, 'regAddr', a.be32(NFTA_DUP_SREG_ADDR));
    setIf(e, 'regDev', a.be32(NFTA_DUP_SREG_DEV));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
