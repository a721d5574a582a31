/**
 * log: logs the packet to the kernel log (with a prefix and level) or to an
 * nflog group for a userspace logger.
 * @module
 */
import { validateNftText } from '../../validate/names';
import { unknownAttributes, writeRawAttributes } from '../data';
import { FlagTable, NameTable } from '../names';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_LOG_GROUP = 1;
const NFTA_LOG_PREFIX = 2;
const NFTA_LOG_SNAPLEN = 3;
const NFTA_LOG_QTHRESHOLD = 4;
const NFTA_LOG_LEVEL = 5;
const NFTA_LOG_FLAGS = 6;
const KNOWN = [1, 2, 3, 4, 5, 6];
/** NF_LOG_PREFIXLEN - 1 */
const MAX_PREFIX_BYTES = 127;

/** Syslog levels (plus "audit"). */
export type LogLevel = 'emerg' | 'alert' | 'crit' | 'err' | 'warn' | 'notice' | 'info' | 'debug' | 'audit';
export const LOG_LEVELS = new NameTable<LogLevel>(
  'log level',
  (['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug', 'audit'] as LogLevel[]).map((l, i) => [l, i] as const),
);

/** Extra details to log. */
export type LogFlag = 'tcp sequence' | 'tcp options' | 'ip options' | 'skuid' | 'ether';
/** NF_LOG_* flags (linux/netfilter/nf_log.h), nft's names. */
export const LOG_FLAGS = new FlagTable<LogFlag>('log flag', [
  ['tcp sequence', 0x01],
  ['tcp options', 0x02],
  ['ip options', 0x04],
  ['skuid', 0x08],
  ['ether', 0x20],
]);

/** `log`: logs the packet to the kernel log or an nflog group. */
export interface LogExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'log';
  /** Text logged before the packet details. */
  prefix?: string;
  /** Syslog level (kernel log); the kernel reports it for every non-group log. */
  level?: LogLevel | number;
  /** Extra details to log. */
  flags?: Array<LogFlag | (string & {})>;
  /** nflog group (instead of the kernel log). */
  group?: number;
  /** nflog: bytes of each packet copied. */
  snaplen?: number;
  /** nflog: packets queued in the kernel before they are sent. */
  queueThreshold?: number;
}

export const logCodec: ExpressionCodec<LogExpression> = {
  name: 'log',
  type: 'log',
  encode(w, e) {
    if (e.group !== undefined) w.be16(NFTA_LOG_GROUP, e.group);
    if (e.prefix !== undefined) w.string(NFTA_LOG_PREFIX, validateNftText(e.prefix, 'log prefix', MAX_PREFIX_BYTES));
    if (e.snaplen !== undefined) w.be32(NFTA_LOG_SNAPLEN, e.snaplen);
    if (e.queueThreshold !== undefined) w.be16(NFTA_LOG_QTHRESHOLD, e.queueThreshold);
    if (e.level !== undefined) w.be32(NFTA_LOG_LEVEL, LOG_LEVELS.number(e.level));
    if (e.flags?.length) w.be32(NFTA_LOG_FLAGS, LOG_FLAGS.number(e.flags));
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: LogExpression = { type: 'log' };
    setIf(e, 'prefix', a.string(NFTA_LOG_PREFIX));
    const level = a.be32(NFTA_LOG_LEVEL);
    if (level !== undefined) e.level = LOG_LEVELS.name(level);
    const flags = a.be32(NFTA_LOG_FLAGS);
    if (flags) e.flags = LOG_FLAGS.names(flags);
    setIf(e, 'group', a.be16(NFTA_LOG_GROUP));
    setIf(e, 'snaplen', a.be32(NFTA_LOG_SNAPLEN));
    setIf(e, 'queueThreshold', a.be16(NFTA_LOG_QTHRESHOLD));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
