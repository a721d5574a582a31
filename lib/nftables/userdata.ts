/**
 * Userdata: the free-form bytes the kernel stores next to tables, chains,
 * rules, sets, elements and objects. nft fills it with TLVs (type u8, length
 * u8, value) — a comment is type 0 holding a NUL-terminated string for every
 * object kind except sets, where type 7 is the comment and the low types
 * hold byte-order and typeof hints. Writing comments in the same format is
 * what makes `nft list ruleset` show them.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { validateNftText } from '../validate/names';
import { NFT_USERDATA_MAXLEN } from './constants';

/** TLV types nft uses. */
export const UDATA_COMMENT = 0;
export const UDATA_SET_KEYBYTEORDER = 0;
export const UDATA_SET_DATABYTEORDER = 1;
export const UDATA_SET_MERGE_ELEMENTS = 2;
export const UDATA_SET_KEY_TYPEOF = 3;
export const UDATA_SET_DATA_TYPEOF = 4;
export const UDATA_SET_EXPR = 5;
export const UDATA_SET_DATA_INTERVAL = 6;
export const UDATA_SET_COMMENT = 7;
export const UDATA_SET_ELEM_COMMENT = 0;
export const UDATA_SET_ELEM_FLAGS = 1;

/** nft's byte-order hints for set keys and data (BYTEORDER_INVALID: no hint). */
export const BYTEORDER_INVALID = 0;
export const BYTEORDER_HOST = 1;
export const BYTEORDER_BIG_ENDIAN = 2;

export interface UdataTlv {
  type: number;
  value: Buffer;
}

/** Splits userdata into TLVs; undefined when it is not in nft's TLV format. */
export function parseUdata(buf: Buffer): UdataTlv[] | undefined {
  const out: UdataTlv[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 2 > buf.length) return undefined;
    const type = buf[off];
    const len = buf[off + 1];
    if (off + 2 + len > buf.length) return undefined;
    out.push({ type, value: Buffer.from(buf.subarray(off + 2, off + 2 + len)) });
    off += 2 + len;
  }
  return out;
}

/** Joins TLVs into userdata. */
export function buildUdata(tlvs: UdataTlv[], field = 'userdata'): Buffer {
  const parts: Buffer[] = [];
  for (const t of tlvs) {
    if (t.value.length > 255) throw new ValidationError(field, t.value.toString(), 'a userdata item is at most 255 bytes');
    parts.push(Buffer.from([t.type, t.value.length]), t.value);
  }
  const out = Buffer.concat(parts);
  if (out.length > NFT_USERDATA_MAXLEN) throw new ValidationError(field, out.toString(), `userdata is at most ${NFT_USERDATA_MAXLEN} bytes`);
  return out;
}

/** The most nft accepts in a comment. */
const MAX_COMMENT_BYTES = 128;

/** The TLV value for a comment string (NUL-terminated, as nft writes it). */
export function commentValue(comment: string, field = 'comment'): Buffer {
  return Buffer.from(validateNftText(comment, field, MAX_COMMENT_BYTES) + '\0', 'utf8');
}

/** Reads a NUL-terminated TLV string. */
export function tlvString(v: Buffer): string {
  const nul = v.indexOf(0);
  return v.toString('utf8', 0, nul < 0 ? v.length : nul);
}

/**
 * Userdata split into the comment (TLV `commentType`) and whatever else was
 * there, kept as raw bytes so it survives a round trip.
 */
export function splitComment(buf: Buffer | undefined, commentType: number): { comment?: string; rest?: Buffer } {
  if (!buf || buf.length === 0) return {};
  const tlvs = parseUdata(buf);
  if (!tlvs) return { rest: Buffer.from(buf) };
  const c = tlvs.find((t) => t.type === commentType);
  const others = tlvs.filter((t) => t !== c);
  const out: { comment?: string; rest?: Buffer } = {};
  if (c) out.comment = tlvString(c.value);
  if (others.length) out.rest = buildUdata(others);
  return out;
}

/** Userdata holding `comment` plus any extra TLV bytes; undefined when there is neither. */
export function joinComment(comment: string | undefined, rest: Buffer | undefined, commentType: number): Buffer | undefined {
  // nft prints a comment found in raw userdata too: it gets the same checks.
  const raw = rest?.length ? parseUdata(rest)?.find((t) => t.type === commentType) : undefined;
  if (raw) validateNftText(raw.value.toString('utf8', 0, raw.value.length - (raw.value[raw.value.length - 1] === 0 ? 1 : 0)), 'userdata comment');
  if (rest && rest.length > NFT_USERDATA_MAXLEN) throw new ValidationError('userdata', rest.length, `userdata is at most ${NFT_USERDATA_MAXLEN} bytes`);
  if (comment === undefined) return rest?.length ? rest : undefined;
  const c = buildUdata([{ type: commentType, value: commentValue(comment) }]);
  const out = rest?.length ? Buffer.concat([c, rest]) : c;
  if (out.length > NFT_USERDATA_MAXLEN) throw new ValidationError('comment', comment, `userdata is at most ${NFT_USERDATA_MAXLEN} bytes`);
  return out;
}
