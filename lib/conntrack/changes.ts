/**
 * Changing an existing entry (IPCTNL_MSG_CT_NEW without NLM_F_CREATE): what
 * `conntrack -U` does. The kernel finds the entry by its original tuple and
 * zone, and changes only the attributes sent.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlType } from '../netlink/nfnetlink';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET, AF_INET6 } from '../validate/ip';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { protoNumber, writeTuple, type ConntrackEntry } from './entry';
import { encodeLabels, labelNumbers } from './labels';

/**
 * What `h.conntrack.set()` changes in an entry; absent fields stay as they are.
 * @example
 * const change: ConntrackChanges = { mark: 0x42, markMask: 0xff, timeout: 300 };
 */
export interface ConntrackChanges {
  /**
   * Labels the entry gets (numbers 0-127, or names from connlabel.conf):
   * without `labelsMask` they are all its labels (`[]` clears them); with
   * it, each must be one of the mask's.
   */
  labels?: Array<number | string>;
  /**
   * Only these labels change: each is set when in `labels`, cleared when
   * not; the entry's other labels stay. (`labels` defaults to none, so
   * `{ labelsMask: [5] }` clears label 5.)
   */
  labelsMask?: Array<number | string>;
  /**
   * The connection mark (`ct mark`, `conntrack -U -m`), 0-0xffffffff:
   * without `markMask` the whole mark; with it, only the mask's bits.
   */
  mark?: number;
  /**
   * Only these bits of the mark change (`conntrack -U -m 0x42/0xff`): they
   * become those of `mark`, the others stay. `mark` must lie within it, and
   * defaults to 0, so `{ markMask: 0xff }` clears the low byte.
   */
  markMask?: number;
  /**
   * Seconds from now until the entry expires (`conntrack -U -t`), whatever
   * its protocol's timeouts; the next packet of the flow sets it back to
   * those. 0 expires it at once. The kernel caps it at 2^31-1 jiffies
   * (about 24 days at HZ=1000).
   */
  timeout?: number;
}

const CHANGE_KEYS = keysOf<ConntrackChanges>()(['labels', 'labelsMask', 'mark', 'markMask', 'timeout']);

const U32 = 0xffffffff;

/** Whether a u32 field is given; ValidationError when it is not one. */
function checkU32(field: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > U32) throw new ValidationError(field, v, `must be an integer 0-${U32} (0xffffffff)`);
  return true;
}

/** The identifying part of an entry a change addresses. */
type Target = Pick<ConntrackEntry, 'family' | 'protocol' | 'original'> & Partial<Pick<ConntrackEntry, 'zone'>>;

/** The IPCTNL_MSG_CT_NEW request changing one entry; ValidationError for a change that means nothing or cannot be sent. */
export function changeMessage(target: Target, changes: ConntrackChanges): Buffer {
  if (!isObject(changes)) throw new ValidationError('changes', changes, 'must be an object like { labels: [5] }');
  rejectUnknownKeys(changes, CHANGE_KEYS, 'conntrack changes');
  if (CHANGE_KEYS.every((k) => (changes as Record<string, unknown>)[k] === undefined))
    throw new ValidationError('changes', changes, `has nothing to change (known: ${CHANGE_KEYS.join(', ')})`);
  const hasLabels = changes.labels !== undefined || changes.labelsMask !== undefined;
  const labels = labelNumbers(changes.labels ?? [], 'labels');
  const mask = changes.labelsMask === undefined ? undefined : labelNumbers(changes.labelsMask, 'labelsMask');
  if (mask) {
    const outside = labels.find((l) => !mask.includes(l));
    if (outside !== undefined) throw new ValidationError('labels', outside, 'is not in labelsMask: it would not change');
  }
  const hasMark = checkU32('mark', changes.mark);
  const hasMarkMask = checkU32('markMask', changes.markMask);
  const mark = changes.mark ?? 0;
  // The kernel computes (mark & ~mask) ^ value: a bit of the value outside the mask would flip the entry's bit.
  if (hasMarkMask && (mark & ~(changes.markMask ?? 0)) !== 0)
    throw new ValidationError('mark', mark, `has bits outside markMask 0x${(changes.markMask ?? 0).toString(16)}: they would flip, not be set`);
  const hasTimeout = checkU32('timeout', changes.timeout);
  const w = new NetlinkWriter();
  beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW), 0, target.family === 4 ? AF_INET : AF_INET6);
  writeTuple(w, C.CTA_TUPLE_ORIG, target.family, protoNumber(target.protocol), target.original);
  if (target.zone) w.be16(C.CTA_ZONE, target.zone);
  if (hasTimeout) w.be32(C.CTA_TIMEOUT, changes.timeout ?? 0);
  if (hasMark || hasMarkMask) {
    w.be32(C.CTA_MARK, mark);
    if (hasMarkMask) w.be32(C.CTA_MARK_MASK, changes.markMask ?? 0);
  }
  if (hasLabels) {
    w.attr(C.CTA_LABELS, encodeLabels(labels));
    if (mask) w.attr(C.CTA_LABELS_MASK, encodeLabels(mask));
  }
  return w.end().finish();
}
