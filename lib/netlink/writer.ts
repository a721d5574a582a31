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

  /**
   * Starts a message; NLM_F_REQUEST is always set.
   * @example
   * const RTM_GETLINK = 18;
   * const msg = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP).end().finish();
   */
  begin(type: number, flags: number): this {
    if (this.messageStart >= 0) throw new Error('NetlinkWriter: previous message not ended');
    this.messageStart = this.len;
    this.messageOffsets.push(this.len);
    const off = this.reserve(NLMSG_HDRLEN);
    const b = this.buf;
    // Plain byte stores: this and the attribute writers run for every field of
    // every message (an nftables batch of 1,000 rules writes ~60,000 of them).
    put32le(b, off, 0); // length: set by end()
    put16le(b, off + 4, type);
    put16le(b, off + 6, (flags | NLM_F_REQUEST) & 0xffff);
    put32le(b, off + 8, 0); // seq: set by the connection
    put32le(b, off + 12, 0); // port id: 0 lets the kernel fill it
    return this;
  }

  /**
   * Ends the current message and writes its length.
   * @example
   * const w = new NetlinkWriter();
   * w.begin(RTM_GETLINK, NLM_F_DUMP);
   * w.struct(16); // struct ifinfomsg
   * w.end(); // the header's length now covers the struct
   */
  end(): this {
    if (this.messageStart < 0) throw new Error('NetlinkWriter: no message begun');
    put32le(this.buf, this.messageStart, this.len - this.messageStart);
    this.messageStart = -1;
    return this;
  }

  /**
   * Appends raw bytes (a fixed struct), padded to 4 bytes.
   * @example
   * const RTM_GETNSID = 90, NETNSA_FD = 3, AF_UNSPEC = 0;
   * w.begin(RTM_GETNSID, 0).bytes(Uint8Array.of(AF_UNSPEC)).u32(NETNSA_FD, fd).end(); // struct rtgenmsg, padded to 4
   */
  bytes(data: Uint8Array): this {
    const off = this.reserve(align4(data.length));
    this.buf.set(data, off);
    zero(this.buf, off + data.length, off + align4(data.length));
    return this;
  }

  /**
   * Appends a zeroed struct of `size` bytes and returns its offset for filling in.
   * @example
   * const RTM_GETLINK = 18, AF_INET6 = 10;
   * w.begin(RTM_GETLINK, 0);
   * const off = w.struct(16); // struct ifinfomsg
   * w.view.writeUInt8(AF_INET6, off); // ifi_family
   * w.view.writeInt32LE(ifindex, off + 4); // ifi_index
   * w.end();
   */
  struct(size: number): number {
    const off = this.reserve(align4(size));
    zero(this.buf, off, off + align4(size));
    return off;
  }

  /** Direct access for filling in a struct returned by {@link struct}. */
  get view(): Buffer {
    return this.buf;
  }

  /**
   * Appends an attribute with these data bytes (header and padding added).
   * @example
   * const IFLA_ADDRESS = 1;
   * w.attr(IFLA_ADDRESS, Buffer.from([0x02, 0, 0, 0, 0, 0x01])); // a MAC address
   */
  attr(type: number, data: Uint8Array): this {
    const total = NLA_HDRLEN + data.length;
    const off = this.reserve(align4(total));
    const b = this.buf;
    put16le(b, off, total);
    put16le(b, off + 2, type);
    if (data.length <= 16) for (let i = 0; i < data.length; i++) b[off + NLA_HDRLEN + i] = data[i];
    else b.set(data, off + NLA_HDRLEN);
    zero(b, off + total, off + align4(total));
    return this;
  }

  /** Reserves an attribute of `size` data bytes (padding zeroed); returns the data offset. */
  private attrNum(type: number, size: number): number {
    const off = this.reserve(NLA_HDRLEN + align4(size));
    const b = this.buf;
    put16le(b, off, NLA_HDRLEN + size);
    put16le(b, off + 2, type);
    zero(b, off + NLA_HDRLEN + size, off + NLA_HDRLEN + align4(size));
    return off + NLA_HDRLEN;
  }

  // u8/u16/s32/u64/be16/be64 keep Buffer's range checks (RangeError on bad values);
  // u32/be32 coerce with >>> 0 as before and store bytes directly.
  // Each takes its offset before touching this.buf: attrNum may grow (replace) the buffer.
  /**
   * Appends a u8 attribute (RangeError outside 0..255).
   * @example
   * const IFLA_OPERSTATE = 16, IF_OPER_UP = 6;
   * w.u8(IFLA_OPERSTATE, IF_OPER_UP);
   */
  u8(type: number, v: number): this {
    const off = this.attrNum(type, 1);
    this.buf.writeUInt8(v, off);
    return this;
  }
  /**
   * Appends a u16 attribute in host (little-endian) order.
   * @example
   * const IFLA_VLAN_ID = 1;
   * w.u16(IFLA_VLAN_ID, 100);
   */
  u16(type: number, v: number): this {
    const off = this.attrNum(type, 2);
    this.buf.writeUInt16LE(v, off);
    return this;
  }
  /**
   * Appends a u32 attribute in host (little-endian) order.
   * @example
   * const IFLA_MTU = 4;
   * w.u32(IFLA_MTU, 1400);
   */
  u32(type: number, v: number): this {
    const off = this.attrNum(type, 4);
    put32le(this.buf, off, v >>> 0);
    return this;
  }
  /**
   * Appends a signed 32-bit attribute in host order.
   * @example
   * const IFLA_LINK_NETNSID = 37;
   * w.s32(IFLA_LINK_NETNSID, peerNsid); // the veth peer's namespace id
   */
  s32(type: number, v: number): this {
    const off = this.attrNum(type, 4);
    this.buf.writeInt32LE(v, off);
    return this;
  }
  /**
   * Appends a u64 attribute in host order (a bigint or a safe integer).
   * @example
   * const MY_ATTR_BYTES = 4; // a u64 attribute of your family
   * w.u64(MY_ATTR_BYTES, 1n << 40n);
   */
  u64(type: number, v: bigint | number): this {
    const off = this.attrNum(type, 8);
    this.buf.writeBigUInt64LE(BigInt(v), off);
    return this;
  }
  /**
   * Appends a big-endian (network order) u16, as nftables and ports use.
   * @example
   * const CTA_PROTO_DST_PORT = 3;
   * w.be16(CTA_PROTO_DST_PORT, 8080);
   */
  be16(type: number, v: number): this {
    const off = this.attrNum(type, 2);
    this.buf.writeUInt16BE(v, off);
    return this;
  }
  /**
   * Appends a big-endian (network order) u32.
   * @example
   * const NFTA_CHAIN_POLICY = 5, NF_ACCEPT = 1;
   * w.be32(NFTA_CHAIN_POLICY, NF_ACCEPT);
   */
  be32(type: number, v: number): this {
    const o = this.attrNum(type, 4);
    const b = this.buf;
    v >>>= 0;
    b[o] = v >>> 24;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
    return this;
  }
  /**
   * Appends a big-endian (network order) u64.
   * @example
   * const NFTA_RULE_HANDLE = 3;
   * w.be64(NFTA_RULE_HANDLE, 42n);
   */
  be64(type: number, v: bigint | number): this {
    const off = this.attrNum(type, 8);
    this.buf.writeBigUInt64BE(BigInt(v), off);
    return this;
  }
  /**
   * Appends a NUL-terminated string (UTF-8).
   * @example
   * const IFLA_IFNAME = 3;
   * w.string(IFLA_IFNAME, 'veth0');
   */
  string(type: number, s: string): this {
    // ASCII (names, almost always) is written in place; anything else through a UTF-8 encode.
    const n = s.length;
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return this.attr(type, Buffer.from(s + '\0', 'utf8'));
    const o = this.attrNum(type, n + 1);
    const b = this.buf;
    for (let i = 0; i < n; i++) b[o + i] = s.charCodeAt(i);
    b[o + n] = 0;
    return this;
  }
  /**
   * Appends a zero-length attribute whose presence is the value.
   * @example
   * const ETHTOOL_A_BITSET_NOMASK = 1; // NLA_FLAG in linux/ethtool_netlink.h
   * w.flag(ETHTOOL_A_BITSET_NOMASK);
   */
  flag(type: number): this {
    return this.attr(type, new Uint8Array(0));
  }

  /**
   * Opens a nested attribute and returns the token for {@link endNest};
   * NLA_F_NESTED is set unless `plain` (for families whose kernel code
   * predates the flag and expects it clear).
   * @example
   * const IFLA_LINKINFO = 18, IFLA_INFO_KIND = 1;
   * const info = w.nest(IFLA_LINKINFO);
   * w.string(IFLA_INFO_KIND, 'dummy');
   * w.endNest(info);
   */
  nest(type: number, plain = false): number {
    const off = this.reserve(NLA_HDRLEN);
    put16le(this.buf, off, 0);
    put16le(this.buf, off + 2, plain ? type : type | NLA_F_NESTED);
    return off;
  }

  /**
   * Closes the nest {@link nest} opened, writing its length.
   * @example
   * const t = w.nest(IFLA_LINKINFO);
   * w.string(IFLA_INFO_KIND, 'bridge').endNest(t);
   */
  endNest(token: number): this {
    put16le(this.buf, token, this.len - token);
    return this;
  }

  /**
   * Sets the network-byte-order marker (NLA_F_NET_BYTEORDER) on an
   * attribute type, for the families that expect it.
   * @example
   * const IPSET_ATTR_IPADDR_IPV4 = 1; // ipset marks its network-order fields
   * w.be32(NetlinkWriter.netOrder(IPSET_ATTR_IPADDR_IPV4), 0x0a000001); // 10.0.0.1
   */
  static netOrder(type: number): number {
    return type | NLA_F_NET_BYTEORDER;
  }

  /**
   * A copy of everything written: one message, or several for a batch.
   * Throws when a message was begun and not ended.
   * @example
   * const msg = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP).end().finish();
   * const replies = await sock.dump(msg);
   */
  finish(): Buffer {
    if (this.messageStart >= 0) throw new Error('NetlinkWriter: message not ended');
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  /**
   * Drops everything written from byte `length` on, with the messages begun
   * there (an encoding that threw half-way leaves no partial message behind).
   * @example
   * const start = w.length;
   * try { writeRule(w, r); } catch (e) { w.rewind(start); throw e; }
   */
  rewind(length: number): this {
    if (!(length >= 0 && length <= this.len)) throw new RangeError(`NetlinkWriter: cannot rewind to ${length} of ${this.len} bytes`);
    this.len = length;
    this.messageStart = -1;
    while (this.messageOffsets.length > 0 && this.messageOffsets[this.messageOffsets.length - 1] >= length) this.messageOffsets.pop();
    return this;
  }

  /**
   * The bytes written in [start, end) as a view, without copying: valid until
   * the next write (which may move the buffer). `finish()` makes a copy.
   * @example
   * const start = w.length;
   * w.begin(RTM_GETLINK, NLM_F_DUMP).end();
   * const request = w.written(start); // this message only
   */
  written(start = 0, end = this.len): Buffer {
    return this.buf.subarray(start, end);
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

/** A u16 that must fit (attribute and nest lengths above 65,535 are an error, as Buffer's writers reported). */
function put16le(b: Buffer, off: number, v: number): void {
  if (!(v >= 0 && v <= 0xffff)) throw new RangeError(`NetlinkWriter: ${v} does not fit 16 bits (attribute or nest longer than 65535 bytes?)`);
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
}

function put32le(b: Buffer, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = v >>> 24;
}

/** Zeroes [from, to): at most a few padding bytes. */
function zero(b: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) b[i] = 0;
}
