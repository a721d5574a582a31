/**
 * IPv4 and IPv6 routes — RTM_*ROUTE: list, get/find by key, add, replace,
 * delete, and the kernel's own lookup (`ip route get`). The `Route` type and
 * the options are in route-types.ts, decoding in route-decode.ts.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants';
import { DecodeError, NetlinkError, NotFoundError, ValidationError, type DeleteOptions } from '../netlink/errors';
import type { AsyncOps, SyncOps } from '../netlink/bind';
import { call, dumpCollected, type Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { afOf, formatIp, parseCidr, parseIp } from '../validate/ip';
import * as C from './constants';
import { resolveLinkNames } from './link-names';
import { resolveLinkIndex } from './link-ref';
import { parseProtocol, parseRouteType, parseTable, protocolName, routeTypeName } from './names';
import { decodeRoute, decodeRouteAt, isClonedRoute, isClonedRouteAt } from './route-decode';
import { routeRows } from './route-rows';
import { deleteRoutes, writeRoutes } from './route-bulk';
import { checkU32, linkOf, parseDst, parseGateway, RouteRequest } from './route-write';
import type { Nexthop, Route, RouteFilter, RouteKey, RouteLookupOptions, RouteOptions } from './route-types';
import { ROUTE_FILTER_KEYS, ROUTE_KEY_KEYS, ROUTE_LOOKUP_KEYS } from './route-types';
import { isObject, rejectUnknownKeys } from '../validate/options';

export type { Nexthop, NexthopOptions, Route, RouteFilter, RouteKey, RouteLookupOptions, RouteOptions, RoutePref } from './route-types';
export { decodeRoute } from './route-decode';

/** The operations on routes; bound to a handle as `handle.routes`. */
export const routeOps = {
  /**
   * Adds a route; EEXIST if an equal one exists. Given an array, adds every
   * route in one bulk call (see "Bulk writes" in docs/api-conventions.md):
   * all are validated first (a ValidationError names the index, as
   * `routes[3].dst`), sent many per datagram, and the ones the kernel refused
   * are reported together in a {@link BatchError} (`errors[i]`) once all
   * were attempted; the others are added.
   * @example
   * await h.routes.add({ dst: 'default', gateway: '10.0.0.1' });
   * await h.routes.add({ dst: '10.1.0.0/16', link: 'eth0', metric: 100 });
   * await h.routes.add([{ dst: '10.2.0.1/32', link: 'eth0' }, { dst: '10.2.0.2/32', link: 'eth0' }]);
   */
  add(route: RouteOptions | readonly RouteOptions[]): Operation<void> {
    if (Array.isArray(route)) return writeRoutes(C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, route, 'add');
    return new RouteRequest<void>(C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, route as RouteOptions, 'add');
  },

  /**
   * Adds the route or replaces the one with the same key (dst, table, metric,
   * tos). Given an array, replaces them all in one bulk call (as `add`).
   * @example
   * await h.routes.replace({ dst: 'default', gateway: '10.0.0.254' });
   * await h.routes.replace(routes.map((r) => ({ ...r, metric: 200 })));
   */
  replace(route: RouteOptions | readonly RouteOptions[]): Operation<void> {
    if (Array.isArray(route)) return writeRoutes(C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, route, 'replace');
    return new RouteRequest<void>(C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, route as RouteOptions, 'replace');
  },

  /**
   * Deletes the first route matching the given fields (dst is required; a
   * listed route can be passed as it is). Resolves to `true`; no such route
   * is a {@link NotFoundError} (code ESRCH), or `false` with `{ missingOk: true }`.
   * @example
   * await h.routes.delete({ dst: '10.1.0.0/16' });
   * for (const r of await h.routes.list({ protocol: 'static' })) await h.routes.delete(r);
   * await h.routes.delete({ dst: '10.1.0.0/16' }, { missingOk: true }); // false: gone already
   */
  delete: deleteRoute,

  /**
   * Lists routes of the main table (or another, or "all"), cached clones
   * excluded; each carries its output link's name (`linkName`).
   * @example
   * const routes = await h.routes.list({ family: 4 });
   * for (const r of routes) console.log(r.dst, r.gateway ?? '', r.linkName ?? '');
   */
  *list(filter: RouteFilter = {}): Operation<Route[]> {
    return yield* nameRoutes(yield* listRoutes(filter));
  },

  /**
   * Gets the route with a key from its table (not a lookup: see
   * {@link routeOps.lookup}). Where several routes share `dst` and the key
   * does not tell them apart, the one with the lowest metric (the one the
   * kernel prefers). {@link NotFoundError} (code ESRCH) when there is none.
   *
   * Deprecated form: `get('10.0.0.7')` with a string still asks the kernel
   * for its lookup, like {@link routeOps.lookup}; it goes away in the next
   * minor version.
   * @example
   * const r = await h.routes.get({ dst: '10.1.0.0/16', table: 'main' }); // r.gateway, r.linkName
   * const v6default = await h.routes.get({ dst: 'default', family: 6 });
   */
  *get(key: RouteKey | string, lookupOptions?: RouteLookupOptions): Operation<Route> {
    if (typeof key === 'string') {
      warnDeprecatedLookup();
      return yield* routeOps.lookup(key, lookupOptions);
    }
    if (lookupOptions !== undefined)
      throw new ValidationError('lookupOptions', lookupOptions, 'only for the deprecated lookup form get(destination); use routes.lookup()');
    const found = yield* findRoute(key);
    if (!found) throw new NotFoundError('route', { errno: osConstants.errno.ESRCH, operation: `get route ${describeKey(key)}` });
    return found;
  },

  /**
   * Like {@link routeOps.get}, but undefined when there is no such route.
   * @example
   * if (!(await h.routes.find({ dst: 'default' }))) await h.routes.add({ dst: 'default', gateway: '10.0.0.1' });
   */
  *find(key: RouteKey): Operation<Route | undefined> {
    return yield* findRoute(key);
  },

  /**
   * Asks the kernel which route it would use for a destination (`ip route
   * get`): the answer is computed (policy rules, source, marks applied), not
   * a stored route. The kernel's refusal (ENETUNREACH, ...) is a NetlinkError.
   * @example
   * const r = await h.routes.lookup('10.0.0.7'); // r.linkName, r.gateway, r.prefsrc
   * const viaMark = await h.routes.lookup('192.0.2.1', { mark: 0x10 });
   */
  *lookup(destination: string, opts: RouteLookupOptions = {}): Operation<Route> {
    rejectUnknownKeys(opts, ROUTE_LOOKUP_KEYS, 'lookup options');
    const dst = parseIp(destination, 'destination');
    const iif = opts.iif !== undefined ? yield* resolveLinkIndex(opts.iif) : undefined;
    const oif = opts.oif !== undefined ? yield* resolveLinkIndex(opts.oif) : undefined;
    const w = new NetlinkWriter().begin(C.RTM_GETROUTE, 0);
    const off = w.struct(C.RTMSG_LEN);
    w.view.writeUInt8(afOf(dst.family), off);
    w.view.writeUInt8(dst.family === 4 ? 32 : 128, off + 1);
    // IPv4 reports the main table unless asked for the one the lookup matched
    // in (as ip asks); IPv6 always reports it and refuses the flag.
    const lookupTable = dst.family === 4 ? C.RTM_F_LOOKUP_TABLE : 0;
    w.view.writeUInt32LE(lookupTable | (opts.fibMatch ? C.RTM_F_FIB_MATCH : 0), off + 8);
    w.attr(C.RTA_DST, dst.bytes);
    if (opts.from !== undefined) {
      w.attr(C.RTA_SRC, parseIp(opts.from, 'from', dst.family).bytes);
      w.view.writeUInt8(dst.family === 4 ? 32 : 128, off + 2);
    }
    if (iif !== undefined) w.u32(C.RTA_IIF, iif);
    if (oif !== undefined) w.u32(C.RTA_OIF, oif);
    if (opts.mark !== undefined) w.u32(C.RTA_MARK, opts.mark);
    const replies = yield* call(w.end().finish(), `look up route to ${destination}`);
    const m = replies.find((x) => x.type === C.RTM_NEWROUTE);
    if (!m) throw new DecodeError('route', `the kernel answered the lookup of ${destination} without a route`);
    const [route] = yield* nameRoutes([decodeRoute(m)]);
    return route;
  },
};

function deleteRoute(route: RouteOptions, opts?: DeleteOptions): Operation<boolean>;
function deleteRoute(routes: readonly RouteOptions[], opts?: DeleteOptions): Operation<number>;
function deleteRoute(route: RouteOptions | readonly RouteOptions[], opts?: DeleteOptions): Operation<boolean> | Operation<number> {
  if (Array.isArray(route)) return deleteRoutes(route, opts);
  return new RouteRequest<boolean>(C.RTM_DELROUTE, 0, route as RouteOptions, 'delete', opts);
}

/**
 * `h.routes`: the bound operations, with `delete`'s two forms typed apart
 * (one route → boolean; a list → how many were removed).
 */
export type RouteOperations = Omit<AsyncOps<typeof routeOps>, 'delete'> & {
  /**
   * Deletes one route: `true`, or NotFoundError / `false` with `{ missingOk: true }`.
   * @example
   * await h.routes.delete({ dst: '10.1.0.0/16' }, { missingOk: true });
   */
  delete(route: RouteOptions, opts?: DeleteOptions): Promise<boolean>;
  /**
   * Deletes a list of routes in one bulk call: resolves to how many were
   * removed; missing ones are NotFoundErrors in the {@link BatchError}, or
   * not counted with `{ missingOk: true }`.
   * @example
   * const removed = await h.routes.delete(await h.routes.list({ protocol: 'static' }));
   */
  delete(routes: readonly RouteOptions[], opts?: DeleteOptions): Promise<number>;
};

/** `hs.routes` of a SyncHandle: like {@link RouteOperations}, blocking. */
export type RouteSyncOperations = Omit<SyncOps<typeof routeOps>, 'delete'> & {
  /**
   * Deletes one route: `true`, or NotFoundError / `false` with `{ missingOk: true }`.
   * @example
   * hs.routes.delete({ dst: '10.1.0.0/16' }, { missingOk: true });
   */
  delete(route: RouteOptions, opts?: DeleteOptions): boolean;
  /**
   * Deletes a list of routes in one bulk call; returns how many were removed.
   * @example
   * const removed = hs.routes.delete(hs.routes.list({ protocol: 'static' }), { missingOk: true });
   */
  delete(routes: readonly RouteOptions[], opts?: DeleteOptions): number;
};

let warnedLookup = false;
/** Once per process: get(string) is the lookup's old name and changes meaning. */
function warnDeprecatedLookup(): void {
  if (warnedLookup) return;
  warnedLookup = true;
  process.emitWarning(
    'routes.get(destination) is deprecated: use routes.lookup(destination); routes.get({ dst, ... }) now gets a route by key',
    'DeprecationWarning',
    'NLKIT_ROUTES_GET_LOOKUP',
  );
}

/** Lists routes without resolving link names. */
function* listRoutes(filter: RouteFilter): Operation<Route[]> {
  rejectUnknownKeys(filter, ROUTE_FILTER_KEYS, 'route filter');
  const family = filter.family;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (family !== undefined && family !== 4 && family !== 6) throw new ValidationError('family', family, 'must be 4 or 6');
  const table = filter.table === 'all' ? undefined : parseTable(filter.table ?? 'main');
  const linkRef = linkOf(filter, 'link');
  const dev = linkRef !== undefined ? yield* resolveLinkIndex(linkRef) : undefined;
  const protocol = filter.protocol !== undefined ? parseProtocol(filter.protocol) : undefined;
  const type = filter.type !== undefined ? parseRouteType(filter.type) : undefined;
  const w = new NetlinkWriter().begin(C.RTM_GETROUTE, NLM_F_DUMP);
  const off = w.struct(C.RTMSG_LEN);
  w.view.writeUInt8(family ? afOf(family) : 0, off);
  // Strict dumps filter on table, protocol, type and oif in the kernel.
  if (table !== undefined && table < 256) w.view.writeUInt8(table, off + 4);
  if (protocol !== undefined) w.view.writeUInt8(protocol, off + 5);
  if (type !== undefined) w.view.writeUInt8(type, off + 7);
  if (table !== undefined) w.u32(C.RTA_TABLE, table);
  if (dev !== undefined) w.u32(C.RTA_OIF, dev);
  // One pass as the messages arrive (decoding overlaps the kernel producing
  // the rest of the dump): no array of messages, no filtered copies.
  const protocolWanted = protocol !== undefined ? protocolName(protocol) : undefined;
  const typeWanted = type !== undefined ? routeTypeName(type) : undefined;
  const wanted = (r: Route): Route | undefined =>
    (table === undefined || r.tableId === table) &&
    (dev === undefined || r.link === dev || (r.multipath ?? []).some((n) => n.link === dev)) &&
    (protocolWanted === undefined || r.protocol === protocolWanted) &&
    (typeWanted === undefined || r.type === typeWanted)
      ? r
      : undefined;
  // The connections index the messages natively (routeRows) or read each in place (keepAt); other executors hand over messages (keep).
  const keepAt = (type: number, b: Buffer, start: number, end: number): Route | undefined =>
    type === C.RTM_NEWROUTE && !isClonedRouteAt(b, start, end) ? wanted(decodeRouteAt(b, start, end)) : undefined;
  const keep = (m: NetlinkMessage): Route | undefined => (m.type === C.RTM_NEWROUTE && !isClonedRoute(m) ? wanted(decodeRoute(m)) : undefined);
  try {
    return yield* dumpCollected(
      w.end().finish(),
      'list routes',
      keep,
      keepAt,
      routeRows(wanted, { table: table ?? -1, link: dev ?? -1, protocol: protocol ?? -1, type: type ?? -1 }),
    );
  } catch (e) {
    // The kernel makes the IPv4 main table with the first IPv4 route (or
    // loopback's address); until then a strict dump of it fails with ENOENT
    // "FIB table does not exist". `ip route show` prints nothing then; any
    // other missing table stays an error, as it is for ip.
    if (e instanceof NetlinkError && e.code === 'ENOENT' && table === C.RT_TABLE_MAIN) return [];
    throw e;
  }
}

/** Fills linkName on routes and their next hops (one link dump at most). */
function* nameRoutes(routes: Route[]): Operation<Route[]> {
  // The distinct links (a dump's routes mostly share a few, one after
  // another), without an array per route or a lookup per route.
  const links = new Set<number | undefined>();
  let last: number | undefined = -1;
  // eslint-disable-next-line @typescript-eslint/prefer-for-of -- runs unoptimised in a new process, where for-of allocates per step
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r.link !== last) links.add((last = r.link));
    if (r.multipath) for (const nh of r.multipath) links.add(nh.link);
  }
  const names = yield* resolveLinkNames(links);
  last = -1;
  let name: string | undefined;
  // eslint-disable-next-line @typescript-eslint/prefer-for-of -- runs unoptimised in a new process, where for-of allocates per step
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r.link !== last) name = (last = r.link) !== undefined ? names.get(last) : undefined;
    if (name !== undefined) r.linkName = name;
    // The slot route-rows.ts leaves for the name, when there is none.
    else if ('linkName' in r) delete r.linkName;
    if (r.multipath) nameNexthops(r.multipath, names);
  }
  return routes;
}

function nameNexthops(hops: Nexthop[], names: ReadonlyMap<number, string>): void {
  for (const nh of hops) {
    const n = nh.link !== undefined ? names.get(nh.link) : undefined;
    if (n !== undefined) nh.linkName = n;
  }
}

function describeKey(key: RouteKey): string {
  return [key.dst, key.table !== undefined ? `table ${key.table}` : '', key.metric !== undefined ? `metric ${key.metric}` : ''].filter(Boolean).join(' ');
}

/** The route a key names (lowest metric first), or undefined. */
function* findRoute(key: RouteKey): Operation<Route | undefined> {
  if (!isObject(key)) throw new ValidationError('route key', key, 'must be an object with at least dst');
  rejectUnknownKeys(key, ROUTE_KEY_KEYS, 'route key');
  // The gateway tells the family of a default route only (an IPv4 route may have an IPv6 gateway).
  const dst = parseDst(key.dst, key.family ?? (key.dst === 'default' && key.gateway !== undefined ? parseIp(key.gateway, 'gateway').family : undefined));
  const dstText = dst.bytes && dst.length > 0 ? `${formatIp(dst.bytes)}/${dst.length}` : 'default';
  const routeType = key.type !== undefined ? parseRouteType(key.type) : undefined;
  // As for add: local, broadcast, anycast and nat routes live in the local table.
  const localType = routeType === 2 || routeType === 3 || routeType === 4 || routeType === 10;
  const table = key.table ?? (localType ? 'local' : 'main');
  const gateway = key.gateway !== undefined ? formatIp(parseGateway(key.gateway, 'gateway', dst.family).bytes) : undefined;
  const src = key.src !== undefined ? parseCidr(key.src, 'src', { family: dst.family, defaultFull: true }) : undefined;
  const srcText = src ? `${formatIp(src.bytes)}/${src.prefixLength}` : undefined;
  if (key.metric !== undefined) checkU32('metric', key.metric);
  const candidates = (yield* listRoutes({
    family: dst.family,
    table,
    link: linkOf(key, 'link'),
    protocol: key.protocol,
    type: key.type,
  })).filter(
    (r) =>
      r.dst === dstText &&
      (key.metric === undefined || (r.metric ?? 0) === key.metric) &&
      (gateway === undefined || r.gateway === gateway || (r.multipath ?? []).some((n) => n.gateway === gateway)) &&
      (srcText === undefined || r.src === srcText) &&
      (key.nhid === undefined || r.nhid === key.nhid),
  );
  candidates.sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
  if (!candidates.length) return undefined;
  const [route] = yield* nameRoutes([candidates[0]]);
  return route;
}
