/**
 * Namespace ids (`ip netns list-id`, `ip netns set`): the number a network
 * namespace knows another one by, as used in IFLA_LINK_NETNSID of a veth
 * whose peer lives there. Types only; the operations are in nsid.ts.
 * @module
 */
import type { NetnsRef } from '../netns/namespace';
import { keysOf } from '../validate/options';

/** The id the handle's namespace has for another namespace. */
export interface NetnsId {
  /** The id (0 to 2^31 - 1). */
  id: number;
  /** The namespace's name under /run/netns, when it has one. */
  name?: string;
}

/** Options of {@link nsidOps.add}. */
export interface NetnsIdOptions {
  /** The namespace to give an id to. */
  netns: NetnsRef;
  /** The id (0 to 2^31 - 1); absent: the kernel picks the lowest free one. */
  id?: number;
}

export const NETNS_ID_OPTION_KEYS = keysOf<NetnsIdOptions>()(['netns', 'id']);
