/**
 * ct: connection-tracking data of the packet's flow — state, status, mark,
 * direction, zone, original/reply addresses. Loads into a register, or sets
 * a writable key (mark, zone, labels) from one.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_CT_DREG = 1;
const NFTA_CT_KEY = 2;
const NFTA_CT_DIRECTION = 3;
const NFTA_CT_SREG = 4;
const KNOWN = [1, 2, 3, 4];

/** Conntrack keys (`ct state`, `ct mark`, `ct original ip saddr`, ...). */
export type CtKey =
  | 'state'
  | 'direction'
  | 'status'
  | 'mark'
  | 'secmark'
  | 'expiration'
  | 'helper'
  | 'l3proto'
  | 'saddr'
  | 'daddr'
  | 'protocol'
  | 'proto-src'
  | 'proto-dst'
  | 'label'
  | 'packets'
  | 'bytes'
  | 'avgpkt'
  | 'zone'
  | 'event'
  | 'ip saddr'
  | 'ip daddr'
  | 'ip6 saddr'
  | 'ip6 daddr'
  | 'id';

/** enum nft_ct_keys, in order, with nft's names. */
export const CT_KEYS = new NameTable<CtKey>(
  'ct key',
  (
    [
      'state',
      'direction',
      'status',
      'mark',
      'secmark',
      'expiration',
      'helper',
      'l3proto',
      'saddr',
      'daddr',
      'protocol',
      'proto-src',
      'proto-dst',
      'label',
      'packets',
      'bytes',
      'avgpkt',
      'zone',
      'event',
      'ip saddr',
      'ip daddr',
      'ip6 saddr',
      'ip6 daddr',
      'id',
    ] as CtKey[]
  ).map((k, i) => [k, i] as const),
);

/** Direction of a per-direction conntrack key. */
export type CtDirection = 'original' | 'reply';
export const CT_DIRECTIONS = new NameTable<CtDirection>('ct direction', [
  ['original', 0],
  ['reply', 1],
]);

/** `ct`: loads (or sets) a conntrack key of the packet's connection. */
export interface CtExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'ct';
  /** The conntrack key. */
  key: CtKey | number;
  /** Load into this register. */
  dreg?: number;
  /** Or set the key from this register (mark, zone, label, event, helper). */
  sreg?: number;
  /** For per-direction keys (addresses, ports, counters, zone). */
  direction?: CtDirection | number;
}

export const ctCodec: ExpressionCodec<CtExpression> = {
  name: 'ct',
  type: 'ct',
  encode(w, e) {
    if ((e.dreg === undefined) === (e.sreg === undefined)) throw new ValidationError('ct', e, 'needs exactly one of dreg (load) or sreg (set)');
    if (e.dreg !== undefined) w.be32(NFTA_CT_DREG, e.dreg);
    w.be32(NFTA_CT_KEY, CT_KEYS.number(e.key));
    if (e.direction !== undefined) w.u8(NFTA_CT_DIRECTION, CT_DIRECTIONS.number(e.direction));
    if (e.sreg !== undefined) w.be32(NFTA_CT_SREG, e.sreg);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: CtExpression = { type: 'ct', key: CT_KEYS.name(be32Or0(a, NFTA_CT_KEY)) };
    setIf(e, 'dreg', a.be32(NFTA_CT_DREG));
    setIf(e, 'sreg', a.be32(NFTA_CT_SREG));
    const dir = a.u8(NFTA_CT_DIRECTION);
    if (dir !== undefined) e.direction = CT_DIRECTIONS.name(dir);
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
