/**
 * Linux bridges (IFLA_BR_*), with the options runtimes set.
 * Times are in seconds in the API; the kernel counts centiseconds.
 * @module
 */
import { keysOf } from '../../validate/options';
import type { NetlinkWriter } from '../../netlink/writer';
import type { Attributes } from '../../netlink/parser';
import { formatMac } from '../../validate/ip';
import { validateInteger } from '../../validate/integers';
import { ValidationError } from '../../netlink/errors';
import type { LinkKind } from './kind';

const IFLA_BR_FORWARD_DELAY = 1;
const IFLA_BR_HELLO_TIME = 2;
const IFLA_BR_MAX_AGE = 3;
const IFLA_BR_AGEING_TIME = 4;
const IFLA_BR_STP_STATE = 5;
const IFLA_BR_PRIORITY = 6;
const IFLA_BR_VLAN_FILTERING = 7;
const IFLA_BR_VLAN_PROTOCOL = 8;
const IFLA_BR_GROUP_FWD_MASK = 9;
const IFLA_BR_BRIDGE_ID = 11;
const IFLA_BR_VLAN_DEFAULT_PVID = 39;
const IFLA_BR_MCAST_SNOOPING = 23;
const IFLA_BR_MCAST_QUERIER = 25;

/** Bridge options, for creating a bridge and as read back. */
export interface BridgeSettings {
  /** Spanning tree on (default off). */
  stp?: boolean;
  /** Forward delay in seconds (kernel default 15). */
  forwardDelay?: number;
  /** Hello time in seconds. */
  helloTime?: number;
  /** Max age in seconds. */
  maxAge?: number;
  /** FDB ageing time in seconds (kernel default 300). */
  ageingTime?: number;
  /** STP bridge priority. */
  priority?: number;
  /** VLAN filtering on (kernel default off). */
  vlanFiltering?: boolean;
  /** Default PVID for new ports when VLAN filtering is on. */
  vlanDefaultPvid?: number;
  /** IGMP/MLD snooping (kernel default on). */
  multicastSnooping?: boolean;
  /** Act as IGMP/MLD querier (kernel default off). */
  multicastQuerier?: boolean;
  /** Bit mask of link-local group addresses (01:80:c2:00:00:0X) the bridge forwards. */
  groupForwardMask?: number;
}

/** `kind: 'bridge'` options of {@link linkOps.add}. */
export interface BridgeOptions extends BridgeSettings {
  /** The link kind. */
  kind: 'bridge';
}

/** A bridge's options as the kernel reports them (`Link.info` of a bridge). */
export interface BridgeInfo extends Required<Omit<BridgeSettings, 'vlanDefaultPvid' | 'multicastQuerier' | 'groupForwardMask'>> {
  /** Default PVID for new ports. */
  vlanDefaultPvid?: number;
  /** IGMP/MLD querier on. */
  multicastQuerier?: boolean;
  /** Bit mask of forwarded link-local group addresses. */
  groupForwardMask?: number;
  /** "8000.aabbccddeeff" like `ip -d link` shows. */
  bridgeId?: string;
  /** VLAN protocol (0x8100 for 802.1Q, 0x88a8 for 802.1ad). */
  vlanProtocol?: number;
}

/** The largest time the kernel's u32 of centiseconds holds. */
const MAX_SECONDS = 0xffffffff / 100;

/**
 * Seconds → the kernel's centiseconds. Checked first: the writer's u32 would
 * wrap -5 s to 4294966796 cs (about 497 days) and 10^8 s modulo 2^32 without a word.
 */
function centis(field: string, s: unknown): number {
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > MAX_SECONDS) {
    throw new ValidationError(field, s, `must be a number of seconds from 0 to ${MAX_SECONDS}`);
  }
  return Math.round(s * 100);
}

function flag(field: string, v: unknown): number {
  if (typeof v !== 'boolean') throw new ValidationError(field, v, 'must be a boolean');
  return v ? 1 : 0;
}

/** Writes bridge settings; shared by add and set. A bad value throws before the request is sent. */
export function encodeBridgeSettings(w: NetlinkWriter, o: BridgeSettings): void {
  if (o.forwardDelay !== undefined) w.u32(IFLA_BR_FORWARD_DELAY, centis('forwardDelay', o.forwardDelay));
  if (o.helloTime !== undefined) w.u32(IFLA_BR_HELLO_TIME, centis('helloTime', o.helloTime));
  if (o.maxAge !== undefined) w.u32(IFLA_BR_MAX_AGE, centis('maxAge', o.maxAge));
  if (o.ageingTime !== undefined) w.u32(IFLA_BR_AGEING_TIME, centis('ageingTime', o.ageingTime));
  if (o.stp !== undefined) w.u32(IFLA_BR_STP_STATE, flag('stp', o.stp));
  if (o.priority !== undefined) w.u16(IFLA_BR_PRIORITY, validateInteger(o.priority, 'priority', 0, 0xffff));
  if (o.vlanFiltering !== undefined) w.u8(IFLA_BR_VLAN_FILTERING, flag('vlanFiltering', o.vlanFiltering));
  // 0 turns the default PVID off; 4095 is reserved (the kernel refuses it).
  if (o.vlanDefaultPvid !== undefined) w.u16(IFLA_BR_VLAN_DEFAULT_PVID, validateInteger(o.vlanDefaultPvid, 'vlanDefaultPvid', 0, 4094));
  if (o.multicastSnooping !== undefined) w.u8(IFLA_BR_MCAST_SNOOPING, flag('multicastSnooping', o.multicastSnooping));
  if (o.multicastQuerier !== undefined) w.u8(IFLA_BR_MCAST_QUERIER, flag('multicastQuerier', o.multicastQuerier));
  if (o.groupForwardMask !== undefined) w.u16(IFLA_BR_GROUP_FWD_MASK, validateInteger(o.groupForwardMask, 'groupForwardMask', 0, 0xffff));
}

function decodeBridgeId(b: Buffer | undefined): string | undefined {
  if (!b || b.length < 8) return undefined;
  return b.subarray(0, 2).toString('hex') + '.' + formatMac(b.subarray(2, 8)).replace(/:/g, '');
}

/** Every bridge setting: given at creation, and changeable on a live bridge. */
const SETTING_KEYS = keysOf<BridgeSettings>()([
  'stp',
  'forwardDelay',
  'helloTime',
  'maxAge',
  'ageingTime',
  'priority',
  'vlanFiltering',
  'vlanDefaultPvid',
  'multicastSnooping',
  'multicastQuerier',
  'groupForwardMask',
]);

export const bridge: LinkKind<BridgeOptions, BridgeInfo> = {
  kind: 'bridge',
  optionKeys: ['kind', ...SETTING_KEYS],
  encode(w, opts) {
    encodeBridgeSettings(w, opts);
  },
  changeKeys: SETTING_KEYS,
  encodeChange: encodeBridgeSettings,
  decode(a: Attributes): BridgeInfo {
    const cs = (t: number) => (a.u32(t) ?? 0) / 100;
    return {
      stp: (a.u32(IFLA_BR_STP_STATE) ?? 0) !== 0,
      forwardDelay: cs(IFLA_BR_FORWARD_DELAY),
      helloTime: cs(IFLA_BR_HELLO_TIME),
      maxAge: cs(IFLA_BR_MAX_AGE),
      ageingTime: cs(IFLA_BR_AGEING_TIME),
      priority: a.u16(IFLA_BR_PRIORITY) ?? 0,
      vlanFiltering: (a.u8(IFLA_BR_VLAN_FILTERING) ?? 0) !== 0,
      vlanDefaultPvid: a.u16(IFLA_BR_VLAN_DEFAULT_PVID),
      multicastSnooping: (a.u8(IFLA_BR_MCAST_SNOOPING) ?? 0) !== 0,
      multicastQuerier: a.has(IFLA_BR_MCAST_QUERIER) ? a.u8(IFLA_BR_MCAST_QUERIER) !== 0 : undefined,
      groupForwardMask: a.u16(IFLA_BR_GROUP_FWD_MASK),
      bridgeId: decodeBridgeId(a.get(IFLA_BR_BRIDGE_ID)),
      vlanProtocol: a.be16(IFLA_BR_VLAN_PROTOCOL),
    };
  },
};
