/**
 * A single route write of the common shapes, IPv4 `{ dst, link: index }`,
 * `{ dst, gateway }` and `{ dst, gateway, link: index }`, checked and written
 * straight into the datagram of its tick (ack-group.ts) by one function.
 *
 * Why one flat function: in a new process (a CLI, a CNI plugin, a script
 * adding thousands of routes once) this code runs interpreted, and each call
 * of a small helper (the writer's begin/struct/attr, a parser, a getter) costs
 * more than the work inside it; every helper that gets hot is also compiled
 * by V8 on its own and again inlined into each caller, which was most of the
 * CPU of a fresh 5,000-route churn (bench/notes.md, "fresh-churn"). The bytes
 * are those writeRouteMessage writes for the same route (unit-tested byte for
 * byte); anything else, including an invalid route, returns -1 and takes the
 * general path, which validates it and names the error.
 * @module
 */
import * as C from './constants';

const NLMSG_HDRLEN = 16;
const NLM_F_REQUEST = 1;
const AF_INET = 2;
/** What `ip route add` writes when no protocol is given (as writeRouteMessage). */
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
/** A delete matches any scope. */
const RT_SCOPE_NOWHERE = 255;
const RTN_UNICAST = 1;

/** The longest request written here: header, rtmsg, RTA_DST, RTA_GATEWAY, RTA_OIF. */
export const ROUTE_IN_PLACE_MAX_BYTES = NLMSG_HDRLEN + C.RTMSG_LEN + 3 * 8;

/**
 * Writes the RTM_NEWROUTE / RTM_DELROUTE request for `route` at `off` of
 * `buf` (room for {@link ROUTE_IN_PLACE_MAX_BYTES} assumed) and returns where
 * it ends, when the route has one of the common shapes and is valid; else -1
 * (what was written past `off` then means nothing).
 * @example
 * const end = writeRouteAt(buf, 0, C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, { dst: '10.0.0.0/24', link: 2 });
 * if (end < 0) sendTheGeneralWay();
 */
export function writeRouteAt(buf: Buffer, off: number, type: number, flags: number, route: unknown): number {
  if (typeof route !== 'object' || route === null) return -1;
  // A plain object only: the general path reads options through the prototype too (a class's getter, defaults
  // from Object.create({ table: 100 })), which for-in below would not see: that route would go to the main table.
  const proto: unknown = Object.getPrototypeOf(route);
  if (proto !== Object.prototype && proto !== null) return -1;
  let dst: unknown;
  let link: unknown;
  let gateway: unknown;
  // for-in, not Object.keys: no array per route. An inherited key (Object.prototype polluted) is an option to the general path.
  for (const key in route) {
    if (!Object.hasOwn(route, key)) return -1;
    if (key === 'dst') dst = (route as { dst: unknown }).dst;
    else if (key === 'link') link = (route as { link: unknown }).link;
    else if (key === 'gateway') gateway = (route as { gateway: unknown }).gateway;
    else return -1;
  }
  if (typeof dst !== 'string') return -1;
  if (link !== undefined && (typeof link !== 'number' || !Number.isInteger(link) || link <= 0 || link > 0x7fffffff)) return -1;
  if (gateway === undefined ? link === undefined : typeof gateway !== 'string') return -1;

  // dst: 'default', or "a.b.c.d" / "a.b.c.d/n" as strict as parseCidr (decimal octets 0-255
  // without leading zeros, a length 0-32 without a leading zero, no host bits beyond it).
  // The dotted-quad parsers below are written out here, like route-bulk-simple.ts's ipv4PrefixOf, on purpose: a
  // new process interprets this function for thousands of calls, and each helper call is one more function for V8
  // to compile (bench/notes.md, fresh-churn). Both are held to the general path's bytes and errors by their tests.
  let address = 0;
  let prefix = 32;
  const isDefault = dst === 'default';
  if (isDefault) prefix = 0;
  else {
    const n = dst.length;
    let octets = 0;
    let v = 0;
    let digits = 0;
    let i = 0;
    for (; i <= n; i++) {
      const c = i < n ? dst.charCodeAt(i) : 47; // the end reads as '/'
      if (c === 46 || c === 47) {
        if (digits === 0 || v > 255 || octets === 4) return -1;
        address = ((address << 8) | v) >>> 0;
        octets++;
        v = 0;
        digits = 0;
        if (c === 47) break;
      } else if (c >= 48 && c <= 57) {
        if (digits === 3 || (digits === 1 && v === 0)) return -1;
        v = v * 10 + (c - 48);
        digits++;
      } else return -1;
    }
    if (octets !== 4) return -1;
    if (i < n) {
      const digitsLeft = n - i - 1;
      if (digitsLeft < 1 || digitsLeft > 2 || (digitsLeft === 2 && dst.charCodeAt(i + 1) === 48)) return -1;
      prefix = 0;
      for (let k = i + 1; k < n; k++) {
        const c = dst.charCodeAt(k);
        if (c < 48 || c > 57) return -1;
        prefix = prefix * 10 + (c - 48);
      }
      if (prefix > 32 || (prefix < 32 && (address & (0xffffffff >>> prefix)) !== 0)) return -1;
    }
  }

  // gateway: "a.b.c.d" only (as parseIp for an IPv4 route).
  let gw = 0;
  if (typeof gateway === 'string') {
    const n = gateway.length;
    if (n < 7 || n > 15) return -1;
    let octets = 0;
    let v = 0;
    let digits = 0;
    for (let i = 0; i <= n; i++) {
      const c = i < n ? gateway.charCodeAt(i) : 46; // the end reads as '.'
      if (c === 46) {
        if (digits === 0 || v > 255 || octets === 4) return -1;
        gw = ((gw << 8) | v) >>> 0;
        octets++;
        v = 0;
        digits = 0;
      } else if (c >= 48 && c <= 57) {
        if (digits === 3 || (digits === 1 && v === 0)) return -1;
        v = v * 10 + (c - 48);
        digits++;
      } else return -1;
    }
    if (octets !== 4) return -1;
  }

  // nlmsghdr: length (below), type, flags, seq and port id 0 (the connection numbers it).
  const del = type === C.RTM_DELROUTE;
  const b = buf;
  let o = off;
  b[o + 4] = type & 0xff;
  b[o + 5] = type >>> 8;
  const f = (flags | NLM_F_REQUEST) & 0xffff;
  b[o + 6] = f & 0xff;
  b[o + 7] = f >>> 8;
  b[o + 8] = b[o + 9] = b[o + 10] = b[o + 11] = 0;
  b[o + 12] = b[o + 13] = b[o + 14] = b[o + 15] = 0;
  o += NLMSG_HDRLEN;
  // rtmsg: no src, tos or flags; a gateway makes it a universe route, a link alone a link one.
  b[o] = AF_INET;
  b[o + 1] = prefix;
  b[o + 2] = 0;
  b[o + 3] = 0;
  b[o + 4] = C.RT_TABLE_MAIN;
  b[o + 5] = del ? 0 : RTPROT_BOOT;
  b[o + 6] = del ? RT_SCOPE_NOWHERE : gateway !== undefined ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  b[o + 7] = del ? 0 : RTN_UNICAST;
  b[o + 8] = b[o + 9] = b[o + 10] = b[o + 11] = 0;
  o += C.RTMSG_LEN;
  // Attributes of 4 data bytes each, in writeRouteMessage's order: RTA_DST, RTA_GATEWAY, RTA_OIF.
  if (!isDefault) {
    b[o] = 8;
    b[o + 1] = 0;
    b[o + 2] = C.RTA_DST;
    b[o + 3] = 0;
    b[o + 4] = address >>> 24;
    b[o + 5] = (address >>> 16) & 0xff;
    b[o + 6] = (address >>> 8) & 0xff;
    b[o + 7] = address & 0xff;
    o += 8;
  }
  if (gateway !== undefined) {
    b[o] = 8;
    b[o + 1] = 0;
    b[o + 2] = C.RTA_GATEWAY;
    b[o + 3] = 0;
    b[o + 4] = gw >>> 24;
    b[o + 5] = (gw >>> 16) & 0xff;
    b[o + 6] = (gw >>> 8) & 0xff;
    b[o + 7] = gw & 0xff;
    o += 8;
  }
  if (link !== undefined) {
    const index = link;
    b[o] = 8;
    b[o + 1] = 0;
    b[o + 2] = C.RTA_OIF;
    b[o + 3] = 0;
    b[o + 4] = index & 0xff;
    b[o + 5] = (index >>> 8) & 0xff;
    b[o + 6] = (index >>> 16) & 0xff;
    b[o + 7] = index >>> 24;
    o += 8;
  }
  const len = o - off;
  b[off] = len;
  b[off + 1] = b[off + 2] = b[off + 3] = 0;
  return o;
}
