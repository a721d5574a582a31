/**
 * For `describeNftRule`: how nft prints a value of each data type — register
 * bytes as the kernel holds them ("0x00000007" for a mark, "tcp" for a
 * protocol, `"eth0"` for an interface name) and set elements as nlkit lists
 * them.
 * @module
 */
import { formatIp, formatMac } from '../validate/ip';
import { CT_STATE_BITS, CT_STATUS_BITS } from './builder/fields';
import { HOST_LITTLE_ENDIAN } from './data';
import { IP_PROTOCOLS } from './datatypes';
import type { ElementValue } from './elements';
import { FIB_ADDRESS_TYPES } from './expressions/fib';
import { DSCP, ICMPV6_TYPES, ICMP_TYPES, TCP_FLAGS, TCP_OPTIONS } from './header-symbols';

/** Interface names by index, for `iif`/`oif` values. */
export type InterfaceNames = (index: number) => string | undefined;

/** Types whose register bytes are in host byte order (nft keeps marks, states and indexes that way). */
const HOST_ORDER = new Set([
  'mark',
  'iface_index',
  'ct_state',
  'ct_status',
  'fib_addrtype',
  'uid',
  'gid',
  'arphrd',
  'ct_label',
  'ifname',
  'host_integer',
  'tc_handle',
  'time',
]);

const NF_PROTOS: Record<number, string> = { 2: 'ipv4', 10: 'ipv6' };
const ETHER_TYPES: Record<number, string> = { 0x0800: 'ip', 0x86dd: 'ip6', 0x0806: 'arp', 0x8100: 'vlan', 0x88a8: '8021ad' };
const CT_DIRECTIONS: Record<number, string> = { 0: 'original', 1: 'reply' };
const PKT_TYPES: Record<number, string> = { 0: 'host', 1: 'broadcast', 2: 'multicast', 3: 'other' };
const ECN: Record<number, string> = { 0: 'not-ect', 1: 'ect1', 2: 'ect0', 3: 'ce' };
const DAYS: Record<number, string> = { 0: '"Sunday"', 1: '"Monday"', 2: '"Tuesday"', 3: '"Wednesday"', 4: '"Thursday"', 5: '"Friday"', 6: '"Saturday"' };
const ARPHRD: Record<number, string> = { 1: 'ether', 512: 'ppp', 768: 'ipip', 769: 'ipip6', 772: 'loopback', 776: 'sit', 778: 'ipgre' };

/** Reads bytes as an unsigned number: big-endian, or host order for host-order types. */
export function readNumber(b: Buffer, hostOrder: boolean): bigint {
  let n = 0n;
  const bytes = hostOrder && HOST_LITTLE_ENDIAN ? [...b].reverse() : [...b];
  for (const x of bytes) n = (n << 8n) | BigInt(x);
  return n;
}

/** `established,related`: the names of the bits set, lowest first; unnamed bits in hex. */
function bitNames(n: number, table: Record<string, number>): string {
  const names = Object.entries(table)
    .sort((a, b) => a[1] - b[1])
    .filter(([, bit]) => n & bit)
    .map(([name]) => name);
  const rest = Object.values(table).reduce((r, bit) => r & ~bit, n);
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join(',') : '0x0';
}

/** Whether a type's values are bit sets (matched with a mask and printed as a list of names). */
export function isFlagType(type: string): boolean {
  return type === 'ct_state' || type === 'ct_status' || type === 'tcp_flag';
}

/** Whether a type is an address (prefix matches print as `/len`). */
export function isAddressType(type: string): boolean {
  return type === 'ipv4_addr' || type === 'ipv6_addr';
}

/** Whether register bytes of this type are in host byte order. */
export function isHostOrder(type: string): boolean {
  return HOST_ORDER.has(type);
}

/**
 * Prints register bytes of a type as nft does. `bigEndian` overrides the
 * type's order (after a byteorder conversion, a mark range is big-endian).
 */
export function formatBytes(type: string, b: Buffer, names?: InterfaceNames, bigEndian = false): string {
  const num = () => readNumber(b, !bigEndian && isHostOrder(type));
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return formatIp(b);
    case 'ether_addr':
      return formatMac(b);
    case 'ifname': {
      const nul = b.indexOf(0);
      // A match on fewer bytes than the name buffer, without its NUL, is a wildcard: "veth*".
      return JSON.stringify(b.toString('utf8', 0, nul < 0 ? b.length : nul) + (nul < 0 && b.length < 16 ? '*' : ''));
    }
    case 'inet_proto': {
      return String(IP_PROTOCOLS.name(Number(num())));
    }
    case 'mark':
      return `0x${num().toString(16).padStart(8, '0')}`;
    case 'iface_index': {
      const n = Number(num());
      const name = names?.(n);
      return name !== undefined ? JSON.stringify(name) : String(n);
    }
    case 'ct_state':
      return bitNames(Number(num()), CT_STATE_BITS);
    case 'ct_status':
      return bitNames(Number(num()), CT_STATUS_BITS);
    case 'tcp_flag':
      return bitNames(Number(num()), TCP_FLAGS);
    case 'icmp_type':
      return named(ICMP_TYPES, Number(num()));
    case 'dscp':
      return named(DSCP, Number(num()));
    case 'ecn':
      return named(ECN, Number(num()));
    case 'icmpv6_type':
      return named(ICMPV6_TYPES, Number(num()));
    case 'ct_dir':
      return named(CT_DIRECTIONS, Number(num()));
    case 'nf_proto':
      return named(NF_PROTOS, Number(num()));
    case 'ether_type': {
      const n = Number(num());
      return ETHER_TYPES[n] ?? `0x${n.toString(16).padStart(4, '0')}`;
    }
    case 'pkt_type':
      return named(PKT_TYPES, Number(num()));
    case 'arphrd':
      return named(ARPHRD, Number(num()));
    case 'fib_addrtype':
      return String(FIB_ADDRESS_TYPES.name(Number(num())));
    case 'day':
      return named(DAYS, Number(num()));
    case 'tc_handle':
      return tcHandle(Number(num()));
    case 'time':
      return duration(Number(num()));
    case 'raw':
      return `0x${b.toString('hex')}`;
    default:
      return b.length > 8 ? `0x${b.toString('hex')}` : String(num());
  }
}

/** A traffic-control handle as nft prints `meta priority`: `1:2`, `1:`, `:2`, root, none. */
function tcHandle(n: number): string {
  if (n === 0xffffffff) return 'root';
  if (n === 0) return 'none';
  const major = (n >>> 16).toString(16);
  const minor = (n & 0xffff).toString(16);
  if (n >>> 16 === 0) return `:${minor.padStart(4, '0')}`;
  if ((n & 0xffff) === 0) return `${major.padStart(4, '0')}:`;
  return `${major}:${minor}`;
}

function named(table: Record<number, string>, n: number): string {
  return table[n] ?? String(n);
}

/** Prints one scalar of a set element (as nlkit lists it) in a field of `type`. */
function formatScalar(type: string, v: unknown, names?: InterfaceNames): string {
  if (Buffer.isBuffer(v)) return formatBytes(type, v, names);
  if (typeof v === 'string') {
    if (type === 'ifname') return JSON.stringify(v);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = BigInt(v);
    switch (type) {
      case 'mark':
        return `0x${n.toString(16).padStart(8, '0')}`;
      case 'ct_state':
        return bitNames(Number(n), CT_STATE_BITS);
      case 'ct_status':
        return bitNames(Number(n), CT_STATUS_BITS);
      case 'tcp_flag':
        return bitNames(Number(n), TCP_FLAGS);
      case 'icmp_type':
        return named(ICMP_TYPES, Number(n));
      case 'icmpv6_type':
        return named(ICMPV6_TYPES, Number(n));
      case 'fib_addrtype':
        return String(FIB_ADDRESS_TYPES.name(Number(n)));
      case 'inet_proto':
        return String(IP_PROTOCOLS.name(Number(n)));
      case 'iface_index': {
        const name = names?.(Number(n));
        return name !== undefined ? JSON.stringify(name) : String(n);
      }
      default:
        return String(n);
    }
  }
  return String(v);
}

/** Prints a set element's key or value: a scalar, or a concatenation `a . b`. */
export function formatElementValue(types: readonly string[], v: ElementValue, names?: InterfaceNames): string {
  if (Array.isArray(v)) return v.map((x, i) => formatScalar(types[i] ?? 'integer', x, names)).join(' . ');
  return formatScalar(types[0] ?? 'integer', v, names);
}

/** nft's byte units: the largest of bytes, kbytes, mbytes that divides evenly. */
export function byteUnits(n: bigint): string {
  const units = ['bytes', 'kbytes', 'mbytes'];
  let i = 0;
  while (i < units.length - 1 && n !== 0n && n % 1024n === 0n) {
    n /= 1024n;
    i++;
  }
  return `${n} ${units[i]}`;
}

/** nft's time unit of a limit: second, minute, ... (seconds otherwise). */
export function timeUnit(seconds: number): string {
  const units: Record<number, string> = { 1: 'second', 60: 'minute', 3600: 'hour', 86400: 'day', 604800: 'week' };
  return units[seconds] ?? `${seconds} seconds`;
}

/** nft's duration syntax: 1h2m3s, 500ms. */
export function duration(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join('');
}

/** Number of leading one bits when the mask is ones then zeros; undefined otherwise. */
export function prefixLength(mask: Buffer): number | undefined {
  let bits = 0;
  let zeros = false;
  for (const byte of mask) {
    for (let b = 7; b >= 0; b--) {
      const one = (byte >> b) & 1;
      if (one && zeros) return undefined;
      if (one) bits++;
      else zeros = true;
    }
  }
  return bits;
}

/** The bytes as a big-endian number shifted right by `bits`, in as many bytes. */
export function shiftRight(data: Buffer, bits: number): Buffer {
  let n = 0n;
  for (const b of data) n = (n << 8n) | BigInt(b);
  n >>= BigInt(bits);
  const out = Buffer.alloc(data.length);
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** IPv6 extension headers by next-header value, as nft names them. */
const IPV6_EXTHDRS: Record<number, string> = { 0: 'hbh', 43: 'rt', 44: 'frag', 60: 'dst', 135: 'mh' };
/** What an exthdr expression looks at, as nft writes it ("tcp option maxseg size", "exthdr hbh"). */
export function exthdrText(e: {
  op: string | number;
  headerType: number;
  offset: number;
  len: number;
  dreg?: number;
  sreg?: number;
  flags?: string[];
}): string {
  const whole = (e.flags?.includes('present') ?? false) || (e.dreg === undefined && e.sreg === undefined);
  if (e.op === 'tcp') {
    const known = TCP_OPTIONS[e.headerType] as [string, Array<[number, number, string]>] | undefined;
    if (known && whole) return `tcp option ${known[0]}`;
    const field = known?.[1].find(([off, len]) => off === e.offset && len === e.len);
    if (known && field) return `tcp option ${known[0]} ${field[2]}`;
    return `tcp option @${e.headerType},${e.offset * 8},${e.len * 8}`;
  }
  if (e.op === 'ipv6') {
    const name = IPV6_EXTHDRS[e.headerType] as string | undefined;
    if (name && whole) return `exthdr ${name}`;
    return `exthdr ${name ?? e.headerType} @${e.offset * 8},${e.len * 8}`;
  }
  return `${String(e.op)} option ${e.headerType}${whole ? '' : ` @${e.offset * 8},${e.len * 8}`}`;
}

/**
 * A value changed bitwise, as nft writes the mask-xor it generated:
 * `meta mark | 0x00004000` (mask = ~xor), `meta mark & 0x0000ff00` (no xor),
 * `meta mark ^ 0x00000001` (all-ones mask), else `(x & mask) ^ xor`.
 */
export function bitOperationText(text: string, type: string, mask: Buffer, xor?: Buffer): string {
  const x = xor ?? Buffer.alloc(mask.length);
  if (x.every((b) => b === 0)) return `${text} & ${formatBytes(type, mask)}`;
  if (mask.every((b) => b === 0xff)) return `${text} ^ ${formatBytes(type, x)}`;
  if (mask.every((b, i) => b === (~x[i] & 0xff))) return `${text} | ${formatBytes(type, x)}`;
  return `(${text} & ${formatBytes(type, mask)}) ^ ${formatBytes(type, x)}`;
}
