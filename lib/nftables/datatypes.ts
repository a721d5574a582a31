/**
 * nft's data types — what set keys and map values are (ipv4_addr,
 * inet_service, mark, ifname, ...): their numeric ids (as stored in
 * NFTA_SET_KEY_TYPE / NFTA_SET_DATA_TYPE), sizes, byte order, and how a
 * value is written in the API ("10.0.0.1", 80, "eth0") versus on the wire.
 * Concatenated types (`ipv4_addr . inet_service`) pack their ids 6 bits each.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatIp, formatMac, parseIp, parseMac } from '../validate/ip';
import { IP_PROTOCOLS } from '../validate/ip-protocols';
import { validateNftText } from '../validate/names';
import { hostU32, readHostU32 } from './data';
import { ICMPV6_TYPES, ICMP_TYPES, symbolValue } from './header-symbols';

/** A single value of a set key or map data field. */
export type Scalar = string | number | bigint | Buffer;

export interface DataType {
  name: string;
  /** nft's TYPE_* id. */
  id: number;
  /** Bytes; 0 for variable-size types (integer, string). */
  size: number;
  /** Host byte order (meta mark, ct state, ...) versus network order. */
  hostOrder: boolean;
  /** API value → wire bytes of `len` (size when fixed). */
  parse(v: Scalar, len: number, field: string): Buffer;
  /** Wire bytes → API value. */
  format(b: Buffer): Scalar;
}

/** Known IP protocol names (nft prints these instead of numbers); shared with conntrack. */
export { IP_PROTOCOLS };

function raw(v: Scalar, len: number, field: string): Buffer | undefined {
  if (Buffer.isBuffer(v)) {
    if (v.length !== len) throw new ValidationError(field, v.toString('hex'), `must be ${len} bytes`);
    return Buffer.from(v);
  }
  return undefined;
}

function uint(v: Scalar, field: string, max: bigint): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v)) n = BigInt(v);
  else throw new ValidationError(field, v, 'must be a non-negative integer');
  if (n < 0n || n > max) throw new ValidationError(field, v, `must be 0-${max}`);
  return n;
}

/** The largest value of 1 to 4 bytes, by length. */
const MAX_UINT = [0, 0xff, 0xffff, 0xffffff, 0xffffffff];

function bigEndianInt(v: Scalar, len: number, field: string): Buffer {
  // A port or a protocol: a small function with no BigInt in it, so the first rules of a new process
  // run little code and the optimising compiler has little to compile (bench/notes.md).
  if (typeof v === 'number' && len <= 4 && v >= 0 && v <= MAX_UINT[len] && Number.isInteger(v)) {
    const b = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) b[i] = (v >>> (8 * (len - 1 - i))) & 0xff;
    return b;
  }
  return anyBigEndianInt(v, len, field);
}

function anyBigEndianInt(v: Scalar, len: number, field: string): Buffer {
  if (typeof v === 'number' && Number.isInteger(v) && len <= 6) {
    // Ports, protocols, marks: plain numbers, no BigInt (this runs for every port of every rule).
    const max = 2 ** (8 * len) - 1;
    if (v < 0 || v > max) throw new ValidationError(field, v, `must be 0-${max}`);
    const b = Buffer.allocUnsafe(len);
    let x = v;
    for (let i = len - 1; i >= 0; i--) {
      b[i] = x % 256;
      x = Math.floor(x / 256);
    }
    return b;
  }
  const r = raw(v, len, field);
  if (r) return r;
  let n = uint(v, field, (1n << BigInt(8 * len)) - 1n);
  const b = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--) {
    b[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return b;
}

function readBigEndian(b: Buffer): number | bigint {
  let n = 0n;
  for (const byte of b) n = (n << 8n) | BigInt(byte);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function hostInt32(v: Scalar, len: number, field: string): Buffer {
  const r = raw(v, len, field);
  if (r) return r;
  return hostU32(Number(uint(v, field, 0xffffffffn)));
}

/** The largest interface index: the kernel's ifindex is an int (nft refuses larger numbers too). */
const MAX_IFINDEX = 0x7fffffff;

/**
 * An interface index in a set or map: 0 to 2^31 - 1 (0, which nft writes
 * too, matches no packet). Above that no link has it: 2^31 to 2^32 - 1 used
 * to be written as an element nothing matches.
 */
function ifaceIndex(v: Scalar, len: number, field: string): Buffer {
  const r = raw(v, len, field);
  if (r) return r;
  const n = uint(v, field, 0xffffffffn);
  if (n > BigInt(MAX_IFINDEX))
    throw new ValidationError(field, typeof v === 'bigint' ? String(v) : v, `must be an interface index: an integer from 0 to ${MAX_IFINDEX}`);
  return hostU32(Number(n));
}

const fixedInt = (name: string, id: number, size: number): DataType => ({
  name,
  id,
  size,
  hostOrder: false,
  parse: (v, len, field) => bigEndianInt(v, size, field),
  format: (b) => readBigEndian(b),
});

const hostInt = (name: string, id: number): DataType => ({
  name,
  id,
  size: 4,
  hostOrder: true,
  parse: hostInt32,
  format: (b) => (b.length === 4 ? readHostU32(b) : readBigEndian(b)),
});

/** A one-byte header value written by name ("echo-request") or number. */
const namedByte = (name: string, id: number, names: Record<number, string>): DataType => ({
  name,
  id,
  size: 1,
  hostOrder: false,
  parse: (v, len, field) =>
    raw(v, 1, field) ?? Buffer.from([typeof v === 'string' || typeof v === 'number' ? symbolValue(names, v, field, 0xff) : Number(uint(v, field, 0xffn))]),
  format: (b) => names[b[0]] ?? b[0],
});

const TYPES: DataType[] = [
  {
    name: 'ipv4_addr',
    id: 7,
    size: 4,
    hostOrder: false,
    parse: (v, len, field) => raw(v, 4, field) ?? parseIp(v, field, 4).bytes,
    format: (b) => formatIp(b),
  },
  {
    name: 'ipv6_addr',
    id: 8,
    size: 16,
    hostOrder: false,
    parse: (v, len, field) => raw(v, 16, field) ?? parseIp(v, field, 6).bytes,
    format: (b) => formatIp(b),
  },
  {
    name: 'ether_addr',
    id: 9,
    size: 6,
    hostOrder: false,
    parse: (v, len, field) => raw(v, 6, field) ?? parseMac(v, field),
    format: (b) => formatMac(b),
  },
  {
    name: 'inet_proto',
    id: 12,
    size: 1,
    hostOrder: false,
    parse: (v, len, field) => {
      const r = raw(v, 1, field);
      if (r) return r;
      if (typeof v === 'string' && IP_PROTOCOLS.has(v)) return Buffer.from([IP_PROTOCOLS.number(v)]);
      return bigEndianInt(v, 1, field);
    },
    format: (b) => IP_PROTOCOLS.name(b[0]),
  },
  fixedInt('inet_service', 13, 2),
  fixedInt('ether_type', 10, 2),
  fixedInt('nf_proto', 2, 1),
  fixedInt('ct_dir', 27, 1),
  fixedInt('pkt_type', 31, 1),
  namedByte('icmp_type', 14, ICMP_TYPES),
  namedByte('icmpv6_type', 29, ICMPV6_TYPES),
  hostInt('mark', 19),
  { ...hostInt('iface_index', 20), parse: ifaceIndex },
  hostInt('ct_state', 26),
  hostInt('ct_status', 28),
  hostInt('fib_addrtype', 38),
  hostInt('uid', 24),
  hostInt('gid', 25),
  {
    name: 'ifname',
    id: 41,
    size: 16,
    hostOrder: true,
    parse: (v, len, field) => {
      const r = raw(v, 16, field);
      if (r) return r;
      if (typeof v !== 'string' || Buffer.byteLength(v) > 15) throw new ValidationError(field, v, 'must be an interface name of at most 15 bytes');
      validateNftText(v, field);
      const b = Buffer.alloc(16);
      b.write(v, 'utf8');
      return b;
    },
    format: (b) => {
      const nul = b.indexOf(0);
      return b.toString('utf8', 0, nul < 0 ? b.length : nul);
    },
  },
  {
    name: 'integer',
    id: 4,
    size: 0,
    hostOrder: false,
    parse: (v, len, field) => bigEndianInt(v, len, field),
    format: (b) => readBigEndian(b),
  },
];

const byName = new Map(TYPES.map((t) => [t.name, t]));
const byId = new Map(TYPES.map((t) => [t.id, t]));

/** The verdict data type of verdict maps (`: verdict`). */
export const VERDICT_TYPE_ID = 1;

/** Data type names nlkit can parse and format values of. */
export type DataTypeName =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'ether_addr'
  | 'inet_proto'
  | 'inet_service'
  | 'ether_type'
  | 'nf_proto'
  | 'ct_dir'
  | 'pkt_type'
  | 'icmp_type'
  | 'icmpv6_type'
  | 'mark'
  | 'iface_index'
  | 'ct_state'
  | 'ct_status'
  | 'fib_addrtype'
  | 'uid'
  | 'gid'
  | 'ifname'
  | 'integer';

/** Whether nlkit can parse and format values of this data type. */
export function hasDataType(name: string): boolean {
  return byName.has(name);
}

export function dataTypeByName(name: string, field = 'type'): DataType {
  const t = byName.get(name);
  if (!t) throw new ValidationError(field, name, `unknown data type; known: ${[...byName.keys()].join(', ')}`);
  return t;
}

export function dataTypeById(id: number): DataType | undefined {
  return byId.get(id);
}

/** Bits per type id in a concatenated type. */
export const TYPE_BITS = 6;

/** The combined id of a concatenation (first field in the high bits). */
export function concatTypeId(ids: number[]): number {
  let out = 0;
  for (const id of ids) out = ((out << TYPE_BITS) | id) >>> 0;
  return out;
}

/** Splits a combined id back into field ids; a plain id gives one field. */
export function splitTypeId(id: number): number[] {
  const out: number[] = [];
  let rest = id >>> 0;
  do {
    out.unshift(rest & ((1 << TYPE_BITS) - 1));
    rest >>>= TYPE_BITS;
  } while (rest);
  return out;
}

/** Register-aligned length of a field: concatenation fields start on 4-byte boundaries. */
export function alignedLength(len: number): number {
  return (len + 3) & ~3;
}
