/**
 * queue: hands the packet to a userspace program through nfnetlink_queue
 * (`queue to 3`, `queue flags bypass,fanout to 4-5`), to a fixed queue (range)
 * or to the queue number held in a register.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { unknownAttributes, writeRawAttributes } from '../data';
import { FlagTable } from '../names';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_QUEUE_NUM = 1;
const NFTA_QUEUE_TOTAL = 2;
const NFTA_QUEUE_FLAGS = 3;
const NFTA_QUEUE_SREG_QNUM = 4;
const KNOWN = [1, 2, 3, 4];

/** `bypass`: accept the packet when no program listens; `fanout`: pick the queue by CPU, not by flow hash. */
export type QueueFlag = 'bypass' | 'fanout';
export const QUEUE_FLAGS = new FlagTable<QueueFlag>('queue flag', [
  ['bypass', 1],
  ['fanout', 2],
]);

/** `queue`: to queue `num` (spread over `total` queues from there), or to the queue number in `sregQnum`. */
export interface QueueExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'queue';
  /** First queue number. */
  num?: number;
  /** Number of queues, from `num` on (1: just `num`). */
  total?: number;
  /** Register holding the queue number (instead of num/total). */
  sregQnum?: number;
  /** Queue options. */
  flags: Array<QueueFlag | (string & {})>;
}

function u16(field: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffff) throw new ValidationError(field, v, 'must be an integer 0-65535');
  return v as number;
}

export const queueCodec: ExpressionCodec<QueueExpression> = {
  name: 'queue',
  type: 'queue',
  encode(w, e) {
    if (e.sregQnum !== undefined && (e.num !== undefined || e.total !== undefined))
      throw new ValidationError('queue sregQnum', e.sregQnum, 'a queue from a register takes no num or total');
    if (e.num !== undefined) w.be16(NFTA_QUEUE_NUM, u16('queue num', e.num));
    if (e.total !== undefined) w.be16(NFTA_QUEUE_TOTAL, u16('queue total', e.total));
    const flags = QUEUE_FLAGS.number(e.flags);
    if (flags) w.be16(NFTA_QUEUE_FLAGS, flags); // nft leaves out no flags
    if (e.sregQnum !== undefined) w.be32(NFTA_QUEUE_SREG_QNUM, e.sregQnum);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: QueueExpression = { type: 'queue', flags: QUEUE_FLAGS.names(a.be16(NFTA_QUEUE_FLAGS) ?? 0) };
    setIf(e, 'num', a.be16(NFTA_QUEUE_NUM));
    setIf(e, 'total', a.be16(NFTA_QUEUE_TOTAL));
    setIf(e, 'sregQnum', a.be32(NFTA_QUEUE_SREG_QNUM));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
