/**
 * The events `h.events.subscribe()` yields, apart from the stream itself so
 * the name resolution (event-names.ts) can use them without an import cycle.
 * @module
 */
import type { EventAction, OverrunEvent, SyncedEvent } from '../netlink/event-stream';
import type { Address } from './address-types';
import type { FdbEntry } from './fdb-types';
import type { Link } from './link';
import type { Neighbour } from './neighbour';
import type { Route } from './route';
import type { Rule } from './rule-types';

/** A link appeared, changed or went away. */
export interface LinkEvent {
  /** Discriminant. */
  type: 'link';
  /** `new` (created or changed) or `del`. */
  action: EventAction;
  /** The link as the kernel reported it (for `del`, its last state). */
  link: Link;
}

/** A link's bridge-port state changed (`del`: it left the bridge; the link itself remains). */
export interface BridgePortEvent {
  /** Discriminant. */
  type: 'bridgePort';
  /** `new` (joined or changed) or `del` (left the bridge). */
  action: EventAction;
  /** The port, with its bridge-port options in `link.port`. */
  link: Link;
}

/** An address was added, changed or removed. */
export interface AddressEvent {
  /** Discriminant. */
  type: 'address';
  /** `new` or `del`. */
  action: EventAction;
  /** The address. */
  address: Address;
}

/** A route was added, changed or removed (in any table). */
export interface RouteEvent {
  /** Discriminant. */
  type: 'route';
  /** `new` or `del`. */
  action: EventAction;
  /** The route. */
  route: Route;
}

/** An ARP/NDP entry was added, changed (state, MAC) or removed. */
export interface NeighbourEvent {
  /** Discriminant. */
  type: 'neighbour';
  /** `new` or `del`. */
  action: EventAction;
  /** The entry. */
  neighbour: Neighbour;
}

/** A bridge or VXLAN forwarding entry was added, changed or removed (subscribe to `neighbour`). */
export interface FdbEvent {
  /** Discriminant. */
  type: 'fdb';
  /** `new` or `del`. */
  action: EventAction;
  /** The forwarding entry. */
  entry: FdbEntry;
}

/** A policy routing rule (`ip rule`) was added or removed. */
export interface IpRuleEvent {
  /** Discriminant. */
  type: 'rule';
  /** `new` or `del`. */
  action: EventAction;
  /** The rule. */
  rule: Rule;
}

/** @deprecated use {@link IpRuleEvent} (the same event; `Rule` names nftables rules elsewhere) */
export type RuleEvent = IpRuleEvent;

/** One event of {@link RtnetlinkEvents.subscribe}'s stream; switch on `type`. */
export type RtnetlinkEvent = LinkEvent | BridgePortEvent | AddressEvent | RouteEvent | NeighbourEvent | FdbEvent | IpRuleEvent | SyncedEvent | OverrunEvent;
