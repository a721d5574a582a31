/**
 * The common route of a bulk call, `{ dst: 'a.b.c.d/n', link: index }`,
 * validated and written in one step: no plan, no parsed-address objects, no
 * Buffer per route (a 5,000-route call made ~30,000 short-lived objects and
 * the garbage collector took a quarter of its JS time). The bytes are those
 * writeRouteMessage writes for the same route. Anything else, including an
 * invalid route, takes the general path, which validates it and names the
 * error.
 * @module
 */
import type { NetlinkWriter } from '../netlink/writer';
import * as C from './constants';

const AF_INET = 2;
/** What `ip route add` writes when no protocol is given (as writeRouteMessage). */
const RTPROT_BOOT = 3;
const RT_SCOPE_LINK = 253;
/** A delete matches any scope. */
const RT_SCOPE_NOWHERE = 255;
const RTN_UNICAST = 1;

/**
 * The writer of a bulk call's routes when every one is simple (checked
 * before any is written), or undefined: each route is parsed once into typed
 * arrays (no object per route), and written by index, part by part, while
 * the earlier parts are sent.
 * @example
 * const write = simpleRoutesWriter(routes, C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
 * if (write) for (let i = 0; i < routes.length; i++) write(w, i);
 */
export function simpleRoutesWriter(routes: readonly unknown[], type: number, flags: number): ((w: NetlinkWriter, index: number) => void) | undefined {
  const addresses = new Uint32Array(routes.length);
  const prefixes = new Uint8Array(routes.length);
  const links = new Uint32Array(routes.length);
  for (let i = 0; i < routes.length; i++) {
    const prefix = simplePrefix(routes[i]);
    if (prefix < 0) return undefined;
    addresses[i] = ipv4Address;
    prefixes[i] = prefix;
    links[i] = (routes[i] as { link: number }).link;
  }
  return (w, i) => {
    writeFields(w, type, flags, addresses[i], prefixes[i], links[i]);
  };
}

/**
 * Appends the request for `route` to `w` when it is an IPv4 route with only
 * `dst` and a link index; returns false, having written nothing, otherwise.
 * @example
 * if (!writeSimpleRoute(w, C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, { dst: '10.0.0.0/24', link: 2 })) writeGeneral();
 */
export function writeSimpleRoute(w: NetlinkWriter, type: number, flags: number, route: unknown): boolean {
  const prefix = simplePrefix(route);
  if (prefix < 0) return false;
  writeFields(w, type, flags, ipv4Address, prefix, (route as { link: number }).link);
  return true;
}

/** The request of a simple route: the bytes writeRouteMessage writes for it. */
function writeFields(w: NetlinkWriter, type: number, flags: number, address: number, prefix: number, link: number): void {
  const del = type === C.RTM_DELROUTE;
  w.begin(type, flags);
  const off = w.struct(C.RTMSG_LEN); // zeroed: no src, tos or flags
  const b = w.view;
  b[off] = AF_INET;
  b[off + 1] = prefix;
  b[off + 4] = C.RT_TABLE_MAIN;
  b[off + 5] = del ? 0 : RTPROT_BOOT;
  b[off + 6] = del ? RT_SCOPE_NOWHERE : RT_SCOPE_LINK; // no gateway: the link's scope
  b[off + 7] = del ? 0 : RTN_UNICAST;
  w.be32(C.RTA_DST, address);
  w.u32(C.RTA_OIF, link);
  w.end();
}

/** The prefix length of a simple route's dst (its address in ipv4Address), or -1. */
function simplePrefix(route: unknown): number {
  if (typeof route !== 'object' || route === null) return -1;
  // A plain object with own dst and link only: the general path reads options through the prototype too
  // (a class's getter, defaults from Object.create({ table: 100 })); such a route is not this one.
  const proto: unknown = Object.getPrototypeOf(route);
  if (proto !== Object.prototype && proto !== null) return -1;
  // for-in, not Object.keys: no array per route.
  for (const key in route) if (!Object.hasOwn(route, key) || (key !== 'dst' && key !== 'link')) return -1;
  const { dst, link } = route as { dst?: unknown; link?: unknown };
  if (typeof dst !== 'string' || typeof link !== 'number' || !Number.isInteger(link) || link <= 0 || link > 0x7fffffff) return -1;
  const prefix = ipv4PrefixOf(dst);
  // Host bits beyond the prefix are refused by the general path (with its message).
  if (prefix < 0 || (prefix < 32 && (ipv4Address & (0xffffffff >>> prefix)) !== 0)) return -1;
  return prefix;
}

/** The address of the last {@link ipv4PrefixOf} (a module variable, not an object per route). */
let ipv4Address = 0;

/**
 * The prefix length of "a.b.c.d/n" or "a.b.c.d" (32), with the address in
 * ipv4Address; -1 for anything else. As strict as parseCidr: four decimal
 * octets 0-255 without leading zeros, a length 0-32 without a leading zero.
 */
function ipv4PrefixOf(s: string): number {
  const n = s.length;
  let word = 0;
  let octets = 0;
  let v = 0;
  let digits = 0;
  let i = 0;
  for (; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 47; // the end reads as '/'
    if (c === 46 || c === 47) {
      if (digits === 0 || v > 255 || octets === 4) return -1;
      word = ((word << 8) | v) >>> 0;
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
  ipv4Address = word;
  if (i >= n) return 32;
  let prefix = 0;
  const start = i + 1;
  if (n - start < 1 || n - start > 2 || (n - start === 2 && s.charCodeAt(start) === 48)) return -1;
  for (let k = start; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) return -1;
    prefix = prefix * 10 + (c - 48);
  }
  return prefix <= 32 ? prefix : -1;
}
