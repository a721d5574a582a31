/**
 * tproxy: hands the packet to a local socket listening on the address and
 * port held in registers, without rewriting it (`tproxy ip to 127.0.0.1:8080`).
 * Prerouting only.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_TPROXY_FAMILY = 1;
const NFTA_TPROXY_REG_ADDR = 2;
const NFTA_TPROXY_REG_PORT = 3;
const KNOWN = [1, 2, 3];

/** Address family of the address register; `unspec` (inet tables, port only): the packet's own. */
export type TproxyFamily = 'unspec' | 'ip' | 'ip6';
export const TPROXY_FAMILIES = new NameTable<TproxyFamily>('tproxy family', [
  ['unspec', 0],
  ['ip', 2],
  ['ip6', 10],
]);

/** `tproxy`: diverts the packet to a local socket (address and/or port from registers). */
export interface TproxyExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'tproxy';
  /** Address family of the address register. */
  family: TproxyFamily | number;
  /** Register holding the address (default: the packet's destination). */
  regAddr?: number;
  /** Register holding the port (default: the packet's destination port). */
  regPort?: number;
}

export const tproxyCodec: ExpressionCodec<TproxyExpression> = {
  name: 'tproxy',
  type: 'tproxy',
  encode(w, e) {
    w.be32(NFTA_TPROXY_FAMILY, TPROXY_FAMILIES.number(e.family));
    if (e.regAddr !== undefined) w.be32(NFTA_TPROXY_REG_ADDR, e.regAddr);
    if (e.regPort !== undefined) w.be32(NFTA_TPROXY_REG_PORT, e.regPort);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: TproxyExpression = { type: 'tproxy', family: TPROXY_FAMILIES.name(be32Or0(a, NFTA_TPROXY_FAMILY)) };
    setIf(e, 'regAddr', a.be32(NFTA_TPROXY_REG_ADDR));
    setIf(e, 'regPort', a.be32(NFTA_TPROXY_REG_PORT));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
