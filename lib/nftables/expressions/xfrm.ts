/**
 * xfrm: loads a property of the IPsec state the packet was decrypted with
 * (`ipsec in reqid 1`) or will be encrypted with (`ipsec out ip daddr 1.2.3.4`).
 * @module
 */
import { validateU32 } from '../../validate/integers';
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_XFRM_DREG = 1;
const NFTA_XFRM_KEY = 2;
const NFTA_XFRM_DIR = 3;
const NFTA_XFRM_SPNUM = 4;
const KNOWN = [1, 2, 3, 4];

/** IPsec state property: tunnel addresses (IPv4 or IPv6), request id, security parameter index. */
export type XfrmKey = 'daddr4' | 'daddr6' | 'saddr4' | 'saddr6' | 'reqid' | 'spi';
export const XFRM_KEYS = new NameTable<XfrmKey>('xfrm key', [
  ['daddr4', 1],
  ['daddr6', 2],
  ['saddr4', 3],
  ['saddr6', 4],
  ['reqid', 5],
  ['spi', 6],
]);

/** Incoming (the state that decrypted the packet) or outgoing (the policy's state). */
export type XfrmDirection = 'in' | 'out';
export const XFRM_DIRECTIONS = new NameTable<XfrmDirection>('xfrm direction', [
  ['in', 0],
  ['out', 1],
]);

/** `ipsec`: a property of the packet's IPsec state into a register. */
export interface XfrmExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'xfrm';
  /** Incoming or outgoing state. */
  direction: XfrmDirection | number;
  /** State property. */
  key: XfrmKey | number;
  /** Which state of the secure path (nested tunnels), 0 the outermost; nft's `spnum`. */
  spnum: number;
  /** Destination register. */
  dreg: number;
}

export const xfrmCodec: ExpressionCodec<XfrmExpression> = {
  name: 'xfrm',
  type: 'xfrm',
  encode(w, e) {
    // nft's order: key, direction, spnum, register.
    w.be32(NFTA_XFRM_KEY, XFRM_KEYS.number(e.key));
    w.u8(NFTA_XFRM_DIR, XFRM_DIRECTIONS.number(e.direction));
    w.be32(NFTA_XFRM_SPNUM, validateU32(e.spnum, 'xfrm spnum'));
    w.be32(NFTA_XFRM_DREG, e.dreg);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: XfrmExpression = {
      type: 'xfrm',
      direction: XFRM_DIRECTIONS.name(a.u8(NFTA_XFRM_DIR) ?? 0),
      key: XFRM_KEYS.name(be32Or0(a, NFTA_XFRM_KEY)),
      spnum: be32Or0(a, NFTA_XFRM_SPNUM),
      dreg: be32Or0(a, NFTA_XFRM_DREG),
    };
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
