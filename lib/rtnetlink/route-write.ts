/**
 * Route writes (add, replace, delete): validation and encoding of
 * RTM_NEWROUTE / RTM_DELROUTE. The common case (links given by index) runs
 * as a {@link SingleRequest}, without a generator per route.
 * @module
 */
import { NetlinkError, NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import type { NetlinkCall, Operation } from '../netlink/operation';
import { SingleRequest } from '../netlink/single-request';
import { NetlinkWriter } from '../netlink/writer';
import { writeRouteAt } from './route-in-place';
import { afOf, parseCidr, parseIp, type IpBytes, type IpFamily } from '../validate/ip';
import { isObject, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { checkRef, resolveLinkIndex } from './link-ref';
import type { LinkRef } from './link-types';
import { parseProtocol, parseRouteType, parseScope, parseTable } from './names';
import { deleting, type MissingCodes } from './not-found';
import { PREFS } from './route-decode';
import type { Route, RouteOptions } from './route-types';
import { NEXTHOP_WRITE_KEYS, ROUTE_WRITE_KEYS } from './route-types';

/** What `ip route add` writes when no protocol is given (as `protocol: 'boot'`). */
const RTPROT_BOOT = 3;

export interface ParsedDst {
  family: IpFamily;
  bytes?: Buffer;
  length: number;
}

export function parseDst(dst: unknown, familyHint?: IpFamily): ParsedDst {
  if (dst === 'default') return { family: familyHint ?? 4, length: 0 };
  const c = parseCidr(dst, 'dst', { defaultFull: true });
  if (familyHint && c.family !== familyHint) throw new ValidationError('dst', dst, `not an IPv${familyHint} prefix`);
  for (let bit = c.prefixLength; bit < c.bytes.length * 8; bit++) {
    if (c.bytes[bit >> 3] & (0x80 >> (bit & 7))) {
      throw new ValidationError('dst', dst, 'has host bits set beyond the prefix length (did you mean the network address?)');
    }
  }
  return { family: c.family, bytes: c.bytes, length: c.prefixLength };
}

export function checkU32(field: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) throw new ValidationError(field, v, 'must be an integer 0-4294967295');
  return v as number;
}

function familyOf(o: RouteOptions): IpFamily | undefined {
  if (o.dst !== 'default') return undefined;
  if (o.family) return o.family;
  if (o.gateway) return parseIp(o.gateway, 'gateway').family;
  const nh = o.multipath?.find((n) => n.gateway);
  if (nh?.gateway) return parseIp(nh.gateway, 'gateway').family;
  return undefined;
}

/** A route write validated up to the links it names (resolved by the caller). */
export interface RoutePlan {
  dst: ParsedDst;
  nhid: number | undefined;
  routeType: number;
  table: number;
  multipath: NonNullable<RouteOptions['multipath']>;
  gateway: IpBytes | undefined;
  linkRef: LinkRef | undefined;
  hopLinks: Array<LinkRef | undefined>;
}

const NO_HOPS: NonNullable<RouteOptions['multipath']> = [];
const NO_LINKS: Array<LinkRef | undefined> = [];

export function planRoute(o: RouteOptions): RoutePlan {
  if (!isObject(o)) throw new ValidationError('route', o, 'must be an object with at least dst');
  rejectUnknownKeys(o, ROUTE_WRITE_KEYS, 'route');
  if (o.multipath) for (const [i, nh] of o.multipath.entries()) rejectUnknownKeys(nh, NEXTHOP_WRITE_KEYS, `multipath[${i}]`);
  const dst = parseDst(o.dst, familyOf(o));
  const nhid = o.nhid !== undefined ? checkNhid(o) : undefined;
  const routeType = o.type !== undefined ? parseRouteType(o.type) : 1;
  // Like `ip route add`: local, broadcast, anycast and nat routes belong in the local table.
  const localType = routeType === 2 || routeType === 3 || routeType === 4 || routeType === 10;
  const table = o.table !== undefined ? parseTable(o.table) : localType ? C.RT_TABLE_LOCAL : C.RT_TABLE_MAIN;
  // With nhid the next hops are the nexthop object's (a listed route's gateway, link and multipath only report them).
  const hopsOf: Pick<RouteOptions, 'gateway' | 'link' | 'dev' | 'multipath'> = nhid === undefined ? o : {};
  const gateway = hopsOf.gateway !== undefined ? parseGateway(hopsOf.gateway, 'gateway', dst.family) : undefined;
  // Validate the rest before the first request (link names are resolved by the caller).
  if (o.metric !== undefined) checkU32('metric', o.metric);
  if (o.mtu !== undefined) checkU32('mtu', o.mtu);
  if (o.mtuLocked !== undefined && typeof o.mtuLocked !== 'boolean') throw new ValidationError('mtuLocked', o.mtuLocked, 'must be a boolean');
  if (o.mtuLocked && o.mtu === undefined) throw new ValidationError('mtuLocked', o.mtuLocked, 'locks the MTU: give mtu too');
  if (o.metrics !== undefined) checkMetrics(o.metrics);
  if (o.congestionControl !== undefined && (typeof o.congestionControl !== 'string' || !/^[\w-]{1,15}$/.test(o.congestionControl)))
    throw new ValidationError('congestionControl', o.congestionControl, 'an algorithm name of 1-15 characters (cubic, reno, bbr, ...)');
  if (o.expires !== undefined) {
    if (dst.family !== 6) throw new ValidationError('expires', o.expires, 'IPv6 routes only (the kernel has no expiry for IPv4 routes)');
    if (!Number.isInteger(o.expires) || o.expires < 0 || o.expires > 0xffffffff)
      throw new ValidationError('expires', o.expires, 'must be seconds, 0-4294967295');
  }
  if (o.flow !== undefined) checkFlow('flow', o.flow, dst.family);
  if (o.prefsrc !== undefined) parseIp(o.prefsrc, 'prefsrc', dst.family);
  if (o.src !== undefined) parseCidr(o.src, 'src', { family: dst.family, defaultFull: true });
  if (o.protocol !== undefined) parseProtocol(o.protocol);
  if (o.scope !== undefined) parseScope(o.scope);
  if (o.pref !== undefined && (dst.family !== 6 || !Object.hasOwn(PREFS, o.pref))) {
    throw new ValidationError('pref', o.pref, 'one of low, medium, high, for IPv6 routes');
  }
  // No arrays for the common route without next hops (thousands are planned in a bulk call).
  const multipath = hopsOf.multipath ?? NO_HOPS;
  const linkRef = linkOf(hopsOf, 'link');
  const hopLinks = multipath.length ? multipath.map((nh, i) => linkOf(nh, `multipath[${i}].link`)) : NO_LINKS;
  return { dst, nhid, routeType, table, multipath, gateway, linkRef, hopLinks };
}

function* writeRoute(type: number, flags: number, o: RouteOptions, verb: string): Operation<void> {
  const plan = planRoute(o);
  const dev = plan.linkRef !== undefined ? yield* resolveLinkIndex(plan.linkRef) : undefined;
  const indexes: number[] = [];
  for (const hopLink of plan.hopLinks) indexes.push(hopLink !== undefined ? yield* resolveLinkIndex(hopLink) : 0);
  yield routeCall(type, flags, o, verb, plan, dev, indexes);
}

/** The request of a route write whose links are given by index (no lookup), or undefined when a link is named. */
function routeCallNow(type: number, flags: number, o: RouteOptions, verb: string): NetlinkCall | undefined {
  const plan = planRoute(o);
  if (typeof plan.linkRef === 'string' || plan.hopLinks.some((l) => typeof l === 'string')) return undefined;
  const dev = plan.linkRef !== undefined ? (checkRef(plan.linkRef) as number) : undefined;
  return routeCall(
    type,
    flags,
    o,
    verb,
    plan,
    dev,
    plan.hopLinks.map((l) => (l !== undefined ? (checkRef(l) as number) : 0)),
  );
}

function routeCall(type: number, flags: number, o: RouteOptions, verb: string, plan: RoutePlan, dev: number | undefined, indexes: number[]): NetlinkCall {
  const hops = routeHops(plan, indexes);
  const { dst, routeType, table, gateway, nhid } = plan;
  return {
    kind: 'ack',
    message: writeRouteMessage(new NetlinkWriter(128), type, flags, o, dst, routeType, table, gateway, dev, hops, nhid).finish(),
    operation: `${verb} route ${o.dst}${o.gateway ? ' via ' + o.gateway : ''}`,
  };
}

/** The next hops of a multipath route (validated), with their links' indexes. */
export function routeHops(plan: RoutePlan, indexes: readonly number[]): Hop[] {
  const hops: Hop[] = [];
  for (const [i, nh] of plan.multipath.entries()) {
    const weight = nh.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 1 || weight > 256) throw new ValidationError('nexthop weight', weight, 'must be 1-256');
    hops.push({
      ...hopGateway(nh.gateway !== undefined ? parseGateway(nh.gateway, 'nexthop gateway', plan.dst.family) : undefined, plan.dst.family),
      index: indexes[i],
      weight,
      onlink: !!nh.onlink,
      flow: nh.flow !== undefined ? checkFlow(`multipath[${i}].flow`, nh.flow, plan.dst.family) : undefined,
    });
  }
  checkMultipathSize(hops);
  return hops;
}

/**
 * add, replace and delete as small objects rather than generators (see
 * SingleRequest); a route naming a link by name takes the general path. One
 * class for the three, so that the code V8 optimises for the adds of a churn
 * still fits its deletes (two classes were two hidden classes: every function
 * on the path deoptimised and compiled again at the first delete).
 */
export class RouteRequest<T> extends SingleRequest<T> {
  /** The dst and gateway written in place, for the error (describe). */
  private dst = '';
  private gateway: string | undefined = undefined;
  /** A delete's `{ missingOk: true }`: "no such route" resolves to false. */
  private missingOk = false;

  /**
   * @param type RTM_NEWROUTE (add, replace) or RTM_DELROUTE
   * @param verb for errors: add, replace, delete
   * @param opts a delete's options (validated before anything is sent)
   */
  constructor(
    private readonly type: number,
    private readonly flags: number,
    private readonly route: RouteOptions,
    private readonly verb: string,
    private readonly opts?: DeleteOptions,
  ) {
    super();
  }

  /** No echo is asked for: the request's only reply is its ack. */
  override get ackOnly(): boolean {
    return true;
  }

  // The common shapes only: the bytes the general path writes for them (route-in-place.ts).
  protected override writeRequest(buf: Buffer, offset: number): number {
    let missingOk = false;
    if (this.opts !== undefined) {
      try {
        missingOk = checkDeleteOptions(this.opts);
      } catch {
        return -1; // start() throws it
      }
    }
    const end = writeRouteAt(buf, offset, this.type, this.flags, this.route);
    if (end < 0) return -1;
    this.missingOk = missingOk;
    // As written: the caller may reuse the object for its next call.
    this.dst = this.route.dst;
    this.gateway = this.route.gateway;
    return end;
  }

  override describe(): string {
    return `${this.verb} route ${this.dst}${this.gateway ? ' via ' + this.gateway : ''}`;
  }

  protected override start(): NetlinkCall | Operation<T> {
    const { type, flags, route, verb } = this;
    if (type !== C.RTM_DELROUTE) return (routeCallNow(type, flags, route, verb) ?? writeRoute(type, flags, route, verb)) as NetlinkCall | Operation<T>;
    this.missingOk = checkDeleteOptions(this.opts);
    return (routeCallNow(type, 0, route, verb) ?? deleting(ROUTE_MISSING, writeRoute(type, 0, route, verb), this.missingOk)) as NetlinkCall | Operation<T>;
  }

  protected override done(): T {
    return (this.type === C.RTM_DELROUTE ? true : undefined) as T;
  }

  // A delete as deleting(ROUTE_MISSING, ...): "no such route" is a NotFoundError, or false with missingOk.
  protected override failed(e: unknown): T {
    if (this.type !== C.RTM_DELROUTE) throw e;
    const missing =
      e instanceof NetlinkError && !(e instanceof NotFoundError) && Object.hasOwn(ROUTE_MISSING, e.code) ? NotFoundError.from(ROUTE_MISSING[e.code], e) : e;
    if (this.missingOk && missing instanceof NotFoundError) return false as T;
    throw missing;
  }
}

/**
 * The nexthop object of a route. Options naming next hops of their own as
 * well are refused (the kernel would, with EINVAL); a listed route (it has
 * the kernel-only `unknownAttributes`) reports its nexthop's gateway, link
 * and members, which are not sent.
 */
function checkNhid(o: RouteOptions): number {
  const nhid = o.nhid;
  if (!Number.isInteger(nhid) || (nhid as number) < 1 || (nhid as number) > 0xffffffff)
    throw new ValidationError('nhid', nhid, 'must be an integer 1-4294967295');
  const listed = Array.isArray((o as Partial<Route>).unknownAttributes);
  const own = (['gateway', 'link', 'dev', 'multipath', 'onlink'] as const).find((k) => o[k] !== undefined);
  if (!listed && own !== undefined)
    throw new ValidationError(own, o[own], 'a route with nhid takes its next hops from the nexthop object; give one or the other');
  return nhid as number;
}

/**
 * A route's gateway: of the route's family, or an IPv6 gateway for an IPv4 route (`ip route add ... via inet6
 * 2001:db8::1`, sent as RTA_VIA; the kernel refuses RTA_VIA for IPv6 routes).
 */
export function parseGateway(s: unknown, field: string, family: IpFamily): IpBytes {
  return parseIp(s, field, family === 4 ? undefined : family);
}

/** struct rtvia: the gateway's address family (u16), then its address. */
function rtvia(gateway: IpBytes): Buffer {
  const b = Buffer.alloc(2 + gateway.bytes.length);
  b.writeUInt16LE(afOf(gateway.family), 0);
  gateway.bytes.copy(b, 2);
  return b;
}

function hopGateway(gateway: IpBytes | undefined, family: IpFamily): Pick<Hop, 'gw' | 'via'> {
  if (gateway === undefined) return { gw: undefined, via: false };
  return gateway.family === family ? { gw: gateway.bytes, via: false } : { gw: rtvia(gateway), via: true };
}

/** Realms (RTA_FLOW): IPv4's only (the IPv6 routes ignore them): refused rather than dropped, as for rules. */
function checkFlow(field: string, flow: unknown, family: IpFamily): number {
  if (family !== 4) throw new ValidationError(field, flow, "realms are IPv4 routes' only (the kernel ignores them for IPv6)");
  return checkU32(field, flow);
}

/** RTA_MULTIPATH is one attribute: its length must fit netlink's u16 attribute length. */
function checkMultipathSize(hops: readonly Hop[]): void {
  const bytes = hops.reduce((sum, h) => sum + 8 + (h.gw ? (4 + h.gw.length + 3) & ~3 : 0) + (h.flow !== undefined ? 8 : 0), 4);
  if (bytes > 0xffff) throw new ValidationError('multipath', hops.length, `${bytes} bytes of next hops; one attribute holds at most 65535`);
}

export interface Hop {
  /** The payload of the hop's RTA_GATEWAY, or of its RTA_VIA (`via`: an IPv6 gateway of an IPv4 route). */
  gw?: Buffer;
  via?: boolean;
  index: number;
  weight: number;
  onlink: boolean;
  /** The hop's realms (RTA_FLOW). */
  flow?: number;
}

/** The link of options that take `link` (or the deprecated `dev`; both must agree). */
export function linkOf(o: { link?: LinkRef; dev?: LinkRef }, field: string): LinkRef | undefined {
  if (o.link !== undefined && o.dev !== undefined && o.link !== o.dev) {
    throw new ValidationError(field, o.dev, `dev is the old name of link; give one (link is ${JSON.stringify(o.link)})`);
  }
  return o.link ?? o.dev;
}

/** A route's `metrics`: RTAX numbers but the MTU's and the congestion control's (their own fields), u32 values. */
function checkMetrics(metrics: unknown): void {
  if (!isObject(metrics)) throw new ValidationError('metrics', metrics, 'must be an object of RTAX number → value');
  for (const [k, v] of Object.entries(metrics)) {
    const n = Number(k);
    if (!Number.isInteger(n) || n < 1 || n > C.RTAX_MAX || n === C.RTAX_MTU || n === C.RTAX_CC_ALGO) {
      throw new ValidationError(`metrics[${k}]`, v, `an RTAX number 1-${C.RTAX_MAX}, not ${C.RTAX_MTU} (use mtu) or ${C.RTAX_CC_ALGO} (use congestionControl)`);
    }
    checkU32(`metrics[${k}]`, v);
  }
}

/** RTA_METRICS as ip route add writes it: the lock mask first (the MTU's bit from mtuLocked), the MTU, the others, the algorithm. */
function writeMetrics(w: NetlinkWriter, o: RouteOptions): void {
  const m = w.nest(C.RTA_METRICS, true);
  const others = o.metrics ?? {};
  let lock = (others[C.RTAX_LOCK] as number | undefined) ?? 0;
  if (o.mtu !== undefined) lock = o.mtuLocked ? lock | (1 << C.RTAX_MTU) : lock & ~(1 << C.RTAX_MTU);
  if (lock !== 0) w.u32(C.RTAX_LOCK, lock >>> 0);
  if (o.mtu !== undefined) w.u32(C.RTAX_MTU, checkU32('mtu', o.mtu));
  for (let t = C.RTAX_MTU + 1; t <= C.RTAX_MAX; t++) {
    const v = others[t] as number | undefined;
    if (v !== undefined && t !== C.RTAX_CC_ALGO) w.u32(t, v);
  }
  if (o.congestionControl !== undefined) w.string(C.RTAX_CC_ALGO, o.congestionControl);
  w.endNest(m);
}

/** The kernel's "no such route" (ESRCH; ENOENT for a table that does not exist) and "no such link". */
export const ROUTE_MISSING: MissingCodes = { ESRCH: 'route', ENOENT: 'route', ENODEV: 'link' };

/** Appends one RTM_NEWROUTE / RTM_DELROUTE message to `w` (a bulk call writes many into one writer). */
export function writeRouteMessage(
  w: NetlinkWriter,
  type: number,
  flags: number,
  o: RouteOptions,
  dst: ParsedDst,
  routeType: number,
  table: number,
  gateway: IpBytes | undefined,
  dev: number | undefined,
  hops: Hop[],
  nhid: number | undefined,
): NetlinkWriter {
  let scope: number;
  if (o.scope !== undefined) scope = parseScope(o.scope);
  else if (type === C.RTM_DELROUTE)
    scope = 255; // RT_SCOPE_NOWHERE: match any scope
  else if (routeType === 2 || routeType === 10)
    scope = 254; // local, nat: host
  else if (routeType >= 3 && routeType <= 5)
    scope = 253; // broadcast, anycast, multicast: link
  else if ((routeType === 1 || routeType === 0) && !gateway && hops.length === 0 && nhid === undefined) scope = 253;
  else scope = 0;

  w.begin(type, flags);
  const off = w.struct(C.RTMSG_LEN);
  const v = w.view;
  v.writeUInt8(afOf(dst.family), off);
  v.writeUInt8(dst.length, off + 1);
  v.writeUInt8(table < 256 ? table : C.RT_TABLE_UNSPEC, off + 4);
  v.writeUInt8(o.protocol !== undefined ? parseProtocol(o.protocol) : type === C.RTM_DELROUTE ? 0 : RTPROT_BOOT, off + 5);
  v.writeUInt8(scope, off + 6);
  v.writeUInt8(type === C.RTM_DELROUTE && o.type === undefined ? 0 : routeType, off + 7);
  v.writeUInt32LE(o.onlink ? C.RTNH_F_ONLINK : 0, off + 8);
  if (o.src !== undefined) {
    const s = parseCidr(o.src, 'src', { family: dst.family, defaultFull: true });
    v.writeUInt8(s.prefixLength, off + 2);
    w.attr(C.RTA_SRC, s.bytes);
  }
  if (dst.bytes) w.attr(C.RTA_DST, dst.bytes);
  if (table >= 256) w.u32(C.RTA_TABLE, table);
  if (nhid !== undefined) w.u32(C.RTA_NH_ID, nhid);
  if (gateway) {
    if (gateway.family === dst.family) w.attr(C.RTA_GATEWAY, gateway.bytes);
    else w.attr(C.RTA_VIA, rtvia(gateway));
  }
  if (dev !== undefined) w.u32(C.RTA_OIF, dev);
  if (o.prefsrc !== undefined) w.attr(C.RTA_PREFSRC, parseIp(o.prefsrc, 'prefsrc', dst.family).bytes);
  if (o.metric !== undefined) w.u32(C.RTA_PRIORITY, checkU32('metric', o.metric));
  // On a delete too: a listed route's realms are its own (the kernel matches them when sent).
  if (o.flow !== undefined) w.u32(C.RTA_FLOW, o.flow);
  if (o.pref !== undefined) {
    if (dst.family !== 6) throw new ValidationError('pref', o.pref, 'IPv6 only');
    const p = PREFS[o.pref] as number | undefined;
    if (p === undefined) throw new ValidationError('pref', o.pref, 'one of low, medium, high');
    w.u8(C.RTA_PREF, p);
  }
  // Not on a delete: metrics are no part of a route's key, and the kernel's IPv4 delete compares every metric sent
  // with the route's (fib_metrics_match), so a listed route whose RTAX_LOCK has more bits than the MTU's was not found.
  if ((o.mtu !== undefined || o.metrics !== undefined || o.congestionControl !== undefined) && type !== C.RTM_DELROUTE) {
    writeMetrics(w, o);
  }
  // Seconds (the kernel turns them into jiffies; a value past its limit means no expiry).
  if (o.expires !== undefined && type !== C.RTM_DELROUTE) w.u32(C.RTA_EXPIRES, o.expires);
  if (hops.length) {
    const parts: Buffer[] = [];
    for (const h of hops) {
      const gwAttr = h.gw ? 4 + h.gw.length : 0;
      const gwEnd = 8 + ((gwAttr + 3) & ~3);
      const nh = Buffer.alloc(gwEnd + (h.flow !== undefined ? 8 : 0));
      // rtnh_len: as before without realms (the gateway unpadded); with them, the padded gateway and RTA_FLOW.
      nh.writeUInt16LE(h.flow !== undefined ? nh.length : 8 + gwAttr, 0);
      nh.writeUInt8(h.onlink ? C.RTNH_F_ONLINK : 0, 2);
      nh.writeUInt8(h.weight - 1, 3);
      nh.writeInt32LE(h.index, 4);
      if (h.gw) {
        nh.writeUInt16LE(gwAttr, 8);
        nh.writeUInt16LE(h.via ? C.RTA_VIA : C.RTA_GATEWAY, 10);
        h.gw.copy(nh, 12);
      }
      if (h.flow !== undefined) {
        nh.writeUInt16LE(8, gwEnd);
        nh.writeUInt16LE(C.RTA_FLOW, gwEnd + 2);
        nh.writeUInt32LE(h.flow, gwEnd + 4);
      }
      parts.push(nh);
    }
    w.attr(C.RTA_MULTIPATH, Buffer.concat(parts));
  }
  return w.end();
}
