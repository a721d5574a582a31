/**
 * The types of IPv4/IPv6 addresses (`h.addresses`), apart from the operations
 * so the key matching (address-key.ts) can use them without an import cycle.
 * @module
 */
import type { RawAttribute } from '../netlink/parser';
import type { IpFamily } from '../validate/ip';
import type { LinkRef } from './link';
import { keysOf } from '../validate/options';

/** An address as the kernel reports it. */
export interface Address {
  /** 4 or 6. */
  family: IpFamily;
  /** Index of the link it is on. */
  link: number;
  /** Name of the link it is on, resolved by nlkit (docs/api-conventions.md, "Interface names"). */
  linkName?: string;
  /** @deprecated use `link` (the same index) */
  index: number;
  /** The address itself ("10.0.0.1"). */
  address: string;
  /** Prefix length (24 for "10.0.0.1/24"). */
  prefixLength: number;
  /** "10.0.0.1/24" */
  cidr: string;
  /** Point-to-point peer, when different from the address. */
  peer?: string;
  /** IPv4 broadcast address, when set. */
  broadcast?: string;
  /** IPv4 label ("eth0:1"), when set. */
  label?: string;
  /** "global", "link", "host", "site", or a number as a string. */
  scope: string;
  /**
   * Flag names as `ip -j addr` prints them (each a `true` key there):
   * "dynamic" (has a finite lifetime), "secondary", "nodad", "noprefixroute", ...
   */
  flags: string[];
  /** Seconds; undefined means forever. */
  validLifetime?: number;
  /** Seconds until the address is deprecated; undefined means forever. */
  preferredLifetime?: number;
  /** Metric of the prefix route (IFA_RT_PRIORITY). */
  metric?: number;
  /** Who added it (IFA_PROTO), when the kernel reports it. */
  protocol?: number;
  /** Attributes nlkit does not decode, preserved as received. */
  unknownAttributes: RawAttribute[];
}

/** Options of {@link addressOps.add}. */
export interface AddressOptions {
  /** IPv4 broadcast address, or true to derive it from the prefix (`brd +`). */
  broadcast?: string | boolean;
  /** IPv4 label ("eth0:1"); must start with the link name. */
  label?: string;
  /** "global" (default), "link", "host", "site" or a number. */
  scope?: string | number;
  /** Point-to-point peer prefix. */
  peer?: string;
  /** Skip duplicate address detection (IPv6). */
  nodad?: boolean;
  /** Do not add the prefix route. */
  noprefixroute?: boolean;
  /** IPv6 temporary-address management. */
  manageTempAddr?: boolean;
  /** Join the multicast group automatically. */
  autojoin?: boolean;
  /** Seconds, or "forever" (default). */
  validLifetime?: number | 'forever';
  /** Seconds until the address is deprecated, or "forever" (default). */
  preferredLifetime?: number | 'forever';
  /** Metric of the prefix route. */
  metric?: number;
}

/** The object form of {@link addressOps.add} and `replace`: the link, the address with its prefix, and the options. */
export interface AddressWrite extends AddressOptions {
  /** The link (name or index). */
  link: LinkRef;
  /** The address with its prefix length ("10.0.0.2/24"; without one, /32 or /128). */
  cidr: string;
}

/** Filters of {@link addressOps.list}. */
export interface AddressFilter {
  /** Only addresses on this link (name or index). */
  link?: LinkRef;
  /** Only IPv4 (4) or IPv6 (6) addresses. */
  family?: IpFamily;
}

export const ADDRESS_OPTION_KEYS = keysOf<AddressOptions>()([
  'broadcast',
  'label',
  'scope',
  'peer',
  'nodad',
  'noprefixroute',
  'manageTempAddr',
  'autojoin',
  'validLifetime',
  'preferredLifetime',
  'metric',
]);

/** Keys of the object form of add and replace. */
export const ADDRESS_WRITE_KEYS: readonly string[] = [...keysOf<Pick<AddressWrite, 'link' | 'cidr'>>()(['link', 'cidr']), ...ADDRESS_OPTION_KEYS];

/** Keys get, find and delete accept: link, cidr and peer, or a listed address (whose other fields are ignored). */
export const ADDRESS_KEY_KEYS: readonly string[] = keysOf<Address>()([
  'family',
  'link',
  'linkName',
  'index',
  'address',
  'prefixLength',
  'cidr',
  'peer',
  'broadcast',
  'label',
  'scope',
  'flags',
  'validLifetime',
  'preferredLifetime',
  'metric',
  'protocol',
  'unknownAttributes',
]);

export const ADDRESS_FILTER_KEYS = keysOf<AddressFilter>()(['link', 'family']);
