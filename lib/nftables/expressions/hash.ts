/**
 * hash: a hash of register bytes (`jhash ip saddr mod 2 seed 0xd`) or of
 * the packet's flow, the same both ways (`symhash mod 2`), modulo N plus an
 * offset — for load balancing with a map lookup.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_HASH_SREG = 1;
const NFTA_HASH_DREG = 2;
const NFTA_HASH_LEN = 3;
const NFTA_HASH_MODULUS = 4;
const NFTA_HASH_SEED = 5;
const NFTA_HASH_OFFSET = 6;
const NFTA_HASH_TYPE = 7;
const KNOWN = [1, 2, 3, 4, 5, 6, 7];

/** Jenkins hash of register bytes, or symmetric hash of the flow (same value for both directions). */
export type HashType = 'jhash' | 'symhash';
export const HASH_TYPES = new NameTable<HashType>('hash type', [
  ['jhash', 0],
  ['symhash', 1],
]);

/** `hash`: `jhash <sreg bytes> mod N [seed S] [offset O]` or `symhash mod N [offset O]` into a register. */
export interface HashExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'hash';
  /** Kind of hash. */
  hashType: HashType | number;
  /** Destination register. */
  dreg: number;
  /** jhash: register holding the hashed bytes. */
  sreg?: number;
  /** jhash: number of bytes hashed. */
  len?: number;
  /** Result is `hash % modulus + offset`. */
  modulus: number;
  /** jhash seed (left out: the kernel picks a random one). */
  seed?: number;
  /** Added to the result. */
  offset?: number;
}

export const hashCodec: ExpressionCodec<HashExpression> = {
  name: 'hash',
  type: 'hash',
  encode(w, e) {
    const type = HASH_TYPES.number(e.hashType);
    if (type === 0 && (e.sreg === undefined || e.len === undefined)) throw new ValidationError('hash sreg', e.sreg, 'jhash needs sreg and len');
    if (e.sreg !== undefined) w.be32(NFTA_HASH_SREG, e.sreg);
    w.be32(NFTA_HASH_DREG, e.dreg);
    if (e.len !== undefined) w.be32(NFTA_HASH_LEN, e.len);
    w.be32(NFTA_HASH_MODULUS, e.modulus);
    if (e.seed !== undefined) w.be32(NFTA_HASH_SEED, e.seed);
    if (e.offset !== undefined) w.be32(NFTA_HASH_OFFSET, e.offset);
    w.be32(NFTA_HASH_TYPE, type);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: HashExpression = {
      type: 'hash',
      hashType: HASH_TYPES.name(be32Or0(a, NFTA_HASH_TYPE)),
      dreg: be32Or0(a, NFTA_HASH_DREG),
      modulus: be32Or0(a, NFTA_HASH_MODULUS),
    };
    setIf(e, 'sreg', a.be32(NFTA_HASH_SREG));
    setIf(e, 'len', a.be32(NFTA_HASH_LEN));
    setIf(e, 'seed', a.be32(NFTA_HASH_SEED));
    setIf(e, 'offset', a.be32(NFTA_HASH_OFFSET));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
