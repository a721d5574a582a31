/**
 * Deleting thousands of dumped conntrack entries the way the kernel handles
 * them fastest: each delete copies the dumped original tuple, zone and id
 * bytes (no decoding, no re-encoding), the requests go without NLM_F_ACK,
 * packed back to back into datagrams of at most 64 KiB, and the kernel
 * answers only the deletes that fail. Ten thousand acks (an skb, a copy and a
 * JavaScript message each) were most of a flush's cost.
 * @module
 */
import { NLA_F_NESTED, NLA_TYPE_MASK, NLMSG_ERROR, NLM_F_REQUEST } from '../netlink/constants';
import { ENOENT } from '../netlink/errno';
import { NetlinkError } from '../netlink/errors';
import { decodeErrorMessage } from '../netlink/extack';
import { NFNL_SUBSYS_CTNETLINK, nfnlType } from '../netlink/nfnetlink';
import { concurrently, type NetlinkCall, type Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import * as C from './constants';
import { decodeEntry, describeEntry } from './entry';

/**
 * Bytes per datagram: the kernel handles a datagram's messages in one
 * sendmsg, and each failure's reply (the request copied back, ~1 KiB of
 * socket buffer) must fit the receive buffer even if all ~700 fail.
 */
const DATAGRAM_BYTES = 64 * 1024;
const OPERATION = 'flush conntrack entries';
const DELETE_TYPE = nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE);
/** nlmsghdr + nfgenmsg */
const HEADER_BYTES = 20;
/** CTA_ZONE (u16, padded) and CTA_ID (u32) attributes. */
const SMALL_ATTR_BYTES = 8;

/** Delete requests in datagrams: datagram i carries the entries from `firsts[i]` to `firsts[i + 1]`. */
interface DeleteDatagrams {
  datagrams: Buffer[];
  firsts: number[];
  /** Where each entry's request starts within its datagram. */
  offsets: Int32Array;
}

/** One IPCTNL_MSG_CT_DELETE per dumped message (filtered ones: both tuples are there), cut into datagrams. */
function deleteDatagrams(messages: NetlinkMessage[]): DeleteDatagrams {
  let out = Buffer.allocUnsafe(Math.min(messages.length * 96, 1 << 22) + HEADER_BYTES + 1024);
  const datagrams: Buffer[] = [];
  const firsts: number[] = [];
  const offsets = new Int32Array(messages.length);
  let start = 0;
  let pos = 0;
  for (let i = 0; i < messages.length; i++) {
    const p = messages[i].payload;
    // The top-level attributes after the 4-byte nfgenmsg: where the tuple, zone and id are.
    let orig = -1;
    let origLen = 0;
    let zone = -1;
    let id = -1;
    for (let off = 4; off + 4 <= p.length;) {
      const len = p[off] | (p[off + 1] << 8);
      if (len < 4 || off + len > p.length) break;
      const type = (p[off + 2] | (p[off + 3] << 8)) & NLA_TYPE_MASK;
      if (type === C.CTA_TUPLE_ORIG) {
        orig = off + 4;
        origLen = len - 4;
      } else if (type === C.CTA_ZONE && len >= 6 && (p[off + 4] | p[off + 5]) !== 0) zone = off + 4;
      else if (type === C.CTA_ID && len >= 8) id = off + 4;
      off += (len + 3) & ~3;
    }
    const size = HEADER_BYTES + (orig >= 0 ? 4 + ((origLen + 3) & ~3) : 0) + (zone >= 0 ? SMALL_ATTR_BYTES : 0) + (id >= 0 ? SMALL_ATTR_BYTES : 0);
    if (pos + size > out.length) {
      // Full: the open datagram ends here, the next ones go into a new buffer.
      if (pos > start) datagrams.push(out.subarray(start, pos));
      out = Buffer.allocUnsafe(Math.max(out.length, size + DATAGRAM_BYTES));
      start = pos = 0;
    }
    if (pos - start + size > DATAGRAM_BYTES && pos > start) {
      datagrams.push(out.subarray(start, pos));
      start = pos;
    }
    if (pos === start) firsts.push(i);
    offsets[i] = pos - start;
    // nlmsghdr: length, type, flags (a request, no ack), seq (stamped when sent), port id.
    out.writeUInt32LE(size, pos);
    out.writeUInt16LE(DELETE_TYPE, pos + 4);
    out.writeUInt16LE(NLM_F_REQUEST, pos + 6);
    out.writeUInt32LE(0, pos + 8);
    out.writeUInt32LE(0, pos + 12);
    // nfgenmsg: the dumped entry's family, version 0, resource id 0.
    out.writeUInt32LE(p.length > 0 ? p[0] : 0, pos + 16);
    pos += HEADER_BYTES;
    if (orig >= 0) {
      out.writeUInt16LE(4 + origLen, pos);
      out.writeUInt16LE(C.CTA_TUPLE_ORIG | NLA_F_NESTED, pos + 2);
      p.copy(out, pos + 4, orig, orig + origLen);
      const end = pos + 4 + origLen;
      pos += 4 + ((origLen + 3) & ~3);
      out.fill(0, end, pos);
    }
    if (zone >= 0) {
      out.writeUInt32LE(6 | (C.CTA_ZONE << 16), pos);
      out.writeUInt32LE(p[zone] | (p[zone + 1] << 8), pos + 4);
      pos += SMALL_ATTR_BYTES;
    }
    if (id >= 0) {
      out.writeUInt32LE(8 | (C.CTA_ID << 16), pos);
      p.copy(out, pos + 4, id, id + 4);
      pos += SMALL_ATTR_BYTES;
    }
  }
  if (pos > start) datagrams.push(out.subarray(start, pos));
  firsts.push(messages.length);
  return { datagrams, firsts, offsets };
}

/**
 * Deletes dumped entries (IPCTNL_MSG_CT_NEW messages) and returns how many
 * it deleted: entries that ended meanwhile (ENOENT) are not counted; any
 * other refusal fails it, naming the entry.
 */
export function* deleteDumped(messages: NetlinkMessage[]): Operation<number> {
  if (messages.length === 0) return 0;
  const { datagrams, firsts, offsets } = deleteDatagrams(messages);
  const calls = datagrams.map((message): NetlinkCall => ({ kind: 'batch', message, operation: OPERATION, collectErrors: true }));
  const outcomes = yield* concurrently(calls, OPERATION);
  let gone = 0;
  for (let d = 0; d < outcomes.length; d++) {
    const replies = outcomes[d];
    if (replies instanceof Error) throw replies;
    for (const m of replies) {
      if (m.type !== NLMSG_ERROR) continue;
      const e = decodeErrorMessage(m);
      if (e.errno === 0) continue;
      if (e.errno === ENOENT) {
        gone++; // ended meanwhile: not counted
        continue;
      }
      const i = entryOf(datagrams[d], offsets, firsts[d], firsts[d + 1], m.seq);
      const entry = i < 0 ? 'conntrack entry' : `conntrack entry ${describeEntry(decodeEntry(messages[i]))}`;
      throw new NetlinkError({
        errno: e.errno,
        operation: `delete ${entry}`,
        extack: e.extack,
        extackOffset: e.extackOffset,
        missingAttribute: e.missingAttribute,
      });
    }
  }
  return messages.length - gone;
}

/** The entry whose request in `datagram` was sent with sequence number `seq` (stamped in place when sent). */
function entryOf(datagram: Buffer, offsets: Int32Array, first: number, end: number, seq: number): number {
  for (let i = first; i < end; i++) if (datagram.readUInt32LE(offsets[i] + 8) === seq) return i;
  return -1;
}
