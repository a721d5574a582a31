/**
 * Decoding RTM_NEWROUTE messages (multipath next hops, metrics, IPv6 router
 * preference) into `Route` objects.
 *
 * This runs for every route of a dump, so it reads the received bytes in
 * place: one pass over the attributes noting where each known one is, then
 * the object is built with its properties always in the same order (one
 * hidden class for V8). Names of numbers come from tables made once.
 * @module
 */
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK } from '../netlink/constants';
import { Attributes, cString, type NetlinkMessage, type RawAttribute } from '../netlink/parser';
import { ReceivedMessage } from '../netlink/received-message';
import { AF_INET6, formatIp, formatIpAt, type IpFamily } from '../validate/ip';
import * as C from './constants';
import { nexthopFlagNames, protocolName, routeTypeName, scopeName, tableName } from './names';
import type { Nexthop, Route, RoutePref } from './route-types';
/** ICMPV6_ROUTER_PREF_* values. */
export const PREFS: Record<RoutePref, number> = { medium: 0, high: 1, low: 3 };
/** PREFS the other way round. */
export const PREF_NAMES = new Map((Object.keys(PREFS) as RoutePref[]).map((k) => [PREFS[k], k]));

/** The names of the one-byte rtmsg fields (all 256 values), and the tables below 256. */
export const PROTOCOL_NAMES = Array.from({ length: 256 }, (_, i) => protocolName(i));
export const SCOPE_NAMES = Array.from({ length: 256 }, (_, i) => scopeName(i));
export const TYPE_NAMES = Array.from({ length: 256 }, (_, i) => routeTypeName(i));
export const TABLE_NAMES = Array.from({ length: 256 }, (_, i) => tableName(i));
/** USER_HZ: the units of rta_cacheinfo's rta_expires (clock_t) per second, on every architecture but alpha. */
const USER_HZ = 100;
/** "/0" .. "/255" (rtm_dst_len is a byte). */
export const PREFIX_LENGTHS = Array.from({ length: 256 }, (_, i) => `/${i}`);
const NEXTHOP_FLAGS = C.RTNH_F_DEAD | C.RTNH_F_PERVASIVE | C.RTNH_F_ONLINK | C.RTNH_F_LINKDOWN;

/** The top-level attribute types decodeRouteAt reads (their later repeats are ignored, not unknown). */
const KNOWN_MASK = [
  C.RTA_DST,
  C.RTA_SRC,
  C.RTA_OIF,
  C.RTA_GATEWAY,
  C.RTA_PRIORITY,
  C.RTA_PREFSRC,
  C.RTA_METRICS,
  C.RTA_MULTIPATH,
  C.RTA_TABLE,
  C.RTA_PREF,
  C.RTA_CACHEINFO,
  C.RTA_NH_ID,
  C.RTA_VIA,
  C.RTA_FLOW,
].reduce((mask, t) => mask | (1 << t), 0);

function decodeMultipath(b: Buffer): Nexthop[] {
  const out: Nexthop[] = [];
  let off = 0;
  while (off + 8 <= b.length) {
    const len = b.readUInt16LE(off);
    if (len < 8 || off + len > b.length) break;
    const flags = b.readUInt8(off + 2);
    const index = b.readInt32LE(off + 4);
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias of `link`, still filled
    const nh: Nexthop = { weight: b.readUInt8(off + 3) + 1, link: index, index, flags: nexthopFlagNames(flags) };
    if (flags & C.RTNH_F_ONLINK) nh.onlink = true;
    const a = new Attributes(b, off + 8, off + len);
    const gw = a.get(C.RTA_GATEWAY);
    const via = gw ? undefined : a.get(C.RTA_VIA);
    if (gw) nh.gateway = formatIp(gw);
    else if (via && via.length > 2) nh.gateway = formatIp(via.subarray(2)); // struct rtvia: family (u16), address
    const flow = a.u32(C.RTA_FLOW);
    if (flow !== undefined) nh.flow = flow;
    out.push(nh);
    off += (len + 3) & ~3;
  }
  return out;
}

/** Decodes one RTM_NEWROUTE message. */
export function decodeRoute(m: NetlinkMessage): Route {
  if (m instanceof ReceivedMessage) return decodeRouteAt(m.buffer, m.payloadStart, m.payloadEnd);
  return decodeRouteAt(m.payload, 0, m.payload.length);
}

/** Whether a RTM_NEWROUTE message is a cached clone (dumps leave them out, as `ip route show` does). */
export function isClonedRoute(m: NetlinkMessage): boolean {
  if (m instanceof ReceivedMessage) return isClonedRouteAt(m.buffer, m.payloadStart, m.payloadEnd);
  return isClonedRouteAt(m.payload, 0, m.payload.length);
}

/** {@link isClonedRoute} of the rtmsg payload at [start, end) of `b`. */
export function isClonedRouteAt(b: Buffer, start: number, end: number): boolean {
  // RTM_F_CLONED (0x200) is bit 1 of rtm_flags' second byte.
  return start + 12 <= end && (b[start + 9] & 2) !== 0;
}

function u32(b: Buffer, off: number, len: number): number | undefined {
  return len >= 4 ? (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16)) + b[off + 3] * 0x1000000 : undefined;
}

/** Decodes the rtmsg payload at [start, end) of `b` (a RTM_NEWROUTE message's, read in place). */
export function decodeRouteAt(b: Buffer, start: number, end: number): Route {
  // A short header reads as zeros (kernels only ever send the whole rtmsg).
  if (end - start < C.RTMSG_LEN) {
    const padded = Buffer.alloc(C.RTMSG_LEN);
    b.copy(padded, 0, start, end);
    return decodeRouteAt(padded, 0, C.RTMSG_LEN);
  }
  // Where each attribute's data is (-1: absent); the first of a type counts.
  let dst = -1,
    dstLen = 0,
    src = -1,
    srcLen = 0,
    gateway = -1,
    gatewayLen = 0,
    via = -1,
    viaLen = 0,
    prefsrc = -1,
    prefsrcLen = 0,
    metrics = -1,
    metricsLen = 0,
    multipath = -1,
    multipathLen = 0,
    table = -1,
    tableLen = 0,
    oif = -1,
    oifLen = 0,
    priority = -1,
    priorityLen = 0,
    nhid = -1,
    nhidLen = 0,
    pref = -1,
    prefLen = 0,
    cacheinfo = -1,
    cacheinfoLen = 0,
    flow = -1,
    flowLen = 0;
  let unknown: RawAttribute[] | undefined;
  let seen = 0; // bit per known type already met
  // Literal numbers in this loop: imported constants are property loads in
  // the CommonJS output, slow while a new process still interprets this.
  for (let off = start + 12; off + 4 <= end;) {
    // rtmsg is 12 bytes, an attribute header (nlattr) 4; NLA_TYPE_MASK 0x3fff
    const len = b[off] | (b[off + 1] << 8);
    if (len < 4 || off + len > end) break;
    const rawType = b[off + 2] | (b[off + 3] << 8);
    const type = rawType & 0x3fff;
    const data = off + 4;
    const dataLen = len - 4;
    off += (len + 3) & ~3;
    if (type < 31 && (KNOWN_MASK >>> type) & 1) {
      if ((seen >>> type) & 1) continue;
      seen |= 1 << type;
    }
    // Literal labels: `C.X` would be a property load per label tried (and a
    // deoptimisation the first time a new label is reached).
    switch (type) {
      case 1: // RTA_DST
        dst = data;
        dstLen = dataLen;
        break;
      case 2: // RTA_SRC
        src = data;
        srcLen = dataLen;
        break;
      case 5: // RTA_GATEWAY
        gateway = data;
        gatewayLen = dataLen;
        break;
      case 18: // RTA_VIA (an IPv6 gateway of an IPv4 route): struct rtvia, the family (u16) then the address
        if (dataLen > 2) {
          via = data + 2;
          viaLen = dataLen - 2;
        }
        break;
      case 7: // RTA_PREFSRC
        prefsrc = data;
        prefsrcLen = dataLen;
        break;
      case 8: // RTA_METRICS
        metrics = data;
        metricsLen = dataLen;
        break;
      case 9: // RTA_MULTIPATH
        multipath = data;
        multipathLen = dataLen;
        break;
      case 15: // RTA_TABLE
        table = data;
        tableLen = dataLen;
        break;
      case 4: // RTA_OIF
        oif = data;
        oifLen = dataLen;
        break;
      case 6: // RTA_PRIORITY
        priority = data;
        priorityLen = dataLen;
        break;
      case 30: // RTA_NH_ID
        nhid = data;
        nhidLen = dataLen;
        break;
      case 20: // RTA_PREF
        pref = data;
        prefLen = dataLen;
        break;
      case 12: // RTA_CACHEINFO
        cacheinfo = data;
        cacheinfoLen = dataLen;
        break;
      case 11: // RTA_FLOW (realms)
        flow = data;
        flowLen = dataLen;
        break;
      default:
        (unknown ??= []).push({
          type,
          nested: (rawType & NLA_F_NESTED) !== 0,
          netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
          data: b.subarray(data, data + dataLen),
        });
    }
  }
  const family: IpFamily = b[start] === AF_INET6 ? 6 : 4;
  const dstLength = b[start + 1];
  const srcLength = b[start + 2];
  const tableId = (table >= 0 ? u32(b, table, tableLen) : undefined) ?? b[start + 4];
  const flags = u32(b, start + 8, 4) ?? 0;
  const r: Route = {
    family,
    dst: dst >= 0 ? formatIpAt(b, dst, dstLen) + PREFIX_LENGTHS[dstLength] : dstLength === 0 ? 'default' : `?/${dstLength}`,
    dstLength,
    table: tableId < 256 ? TABLE_NAMES[tableId] : tableName(tableId),
    tableId,
    protocol: PROTOCOL_NAMES[b[start + 5]],
    scope: SCOPE_NAMES[b[start + 6]],
    type: TYPE_NAMES[b[start + 7]],
    flags: flags & NEXTHOP_FLAGS ? nexthopFlagNames(flags) : [],
    unknownAttributes: unknown ?? [],
  };
  if (src >= 0 && srcLength) r.src = formatIpAt(b, src, srcLen) + PREFIX_LENGTHS[srcLength];
  if (gateway >= 0) r.gateway = formatIpAt(b, gateway, gatewayLen);
  else if (via >= 0) r.gateway = formatIpAt(b, via, viaLen);
  const link = oif >= 0 ? u32(b, oif, oifLen) : undefined;
  if (link !== undefined) {
    r.link = link;
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias of `link`, still filled
    r.index = link;
  }
  if (prefsrc >= 0) r.prefsrc = formatIpAt(b, prefsrc, prefsrcLen);
  const metric = priority >= 0 ? u32(b, priority, priorityLen) : undefined;
  if (metric !== undefined) r.metric = metric;
  if (multipath >= 0) r.multipath = decodeMultipath(b.subarray(multipath, multipath + multipathLen));
  const nh = nhid >= 0 ? u32(b, nhid, nhidLen) : undefined;
  if (nh !== undefined) r.nhid = nh;
  if (metrics >= 0) decodeMetrics(r, b, metrics, metrics + metricsLen);
  // The kernel stores only the three valid preferences (an invalid one as medium).
  const prefName = pref >= 0 && prefLen >= 1 ? PREF_NAMES.get(b[pref]) : undefined;
  if (prefName !== undefined) r.pref = prefName;
  // rta_cacheinfo's rta_expires (an s32 at offset 8, in clock_t): 0 for a route that does not expire. Whole
  // seconds, rounded toward zero as ip prints them.
  if (cacheinfo >= 0 && cacheinfoLen >= 12) {
    const expires = b.readInt32LE(cacheinfo + 8);
    if (expires !== 0) r.expires = Math.trunc(expires / USER_HZ);
  }
  const realms = flow >= 0 ? u32(b, flow, flowLen) : undefined;
  if (realms !== undefined) r.flow = realms;
  return r;
}

/**
 * RTA_METRICS: the MTU as `mtu` (and `mtuLocked` when RTAX_LOCK has its bit),
 * the congestion control algorithm (the one string among them) as
 * `congestionControl`, the others by RTAX number (the last of a type wins).
 */
function decodeMetrics(r: Route, b: Buffer, start: number, end: number): void {
  for (let off = start; off + NLA_HDRLEN <= end;) {
    const len = b[off] | (b[off + 1] << 8);
    if (len < NLA_HDRLEN || off + len > end) break;
    const type = (b[off + 2] | (b[off + 3] << 8)) & NLA_TYPE_MASK;
    if (type === C.RTAX_CC_ALGO) {
      // Read as a u32 it was the name's first four bytes ("cubic" → 1768060259).
      r.congestionControl = cString(b.subarray(off + NLA_HDRLEN, off + len));
      off += (len + 3) & ~3;
      continue;
    }
    const value = u32(b, off + NLA_HDRLEN, len - NLA_HDRLEN);
    off += (len + 3) & ~3;
    if (value === undefined) continue;
    if (type === C.RTAX_MTU) r.mtu = value;
    else (r.metrics ??= {})[type] = value;
  }
  // After the loop, so the property order does not depend on the attributes' (one hidden class per shape).
  const lock = r.metrics?.[C.RTAX_LOCK];
  if (lock !== undefined && lock & (1 << C.RTAX_MTU)) r.mtuLocked = true;
}
