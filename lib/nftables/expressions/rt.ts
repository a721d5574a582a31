/**
 * rt: loads a property of the packet's route (`rt mtu`, `rt ip nexthop`,
 * `rt classid`, `rt ipsec exists`). Needs a route: forward, output and
 * postrouting chains.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_RT_DREG = 1;
const NFTA_RT_KEY = 2;
const KNOWN = [1, 2];

/** Route property: realm, IPv4/IPv6 next hop, TCP MSS from the path MTU, whether IPsec applies. */
export type RtKey = 'classid' | 'nexthop4' | 'nexthop6' | 'tcpmss' | 'xfrm';
export const RT_KEYS = new NameTable<RtKey>('rt key', [
  ['classid', 0],
  ['nexthop4', 1],
  ['nexthop6', 2],
  ['tcpmss', 3],
  ['xfrm', 4],
]);

/** `rt`: a property of the packet's route into a register. */
export interface RtExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'rt';
  /** Route property. */
  key: RtKey | number;
  /** Destination register. */
  dreg: number;
}

export const rtCodec: ExpressionCodec<RtExpression> = {
  name: 'rt',
  type: 'rt',
  encode(w, e) {
    w.be32(NFTA_RT_KEY, RT_KEYS.number(e.key));
    w.be32(NFTA_RT_DREG, e.dreg);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: RtExpression = { type: 'rt', key: RT_KEYS.name(be32Or0(a, NFTA_RT_KEY)), dreg: be32Or0(a, NFTA_RT_DREG) };
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
