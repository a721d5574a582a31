/**
 * nat: source or destination NAT to the address (range) and port (range)
 * held in registers — `snat to`, `dnat to`.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { familyName, familyNumber, type NftFamily } from '../message';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';
import { NAT_FLAGS, type NatFlag } from './nat-flags';

const NFTA_NAT_TYPE = 1;
const NFTA_NAT_FAMILY = 2;
const NFTA_NAT_REG_ADDR_MIN = 3;
const NFTA_NAT_REG_ADDR_MAX = 4;
const NFTA_NAT_REG_PROTO_MIN = 5;
const NFTA_NAT_REG_PROTO_MAX = 6;
const NFTA_NAT_FLAGS = 7;
const KNOWN = [1, 2, 3, 4, 5, 6, 7];

/** Source or destination NAT. */
export type NatType = 'snat' | 'dnat';
export const NAT_TYPES = new NameTable<NatType>('nat type', [
  ['snat', 0],
  ['dnat', 1],
]);

/** `nat`: source or destination NAT to addresses and ports held in registers. */
export interface NatExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'nat';
  /** snat or dnat. */
  nat: NatType;
  /** Address family of the registers: "ip" or "ip6". */
  family: NftFamily;
  /** Register holding the (first) address. */
  regAddrMin?: number;
  /** Register holding the last address of a range. */
  regAddrMax?: number;
  /** Register holding the (first) port. */
  regProtoMin?: number;
  /** Register holding the last port of a range. */
  regProtoMax?: number;
  /** NAT flags. */
  flags?: Array<NatFlag | (string & {})>;
}

export const natCodec: ExpressionCodec<NatExpression> = {
  name: 'nat',
  type: 'nat',
  encode(w, e) {
    w.be32(NFTA_NAT_TYPE, NAT_TYPES.number(e.nat));
    w.be32(NFTA_NAT_FAMILY, familyNumber(e.family));
    if (e.regAddrMin !== undefined) w.be32(NFTA_NAT_REG_ADDR_MIN, e.regAddrMin);
    if (e.regAddrMax !== undefined) w.be32(NFTA_NAT_REG_ADDR_MAX, e.regAddrMax);
    if (e.regProtoMin !== undefined) w.be32(NFTA_NAT_REG_PROTO_MIN, e.regProtoMin);
    if (e.regProtoMax !== undefined) w.be32(NFTA_NAT_REG_PROTO_MAX, e.regProtoMax);
    if (e.flags?.length) w.be32(NFTA_NAT_FLAGS, NAT_FLAGS.number(e.flags));
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: NatExpression = {
      type: 'nat',
      nat: NAT_TYPES.name(be32Or0(a, NFTA_NAT_TYPE)) as NatType,
      family: familyName(be32Or0(a, NFTA_NAT_FAMILY)),
    };
    setIf(e, 'regAddrMin', a.be32(NFTA_NAT_REG_ADDR_MIN));
    setIf(e, 'regAddrMax', a.be32(NFTA_NAT_REG_ADDR_MAX));
    setIf(e, 'regProtoMin', a.be32(NFTA_NAT_REG_PROTO_MIN));
    setIf(e, 'regProtoMax', a.be32(NFTA_NAT_REG_PROTO_MAX));
    const flags = a.be32(NFTA_NAT_FLAGS);
    if (flags) e.flags = NAT_FLAGS.names(flags);
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
