/**
 * Generic netlink messages: the netlink header's type is the family id,
 * then a 4-byte genlmsghdr (command, version), then the family's own fixed
 * header (usually none), then attributes. Writing one, reading one, and
 * the request/dump steps typed families are written with.
 * @module
 */
import { NLM_F_DUMP, align4 } from '../netlink/constants';
import { ValidationError } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { rejectUnknownKeys } from '../validate/options';
import { GENL_HDRLEN, GENL_MAX_ID, GENL_MIN_ID } from './constants';

/** What a request needs to know about its family: the id, and the version and fixed header size to use. */
export interface GenlTarget {
  /** Family id (the netlink message type). */
  id: number;
  /** Family version written into genlmsghdr (default 1). */
  version?: number;
  /** Bytes of the family's fixed header after genlmsghdr (default 0). */
  headerSize?: number;
}

/** How a request is built, beyond its family and command. */
export interface GenlRequestOptions {
  /** Writes the attributes (the writer is positioned after the headers). */
  attributes?: (w: NetlinkWriter) => void;
  /** The family's fixed header, when it has one (`headerSize` bytes). */
  header?: Uint8Array;
  /** Extra NLM_F_* flags (NLM_F_REQUEST is always set; dumps add NLM_F_DUMP). */
  flags?: number;
  /** How errors name the request, e.g. "ethtool get link modes of eth0". */
  operation?: string;
}

/** One received generic netlink message, split into its parts. */
export interface GenlMessage {
  /** The command (a family's `*_CMD_*` / `*_MSG_*` value). */
  command: number;
  /** The family version the sender used. */
  version: number;
  /** The family's fixed header (empty for most families). */
  header: Buffer;
  /** The attributes after the headers. */
  attributes: Attributes;
  /** The netlink message itself (type = family id, flags, seq, port id). */
  message: NetlinkMessage;
}

const REQUEST_KEYS = ['attributes', 'header', 'flags', 'operation'] as const;

function checkTarget(t: unknown): void {
  const id = typeof t === 'object' && t !== null ? (t as Partial<GenlTarget>).id : undefined;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < GENL_MIN_ID || id > GENL_MAX_ID) {
    throw new ValidationError('family id', id, `must be a generic netlink family id from ${GENL_MIN_ID} to ${GENL_MAX_ID} (resolve the name first)`);
  }
}

/**
 * Starts a generic netlink message in `w`: netlink header (type = family
 * id), genlmsghdr, and the family's fixed header (zeroed unless given).
 * Continue with attributes and `w.end()`.
 * @example
 * const w = beginGenl(new NetlinkWriter(), ethtool, ETHTOOL_MSG_LINKINFO_GET, 0);
 * w.nest(ETHTOOL_A_LINKINFO_HEADER); ...
 */
export function beginGenl(w: NetlinkWriter, family: GenlTarget, command: number, flags: number, header?: Uint8Array): NetlinkWriter {
  checkTarget(family);
  if (!Number.isInteger(command) || command < 0 || command > 255) throw new ValidationError('command', command, 'must be a number from 0 to 255');
  const version = family.version ?? 1;
  const headerSize = family.headerSize ?? 0;
  if (header !== undefined && header.length !== headerSize) {
    throw new ValidationError('header', header.length, `the family's fixed header is ${headerSize} bytes`);
  }
  w.begin(family.id, flags);
  const off = w.struct(GENL_HDRLEN);
  w.view[off] = command;
  w.view[off + 1] = version & 0xff;
  if (headerSize > 0) {
    if (header) w.bytes(header);
    else w.struct(headerSize);
  }
  return w;
}

/**
 * The bytes of a complete generic netlink request, for `NetlinkSocket`'s
 * request/dump or your own operations.
 * @example
 * const msg = genlRequest({ id: 0x10, version: 2 }, CTRL_CMD_GETFAMILY, { attributes: (w) => w.string(CTRL_ATTR_FAMILY_NAME, 'ethtool') });
 */
export function genlRequest(family: GenlTarget, command: number, opts: GenlRequestOptions = {}): Buffer {
  rejectUnknownKeys(opts, REQUEST_KEYS, 'generic netlink request options');
  if (opts.attributes !== undefined && typeof opts.attributes !== 'function')
    throw new ValidationError('attributes', typeof opts.attributes, 'must be a function that writes attributes');
  const w = beginGenl(new NetlinkWriter(), family, command, opts.flags ?? 0, opts.header);
  opts.attributes?.(w);
  return w.end().finish();
}

/**
 * Splits a received message into command, version, fixed header and attributes.
 * @param headerSize the family's fixed header size (`GenlFamily.headerSize`)
 * @example
 * const { command, attributes } = decodeGenl(reply);
 */
export function decodeGenl(m: NetlinkMessage, headerSize = 0): GenlMessage {
  const p = m.payload;
  const start = Math.min(p.length, GENL_HDRLEN + align4(headerSize));
  return {
    command: p.length >= 1 ? p[0] : 0,
    version: p.length >= 2 ? p[1] : 0,
    header: p.subarray(Math.min(p.length, GENL_HDRLEN), Math.min(p.length, GENL_HDRLEN + headerSize)),
    attributes: new Attributes(p, start),
    message: m,
  };
}

/**
 * An operation step: sends one request to a family (acked) and returns its
 * replies, decoded. Write typed families with it.
 * @example
 * function* getLinkState(family: GenlFamily, ifname: string): Operation<boolean | undefined> {
 *   const [reply] = yield* genlCall(family, ETHTOOL_MSG_LINKSTATE_GET, { attributes: (w) => writeHeader(w, ifname) });
 *   return reply?.attributes.u8(ETHTOOL_A_LINKSTATE_LINK) === 1;
 * }
 */
export function* genlCall(family: GenlTarget, command: number, opts: GenlRequestOptions = {}): Operation<GenlMessage[]> {
  const msg = genlRequest(family, command, opts);
  const replies = yield* call(msg, opts.operation ?? `generic netlink command ${command} of family ${family.id}`);
  return replies.map((m) => decodeGenl(m, family.headerSize));
}

/**
 * An operation step: runs a dump of a family's command (NLM_F_DUMP is set)
 * and returns every message, decoded.
 * @example
 * const all = yield* genlDump(ethtool, ETHTOOL_MSG_LINKMODES_GET, { attributes: (w) => w.nest(ETHTOOL_A_LINKMODES_HEADER) ... });
 */
export function* genlDump(family: GenlTarget, command: number, opts: GenlRequestOptions = {}): Operation<GenlMessage[]> {
  const msg = genlRequest(family, command, { ...opts, flags: (opts.flags ?? 0) | NLM_F_DUMP });
  const replies = yield* dump(msg, opts.operation ?? `dump generic netlink command ${command} of family ${family.id}`);
  return replies.filter((m) => m.type === family.id).map((m) => decodeGenl(m, family.headerSize));
}
