/**
 * Per-interface IP settings as the kernel reports them (`ip netconf`): the
 * net.ipv4.conf.* / net.ipv6.conf.* values routing depends on. Types only;
 * the operations are in netconf.ts.
 * @module
 */
import type { IpFamily } from '../validate/ip';
import { keysOf } from '../validate/options';
import type { LinkRef } from './link-types';

/** Reverse path filtering (`rp_filter`): 0 off, 1 strict, 2 loose. */
export type RpFilterMode = 'off' | 'strict' | 'loose';

/** The settings of one interface (or of `all` / `default`) for one family. */
export interface Netconf {
  /** 4 (net.ipv4.conf) or 6 (net.ipv6.conf). */
  family: IpFamily;
  /** Interface index, or `'all'` / `'default'` (conf.all, conf.default). */
  link: number | 'all' | 'default';
  /** Name of the interface (for an index). */
  linkName?: string;
  /** `forwarding` */
  forwarding?: boolean;
  /** `rp_filter` (IPv4 only). */
  rpFilter?: RpFilterMode;
  /** `mc_forwarding` */
  mcForwarding?: boolean;
  /** `proxy_arp` (IPv4) or `proxy_ndp` (IPv6). */
  proxyNeigh?: boolean;
  /** `ignore_routes_with_linkdown` */
  ignoreRoutesWithLinkdown?: boolean;
  /** `disable_ipv6` inverted: whether IPv6 input is on (IPv6, newer kernels). */
  input?: boolean;
  /** `bc_forwarding` (IPv4, newer kernels). */
  bcForwarding?: boolean;
}

/** What names one entry: the interface (or `all` / `default`) and the family. A listed entry is one. */
export type NetconfKey = Omit<Partial<Netconf>, 'link' | 'family'> & {
  /** The interface; the names `'all'` and `'default'` mean conf.all and conf.default (no link can have them). */
  link: LinkRef;
  /** 4 or 6. */
  family: IpFamily;
};

/** Filters of {@link netconfOps.list}. */
export interface NetconfFilter {
  /** Only this family (none: both). */
  family?: IpFamily;
  /** Only this interface (`'all'` / `'default'`: conf.all, conf.default). */
  link?: LinkRef;
}

export const NETCONF_KEY_KEYS = keysOf<NetconfKey>()([
  'link',
  'family',
  'linkName',
  'forwarding',
  'rpFilter',
  'mcForwarding',
  'proxyNeigh',
  'ignoreRoutesWithLinkdown',
  'input',
  'bcForwarding',
]);
export const NETCONF_FILTER_KEYS = keysOf<NetconfFilter>()(['family', 'link']);
