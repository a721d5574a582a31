/**
 * reject: drops the packet and answers with an ICMP error or a TCP reset.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_REJECT_TYPE = 1;
const NFTA_REJECT_ICMP_CODE = 2;
const KNOWN = [1, 2];

/** How a rejected packet is answered. */
export type RejectType = 'icmp' | 'tcp reset' | 'icmpx';
export const REJECT_TYPES = new NameTable<RejectType>('reject type', [
  ['icmp', 0],
  ['tcp reset', 1],
  ['icmpx', 2],
]);

/** Codes of `reject with icmpx` (enum nft_reject_inet_code). */
export const ICMPX_CODES = new NameTable<'no-route' | 'port-unreachable' | 'host-unreachable' | 'admin-prohibited'>('icmpx code', [
  ['no-route', 0],
  ['port-unreachable', 1],
  ['host-unreachable', 2],
  ['admin-prohibited', 3],
]);

/** `reject`: drops the packet and answers with an ICMP error or a TCP reset. */
export interface RejectExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'reject';
  /** ICMP, ICMPX (inet) or TCP reset. */
  rejectType: RejectType | number;
  /** ICMP(v6) code for "icmp", an ICMPX code for "icmpx". */
  code?: number;
}

export const rejectCodec: ExpressionCodec<RejectExpression> = {
  name: 'reject',
  type: 'reject',
  encode(w, e) {
    w.be32(NFTA_REJECT_TYPE, REJECT_TYPES.number(e.rejectType));
    if (e.code !== undefined) w.u8(NFTA_REJECT_ICMP_CODE, e.code);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: RejectExpression = { type: 'reject', rejectType: REJECT_TYPES.name(be32Or0(a, NFTA_REJECT_TYPE)) };
    setIf(e, 'code', a.u8(NFTA_REJECT_ICMP_CODE));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
