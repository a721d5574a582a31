/**
 * fwd: sends the packet out of the device held in a register, from the
 * netdev ingress hook (`fwd to "eth1"`), optionally to a neighbour address
 * (`fwd ip to 10.0.0.1 device "eth1"`).
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_FWD_SREG_DEV = 1;
const NFTA_FWD_SREG_ADDR = 2;
const NFTA_FWD_NFPROTO = 3;
const KNOWN = [1, 2, 3];

/** Address family of the neighbour address. */
export type FwdFamily = 'ip' | 'ip6';
export const FWD_FAMILIES = new NameTable<FwdFamily>('fwd family', [
  ['ip', 2],
  ['ip6', 10],
]);

/** `fwd`: forwards the packet out of a device (interface index in a register), optionally to a neighbour. */
export interface FwdExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'fwd';
  /** Register holding the output interface index. */
  regDev: number;
  /** Register holding the neighbour address. */
  regAddr?: number;
  /** Family of that address (with regAddr). */
  family?: FwdFamily | number;
}

export const fwdCodec: ExpressionCodec<FwdExpression> = {
  name: 'fwd',
  type: 'fwd',
  encode(w, e) {
    w.be32(NFTA_FWD_SREG_DEV, e.regDev);
    if (e.regAddr !== undefined) w.be32(NFTA_FWD_SREG_ADDR, e.regAddr);
    if (e.family !== undefined) w.be32(NFTA_FWD_NFPROTO, FWD_FAMILIES.number(e.family));
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: FwdExpression = { type: 'fwd', regDev: a.be32(NFTA_FWD_SREG_DEV) ?? 0 };
    setIf(e, 'regAddr', a.be32(NFTA_FWD_SREG_ADDR));
    const family = a.be32(NFTA_FWD_NFPROTO);
    if (family !== undefined) e.family = FWD_FAMILIES.name(family);
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
