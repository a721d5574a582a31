/**
 * Builds netlink messages: headers, fixed structs and attributes (nested,
 * network byte order) into one growable buffer that may hold several
 * messages (a batch). Sequence numbers are filled in by the connection.
 * @module
 */
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLMSG_HDRLEN, NLM_F_REQUEST, align4 } from './constants';

export class NetlinkWriter {
  private buf: Buffer;
  private len = 0;
  private messageStart = -1;
  /** Byte offset of each message written so far. */
  readonly messageOffsets: number[] = [];

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.len;
  }

  /** Starts a message; NLM_F_REQUEST is always set. */
  begin(type: number, flags: number): this {
    if (this.messageStart >= 0) throw new Error('NetlinkWriter: previous message not ended');
    this.messageStart = this.len;
    this.messageOffsets.push(this.len);
    const off = this.reserve(NLMSG_HDRLEN);
    this.buf.writeUInt32LE(0, off);
    this.buf.writeUInt16LE(type, off + 4);
    this.buf.writeUInt16LE((flags | NLM_F_REQUEST) & 0xffff, off + 6);
    this.buf.writeUInt32LE(0, off + 8); // seq: set by the connection
    this.buf.writeUInt32LE(0, off + 12); // port id: 0 lets the kernel fill it
    return this;
  }

  /** Ends the current message and writes its length. */
  end(): this {
    if (this.messageStart < 0) throw new Error('NetlinkWriter: no message begun');
    this.buf.writeUInt32LE(this.len - this.messageStart, this.messageStart);
    this.messageStart = -1;
    return this;
  }

  /** Appends raw bytes (a fixed struct), padded to 4 bytes. */
  bytes(data: Uint8Array): this {
    const off = this.reserve(align4(data.length));
    this.buf.set(data, off);
    this.buf.fill(0, off + data.length, off + align4(data.length));
    return this;
  }

  /** Appends a zeroed struct of `size` bytes and returns its offset for filling in. */
  struct(size: number): number {
    const off = this.reserve(align4(size));
    this.buf.fill(0, off, off + align4(size));
    return off;
  }

  /** Direct access for filling in a struct returned by {@link struct}. */
  get view(): Buffer {
    return this.buf;
  }

  attr(type: number, data: Uint8Array): this {
    const total = NLA_HDRLEN + data.length;
    const off = this.reserve(align4(total));
    this.buf.writeUInt16LE(total, off);
    this.buf.writeUInt16LE(type, off + 2);
    this.buf.set(data, off + NLA_HDRLEN);
    this.buf.fill(0, off + total, off + align4(total));
    return this;
  }

  private attrNum(type: number, size: number, put: (b: Buffer, off: number) => void): this {
    const off = this.reserve(NLA_HDRLEN + align4(size));
    this.buf.writeUInt16LE(NLA_HDRLEN + size, off);
    this.buf.writeUInt16LE(type, off + 2);
    this.buf.fill(0, off + NLA_HDRLEN, off + NLA_HDRLEN + align4(size));
    put(this.buf, off + NLA_HDRLEN);
    return this;
  }

  u8(type: number, v: number): this {
    return this.attrNum(type, 1, (b, o) => b.writeUInt8(v, o));
  }
  u16(type: number, v: number): this {
    return this.attrNum(type, 2, (b, o) => b.writeUInt16LE(v, o));
  }
  u32(type: number, v: number): this {
    return this.attrNum(type, 4, (b, o) => b.writeUInt32LE(v >>> 0, o));
  }
  s32(type: number, v: number): this {
    return this.attrNum(type, 4, (b, o) => b.writeInt32LE(v, o));
  }
  u64(type: number, v: bigint | number): this {
    return this.attrNum(type, 8, (b, o) => b.writeBigUInt64LE(BigInt(v), o));
  }
  /** Big-endian (network order) fields, as nftables and ports use. */
  be16(type: number, v: number): this {
    return this.attrNum(type, 2, (b, o) => b.writeUInt16BE(v, o));
  }
  be32(type: number, v: number): this {
    return this.attrNum(type, 4, (b, o) => b.writeUInt32BE(v >>> 0, o));
  }
  be64(type: number, v: bigint | number): this {
    return this.attrNum(type, 8, (b, o) => b.writeBigUInt64BE(BigInt(v), o));
  }
  /** A NUL-terminated string. */
  string(type: number, s: string): this {
    const data = Buffer.from(s + '\0', 'utf8');
    return this.attr(type, data);
  }
  /** A zero-length attribute whose presence is the value. */
  flag(type: number): this {
    return this.attr(type, new Uint8Array(0));
  }

  /** Opens a nested attribute; NLA_F_NESTED is set unless `plain`. */
  nest(type: number, plain = false): number {
    const off = this.reserve(NLA_HDRLEN);
    this.buf.writeUInt16LE(0, off);
    this.buf.writeUInt16LE(plain ? type : type | NLA_F_NESTED, off + 2);
    return off;
  }

  endNest(token: number): this {
    this.buf.writeUInt16LE(this.len - token, token);
    return this;
  }

  /** Network-byte-order marker for attribute types that carry it. */
  static netOrder(type: number): number {
    return type | NLA_F_NET_BYTEORDER;
  }

  /** A copy of everything written. */
  finish(): Buffer {
    if (this.messageStart >= 0) throw new Error('NetlinkWriter: message not ended');
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  private reserve(n: number): number {
    const need = this.len + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    const off = this.len;
    this.len = need;
    return off;
  }
}
