/**
 * IPv4 subnets as address ranges, to tell when two overlap: prefixes either
 * nest or are disjoint, so overlapping means one contains the other. Peers
 * come from an untrusted membership store, and a peer whose subnet covers
 * another host's would take its traffic.
 * @module
 */
import { networkOf, parseCidr } from '../validate/ip';

/** An IPv4 subnet as its first and last address (unsigned 32-bit numbers). */
export interface Range {
  first: number;
  last: number;
}

/** The range of a canonical IPv4 CIDR such as "10.244.3.0/24" (undefined for anything else, e.g. "default" or IPv6). */
export function rangeOf(cidr: string): Range | undefined {
  let c;
  try {
    c = networkOf(parseCidr(cidr, 'cidr', { family: 4 }));
  } catch {
    return undefined;
  }
  const first = c.bytes.readUInt32BE(0);
  return { first, last: first + 2 ** (32 - c.prefixLength) - 1 };
}

/** Two ranges share an address. */
export function overlaps(a: Range, b: Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** `inner` lies wholly inside `outer`. */
export function contains(outer: Range, inner: Range): boolean {
  return outer.first <= inner.first && inner.last <= outer.last;
}

/** The first pair of named subnets that overlap, found in one sorted sweep (n log n, for memberships of thousands of hosts). */
export function firstOverlap<T extends { subnet: string }>(items: Iterable<T>): [T, T] | undefined {
  const sorted = [...items].map((item) => ({ item, range: rangeOf(item.subnet) })).filter((x): x is { item: T; range: Range } => x.range !== undefined);
  sorted.sort((a, b) => a.range.first - b.range.first || b.range.last - a.range.last);
  let widest: { item: T; range: Range } | undefined;
  for (const x of sorted) {
    if (widest && x.range.first <= widest.range.last) return [widest.item, x.item];
    if (!widest || x.range.last > widest.range.last) widest = x;
  }
  return undefined;
}
