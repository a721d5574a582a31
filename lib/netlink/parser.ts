/**
 * Reads netlink messages and attributes. Payloads are views into the
 * received buffer (no copies); attribute lists keep every attribute,
 * including ones this library does not know, so nothing is silently dropped.
 * @module
 */
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN, align4 } from './constants';

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header. */
  payload: Buffer;
}

/** Splits a buffer of concatenated datagrams into messages. */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break; // truncated: stop rather than misread
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** One attribute as received. */
export interface RawAttribute {
  /** Type without the NESTED / NET_BYTEORDER flag bits. */
  type: number;
  nested: boolean;
  netByteOrder: boolean;
  data: Buffer;
}

/**
 * The attributes of a message (or of a nested attribute), in order.
 * Accessors return undefined for absent or short attributes instead of throwing:
 * kernels add and grow attributes over time.
 */
export class Attributes {
  readonly list: RawAttribute[] = [];
  private index?: Map<number, RawAttribute>;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    let off = start;
    while (off + NLA_HDRLEN <= end) {
      const len = buf.readUInt16LE(off);
      const rawType = buf.readUInt16LE(off + 2);
      if (len < NLA_HDRLEN || off + len > end) break;
      this.list.push({
        type: rawType & NLA_TYPE_MASK,
        nested: (rawType & NLA_F_NESTED) !== 0,
        netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
        data: buf.subarray(off + NLA_HDRLEN, off + len),
      });
      off += align4(len);
    }
  }

  static of(data: Buffer | undefined): Attributes | undefined {
    return data ? new Attributes(data) : undefined;
  }

  /** The first attribute of this type (the kernel sends most types once). */
  get(type: number): Buffer | undefined {
    if (!this.index) {
      this.index = new Map();
      for (const a of this.list) if (!this.index.has(a.type)) this.index.set(a.type, a);
    }
    return this.index.get(type)?.data;
  }

  has(type: number): boolean {
    return this.get(type) !== undefined;
  }

  /** Every attribute of this type, for repeated attributes. */
  all(type: number): Buffer[] {
    return this.list.filter((a) => a.type === type).map((a) => a.data);
  }

  u8(type: number): number | undefined {
    const d = this.get(type);
    return d && d.length >= 1 ? d.readUInt8(0) : undefined;
  }
  u16(type: number): number | undefined {
    const d = this.get(type);
    return d && d.length >= 2 ? d.readUInt16LE(0) : undefined;
  }
  u32(type: number): number | undefined {
    const d = this.get(type);
    return d && d.length >= 4 ? d.readUInt32LE(0) : undefined;
  }
  s32(type: number): number | undefined {
    const d = this.get(type);
    return d && d.length >= 4 ? d.readInt32LE(0) : undefined;
  }
  u64(type: number): bigint | undefined {
    const d = this.get(type);
    return d && d.length >= 8 ? d.readBigUInt64LE(0) : undefined;
  }
  be16(type: number): number | undefined {
    const d = this.get(type);
    return d && d.length >= 2 ? d.readUInt16BE(0) : undefined;
  }
  be32(type: number): number | undefined {
    const d = this.get(type);
    return d && d.length >= 4 ? d.readUInt32BE(0) : undefined;
  }
  be64(type: number): bigint | undefined {
    const d = this.get(type);
    return d && d.length >= 8 ? d.readBigUInt64BE(0) : undefined;
  }
  /** A NUL-terminated (or not) string. */
  string(type: number): string | undefined {
    const d = this.get(type);
    return d ? cString(d) : undefined;
  }
  flag(type: number): boolean {
    return this.get(type) !== undefined;
  }
  nested(type: number): Attributes | undefined {
    const d = this.get(type);
    return d ? new Attributes(d) : undefined;
  }
}

/** Decodes bytes up to the first NUL. */
export function cString(d: Buffer): string {
  const nul = d.indexOf(0);
  return d.toString('utf8', 0, nul < 0 ? d.length : nul);
}

/** Reads a little-endian u32 at `off`, or 0 past the end (lenient struct parsing). */
export function u32At(b: Buffer, off: number): number {
  return off + 4 <= b.length ? b.readUInt32LE(off) : 0;
}
export function s32At(b: Buffer, off: number): number {
  return off + 4 <= b.length ? b.readInt32LE(off) : 0;
}
export function u16At(b: Buffer, off: number): number {
  return off + 2 <= b.length ? b.readUInt16LE(off) : 0;
}
export function u8At(b: Buffer, off: number): number {
  return off < b.length ? b[off] : 0;
}
