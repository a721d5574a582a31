/**
 * Link references (a name or an index) checked, written into a request and
 * resolved to an index: what the other object kinds (routes, addresses...)
 * need of links. Apart from link.ts so that loading them does not load the
 * link operations, their kinds and decoder (the first `routes.list()` of a
 * new process loaded all of link.ts for resolveLinkIndex).
 * @module
 */
import { ENODEV } from '../netlink/errno';
import { NotFoundError, ValidationError } from '../netlink/errors';
import { call, type Operation } from '../netlink/operation';
import { s32At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { MAX_IFNAME, validateAltName, validateInterfaceName } from '../validate/names';
import * as C from './constants';
import type { LinkRef } from './link-types';
import { notFoundOn, type MissingCodes } from './not-found';

/** The kernel's "no such link". @internal */
export const LINK_MISSING: MissingCodes = { ENODEV: 'link' };

/** Writes the ifinfomsg of a link request. @internal */
export function ifinfomsg(w: NetlinkWriter, index = 0, flags = 0, change = 0): void {
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeInt32LE(index, off + 4);
  w.view.writeUInt32LE(flags >>> 0, off + 8);
  w.view.writeUInt32LE(change >>> 0, off + 12);
}

/** `#3` or the name, for messages. @internal */
export function describeRef(ref: LinkRef): string {
  return typeof ref === 'number' ? `#${ref}` : ref;
}

/** The largest interface index: the kernel's ifindex is a C int. */
export const MAX_LINK_INDEX = 0x7fffffff;

/**
 * A link name (or alternative name) or index, checked: {@link ValidationError}
 * when it cannot be one. An index is an integer from 1 to 2^31-1; 0 (no
 * link, or every link in a filter), a negative or a larger number never
 * reaches the kernel (written as a u32, 2^32+1 named link 1).
 */
export function checkRef(ref: unknown, field = 'link'): LinkRef {
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref) || ref <= 0 || ref > MAX_LINK_INDEX)
      throw new ValidationError(field, ref, `an interface index is an integer from 1 to ${MAX_LINK_INDEX}`);
    return ref;
  }
  // A link can be named by an alternative name too (up to 127 bytes).
  return typeof ref === 'string' && Buffer.byteLength(ref) > MAX_IFNAME ? validateAltName(ref, field) : validateInterfaceName(ref, field);
}

/** Writes the target of a request: by index, or by name via IFLA_IFNAME. */
export function targetLink(w: NetlinkWriter, ref: LinkRef, flags = 0, change = 0): void {
  if (typeof ref === 'number') {
    ifinfomsg(w, ref, flags, change);
  } else {
    ifinfomsg(w, 0, flags, change);
    // The kernel looks both attributes up among all names; IFLA_IFNAME is cut at 15 bytes.
    w.string(Buffer.byteLength(ref) > MAX_IFNAME ? C.IFLA_ALT_IFNAME : C.IFLA_IFNAME, ref);
  }
}

/**
 * Resolves a link reference to its index (one RTM_GETLINK when given a name).
 * Only the index is read from the reply: decoding a whole link (a bridge's
 * dozens of attributes) for it was most of a master lookup's JS.
 */
export function* resolveLinkIndex(ref: LinkRef): Operation<number> {
  if (typeof ref === 'number') return checkRef(ref) as number;
  return s32At((yield* getLinkMessage(ref)).payload, 4); // ifinfomsg.ifi_index
}

/** The kernel's RTM_NEWLINK reply for one link, undecoded (link-identity.ts reads a few fields of it). @internal */
export function* getLinkMessage(ref: LinkRef): Operation<NetlinkMessage> {
  checkRef(ref);
  const w = new NetlinkWriter().begin(C.RTM_GETLINK, 0);
  targetLink(w, ref);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  const operation = `get link ${describeRef(ref)}`;
  const replies = yield* notFoundOn(LINK_MISSING, call(w.end().finish(), operation));
  const m = replies.find((r) => r.type === C.RTM_NEWLINK);
  if (!m) throw new NotFoundError('link', { errno: ENODEV, operation });
  return m;
}
