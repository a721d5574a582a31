/**
 * nfnetlink framing, shared by every netfilter subsystem (nf_tables,
 * ctnetlink, ...): the message type is `subsystem << 8 | command`, an
 * nfgenmsg header (family, version, resource id) follows the netlink header,
 * and a transactional subsystem wraps its commands in batch delimiters.
 * Transcribed from linux/netfilter/nfnetlink.h; the subsystems' own messages
 * live in their folders.
 * @module
 */
import type { NetlinkMessage } from './parser';
import { Attributes } from './parser';
import type { NetlinkWriter } from './writer';

/** nfnetlink subsystems (high byte of the message type). */
export const NFNL_SUBSYS_CTNETLINK = 1;
export const NFNL_SUBSYS_NFTABLES = 10;

/** Batch delimiters (whole message types, no subsystem). */
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
/** Attribute of the batch-begin message: the generation the batch expects. */
export const NFNL_BATCH_GENID = 1;

/** nfgenmsg.version */
export const NFNETLINK_V0 = 0;
/** struct nfgenmsg: family u8, version u8, res_id be16. */
export const NFGENMSG_LEN = 4;

/** nfgenmsg.nfgen_family of messages about no family in particular (batch delimiters). */
export const NFPROTO_UNSPEC = 0;

/**
 * Full netlink message type of a subsystem's command.
 * @example
 * nfnlType(NFNL_SUBSYS_CTNETLINK, 1); // 0x101: IPCTNL_MSG_CT_GET
 */
export function nfnlType(subsystem: number, command: number): number {
  return (subsystem << 8) | command;
}

/**
 * The subsystem a received message belongs to.
 * @example
 * if (nfnlSubsystem(m) === NFNL_SUBSYS_NFTABLES) handle(m);
 */
export function nfnlSubsystem(m: NetlinkMessage): number {
  return m.type >> 8;
}

/**
 * Starts an nfnetlink message: nlmsghdr plus nfgenmsg. `resId` is only
 * meaningful for batch delimiters (the subsystem the batch is for).
 * @example
 * beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, 1), NLM_F_DUMP, AF_INET).end();
 */
export function beginNfnl(w: NetlinkWriter, type: number, flags: number, family: number, resId = 0): NetlinkWriter {
  w.begin(type, flags);
  const off = w.struct(NFGENMSG_LEN);
  // Byte stores, not Buffer's write methods (their checks cost most in a new process's first messages).
  const b = w.view;
  b[off] = family;
  b[off + 1] = NFNETLINK_V0;
  b[off + 2] = (resId >>> 8) & 0xff;
  b[off + 3] = resId & 0xff;
  return w;
}

/**
 * Writes the message that opens a batch for `subsystem`; with `generation`
 * the kernel applies the batch only if the subsystem's generation is still
 * that one (nf_tables answers ERESTART otherwise).
 * @example
 * writeBatchBegin(w, NFNL_SUBSYS_NFTABLES, 0);
 * // ... the subsystem's commands ...
 * writeBatchEnd(w, NFNL_SUBSYS_NFTABLES);
 */
export function writeBatchBegin(w: NetlinkWriter, subsystem: number, flags: number, generation?: number): void {
  beginNfnl(w, NFNL_MSG_BATCH_BEGIN, flags, NFPROTO_UNSPEC, subsystem);
  if (generation !== undefined) w.be32(NFNL_BATCH_GENID, generation);
  w.end();
}

/**
 * Writes the message that closes (commits) a batch for `subsystem`.
 * @example
 * writeBatchEnd(w, NFNL_SUBSYS_NFTABLES);
 */
export function writeBatchEnd(w: NetlinkWriter, subsystem: number): void {
  beginNfnl(w, NFNL_MSG_BATCH_END, 0, NFPROTO_UNSPEC, subsystem);
  w.end();
}

/**
 * nfgenmsg.nfgen_family of a received message (0 when it has no header).
 * @example
 * nfgenFamily(m); // 2 (NFPROTO_IPV4)
 */
export function nfgenFamily(m: NetlinkMessage): number {
  return m.payload.length > 0 ? m.payload[0] : 0;
}

/**
 * The attributes after the nfgenmsg header.
 * @example
 * nfnlAttributes(m).be32(CTA_STATS_GLOBAL_ENTRIES);
 */
export function nfnlAttributes(m: NetlinkMessage): Attributes {
  return new Attributes(m.payload, Math.min(NFGENMSG_LEN, m.payload.length));
}
