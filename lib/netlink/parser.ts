/**
 * Reads netlink messages and attributes. Payloads are views into the
 * received buffer (no copies); attribute lists keep every attribute,
 * including ones this library does not know, so nothing is silently dropped.
 * @module
 */
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN, align4 } from './constants';

/** One received netlink message. */
export interface NetlinkMessage {
  /** Message type (RTM_NEWLINK, NLMSG_ERROR, ...). */
  type: number;
  /** NLM_F_* flags. */
  flags: number;
  /** Sequence number (matches the request's). */
  seq: number;
  /** Port id of the sender (0 for the kernel). */
  pid: number;
  /** Everything after the 16-byte header. */
  payload: Buffer;
}

/**
 * Splits a buffer of concatenated messages (a datagram, or a recorded
 * capture) into messages; a truncated tail is left out rather than misread.
 * @example
 * for (const m of parseMessages(datagram)) console.log(m.type, m.seq, m.payload.length);
 */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  const end = buf.length;
  while (off + NLMSG_HDRLEN <= end) {
    // Plain byte reads: this runs for every message of every dump.
    const len = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
    if (len < NLMSG_HDRLEN || off + len > end) break; // truncated: stop rather than misread
    out.push({
      type: buf[off + 4] | (buf[off + 5] << 8),
      flags: buf[off + 6] | (buf[off + 7] << 8),
      seq: (buf[off + 8] | (buf[off + 9] << 8) | (buf[off + 10] << 16) | (buf[off + 11] << 24)) >>> 0,
      pid: (buf[off + 12] | (buf[off + 13] << 8) | (buf[off + 14] << 16) | (buf[off + 15] << 24)) >>> 0,
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
  /** NLA_F_NESTED was set. */
  nested: boolean;
  /** NLA_F_NET_BYTEORDER was set. */
  netByteOrder: boolean;
  /** The payload (without the attribute header). */
  data: Buffer;
}

/**
 * The attributes of a message (or of a nested attribute), in order.
 * Accessors return undefined for absent or short attributes instead of throwing:
 * kernels add and grow attributes over time.
 *
 * Parsing only records where each attribute is; numbers are read straight
 * from the received buffer and Buffer views are made only when asked for
 * (`get`, `list`), so decoding a large dump allocates little.
 */
export class Attributes {
  private readonly buf: Buffer;
  /** Three numbers per attribute: raw type (with flag bits), data offset, data length. */
  private readonly at: number[] = [];
  private listCache?: RawAttribute[];

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    let off = start;
    while (off + NLA_HDRLEN <= end) {
      const len = buf[off] | (buf[off + 1] << 8);
      const rawType = buf[off + 2] | (buf[off + 3] << 8);
      if (len < NLA_HDRLEN || off + len > end) break;
      this.at.push(rawType, off + NLA_HDRLEN, len - NLA_HDRLEN);
      off += align4(len);
    }
  }

  /**
   * Parses an optional buffer: undefined in, undefined out.
   * @example
   * const IFLA_AF_SPEC = 26;
   * const spec = Attributes.of(attrs.get(IFLA_AF_SPEC)); // Attributes | undefined
   */
  static of(data: Buffer | undefined): Attributes | undefined {
    return data ? new Attributes(data) : undefined;
  }

  /** Every attribute, known or not, as received. */
  get list(): RawAttribute[] {
    if (!this.listCache) {
      this.listCache = [];
      for (let i = 0; i < this.at.length; i += 3) this.listCache.push(this.raw(i));
    }
    return this.listCache;
  }

  /**
   * The attributes whose type is not in `known` (for `unknownAttributes`).
   * @example
   * const IFLA_ADDRESS = 1, IFLA_IFNAME = 3;
   * const rest = attrs.unknown(new Set([IFLA_ADDRESS, IFLA_IFNAME])); // kept, not dropped
   */
  unknown(known: ReadonlySet<number>): RawAttribute[] {
    const out: RawAttribute[] = [];
    for (let i = 0; i < this.at.length; i += 3) if (!known.has(this.at[i] & NLA_TYPE_MASK)) out.push(this.raw(i));
    return out;
  }

  /**
   * The first attribute of this type (the kernel sends most types once), as
   * a view into the received buffer.
   * @example
   * const IFLA_ADDRESS = 1;
   * const mac = attrs.get(IFLA_ADDRESS); // Buffer | undefined
   */
  get(type: number): Buffer | undefined {
    const i = this.find(type);
    return i < 0 ? undefined : this.buf.subarray(this.at[i + 1], this.at[i + 1] + this.at[i + 2]);
  }

  /**
   * Reads the first attribute of this type in place with `read(buffer, offset,
   * length)`, without making a Buffer view (hot decoders); undefined when absent.
   * @example
   * const RTA_DST = 1;
   * const dst = attrs.read(RTA_DST, (b, off, len) => [...b.subarray(off, off + len)].join('.'));
   */
  read<T>(type: number, read: (buf: Buffer, offset: number, length: number) => T): T | undefined {
    const i = this.find(type);
    return i < 0 ? undefined : read(this.buf, this.at[i + 1], this.at[i + 2]);
  }

  /**
   * Whether an attribute of this type is present.
   * @example
   * const IFLA_MASTER = 10;
   * if (attrs.has(IFLA_MASTER)) console.log('enslaved to', attrs.u32(IFLA_MASTER));
   */
  has(type: number): boolean {
    return this.find(type) >= 0;
  }

  /**
   * Every attribute of this type, for repeated attributes.
   * @example
   * const IFLA_PROP_LIST = 52, IFLA_ALT_IFNAME = 53;
   * const altNames = attrs.nested(IFLA_PROP_LIST)?.all(IFLA_ALT_IFNAME).map(cString);
   */
  all(type: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.at.length; i += 3) {
      if ((this.at[i] & NLA_TYPE_MASK) === type) out.push(this.buf.subarray(this.at[i + 1], this.at[i + 1] + this.at[i + 2]));
    }
    return out;
  }

  /**
   * Every attribute of this type, each parsed as a nest (no Buffer views: hot decoders).
   * @example
   * const NFTA_SET_ELEM_LIST_ELEMENTS = 3, NFTA_LIST_ELEM = 1;
   * const elements = attrs.nested(NFTA_SET_ELEM_LIST_ELEMENTS)?.allNested(NFTA_LIST_ELEM) ?? [];
   */
  allNested(type: number): Attributes[] {
    const out: Attributes[] = [];
    for (let i = 0; i < this.at.length; i += 3) {
      if ((this.at[i] & NLA_TYPE_MASK) === type) out.push(new Attributes(this.buf, this.at[i + 1], this.at[i + 1] + this.at[i + 2]));
    }
    return out;
  }

  /**
   * A copy of the first attribute of this type (decoded objects must not pin the received buffer).
   * @example
   * const NFTA_RULE_USERDATA = 7;
   * const userdata = attrs.copy(NFTA_RULE_USERDATA); // safe to keep after the dump
   */
  copy(type: number): Buffer | undefined {
    const i = this.find(type);
    if (i < 0) return undefined;
    const start = this.at[i + 1];
    const len = this.at[i + 2];
    const out = Buffer.allocUnsafe(len);
    if (len <= 32) for (let k = 0; k < len; k++) out[k] = this.buf[start + k];
    else this.buf.copy(out, 0, start, start + len);
    return out;
  }

  /**
   * A u8 attribute; undefined when absent or too short (as all the number readers).
   * @example
   * const IFLA_OPERSTATE = 16;
   * const up = attrs.u8(IFLA_OPERSTATE) === 6; // IF_OPER_UP
   */
  u8(type: number): number | undefined {
    const i = this.find(type);
    return i >= 0 && this.at[i + 2] >= 1 ? this.buf[this.at[i + 1]] : undefined;
  }
  /**
   * A u16 attribute in host (little-endian) order.
   * @example
   * const IFLA_INFO_DATA = 2, IFLA_VLAN_ID = 1; // IFLA_INFO_DATA inside IFLA_LINKINFO
   * const vid = linkInfo.nested(IFLA_INFO_DATA)?.u16(IFLA_VLAN_ID);
   */
  u16(type: number): number | undefined {
    const i = this.find(type);
    return i >= 0 && this.at[i + 2] >= 2 ? this.buf.readUInt16LE(this.at[i + 1]) : undefined;
  }
  /**
   * A u32 attribute in host order.
   * @example
   * const IFLA_MTU = 4;
   * const mtu = attrs.u32(IFLA_MTU);
   */
  u32(type: number): number | undefined {
    const i = this.find(type);
    return i >= 0 && this.at[i + 2] >= 4 ? this.buf.readUInt32LE(this.at[i + 1]) : undefined;
  }
  /**
   * A signed 32-bit attribute in host order.
   * @example
   * const IFLA_LINK_NETNSID = 37;
   * const peerNsid = attrs.s32(IFLA_LINK_NETNSID); // -1: not assigned
   */
  s32(type: number): number | undefined {
    const i = this.find(type);
    return i >= 0 && this.at[i + 2] >= 4 ? this.buf.readInt32LE(this.at[i + 1]) : undefined;
  }
  /**
   * A u64 attribute in host order, as a bigint.
   * @example
   * const MY_ATTR_BYTES = 4; // a u64 attribute of your family
   * const bytes = attrs.u64(MY_ATTR_BYTES);
   */
  u64(type: number): bigint | undefined {
    const i = this.find(type);
    return i >= 0 && this.at[i + 2] >= 8 ? this.buf.readBigUInt64LE(this.at[i + 1]) : undefined;
  }
  /**
   * A big-endian (network order) u16, such as a port.
   * @example
   * const CTA_PROTO_DST_PORT = 3;
   * const port = proto.be16(CTA_PROTO_DST_PORT);
   */
  be16(type: number): number | undefined {
    const i = this.find(type);
    return i >= 0 && this.at[i + 2] >= 2 ? this.buf.readUInt16BE(this.at[i + 1]) : undefined;
  }
  /**
   * A big-endian (network order) u32 (nftables numbers).
   * @example
   * const NFTA_CHAIN_POLICY = 5;
   * const accept = attrs.be32(NFTA_CHAIN_POLICY) === 1; // NF_ACCEPT
   */
  be32(type: number): number | undefined {
    const i = this.find(type);
    return i >= 0 && this.at[i + 2] >= 4 ? this.buf.readUInt32BE(this.at[i + 1]) : undefined;
  }
  /**
   * A big-endian (network order) u64, as a bigint (nftables handles).
   * @example
   * const NFTA_RULE_HANDLE = 3;
   * const handle = attrs.be64(NFTA_RULE_HANDLE);
   */
  be64(type: number): bigint | undefined {
    const i = this.find(type);
    return i >= 0 && this.at[i + 2] >= 8 ? this.buf.readBigUInt64BE(this.at[i + 1]) : undefined;
  }
  /**
   * A NUL-terminated (or not) string.
   * @example
   * const IFLA_IFNAME = 3;
   * const name = attrs.string(IFLA_IFNAME);
   */
  string(type: number): string | undefined {
    const i = this.find(type);
    if (i < 0) return undefined;
    const start = this.at[i + 1];
    return decodeString(this.buf, start, start + this.at[i + 2]);
  }
  /**
   * Whether a flag attribute (zero-length, its presence the value) is present.
   * @example
   * const ETHTOOL_A_BITSET_NOMASK = 1;
   * const listIsValues = bitset.flag(ETHTOOL_A_BITSET_NOMASK);
   */
  flag(type: number): boolean {
    return this.find(type) >= 0;
  }
  /**
   * The first attribute of this type parsed as a nest; undefined when absent.
   * @example
   * const IFLA_LINKINFO = 18, IFLA_INFO_KIND = 1;
   * const kind = attrs.nested(IFLA_LINKINFO)?.string(IFLA_INFO_KIND); // 'veth', 'bridge', ...
   */
  nested(type: number): Attributes | undefined {
    const i = this.find(type);
    return i < 0 ? undefined : new Attributes(this.buf, this.at[i + 1], this.at[i + 1] + this.at[i + 2]);
  }

  /** Index into `at` of the first attribute of this type, or -1. */
  private find(type: number): number {
    const at = this.at;
    for (let i = 0; i < at.length; i += 3) if ((at[i] & NLA_TYPE_MASK) === type) return i;
    return -1;
  }

  private raw(i: number): RawAttribute {
    const rawType = this.at[i];
    return {
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
      data: this.buf.subarray(this.at[i + 1], this.at[i + 1] + this.at[i + 2]),
    };
  }
}

/**
 * Short ASCII strings seen before (interface, table, chain and expression
 * names: the same few, thousands of times in a dump), by a hash of their
 * bytes; a hit is compared byte for byte before it is returned.
 */
const seenStrings = new Map<number, string>();
const MAX_SEEN_STRINGS = 4096;

/** Decodes [start, end) up to the first NUL as UTF-8, reusing the string of identical short ASCII bytes. */
function decodeString(buf: Buffer, start: number, end: number): string {
  let h = 0x811c9dc5;
  let ascii = true;
  let nul = start;
  for (; nul < end; nul++) {
    const c = buf[nul];
    if (c === 0) break;
    if (c > 0x7f) ascii = false;
    h = Math.imul(h ^ c, 0x01000193);
  }
  const n = nul - start;
  if (n === 0) return '';
  if (!ascii || n > 64) return buf.toString('utf8', start, nul);
  const hit = seenStrings.get(h);
  if (hit?.length === n) {
    let k = 0;
    while (k < n && hit.charCodeAt(k) === buf[start + k]) k++;
    if (k === n) return hit;
  }
  const s = buf.toString('latin1', start, nul); // ASCII: same as UTF-8
  if (seenStrings.size >= MAX_SEEN_STRINGS) seenStrings.clear();
  seenStrings.set(h, s);
  return s;
}

/**
 * Decodes bytes up to the first NUL (or all of them) as UTF-8.
 * @example
 * cString(Buffer.from('eth0\0\0\0')); // 'eth0'
 */
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
