/**
 * Bridge port options (IFLA_BRPORT_*): how a link behaves as a port of its
 * bridge. Set with an AF_BRIDGE RTM_SETLINK carrying a nested IFLA_PROTINFO,
 * as `bridge link set` does; read back from IFLA_INFO_SLAVE_DATA on every
 * link dump, as `ip -d link` shows them.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { Attributes } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import * as C from './constants';
import { isObject, keysOf } from '../validate/options';

/** STP port states (BR_STATE_*), named as `bridge link` prints them. */
export type BridgePortState = 'disabled' | 'listening' | 'learning' | 'forwarding' | 'blocking';

/** The states by BR_STATE_* number. */
export const BRIDGE_PORT_STATES: readonly BridgePortState[] = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'];

/** Changeable port options; absent fields are left alone. */
export interface BridgePortSettings {
  /** Send frames back out of the port they came in on (reflective relay; `hairpin`). */
  hairpin?: boolean;
  /** Learn source MACs seen on this port (`learning`). */
  learning?: boolean;
  /** Isolated ports only talk to non-isolated ones (`isolated`). */
  isolated?: boolean;
  /** Flood unknown-unicast traffic to this port (`flood`). */
  flood?: boolean;
  /** Flood unknown multicast traffic to this port (`mcast_flood`). */
  mcastFlood?: boolean;
  /** Flood broadcast traffic to this port (`bcast_flood`). */
  bcastFlood?: boolean;
  /** Drop STP BPDUs received on this port (`guard`). */
  guard?: boolean;
  /** Never become root port (`root_block`). */
  rootBlock?: boolean;
  /** Stop multicast traffic as soon as an IGMP/MLD leave is seen (`fastleave`). */
  fastLeave?: boolean;
  /** Answer ARP requests for known hosts on behalf of this port (`proxy_arp`). */
  proxyArp?: boolean;
  /** Suppress ARP/ND for hosts the bridge knows (`neigh_suppress`). */
  neighSuppress?: boolean;
  /** Deliver multicast to this port as unicast copies (`mcast_to_unicast`). */
  mcastToUnicast?: boolean;
  /** STP path cost. */
  cost?: number;
  /** STP port priority, 0-63. */
  priority?: number;
  /** STP state; normally managed by the bridge. */
  state?: BridgePortState;
}

export const BRIDGE_PORT_SETTINGS_KEYS = keysOf<BridgePortSettings>()([
  'hairpin',
  'learning',
  'isolated',
  'flood',
  'mcastFlood',
  'bcastFlood',
  'guard',
  'rootBlock',
  'fastLeave',
  'proxyArp',
  'neighSuppress',
  'mcastToUnicast',
  'cost',
  'priority',
  'state',
]);

/** A bridge port's options as the kernel reports them. */
export interface BridgePortInfo {
  /** STP state ("forwarding", ...), or the number for a state nlkit does not name. */
  state: BridgePortState | (string & {});
  /** STP port priority. */
  priority: number;
  /** STP path cost. */
  cost: number;
  /** Frames may go back out of the port they came in on (`hairpin`). */
  hairpin: boolean;
  /** STP BPDUs received on this port are dropped (`guard`). */
  guard: boolean;
  /** The port may not become root port (`root_block`). */
  rootBlock: boolean;
  /** Multicast fast leave (`fastleave`). */
  fastLeave: boolean;
  /** Source MACs seen on this port are learned (`learning`). */
  learning: boolean;
  /** Unknown unicast is flooded to this port (`flood`). */
  flood: boolean;
  /** Unknown multicast is flooded to this port (`mcast_flood`). */
  mcastFlood: boolean;
  /** Broadcast is flooded to this port (`bcast_flood`). */
  bcastFlood: boolean;
  /** Proxy ARP on this port (`proxy_arp`). */
  proxyArp: boolean;
  /** ARP/ND suppression on this port (`neigh_suppress`). */
  neighSuppress: boolean;
  /** Multicast to unicast on this port (`mcast_to_unicast`). */
  mcastToUnicast: boolean;
  /** VLAN-to-tunnel mapping on this port (`vlan_tunnel`). */
  vlanTunnel: boolean;
  /** The port only talks to non-isolated ports (`isolated`). */
  isolated: boolean;
  /** Present on kernels that support locked ports. */
  locked?: boolean;
  /** Multicast router mode (0 disabled, 1 learned, 2 permanent), when reported. */
  multicastRouter?: number;
}

type FlagKey =
  | 'hairpin'
  | 'guard'
  | 'rootBlock'
  | 'fastLeave'
  | 'learning'
  | 'flood'
  | 'proxyArp'
  | 'mcastFlood'
  | 'mcastToUnicast'
  | 'bcastFlood'
  | 'neighSuppress'
  | 'isolated';

const FLAGS: Array<[FlagKey, number]> = [
  ['hairpin', C.IFLA_BRPORT_MODE],
  ['guard', C.IFLA_BRPORT_GUARD],
  ['rootBlock', C.IFLA_BRPORT_PROTECT],
  ['fastLeave', C.IFLA_BRPORT_FAST_LEAVE],
  ['learning', C.IFLA_BRPORT_LEARNING],
  ['flood', C.IFLA_BRPORT_UNICAST_FLOOD],
  ['proxyArp', C.IFLA_BRPORT_PROXYARP],
  ['mcastFlood', C.IFLA_BRPORT_MCAST_FLOOD],
  ['mcastToUnicast', C.IFLA_BRPORT_MCAST_TO_UCAST],
  ['bcastFlood', C.IFLA_BRPORT_BCAST_FLOOD],
  ['neighSuppress', C.IFLA_BRPORT_NEIGH_SUPPRESS],
  ['isolated', C.IFLA_BRPORT_ISOLATED],
];

/** True when at least one setting is given. */
export function hasBridgePortSettings(s: BridgePortSettings | undefined): s is BridgePortSettings {
  return !!s && Object.values(s).some((v) => v !== undefined);
}

/** Writes IFLA_BRPORT_* attributes (inside IFLA_PROTINFO). Validates first. */
export function encodeBridgePort(w: NetlinkWriter, s: BridgePortSettings): void {
  if (!isObject(s)) throw new ValidationError('port', s, 'must be an object of bridge port settings');
  for (const [key, type] of FLAGS) {
    const v = s[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new ValidationError(`port.${key}`, v, 'must be a boolean');
    w.u8(type, v ? 1 : 0);
  }
  if (s.cost !== undefined) {
    if (!Number.isInteger(s.cost) || s.cost < 1 || s.cost > 0xffffffff) throw new ValidationError('port.cost', s.cost, 'must be a positive integer');
    w.u32(C.IFLA_BRPORT_COST, s.cost);
  }
  if (s.priority !== undefined) {
    if (!Number.isInteger(s.priority) || s.priority < 0 || s.priority > 63) throw new ValidationError('port.priority', s.priority, 'must be 0-63');
    w.u16(C.IFLA_BRPORT_PRIORITY, s.priority);
  }
  if (s.state !== undefined) {
    const i = BRIDGE_PORT_STATES.indexOf(s.state);
    if (i < 0) throw new ValidationError('port.state', s.state, `one of ${BRIDGE_PORT_STATES.join(', ')}`);
    w.u8(C.IFLA_BRPORT_STATE, i);
  }
}

/** Reads IFLA_INFO_SLAVE_DATA of a bridge port (or a nested IFLA_PROTINFO). */
export function decodeBridgePort(a: Attributes): BridgePortInfo {
  const st = a.u8(C.IFLA_BRPORT_STATE) ?? 0;
  const info = {
    state: BRIDGE_PORT_STATES[st] ?? String(st),
    priority: a.u16(C.IFLA_BRPORT_PRIORITY) ?? 0,
    cost: a.u32(C.IFLA_BRPORT_COST) ?? 0,
  } as BridgePortInfo;
  for (const [key, type] of FLAGS) info[key] = (a.u8(type) ?? 0) !== 0;
  info.vlanTunnel = (a.u8(C.IFLA_BRPORT_VLAN_TUNNEL) ?? 0) !== 0;
  const locked = a.u8(C.IFLA_BRPORT_LOCKED);
  if (locked !== undefined) info.locked = locked !== 0;
  const mr = a.u8(C.IFLA_BRPORT_MULTICAST_ROUTER);
  if (mr !== undefined) info.multicastRouter = mr;
  return info;
}
