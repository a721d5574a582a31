/**
 * exthdr: reads (or, for TCP options, writes or strips) an IPv6 extension
 * header, TCP option, IPv4 option, SCTP chunk or DCCP option
 * (`tcp option maxseg size`, `exthdr hbh exists`,
 * `tcp option maxseg size set rt mtu`).
 *
 * The kernel's dump carries attributes its input refuses for some forms
 * (flags on a write, offset and length on a strip): what is written depends
 * on the form, so a listed expression can be added back as it is.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { unknownAttributes, writeRawAttributes } from '../data';
import { FlagTable, NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_EXTHDR_DREG = 1;
const NFTA_EXTHDR_TYPE = 2;
const NFTA_EXTHDR_OFFSET = 3;
const NFTA_EXTHDR_LEN = 4;
const NFTA_EXTHDR_FLAGS = 5;
const NFTA_EXTHDR_OP = 6;
const NFTA_EXTHDR_SREG = 7;
const KNOWN = [1, 2, 3, 4, 5, 6, 7];

/** Which header family the expression looks into. */
export type ExthdrOp = 'ipv6' | 'tcp' | 'ipv4' | 'sctp' | 'dccp';
export const EXTHDR_OPS = new NameTable<ExthdrOp>('exthdr op', [
  ['ipv6', 0],
  ['tcp', 1],
  ['ipv4', 2],
  ['sctp', 3],
  ['dccp', 4],
]);

/** `present`: load 1 if the header/option is there, 0 if not (`exists`), instead of its bytes. */
export type ExthdrFlag = 'present';
export const EXTHDR_FLAGS = new FlagTable<ExthdrFlag>('exthdr flag', [['present', 1]]);

/**
 * `exthdr`. Three forms: a load (`dreg`: the bytes at offset/len, or with
 * the `present` flag whether it exists), a write of a TCP option field
 * (`sreg`), or a TCP option strip (neither: `tcp option sack-perm reset`).
 */
export interface ExthdrExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'exthdr';
  /** Header family. */
  op: ExthdrOp | number;
  /** Header, option or chunk type (IPv6 next-header value, TCP option kind...). */
  headerType: number;
  /** Byte offset within it. */
  offset: number;
  /** Bytes read or written. */
  len: number;
  /** Load: destination register. */
  dreg?: number;
  /** Write: source register. */
  sreg?: number;
  /** Load options. */
  flags?: Array<ExthdrFlag | (string & {})>;
}

function u32(field: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) throw new ValidationError(field, v, 'must be an integer 0-4294967295');
  return v as number;
}

export const exthdrCodec: ExpressionCodec<ExthdrExpression> = {
  name: 'exthdr',
  type: 'exthdr',
  encode(w, e) {
    if (e.dreg !== undefined && e.sreg !== undefined) throw new ValidationError('exthdr', e, 'a load (dreg) or a write (sreg), not both');
    if (!Number.isInteger(e.headerType) || e.headerType < 0 || e.headerType > 255)
      throw new ValidationError('exthdr headerType', e.headerType, 'must be 0-255');
    const op = EXTHDR_OPS.number(e.op);
    const flags = EXTHDR_FLAGS.number(e.flags ?? []);
    w.u8(NFTA_EXTHDR_TYPE, e.headerType);
    if (e.dreg !== undefined || e.sreg !== undefined) {
      w.be32(NFTA_EXTHDR_OFFSET, u32('exthdr offset', e.offset));
      w.be32(NFTA_EXTHDR_LEN, u32('exthdr len', e.len));
    }
    if (e.dreg !== undefined) {
      w.be32(NFTA_EXTHDR_DREG, e.dreg);
      // An explicit empty list sends flags 0 (as nft does for a field load).
      if (flags || e.flags !== undefined) w.be32(NFTA_EXTHDR_FLAGS, flags);
    } else if (flags) throw new ValidationError('exthdr flags', e.flags, 'only a load (dreg) takes flags');
    if (e.sreg !== undefined) w.be32(NFTA_EXTHDR_SREG, e.sreg);
    w.be32(NFTA_EXTHDR_OP, op);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: ExthdrExpression = {
      type: 'exthdr',
      op: EXTHDR_OPS.name(be32Or0(a, NFTA_EXTHDR_OP)),
      headerType: a.u8(NFTA_EXTHDR_TYPE) ?? 0,
      offset: be32Or0(a, NFTA_EXTHDR_OFFSET),
      len: be32Or0(a, NFTA_EXTHDR_LEN),
    };
    setIf(e, 'dreg', a.be32(NFTA_EXTHDR_DREG));
    setIf(e, 'sreg', a.be32(NFTA_EXTHDR_SREG));
    const flags = a.be32(NFTA_EXTHDR_FLAGS) ?? 0;
    if (flags) e.flags = EXTHDR_FLAGS.names(flags);
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
