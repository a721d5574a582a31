/**
 * masq: source NAT to the address of the outgoing interface (`masquerade`),
 * optionally to a port range held in registers.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';
import { NAT_FLAGS, type NatFlag } from './nat-flags';

const NFTA_MASQ_FLAGS = 1;
const NFTA_MASQ_REG_PROTO_MIN = 2;
const NFTA_MASQ_REG_PROTO_MAX = 3;
const KNOWN = [1, 2, 3];

/** `masq`: source NAT to the output interface's address. */
export interface MasqExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'masq';
  /** NAT flags ("random", "persistent", ...). */
  flags?: Array<NatFlag | (string & {})>;
  /** Register holding the first port of the port range. */
  regProtoMin?: number;
  /** Register holding the last port of the port range. */
  regProtoMax?: number;
}

export const masqCodec: ExpressionCodec<MasqExpression> = {
  name: 'masq',
  type: 'masq',
  encode(w, e) {
    if (e.flags?.length) w.be32(NFTA_MASQ_FLAGS, NAT_FLAGS.number(e.flags));
    if (e.regProtoMin !== undefined) w.be32(NFTA_MASQ_REG_PROTO_MIN, e.regProtoMin);
    if (e.regProtoMax !== undefined) w.be32(NFTA_MASQ_REG_PROTO_MAX, e.regProtoMax);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: MasqExpression = { type: 'masq' };
    const flags = a.be32(NFTA_MASQ_FLAGS);
    if (flags) e.flags = NAT_FLAGS.names(flags);
    setIf(e, 'regProtoMin', a.be32(NFTA_MASQ_REG_PROTO_MIN));
    setIf(e, 'regProtoMax', a.be32(NFTA_MASQ_REG_PROTO_MAX));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
