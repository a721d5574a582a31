/**
 * IPv6 address labels (RFC 6724 policy table, `ip addrlabel`): the label a
 * source or destination prefix gets when the kernel picks a source address.
 * Types only; the operations are in address-label.ts.
 * @module
 */
import { keysOf } from '../validate/options';
import type { LinkRef } from './link-types';

/** One entry of the namespace's address label table, as the kernel reports it. */
export interface AddressLabel {
  /** The IPv6 prefix, host bits cleared ("2001:db8::/32"). */
  prefix: string;
  /** The label (0 to 4294967294). */
  label: number;
  /** Index of the link the entry is limited to; absent: every link. */
  link?: number;
  /** Name of that link. */
  linkName?: string;
}

/** What names one entry: its prefix and link (the label is not part of it). */
export interface AddressLabelKey {
  /** The IPv6 prefix. */
  prefix: string;
  /** The link the entry is limited to; absent: the entry for every link. */
  link?: LinkRef;
  /** Accepted so that a listed entry is a key; not used to find it. */
  label?: number;
  /** Accepted so that a listed entry is a key; not used to find it. */
  linkName?: string;
}

/** Options of {@link addressLabelOps.add} and `replace`. */
export interface AddressLabelOptions {
  /** The IPv6 prefix ("2001:db8::/32"); host bits are cleared, as ip does. */
  prefix: string;
  /** The label (0 to 4294967294). */
  label: number;
  /** Limit the entry to this link. */
  link?: LinkRef;
  /** Ignored: a listed entry can be written back. */
  linkName?: string;
}

/** Filters of {@link addressLabelOps.list}. */
export interface AddressLabelFilter {
  /** Only entries limited to this link. */
  link?: LinkRef;
  /** Only entries with this label. */
  label?: number;
}

export const ADDRESS_LABEL_KEY_KEYS = keysOf<AddressLabelKey>()(['prefix', 'link', 'label', 'linkName']);
export const ADDRESS_LABEL_OPTION_KEYS = keysOf<AddressLabelOptions>()(['prefix', 'label', 'link', 'linkName']);
export const ADDRESS_LABEL_FILTER_KEYS = keysOf<AddressLabelFilter>()(['link', 'label']);
