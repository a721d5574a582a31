/**
 * The header nest every ethtool request starts with (which device, and
 * request flags) and every reply starts with (the device's index and name).
 * @module
 */
import { ENODEV } from '../../netlink/errno';
import { DecodeError, NetlinkError, NotFoundError, ValidationError } from '../../netlink/errors';
import type { Operation } from '../../netlink/operation';
import type { Attributes } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';
import type { GenlMessage } from '../message';
import { validateInterfaceName } from '../../validate/names';
import { ETHTOOL_A_HEADER_DEV_INDEX, ETHTOOL_A_HEADER_DEV_NAME, ETHTOOL_A_HEADER_FLAGS } from './constants';

/** A network device: its name ("eth0") or its index. */
export type EthtoolLinkRef = string | number;

/** The device an ethtool reply is about. */
export interface EthtoolDevice {
  /** The device's interface index. */
  index: number;
  /** The device's name. */
  name: string;
}

/** Checks a device reference before it is written. */
export function checkLinkRef(link: unknown): EthtoolLinkRef {
  if (typeof link === 'number') {
    if (!Number.isInteger(link) || link < 1 || link > 0x7fffffff)
      throw new ValidationError('link', link, 'must be an interface index (a positive whole number) or name');
    return link;
  }
  return validateInterfaceName(link, 'link');
}

/** Writes the request header nest `attr` naming the device (omitted for dumps of every device). */
export function writeRequestHeader(w: NetlinkWriter, attr: number, link?: EthtoolLinkRef, flags = 0): void {
  const n = w.nest(attr);
  if (typeof link === 'number') w.u32(ETHTOOL_A_HEADER_DEV_INDEX, link);
  else if (link !== undefined) w.string(ETHTOOL_A_HEADER_DEV_NAME, link);
  if (flags) w.u32(ETHTOOL_A_HEADER_FLAGS, flags);
  w.endNest(n);
}

/** Reads the reply header nest `attr`. */
export function readReplyHeader(a: Attributes, attr: number): EthtoolDevice {
  const h = a.nested(attr);
  return { index: h?.u32(ETHTOOL_A_HEADER_DEV_INDEX) ?? 0, name: h?.string(ETHTOOL_A_HEADER_DEV_NAME) ?? '' };
}

/** "eth0" or "link 3", for error messages. */
export function describeLink(link: EthtoolLinkRef): string {
  return typeof link === 'number' ? `link ${link}` : link;
}

/** Runs a request about one device; the kernel's ENODEV (no such device) becomes a NotFoundError. */
export function* aboutDevice<T>(op: Operation<T>): Operation<T> {
  try {
    return yield* op;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === ENODEV) throw NotFoundError.from('link', e);
    throw e;
  }
}

/** The reply of a get: the kernel sends exactly one; none is a DecodeError. */
export function onlyReply(replies: GenlMessage[], what: string): GenlMessage {
  if (replies.length === 0) throw new DecodeError(what, 'the kernel acknowledged the request without a reply');
  return replies[0];
}
