/**
 * Deleting thousands of dumped conntrack entries the way the kernel handles
 * them fastest: each delete copies the dumped original tuple, zone and id
 * bytes (no decoding, no re-encoding), and they go as one bulk call
 * (lib/netlink/bulk-parts.ts: packed back to back into parts of at most
 * 64 KiB, only the last asking for an ack, each part written while the
 * previous one is sent): the kernel answers only the deletes that fail. Ten
 * thousand acks (an skb, a copy and a JavaScript message each) were most of
 * a flush's cost.
 * @module
 */
import { BulkCall } from '../netlink/bulk-parts';
import { bulkFailures } from '../netlink/bulk';
import { NLA_F_NESTED, NLA_TYPE_MASK, NLM_F_REQUEST } from '../netlink/constants';
import { ENOENT } from '../netlink/errno';
import { NetlinkError } from '../netlink/errors';
import { NFNL_SUBSYS_CTNETLINK, nfnlType } from '../netlink/nfnetlink';
import type { Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import * as C from './constants';
import { decodeEntry, describeEntry } from './entry';

/**
 * Bytes per part: the kernel handles a part's messages in one sendmsg, and
 * each failure's reply (the request copied back, ~1 KiB of socket buffer)
 * must fit the receive buffer even if all ~700 fail.
 */
const PART_BYTES = 64 * 1024;
const OPERATION = 'flush conntrack entries';
const DELETE_TYPE = nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_DELETE);
/** nlmsghdr + nfgenmsg */
const HEADER_BYTES = 20;
/** CTA_ZONE (u16, padded) and CTA_ID (u32) attributes. */
const SMALL_ATTR_BYTES = 8;

/** One IPCTNL_MSG_CT_DELETE per dumped message (filtered ones: both tuples are there), written part by part. */
class ConntrackDeletes extends BulkCall {
  private cursor = 0;

  constructor(private readonly messages: NetlinkMessage[]) {
    super(OPERATION);
  }

  protected writePart(): [Buffer, number] | undefined {
    const { messages } = this;
    if (this.cursor >= messages.length) return undefined;
    let out: Buffer | undefined;
    let pos = 0;
    let last = -1;
    for (; this.cursor < messages.length; this.cursor++) {
      const p = messages[this.cursor].payload;
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
      if (out && pos + size > out.length) break; // full: the next part starts with this entry
      out ??= Buffer.allocUnsafe(Math.max(PART_BYTES, size));
      last = pos;
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
    if (!out) return undefined;
    return [out.subarray(0, pos), this.cursor === messages.length ? last : -1];
  }
}

/**
 * Deletes dumped entries (IPCTNL_MSG_CT_NEW messages) and returns how many
 * it deleted: entries that ended meanwhile (ENOENT) are not counted; any
 * other refusal fails it, naming the entry.
 */
export function* deleteDumped(messages: NetlinkMessage[]): Operation<number> {
  if (messages.length === 0) return 0;
  let gone = 0;
  for (const [i, e] of yield* bulkFailures(new ConntrackDeletes(messages))) {
    if (e.errno === ENOENT) {
      gone++; // ended meanwhile: not counted
      continue;
    }
    const m = messages[i] as NetlinkMessage | undefined;
    throw new NetlinkError({
      errno: e.errno,
      operation: m ? `delete conntrack entry ${describeEntry(decodeEntry(m))}` : 'delete conntrack entry',
      extack: e.extack,
      extackOffset: e.extackOffset,
      missingAttribute: e.missingAttribute,
    });
  }
  return messages.length - gone;
}
