/**
 * The nexthop object wire format (/usr/include/linux/nexthop.h): message
 * types, attributes, and decoding RTM_NEWNEXTHOP into `NexthopObject`.
 * @module
 */
import { Attributes, u32At, u8At, type NetlinkMessage } from '../netlink/parser';
import { AF_INET, AF_INET6, formatIp } from '../validate/ip';
import * as C from './constants';
import { nexthopFlagNames, protocolName, scopeName } from './names';
import type { NexthopObject, ResilientGroupInfo } from './nexthop-types';

export const RTM_NEWNEXTHOP = 104;
export const RTM_DELNEXTHOP = 105;
export const RTM_GETNEXTHOP = 106;

/** struct nhmsg: family, scope, protocol, reserved, flags (u32). */
export const NHMSG_LEN = 8;

export const NHA_ID = 1;
export const NHA_GROUP = 2;
export const NHA_GROUP_TYPE = 3;
export const NHA_BLACKHOLE = 4;
export const NHA_OIF = 5;
export const NHA_GATEWAY = 6;
export const NHA_GROUPS = 9;
export const NHA_MASTER = 10;
export const NHA_FDB = 11;
export const NHA_RES_GROUP = 12;

export const NHA_RES_GROUP_BUCKETS = 1;
export const NHA_RES_GROUP_IDLE_TIMER = 2;
export const NHA_RES_GROUP_UNBALANCED_TIMER = 3;
export const NHA_RES_GROUP_UNBALANCED_TIME = 4;

export const NEXTHOP_GRP_TYPE_MPATH = 0;
export const NEXTHOP_GRP_TYPE_RES = 1;

/** struct nexthop_grp: id (u32), weight - 1 (u8), reserved (u8, u16). */
export const NEXTHOP_GRP_LEN = 8;

/** The kernel counts resilient timers in USER_HZ ticks (clock_t, 100 per second); the API in seconds, like `ip`. */
export const TICKS_PER_SECOND = 100;

const KNOWN = new Set([NHA_ID, NHA_GROUP, NHA_GROUP_TYPE, NHA_BLACKHOLE, NHA_OIF, NHA_GATEWAY, NHA_FDB, NHA_RES_GROUP]);

function decodeResilient(a: Attributes): ResilientGroupInfo {
  const seconds = (ticks: number | bigint | undefined) => Number(ticks ?? 0) / TICKS_PER_SECOND;
  return {
    buckets: a.u16(NHA_RES_GROUP_BUCKETS) ?? 0,
    idleTimer: seconds(a.u32(NHA_RES_GROUP_IDLE_TIMER)),
    unbalancedTimer: seconds(a.u32(NHA_RES_GROUP_UNBALANCED_TIMER)),
    unbalancedTime: seconds(a.u64(NHA_RES_GROUP_UNBALANCED_TIME)),
  };
}

/** Decodes one RTM_NEWNEXTHOP (or RTM_DELNEXTHOP) message. */
export function decodeNexthopObject(m: NetlinkMessage): NexthopObject {
  const p = m.payload;
  const af = u8At(p, 0);
  const flags = u32At(p, 4);
  const a = new Attributes(p, NHMSG_LEN);
  const nh: NexthopObject = {
    id: a.u32(NHA_ID) ?? 0,
    protocol: protocolName(u8At(p, 2)),
    scope: scopeName(u8At(p, 1)),
    flags: nexthopFlagNames(flags),
    unknownAttributes: a.unknown(KNOWN),
  };
  if (af === AF_INET) nh.family = 4;
  else if (af === AF_INET6) nh.family = 6;
  const gw = a.get(NHA_GATEWAY);
  if (gw) nh.gateway = formatIp(gw);
  const oif = a.u32(NHA_OIF);
  if (oif !== undefined) nh.link = oif;
  if (a.flag(NHA_BLACKHOLE)) nh.blackhole = true;
  if (a.flag(NHA_FDB)) nh.fdb = true;
  if (flags & C.RTNH_F_ONLINK) nh.onlink = true;
  const group = a.get(NHA_GROUP);
  if (group) {
    nh.group = [];
    for (let off = 0; off + NEXTHOP_GRP_LEN <= group.length; off += NEXTHOP_GRP_LEN) {
      nh.group.push({ id: group.readUInt32LE(off), weight: group.readUInt8(off + 4) + 1 });
    }
    nh.groupType = a.u16(NHA_GROUP_TYPE) === NEXTHOP_GRP_TYPE_RES ? 'resilient' : 'mpath';
  }
  const res = a.nested(NHA_RES_GROUP);
  if (res) nh.resilient = decodeResilient(res);
  return nh;
}
