/**
 * Change events — what `ip monitor` shows: links, addresses, routes,
 * neighbours (and bridge/VXLAN FDB entries) and rules appearing and going
 * away in the handle's namespace, as an async iterable of typed events.
 *
 * With `includeExisting`, the stream starts with the current state, without
 * a gap: the subscription socket joins its groups first, then the state is
 * dumped (on the handle's request socket), then the notifications queued
 * meanwhile follow. An object changed during the dump can therefore show up
 * twice; apply events idempotently (by key) and nothing is missed.
 * @module
 */
import { NETLINK_ROUTE } from '../netlink/constants';
import { ValidationError } from '../netlink/errors';
import { eventStream, STREAM_OPTION_KEYS, type EventStream as GenericEventStream, type StreamOptions } from '../netlink/event-stream';
import type { Operation } from '../netlink/operation';
import { u8At, type NetlinkMessage } from '../netlink/parser';
import { LiveSubscriptions } from '../netlink/live-subscriptions';
import { NetlinkSubscription } from '../netlink/subscription';
import { rejectUnknownKeys } from '../validate/options';
import { AF_INET, AF_INET6, type IpFamily } from '../validate/ip';
import { addressOps, decodeAddress } from './address';
import * as C from './constants';
import { EventLinkNames } from './event-names';
import type { RtnetlinkEvent } from './event-types';
import { decodeFdbEntry, fdbOps } from './fdb';
import { decodeLink, linkOps } from './link';
import { decodeNeighbour, neighbourOps } from './neighbour';
import { decodeRoute, routeOps } from './route';
import { decodeRule, ruleOps } from './rule';

/** What to listen to. `neighbour` includes bridge/VXLAN FDB entries. */
export type EventGroup = 'link' | 'address' | 'route' | 'neighbour' | 'rule';

/** @internal every group, the default subscription. */
export const EVENT_GROUPS: readonly EventGroup[] = ['link', 'address', 'route', 'neighbour', 'rule'];

export type { EventAction, OverrunEvent, SyncedEvent } from '../netlink/event-stream';

export type { LinkEvent, BridgePortEvent, AddressEvent, RouteEvent, NeighbourEvent, FdbEvent, IpRuleEvent, RtnetlinkEvent } from './event-types';
// eslint-disable-next-line @typescript-eslint/no-deprecated -- the deprecated alias is still exported for one minor version
export type { RuleEvent } from './event-types';

/** Options of {@link RtnetlinkEvents.subscribe}. */
export interface SubscribeOptions extends StreamOptions {
  /** Default: all of them. */
  groups?: EventGroup[];
  /** Only IPv4 or IPv6 addresses, routes, neighbours and rules (links and FDB entries always come). */
  family?: IpFamily;
  /**
   * Put interface names on the events' objects as list results have them
   * (`linkName`, `bridgeName`, `viaName`, `masterName`, `parentName`).
   * Default: on when the stream subscribes to `link`. Costs one link dump
   * when the stream starts; the names are then kept current from the
   * stream's own link events (the stream joins the link group for that, and
   * passes link events on only when subscribed to them): no request per
   * event. See docs/api-conventions.md, "Interface names".
   */
  resolveNames?: boolean;
}

const SUBSCRIBE_KEYS = ['groups', 'family', 'resolveNames', ...STREAM_OPTION_KEYS];

/**
 * An event stream: iterate it with `for await`; `break` (or close()) ends it
 * and closes its socket. Every family's stream has this shape
 * (`h.nft.events.subscribe()` yields nftables events).
 */
export type EventStream<T = RtnetlinkEvent> = GenericEventStream<T>;

const GROUPS: Record<EventGroup, { 4: number[]; 6: number[] }> = {
  link: { 4: [C.RTNLGRP_LINK], 6: [C.RTNLGRP_LINK] },
  address: { 4: [C.RTNLGRP_IPV4_IFADDR], 6: [C.RTNLGRP_IPV6_IFADDR] },
  route: { 4: [C.RTNLGRP_IPV4_ROUTE], 6: [C.RTNLGRP_IPV6_ROUTE] },
  neighbour: { 4: [C.RTNLGRP_NEIGH], 6: [C.RTNLGRP_NEIGH] },
  rule: { 4: [C.RTNLGRP_IPV4_RULE], 6: [C.RTNLGRP_IPV6_RULE] },
};

/** Decodes one notification, or undefined for messages outside the subscription. */
export function decodeEvent(m: NetlinkMessage, family?: IpFamily): RtnetlinkEvent | undefined {
  const fam = u8At(m.payload, 0);
  const ipFamilyOk = (fam === AF_INET || fam === AF_INET6) && (!family || fam === (family === 4 ? AF_INET : AF_INET6));
  switch (m.type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK: {
      const action = m.type === C.RTM_NEWLINK ? 'new' : 'del';
      if (fam === C.AF_BRIDGE) return { type: 'bridgePort', action, link: decodeLink(m) };
      return fam === C.AF_UNSPEC ? { type: 'link', action, link: decodeLink(m) } : undefined;
    }
    case C.RTM_NEWADDR:
    case C.RTM_DELADDR:
      return ipFamilyOk ? { type: 'address', action: m.type === C.RTM_NEWADDR ? 'new' : 'del', address: decodeAddress(m) } : undefined;
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE:
      return ipFamilyOk ? { type: 'route', action: m.type === C.RTM_NEWROUTE ? 'new' : 'del', route: decodeRoute(m) } : undefined;
    case C.RTM_NEWNEIGH:
    case C.RTM_DELNEIGH: {
      const action = m.type === C.RTM_NEWNEIGH ? 'new' : 'del';
      if (fam === C.AF_BRIDGE) return { type: 'fdb', action, entry: decodeFdbEntry(m) };
      return ipFamilyOk ? { type: 'neighbour', action, neighbour: decodeNeighbour(m) } : undefined;
    }
    case C.RTM_NEWRULE:
    case C.RTM_DELRULE:
      return ipFamilyOk ? { type: 'rule', action: m.type === C.RTM_NEWRULE ? 'new' : 'del', rule: decodeRule(m) } : undefined;
    default:
      return undefined;
  }
}

/** How events reach the handle: its namespace and a way to run dumps on its connection. */
export interface EventSource {
  netnsFd(): number;
  run<T>(op: Operation<T>): Promise<T>;
}

/** The current state of the subscribed groups, as `new` events. */
async function* existing(src: EventSource, groups: Set<EventGroup>, family?: IpFamily): AsyncGenerator<RtnetlinkEvent> {
  if (groups.has('link')) for (const link of await src.run(linkOps.list())) yield { type: 'link', action: 'new', link };
  if (groups.has('address')) {
    for (const address of await src.run(addressOps.list({ family }))) yield { type: 'address', action: 'new', address };
  }
  if (groups.has('route')) {
    for (const f of family ? [family] : ([4, 6] as const)) {
      for (const route of await src.run(routeOps.list({ family: f, table: 'all' }))) yield { type: 'route', action: 'new', route };
    }
  }
  if (groups.has('neighbour')) {
    for (const neighbour of await src.run(neighbourOps.list({ family }))) yield { type: 'neighbour', action: 'new', neighbour };
    for (const neighbour of await src.run(neighbourOps.list({ family, proxy: true }))) yield { type: 'neighbour', action: 'new', neighbour };
    for (const entry of await src.run(fdbOps.list())) yield { type: 'fdb', action: 'new', entry };
  }
  if (groups.has('rule')) for (const rule of await src.run(ruleOps.list({ family }))) yield { type: 'rule', action: 'new', rule };
}

/** `handle.events`: subscriptions to the handle's namespace. */
export class RtnetlinkEvents {
  private readonly live = new LiveSubscriptions();

  /** @internal */
  constructor(private readonly src: EventSource) {}

  /** @internal ends every stream (the handle is closing). */
  closeAll(): void {
    this.live.closeAll();
  }

  /** @internal refuses new subscriptions, the live streams going on (`close({ drain: true })` has begun). */
  refuseNew(): void {
    this.live.refuseNew();
  }

  /**
   * Subscribes to changes. The socket is made off the event loop (entering
   * the handle's namespace takes a thread): changes are captured from
   * `await stream.ready` on, and queue until read, even before iteration
   * starts. With `includeExisting` the state is listed after joining, so
   * nothing falls in between. Objects carry interface names (`linkName`,
   * ...) when subscribed to `link`, or with `resolveNames: true`.
   * @example
   * const events = h.events.subscribe({ groups: ['link', 'address'], includeExisting: true });
   * for await (const ev of events) {
   *   if (ev.type === 'link') console.log(ev.action, ev.link.name, ev.link.operState);
   *   if (ev.type === 'address') console.log(ev.action, ev.address.cidr, 'on', ev.address.linkName);
   *   if (ev.type === 'overrun') { ... resync ... }
   * }
   * // names without link events: one link dump at the start, no request per event
   * const routes = h.events.subscribe({ groups: ['route'], resolveNames: true });
   */
  subscribe(opts: SubscribeOptions = {}): EventStream {
    this.live.checkOpen('subscribe to events');
    rejectUnknownKeys(opts, SUBSCRIBE_KEYS, 'subscribe options');
    const groups = new Set(opts.groups ?? EVENT_GROUPS);
    for (const g of groups) if (!EVENT_GROUPS.includes(g)) throw new ValidationError('group', g, `one of ${EVENT_GROUPS.join(', ')}`);
    if (groups.size === 0) throw new ValidationError('groups', opts.groups, 'subscribe to at least one group');
    const family = opts.family;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (family !== undefined && family !== 4 && family !== 6) throw new ValidationError('family', family, 'must be 4 or 6');
    if (opts.resolveNames !== undefined && typeof opts.resolveNames !== 'boolean')
      throw new ValidationError('resolveNames', opts.resolveNames, 'must be a boolean');
    const resolveNames = opts.resolveNames ?? groups.has('link');
    const numbers = new Set<number>();
    for (const g of groups) for (const f of family ? [family] : ([4, 6] as const)) for (const n of GROUPS[g][f]) numbers.add(n);
    // Names are kept current from link events: join their group even when the caller does not want them.
    if (resolveNames) numbers.add(C.RTNLGRP_LINK);
    // Join first, dump second: whatever changes during the dump is queued, not lost.
    const sub = new NetlinkSubscription({
      protocol: NETLINK_ROUTE,
      netnsFd: this.src.netnsFd(),
      groups: [...numbers],
      receiveBufferBytes: opts.receiveBufferBytes,
      maxQueued: opts.maxQueued,
    });
    const names = resolveNames ? new EventLinkNames((op) => this.src.run(op)) : undefined;
    // The starting link dump runs once joined (a failure surfaces at the first event).
    if (names) sub.ready.then(() => names.start()).catch(() => undefined);
    const wanted = (ev: RtnetlinkEvent) => groups.has('link') || (ev.type !== 'link' && ev.type !== 'bridgePort');
    return eventStream<RtnetlinkEvent>({
      subscription: sub,
      decode: (m) => {
        const ev = decodeEvent(m, family);
        if (!ev || !names) return ev;
        return names.name(ev).then((named) => (wanted(named) ? named : undefined));
      },
      existing: () => existing(this.src, groups, family),
      includeExisting: opts.includeExisting,
      resyncOnOverrun: opts.resyncOnOverrun,
      onClose: this.live.track(sub),
    });
  }
}
