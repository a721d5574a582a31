/**
 * The types of bridge port VLANs (`h.bridgeVlans`, `bridge vlan`): which
 * VLANs a port of a VLAN-filtering bridge carries, which one untagged
 * frames get (pvid) and which leave untagged. Types only; the operations
 * are in bridge-vlan.ts.
 * @module
 */
import { keysOf } from '../validate/options';
import type { LinkRef } from './link-types';

/** One VLAN (or range) of a port or of the bridge itself, as the kernel reports it. */
export interface BridgeVlan {
  /** Index of the port (or of the bridge, for its own VLANs). */
  link: number;
  /** Name of that link, resolved by nlkit. */
  linkName?: string;
  /** The VLAN id (the first of a range). */
  vid: number;
  /** The last VLAN id of a range the kernel reported as one. */
  vidEnd?: number;
  /** Untagged frames arriving on the port get this VLAN. */
  pvid: boolean;
  /** Frames of this VLAN leave the port untagged. */
  untagged: boolean;
}

/** What names VLANs of a port: the link and the id (or range), and which table (`self`/`master`). */
export interface BridgeVlanKey {
  /** The port, or the bridge (with `self`) for the bridge's own VLANs. */
  link: LinkRef;
  /** VLAN id 1-4094. */
  vid: number;
  /** Last id of a range (`vid 20-25`): every VLAN from vid to vidEnd. */
  vidEnd?: number;
  /** The device's own table (`self`): the bridge's VLANs when `link` is the bridge. */
  self?: boolean;
  /** The port's bridge (`master`, the default when neither is given). */
  master?: boolean;
  /** Accepted so that a listed entry is a key; not used. */
  linkName?: string;
  /** Accepted so that a listed entry is a key; not used by delete. */
  pvid?: boolean;
  /** Accepted so that a listed entry is a key; not used by delete. */
  untagged?: boolean;
}

/** Options of {@link bridgeVlanOps.add}. */
export interface BridgeVlanOptions extends BridgeVlanKey {
  /** Make this the port's VLAN for untagged frames (not for a range). */
  pvid?: boolean;
  /** Send this VLAN's frames out untagged. */
  untagged?: boolean;
}

/** Filters of {@link bridgeVlanOps.list}. */
export interface BridgeVlanFilter {
  /** Only this port's (or bridge's) VLANs. */
  link?: LinkRef;
  /** Only entries holding this VLAN id. */
  vid?: number;
}

export const BRIDGE_VLAN_KEY_KEYS = keysOf<BridgeVlanKey>()(['link', 'vid', 'vidEnd', 'self', 'master', 'linkName', 'pvid', 'untagged']);
export const BRIDGE_VLAN_OPTION_KEYS = keysOf<BridgeVlanOptions>()(['link', 'vid', 'vidEnd', 'self', 'master', 'linkName', 'pvid', 'untagged']);
export const BRIDGE_VLAN_FILTER_KEYS = keysOf<BridgeVlanFilter>()(['link', 'vid']);
