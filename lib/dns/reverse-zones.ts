/**
 * The reverse names (in-addr.arpa, ip6.arpa) of the responder's networks:
 * lookups of their addresses, and of every name below those (RFC 6303: a
 * zone is answered whole), are answered by the responder, never forwarded,
 * so an upstream resolver does not learn which internal addresses are asked
 * about. Names of a wider prefix (a network's /16 when it is a /24) are not
 * the responder's and are forwarded.
 * @module
 */
import { cidrContains, parseCidr, type Cidr } from '../validate/ip';

const V4 = '.in-addr.arpa';
const V6 = '.ip6.arpa';

/**
 * The address prefix a reverse name stands for: "2.0.97.10.in-addr.arpa" is
 * 10.97.0.2/32, "0.97.10.in-addr.arpa" 10.97.0.0/24, 32 nibbles + ".ip6.arpa"
 * an IPv6 /128; undefined for any other name (lower-case, without the final dot).
 */
export function reversePrefix(name: string): Cidr | undefined {
  if (name.endsWith(V4)) {
    const labels = name.slice(0, -V4.length).split('.');
    if (labels.length > 4 || !labels.every((l) => /^(0|[1-9][0-9]{0,2})$/.test(l) && Number(l) <= 255)) return undefined;
    const bytes = Buffer.alloc(4);
    labels.reverse().forEach((l, i) => (bytes[i] = Number(l)));
    return { family: 4, bytes, prefixLength: labels.length * 8 };
  }
  if (name.endsWith(V6)) {
    const labels = name.slice(0, -V6.length).split('.');
    if (labels.length > 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return undefined;
    const bytes = Buffer.alloc(16);
    labels.reverse().forEach((l, i) => (bytes[i >> 1] |= parseInt(l, 16) << (i % 2 === 0 ? 4 : 0)));
    return { family: 6, bytes, prefixLength: labels.length * 4 };
  }
  return undefined;
}

/**
 * The address prefix a reverse name is in: that of the name itself, or of
 * the longest reverse name it is below, so "b._dns-sd._udp.0.0.97.10.in-addr.arpa"
 * (DNS-SD browsing, RFC 6763 11) and "x.2.0.97.10.in-addr.arpa" are in
 * 10.97.0.0/32 and 10.97.0.2/32, "099.0.97.10.in-addr.arpa" in 10.97.0.0/24;
 * `name` is that reverse name. Undefined for a name not under in-addr.arpa
 * or ip6.arpa (lower-case, without the final dot).
 */
export function enclosingReverse(name: string): { prefix: Cidr; name: string } | undefined {
  if (!name.endsWith(V4) && !name.endsWith(V6)) return undefined;
  for (let at = 0; at !== -1 && at < name.length; at = name.indexOf('.', at) + 1 || -1) {
    const prefix = reversePrefix(name.slice(at));
    if (prefix) return { prefix, name: name.slice(at) };
  }
  return undefined;
}

/** The reverse zones of a set of subnets ("10.97.0.0/24", "fd97::/64"). */
export class ReverseZones {
  private readonly subnets: Cidr[];

  constructor(subnets: readonly string[]) {
    this.subnets = subnets.map((s) => parseCidr(s));
  }

  /** The reverse name is one of the subnets' addresses, or a zone within a subnet ("0.97.10.in-addr.arpa" for 10.97.0.0/24). */
  covers(prefix: Cidr): boolean {
    return this.subnets.some((s) => cidrContains(s, prefix));
  }
}
