/**
 * IP addresses, CIDR prefixes and MAC addresses: strings in the API, bytes on
 * the wire. Parsing is strict (a typo is a ValidationError, never a wrong
 * address); formatting matches iproute2's (inet_ntop) so values compare
 * equal with `ip -j` output.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatIpv4At } from './ipv4-text';

export const AF_INET = 2;
export const AF_INET6 = 10;

/** An IP version: 4 or 6. */
export type IpFamily = 4 | 6;

/** An address as bytes plus its family. */
export interface IpBytes {
  family: IpFamily;
  bytes: Buffer;
}

/** A prefix: address bytes (host bits kept as written) and its length. */
export interface Cidr extends IpBytes {
  prefixLength: number;
}

export function afOf(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

// Strict dotted quad: four decimal parts 0-255 without leading zeros
// ("010.0.0.1" is refused: inet_aton would read it as octal). Hand-rolled
// because it runs for every address of every request.
function parseV4(s: string): Buffer | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let parts = 0;
  let word = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46; /* '.' */
    if (c === 46) {
      if (digits === 0 || v > 255 || parts === 4) return undefined;
      word = ((word << 8) | v) >>> 0;
      parts++;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 3 || (digits === 1 && v === 0)) return undefined;
      v = v * 10 + (c - 48);
      digits++;
    } else {
      return undefined;
    }
  }
  if (parts !== 4) return undefined;
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(word, 0);
  return out;
}

function parseV6(s: string): Buffer | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let head = s;
  let tail = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.includes('::', dbl + 1)) return undefined;
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const words = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const h = words(head);
  const t = words(tail);
  if (!h || !t) return undefined;
  let all: number[];
  if (dbl >= 0) {
    const fill = 8 - h.length - t.length;
    if (fill < 1) return undefined;
    all = [...h, ...new Array<number>(fill).fill(0), ...t];
  } else {
    all = h;
  }
  if (all.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** Parses an IPv4 or IPv6 address; `family` restricts it. */
export function parseIp(s: unknown, field = 'IP address', family?: IpFamily): IpBytes {
  if (typeof s !== 'string') throw new ValidationError(field, s, 'must be a string');
  const v4 = family !== 6 ? parseV4(s) : undefined;
  if (v4) return { family: 4, bytes: v4 };
  const v6 = family !== 4 && s.includes(':') ? parseV6(s) : undefined;
  if (v6) return { family: 6, bytes: v6 };
  throw new ValidationError(field, s, family ? `not an IPv${family} address` : 'not an IPv4 or IPv6 address');
}

/**
 * Parses "10.0.0.1/24" or "fd00::1/64". Without a "/len" the full length is
 * assumed when `defaultFull`, otherwise it is an error.
 */
export function parseCidr(s: unknown, field = 'prefix', opts: { family?: IpFamily; defaultFull?: boolean } = {}): Cidr {
  if (typeof s !== 'string') throw new ValidationError(field, s, 'must be a string like "10.0.0.0/24"');
  const slash = s.indexOf('/');
  if (slash < 0 && !opts.defaultFull) throw new ValidationError(field, s, 'missing "/prefix-length"');
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash), field, opts.family);
  const max = addr.family === 4 ? 32 : 128;
  let prefixLength = max;
  if (slash >= 0) {
    prefixLength = prefixLengthAt(s, slash + 1);
    if (prefixLength > max) throw new ValidationError(field, s, `prefix length must be 0-${max}`);
  }
  return { family: addr.family, bytes: addr.bytes, prefixLength };
}

/** The decimal prefix length from `start` to the end of `s` (no sign, no leading zero, at most 3 digits); 999 when it is not one. */
function prefixLengthAt(s: string, start: number): number {
  const n = s.length - start;
  if (n < 1 || n > 3 || (n > 1 && s.charCodeAt(start) === 48)) return 999;
  let v = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return 999;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** Zeroes the host bits of a prefix (10.0.0.7/24 -> 10.0.0.0/24). */
export function networkOf(c: Cidr): Cidr {
  const bytes = Buffer.from(c.bytes);
  for (let bit = c.prefixLength; bit < bytes.length * 8; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family: c.family, bytes, prefixLength: c.prefixLength };
}

/** Formats address bytes the way inet_ntop does (and so `ip -j`). */
/** Whether prefix `outer` contains prefix `inner` (same family, outer no longer, the same bits up to outer's length). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefixLength > inner.prefixLength) return false;
  const cut = networkOf({ ...inner, prefixLength: outer.prefixLength });
  return Buffer.compare(Buffer.from(cut.bytes), Buffer.from(networkOf(outer).bytes)) === 0;
}

export function formatIp(bytes: Uint8Array): string {
  return formatIpAt(bytes, 0, bytes.length);
}

/** {@link formatIp} of `length` bytes at `offset` of `b`, without a view. */
export function formatIpAt(b: Uint8Array, offset: number, length: number): string {
  if (length === 4) return formatIpv4At(b, offset);
  if (length !== 16) return Buffer.from(b.subarray(offset, offset + length)).toString('hex');
  const bytes = b.subarray(offset, offset + 16);
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((bytes[i] << 8) | bytes[i + 1]);
  // Longest run of zero words (length >= 2) becomes "::" (RFC 5952, as glibc).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) best = -1;
  // IPv4-compatible and IPv4-mapped addresses print their tail dotted, as glibc does.
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
    const v4 = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
    return bestLen === 5 ? `::ffff:${v4}` : `::${v4}`;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += w[i].toString(16) + (i < 7 ? ':' : '');
  }
  return out;
}

/** "10.0.0.0/24" from bytes and a length. */
export function formatCidr(bytes: Uint8Array, prefixLength: number): string {
  return `${formatIp(bytes)}/${prefixLength}`;
}

/** Parses "aa:bb:cc:dd:ee:ff" (also with '-'); returns 6 bytes. */
export function parseMac(s: unknown, field = 'MAC address'): Buffer {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) {
    throw new ValidationError(field, s, 'must look like "02:00:00:00:00:01"');
  }
  return Buffer.from(s.replace(/[:-]/g, ''), 'hex');
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case colon form, as `ip -j` prints link addresses. */
export function formatMac(b: Uint8Array): string {
  let s = b.length > 0 ? HEX_BYTE[b[0]] : '';
  for (let i = 1; i < b.length; i++) s += ':' + HEX_BYTE[b[i]];
  return s;
}
