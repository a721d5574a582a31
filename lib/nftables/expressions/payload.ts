/**
 * payload: loads bytes from a packet header into a register (`ip saddr`,
 * `tcp dport`), or writes a register into the packet (payload mangling).
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { NameTable } from '../names';
import { unknownAttributes, writeRawAttributes } from '../data';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_PAYLOAD_DREG = 1;
const NFTA_PAYLOAD_BASE = 2;
const NFTA_PAYLOAD_OFFSET = 3;
const NFTA_PAYLOAD_LEN = 4;
const NFTA_PAYLOAD_SREG = 5;
const NFTA_PAYLOAD_CSUM_TYPE = 6;
const NFTA_PAYLOAD_CSUM_OFFSET = 7;
const NFTA_PAYLOAD_CSUM_FLAGS = 8;
const KNOWN = [1, 2, 3, 4, 5, 6, 7, 8];

/** Header a payload offset counts from. */
export type PayloadBase = 'link' | 'network' | 'transport' | 'inner';
export const PAYLOAD_BASES = new NameTable<PayloadBase>('payload base', [
  ['link', 0],
  ['network', 1],
  ['transport', 2],
  ['inner', 3],
]);

/** Checksum to update after a payload store. */
export type ChecksumType = 'none' | 'inet' | 'sctp';
export const CSUM_TYPES = new NameTable<ChecksumType>('checksum type', [
  ['none', 0],
  ['inet', 1],
  ['sctp', 2],
]);

/** Load (`dreg`) or store (`sreg`) `len` bytes at `offset` of a header. */
export interface PayloadExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'payload';
  /** The header the offset counts from. */
  base: PayloadBase | number;
  /** Byte offset in that header. */
  offset: number;
  /** Bytes loaded. */
  len: number;
  /** Load into this register. */
  dreg?: number;
  /** Store this register into the packet instead. */
  sreg?: number;
  /** Checksum to fix after a store. */
  csumType?: ChecksumType | number;
  /** Offset of the checksum to fix. */
  csumOffset?: number;
  /** NFT_PAYLOAD_L4CSUM_PSEUDOHDR = 1. */
  csumFlags?: number;
}

export const payloadCodec: ExpressionCodec<PayloadExpression> = {
  name: 'payload',
  type: 'payload',
  encode(w, e) {
    if ((e.dreg === undefined) === (e.sreg === undefined)) throw new ValidationError('payload', e, 'needs exactly one of dreg (load) or sreg (store)');
    if (e.dreg !== undefined) w.be32(NFTA_PAYLOAD_DREG, e.dreg);
    w.be32(NFTA_PAYLOAD_BASE, PAYLOAD_BASES.number(e.base));
    w.be32(NFTA_PAYLOAD_OFFSET, e.offset);
    w.be32(NFTA_PAYLOAD_LEN, e.len);
    if (e.sreg !== undefined) w.be32(NFTA_PAYLOAD_SREG, e.sreg);
    if (e.csumType !== undefined) w.be32(NFTA_PAYLOAD_CSUM_TYPE, CSUM_TYPES.number(e.csumType));
    if (e.csumOffset !== undefined) w.be32(NFTA_PAYLOAD_CSUM_OFFSET, e.csumOffset);
    if (e.csumFlags !== undefined) w.be32(NFTA_PAYLOAD_CSUM_FLAGS, e.csumFlags);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: PayloadExpression = {
      type: 'payload',
      base: PAYLOAD_BASES.name(be32Or0(a, NFTA_PAYLOAD_BASE)),
      offset: be32Or0(a, NFTA_PAYLOAD_OFFSET),
      len: be32Or0(a, NFTA_PAYLOAD_LEN),
    };
    setIf(e, 'dreg', a.be32(NFTA_PAYLOAD_DREG));
    setIf(e, 'sreg', a.be32(NFTA_PAYLOAD_SREG));
    const csum = a.be32(NFTA_PAYLOAD_CSUM_TYPE);
    if (csum !== undefined) e.csumType = CSUM_TYPES.name(csum);
    setIf(e, 'csumOffset', a.be32(NFTA_PAYLOAD_CSUM_OFFSET));
    setIf(e, 'csumFlags', a.be32(NFTA_PAYLOAD_CSUM_FLAGS));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
