/**
 * synproxy: answers TCP SYNs itself with SYN cookies and opens the
 * connection to the server only after the client's ACK
 * (`synproxy mss 1460 wscale 7 timestamp sack-perm`).
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { FlagTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_SYNPROXY_MSS = 1;
const NFTA_SYNPROXY_WSCALE = 2;
const NFTA_SYNPROXY_FLAGS = 3;
const KNOWN = [1, 2, 3];

/** TCP options synproxy offers the client (`mss` and `wscale`: the values given are sent). */
export type SynproxyFlag = 'mss' | 'wscale' | 'sack-perm' | 'timestamp' | 'ecn';
export const SYNPROXY_FLAGS = new FlagTable<SynproxyFlag>('synproxy flag', [
  ['mss', 1 << 0],
  ['wscale', 1 << 1],
  ['sack-perm', 1 << 2],
  ['timestamp', 1 << 3],
  ['ecn', 1 << 4],
]);

/** `synproxy`: SYN-cookie proxy for TCP connections. */
export interface SynproxyExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'synproxy';
  /** Maximum segment size offered. */
  mss: number;
  /** Window scale offered. */
  wscale: number;
  /** Options offered. */
  flags: Array<SynproxyFlag | (string & {})>;
}

export const synproxyCodec: ExpressionCodec<SynproxyExpression> = {
  name: 'synproxy',
  type: 'synproxy',
  encode(w, e) {
    w.be16(NFTA_SYNPROXY_MSS, e.mss);
    w.u8(NFTA_SYNPROXY_WSCALE, e.wscale);
    w.be32(NFTA_SYNPROXY_FLAGS, SYNPROXY_FLAGS.number(e.flags));
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: SynproxyExpression = {
      type: 'synproxy',
      mss: a.be16(NFTA_SYNPROXY_MSS) ?? 0,
      wscale: a.u8(NFTA_SYNPROXY_WSCALE) ?? 0,
      flags: SYNPROXY_FLAGS.names(be32Or0(a, NFTA_SYNPROXY_FLAGS)),
    };
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
