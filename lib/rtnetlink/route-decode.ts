/**
 * Decoding RTM_NEWROUTE messages (multipath next hops, metrics, IPv6 router
 * preference) into `Route` objects.
 * @module
 */
import { Attributes, u32At, u8At, type NetlinkMessage } from '../netlink/parser';
import { AF_INET6, formatIp, formatIpAt, type IpFamily } from '../validate/ip';
import * as C from './constants';
import { nexthopFlagNames, protocolName, routeTypeName, scopeName, tableName } from './names';
import type { Nexthop, Route, RoutePref } from './route-types';
/** ICMPV6_ROUTER_PREF_* values. */
export const PREFS: Record<RoutePref, number> = { medium: 0, high: 1, low: 3 };
/** PREFS the other way round; decodeRoute runs for every route of a dump. */
const PREF_NAMES = new Map((Object.keys(PREFS) as RoutePref[]).map((k) => [PREFS[k], k]));

const KNOWN = new Set([
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
]);

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
    if (gw) nh.gateway = formatIp(gw);
    out.push(nh);
    off += (len + 3) & ~3;
  }
  return out;
}

/** Decodes one RTM_NEWROUTE message. */
export function decodeRoute(m: NetlinkMessage): Route {
  const p = m.payload;
  const family: IpFamily = u8At(p, 0) === AF_INET6 ? 6 : 4;
  const dstLength = u8At(p, 1);
  const srcLength = u8At(p, 2);
  const a = new Attributes(p, C.RTMSG_LEN);
  const tableId = a.u32(C.RTA_TABLE) ?? u8At(p, 4);
  const flags = u32At(p, 8);
  const dst = a.read(C.RTA_DST, formatIpAt);
  const r: Route = {
    family,
    dst: dst !== undefined ? `${dst}/${dstLength}` : dstLength === 0 ? 'default' : `?/${dstLength}`,
    dstLength,
    table: tableName(tableId),
    tableId,
    protocol: protocolName(u8At(p, 5)),
    scope: scopeName(u8At(p, 6)),
    type: routeTypeName(u8At(p, 7)),
    flags: nexthopFlagNames(flags),
    unknownAttributes: a.unknown(KNOWN),
  };
  const src = a.get(C.RTA_SRC);
  if (src && srcLength) r.src = `${formatIp(src)}/${srcLength}`;
  const gw = a.read(C.RTA_GATEWAY, formatIpAt);
  if (gw !== undefined) r.gateway = gw;
  const oif = a.u32(C.RTA_OIF);
  if (oif !== undefined) {
    r.link = oif;
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias of `link`, still filled
    r.index = oif;
  }
  const ps = a.read(C.RTA_PREFSRC, formatIpAt);
  if (ps !== undefined) r.prefsrc = ps;
  const prio = a.u32(C.RTA_PRIORITY);
  if (prio !== undefined) r.metric = prio;
  const mp = a.get(C.RTA_MULTIPATH);
  if (mp) r.multipath = decodeMultipath(mp);
  const nhid = a.u32(C.RTA_NH_ID);
  if (nhid !== undefined) r.nhid = nhid;
  const metrics = a.nested(C.RTA_METRICS);
  if (metrics) {
    for (const x of metrics.list) {
      if (x.data.length < 4) continue;
      if (x.type === C.RTAX_MTU) r.mtu = x.data.readUInt32LE(0);
      else (r.metrics ??= {})[x.type] = x.data.readUInt32LE(0);
    }
  }
  const pref = a.u8(C.RTA_PREF);
  // The kernel stores only the three valid preferences (an invalid one as medium).
  const prefName = pref !== undefined ? PREF_NAMES.get(pref) : undefined;
  if (prefName !== undefined) r.pref = prefName;
  return r;
}
