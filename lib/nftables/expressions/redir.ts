/**
 * redir: destination NAT to the local machine (`redirect to :port`), the
 * port range held in registers.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';
import { NAT_FLAGS, type NatFlag } from './nat-flags';

const NFTA_REDIR_REG_PROTO_MIN = 1;
const NFTA_REDIR_REG_PROTO_MAX = 2;
const NFTA_REDIR_FLAGS = 3;
const KNOWN = [1, 2, 3];

/** `redir`: redirects to the local machine (destination NAT to the input interface's address). */
export interface RedirExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'redir';
  /** Register holding the (first) port. */
  regProtoMin?: number;
  /** Register holding the last port of a range. */
  regProtoMax?: number;
  /** NAT flags. */
  flags?: Array<NatFlag | (string & {})>;
}

export const redirCodec: ExpressionCodec<RedirExpression> = {
  name: 'redir',
  type: 'redir',
  encode(w, e) {
    if (e.regProtoMin !== undefined) w.be32(NFTA_REDIR_REG_PROTO_MIN, e.regProtoMin);
    if (e.regProtoMax !== undefined) w.be32(NFTA_REDIR_REG_PROTO_MAX, e.regProtoMax);
    if (e.flags?.length) w.be32(NFTA_REDIR_FLAGS, NAT_FLAGS.number(e.flags));
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: RedirExpression = { type: 'redir' };
    setIf(e, 'regProtoMin', a.be32(NFTA_REDIR_REG_PROTO_MIN));
    setIf(e, 'regProtoMax', a.be32(NFTA_REDIR_REG_PROTO_MAX));
    const flags = a.be32(NFTA_REDIR_FLAGS);
    if (flags) e.flags = NAT_FLAGS.names(flags);
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
