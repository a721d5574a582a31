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

/** What `h.conntrack.set()` changes in an entry; absent fields stay as they are. */
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
}

const CHANGE_KEYS = keysOf<ConntrackChanges>()(['labels', 'labelsMask']);

/** The identifying part of an entry a change addresses. */
type Target = Pick<ConntrackEntry, 'family' | 'protocol' | 'original'> & Partial<Pick<ConntrackEntry, 'zone'>>;

/** The IPCTNL_MSG_CT_NEW request changing one entry; ValidationError for a change that means nothing or cannot be sent. */
export function changeMessage(target: Target, changes: ConntrackChanges): Buffer {
  if (!isObject(changes)) throw new ValidationError('changes', changes, 'must be an object like { labels: [5] }');
  rejectUnknownKeys(changes, CHANGE_KEYS, 'conntrack changes');
  if (changes.labels === undefined && changes.labelsMask === undefined)
    throw new ValidationError('changes', changes, `has nothing to change (known: ${CHANGE_KEYS.join(', ')})`);
  const labels = labelNumbers(changes.labels ?? [], 'labels');
  const mask = changes.labelsMask === undefined ? undefined : labelNumbers(changes.labelsMask, 'labelsMask');
  if (mask) {
    const outside = labels.find((l) => !mask.includes(l));
    if (outside !== undefined) throw new ValidationError('labels', outside, 'is not in labelsMask: it would not change');
  }
  const w = new NetlinkWriter();
  beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW), 0, target.family === 4 ? AF_INET : AF_INET6);
  writeTuple(w, C.CTA_TUPLE_ORIG, target.family, protoNumber(target.protocol), target.original);
  if (target.zone) w.be16(C.CTA_ZONE, target.zone);
  w.attr(C.CTA_LABELS, encodeLabels(labels));
  if (mask) w.attr(C.CTA_LABELS_MASK, encodeLabels(mask));
  return w.end().finish();
}
