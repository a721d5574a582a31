/**
 * Addresses that can never be a service's virtual or external IP: the kernel
 * never routes a packet to them the way a VIP needs (loopback stays on the
 * host, the unspecified address and 0.0.0.0/8 are martian destinations,
 * link-local ones are one link's, multicast and broadcast are many hosts').
 * A service on one of them would take the host's own traffic (127.0.0.1:53,
 * ff02::1) or never get a packet. IPv4-mapped IPv6 addresses
 * (::ffff:127.0.0.1) are what their IPv4 address is, and are refused as
 * service addresses even when that one is unicast (no packet carries them).
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { parseIp } from '../validate/ip';

/** Why an address cannot be a service address. */
export type SpecialIpKind = 'loopback' | 'unspecified' | 'this-network' | 'link-local' | 'multicast' | 'broadcast';

function ipv4Kind(a: number, b: number, c: number, d: number): SpecialIpKind | undefined {
  if (a === 0) return b === 0 && c === 0 && d === 0 ? 'unspecified' : 'this-network'; // 0.0.0.0, 0.0.0.0/8
  if (a === 127) return 'loopback'; // 127.0.0.0/8
  if (a === 169 && b === 254) return 'link-local'; // 169.254.0.0/16
  if (a >= 224 && a <= 239) return 'multicast'; // 224.0.0.0/4
  if (a === 255 && b === 255 && c === 255 && d === 255) return 'broadcast';
  return undefined;
}

/**
 * The kind of special address `bytes` (4 or 16 of them) is, or undefined for
 * an address a service can have.
 */
export function specialIpKind(bytes: Uint8Array): SpecialIpKind | undefined {
  if (bytes.length === 4) return ipv4Kind(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (bytes.length !== 16) return undefined;
  let zeroHead = true; // the first 10 bytes
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) zeroHead = false;
  if (zeroHead && bytes[10] === 0xff && bytes[11] === 0xff) return ipv4Kind(bytes[12], bytes[13], bytes[14], bytes[15]); // ::ffff:a.b.c.d
  if (zeroHead && bytes[10] === 0 && bytes[11] === 0 && bytes[12] === 0 && bytes[13] === 0 && bytes[14] === 0) {
    if (bytes[15] === 0) return 'unspecified'; // ::
    if (bytes[15] === 1) return 'loopback'; // ::1
  }
  if (bytes[0] === 0xff) return 'multicast'; // ff00::/8
  if (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80) return 'link-local'; // fe80::/10
  return undefined;
}

const WHY: Record<SpecialIpKind, string> = {
  loopback: "is a loopback address: packets to it never leave the host, and a service there would take the host's own traffic",
  unspecified: 'is the unspecified address ("any"), never a destination',
  'this-network': 'is in 0.0.0.0/8 ("this network"), which the kernel drops as a destination',
  'link-local': 'is a link-local address: it belongs to one link, not to a service',
  multicast: 'is a multicast address: it names a group of hosts, not a service',
  broadcast: 'is the broadcast address: it names every host of the link, not a service',
};

/** Whether `bytes` is an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
function isIpv4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** No packet carries an IPv4-mapped address (IPv4 packets carry the IPv4 one): a service on it never gets one. */
const MAPPED = 'is an IPv4-mapped IPv6 address: no packet is addressed to it (IPv4 packets carry the IPv4 address)';

/**
 * Throws a ValidationError on `field` when `ip` (canonical text, `bytes` its
 * bytes) is a special address (see {@link specialIpKind}) or an IPv4-mapped
 * one; `use` says what to give instead.
 */
export function refuseSpecialIp(field: string, ip: string, bytes: Uint8Array, use = 'a unicast address routed to this host'): void {
  const kind = specialIpKind(bytes);
  if (kind !== undefined) throw new ValidationError(field, ip, `${WHY[kind]}; use ${use}`);
  if (isIpv4Mapped(bytes)) throw new ValidationError(field, ip, `${MAPPED}; use the IPv4 address ${bytes.slice(12).join('.')}`);
}

/**
 * Why `ip` (canonical text, as recorded) cannot be a service address, or
 * undefined when it can: for the records an older nlkit made before such
 * addresses were refused, which check() reports (manager.ts).
 */
export function specialIpReason(ip: string): string | undefined {
  const { bytes } = parseIp(ip);
  const kind = specialIpKind(bytes);
  if (kind !== undefined) return WHY[kind];
  return isIpv4Mapped(bytes) ? MAPPED : undefined;
}
