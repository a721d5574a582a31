/**
 * The reverse names (in-addr.arpa, ip6.arpa) of the responder's networks:
 * lookups of their addresses are answered by the responder, never forwarded,
 * so an upstream resolver does not learn which internal addresses are asked
 * about.
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
