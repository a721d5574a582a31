/**
 * IP protocol names, as nft and conntrack print them ("tcp", "icmpv6", ...),
 * shared by the nftables data types and conntrack entries. iproute2 spells a
 * few differently ("ipv6-icmp"); policy-routing rules keep their own table.
 * @module
 */
import { NameTable } from './name-table';

/** Known IP protocol names (nft prints these instead of numbers). */
export const IP_PROTOCOLS = new NameTable<string>('protocol', [
  ['icmp', 1],
  ['igmp', 2],
  ['tcp', 6],
  ['udp', 17],
  ['gre', 47],
  ['esp', 50],
  ['ah', 51],
  ['icmpv6', 58],
  ['sctp', 132],
  ['udplite', 136],
]);
