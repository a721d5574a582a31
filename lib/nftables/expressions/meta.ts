/**
 * meta: packet metadata that is not in a header — interfaces, mark, l4
 * protocol, nfproto, ... Loads into a register (`dreg`) or, for writable
 * keys like mark, sets it from one (`sreg`).
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_META_DREG = 1;
const NFTA_META_KEY = 2;
const NFTA_META_SREG = 3;
const KNOWN = [1, 2, 3];

/** Packet metadata keys (`meta mark`, `iifname`, `meta l4proto`, ...). */
export type MetaKey =
  | 'len'
  | 'protocol'
  | 'priority'
  | 'mark'
  | 'iif'
  | 'oif'
  | 'iifname'
  | 'oifname'
  | 'iiftype'
  | 'oiftype'
  | 'skuid'
  | 'skgid'
  | 'nftrace'
  | 'rtclassid'
  | 'secmark'
  | 'nfproto'
  | 'l4proto'
  | 'ibrname'
  | 'obrname'
  | 'pkttype'
  | 'cpu'
  | 'iifgroup'
  | 'oifgroup'
  | 'cgroup'
  | 'random'
  | 'secpath'
  | 'iifkind'
  | 'oifkind'
  | 'ibrpvid'
  | 'ibrvproto'
  | 'time'
  | 'day'
  | 'hour'
  | 'sdif'
  | 'sdifname';

/** enum nft_meta_keys, in order, with nft's names. */
export const META_KEYS = new NameTable<MetaKey>(
  'meta key',
  (
    [
      'len',
      'protocol',
      'priority',
      'mark',
      'iif',
      'oif',
      'iifname',
      'oifname',
      'iiftype',
      'oiftype',
      'skuid',
      'skgid',
      'nftrace',
      'rtclassid',
      'secmark',
      'nfproto',
      'l4proto',
      'ibrname',
      'obrname',
      'pkttype',
      'cpu',
      'iifgroup',
      'oifgroup',
      'cgroup',
      'random',
      'secpath',
      'iifkind',
      'oifkind',
      'ibrpvid',
      'ibrvproto',
      'time',
      'day',
      'hour',
      'sdif',
      'sdifname',
    ] as MetaKey[]
  ).map((k, i) => [k, i] as const),
);

/** `meta`: loads (or sets) packet metadata. */
export interface MetaExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'meta';
  /** The metadata key. */
  key: MetaKey | number;
  /** Load the key into this register. */
  dreg?: number;
  /** Or set the key from this register (mark, priority, nftrace, pkttype, secmark). */
  sreg?: number;
}

export const metaCodec: ExpressionCodec<MetaExpression> = {
  name: 'meta',
  type: 'meta',
  encode(w, e) {
    if ((e.dreg === undefined) === (e.sreg === undefined)) throw new ValidationError('meta', e, 'needs exactly one of dreg (load) or sreg (set)');
    if (e.dreg !== undefined) w.be32(NFTA_META_DREG, e.dreg);
    w.be32(NFTA_META_KEY, META_KEYS.number(e.key));
    if (e.sreg !== undefined) w.be32(NFTA_META_SREG, e.sreg);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: MetaExpression = { type: 'meta', key: META_KEYS.name(be32Or0(a, NFTA_META_KEY)) };
    setIf(e, 'dreg', a.be32(NFTA_META_DREG));
    setIf(e, 'sreg', a.be32(NFTA_META_SREG));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
