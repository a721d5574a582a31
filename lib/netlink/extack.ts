/**
 * Decodes NLMSG_ERROR / NLMSG_DONE payloads: the errno and the kernel's
 * extended ack (message text, offending offset, missing attribute).
 * @module
 */
import { NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSG_HDRLEN, NLM_F_ACK_TLVS, NLM_F_CAPPED, align4 } from './constants';
import { Attributes, type NetlinkMessage } from './parser';

export interface ErrorReply {
  /** Positive errno, 0 for a plain ack. */
  errno: number;
  extack?: string;
  extackOffset?: number;
  missingAttribute?: number;
}

/** Decodes an NLMSG_ERROR message (an ack when errno is 0). */
export function decodeErrorMessage(m: NetlinkMessage): ErrorReply {
  const p = m.payload;
  const errno = p.length >= 4 ? -p.readInt32LE(0) | 0 : 0;
  if (!(m.flags & NLM_F_ACK_TLVS)) return { errno };
  // struct nlmsgerr = { int error; struct nlmsghdr msg; } followed by the
  // request's payload unless the ack was capped, then the TLVs.
  let off = 4 + NLMSG_HDRLEN;
  if (!(m.flags & NLM_F_CAPPED) && p.length >= 8) {
    const origLen = p.readUInt32LE(4);
    off = 4 + align4(origLen);
  }
  return { errno, ...decodeTlvs(p, off) };
}

/** Decodes an NLMSG_DONE payload: a dump's final status and its extack. */
export function decodeDoneMessage(m: NetlinkMessage): ErrorReply {
  const p = m.payload;
  const errno = p.length >= 4 ? -p.readInt32LE(0) | 0 : 0;
  if (!(m.flags & NLM_F_ACK_TLVS)) return { errno };
  return { errno, ...decodeTlvs(p, 4) };
}

function decodeTlvs(p: Buffer, off: number): Omit<ErrorReply, 'errno'> {
  if (off >= p.length) return {};
  const a = new Attributes(p, off);
  const out: Omit<ErrorReply, 'errno'> = {};
  const msg = a.string(NLMSGERR_ATTR_MSG);
  if (msg) out.extack = msg;
  const offs = a.u32(NLMSGERR_ATTR_OFFS);
  if (offs !== undefined) out.extackOffset = offs;
  const miss = a.u32(NLMSGERR_ATTR_MISS_TYPE);
  if (miss !== undefined) out.missingAttribute = miss;
  return out;
}
