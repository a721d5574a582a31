/**
 * A handle: nlkit's entry point, bound to one network namespace for its
 * whole life. It owns its sockets (no hidden global socket) and must be
 * closed. Families hang off it: `h.links`, `h.linkStats`, `h.addresses`, `h.addressLabels`, `h.routes`,
 * `h.neighbours`, `h.fdb`, `h.bridgeVlans`, `h.mdb`, `h.rules`, `h.nexthops`, `h.nsids`, `h.netconf`, `h.qdiscs` and `h.classes`
 * (traffic control), and `h.events` for change streams.
 * @module
 */
import { bindAsync, bindSync, type AsyncOps, type SyncOps } from './netlink/bind';
import { NetlinkConnection, NetlinkSyncConnection, openNetlinkSocketFd } from './netlink/connection';
import { FirstRoundConnection } from './netlink/first-round';
import { checkBufferBytes, checkCloseOptions, type CloseOptions } from './netlink/connection-options';
import { NETLINK_NETFILTER, NETLINK_ROUTE } from './netlink/constants';
import { ClosedError, ValidationError } from './netlink/errors';
import { runAsync, runSync, type Operation, type OperationEnv } from './netlink/operation';
import { openNetnsSync, type NetnsRef, type NetworkNamespace } from './netns/namespace';
import { keysOf, rejectUnknownKeys } from './validate/options';
import { conntrackOps, type ConntrackOperations, type ConntrackSyncOperations } from './conntrack/conntrack';
import { conntrackEvents, SYNC_HANDLE_EVENTS } from './conntrack/events';
import { Nftables } from './nftables/api';
import { addressOps } from './rtnetlink/address';
import { addressLabelOps } from './rtnetlink/address-label';
import { RtnetlinkEvents } from './rtnetlink/events';
import { fdbOps } from './rtnetlink/fdb';
import { bridgeVlanOps } from './rtnetlink/bridge-vlan';
import { mdbOps } from './rtnetlink/mdb';
import { getLink, linkOps } from './rtnetlink/link';
import { linkStatsOps } from './rtnetlink/link-stats';
import { neighbourOps, type NeighbourOperations, type NeighbourSyncOperations } from './rtnetlink/neighbour';
import { nexthopOps } from './rtnetlink/nexthop';
import { netconfOps } from './rtnetlink/netconf';
import { nsidOps } from './rtnetlink/nsid';
import { routeOps, type RouteOperations, type RouteSyncOperations } from './rtnetlink/route';
import { ruleOps } from './rtnetlink/rule';
import { NETLINK_SOCK_DIAG, socketDiagOps } from './sockdiag/sockets';
import { tcClassOps } from './rtnetlink/tc/class';
import { qdiscOps } from './rtnetlink/tc/qdisc';

/**
 * The rtnetlink families of a handle by name. Each is bound the first time it is
 * read, so a program loads only the families it uses (the build makes this
 * module's imports lazy: `nlkit net ls` then skips most of rtnetlink).
 */
const FAMILIES = {
  links: () => linkOps,
  linkStats: () => linkStatsOps,
  addresses: () => addressOps,
  addressLabels: () => addressLabelOps,
  routes: () => routeOps,
  neighbours: () => neighbourOps,
  fdb: () => fdbOps,
  rules: () => ruleOps,
  nexthops: () => nexthopOps,
  nsids: () => nsidOps,
  netconf: () => netconfOps,
  qdiscs: () => qdiscOps,
  classes: () => tcClassOps,
  bridgeVlans: () => bridgeVlanOps,
  mdb: () => mdbOps,
};
type FamilyOps = ReturnType<(typeof FAMILIES)[keyof typeof FAMILIES]>;

/** Makes `proto[name]` a getter that makes the value on first read and keeps it on the instance. */
function defineLazy<H extends object>(proto: H, name: string, make: (self: H) => unknown): void {
  Object.defineProperty(proto, name, {
    configurable: true,
    get(this: H) {
      const value = make(this);
      Object.defineProperty(this, name, { value, enumerable: true });
      return value;
    },
  });
}

function defineLazyFamilies<H extends object>(proto: H, bind: (self: H, ops: FamilyOps, name: string) => unknown): void {
  for (const [name, ops] of Object.entries(FAMILIES)) defineLazy(proto, name, (self) => bind(self, ops(), name));
}

/** Options of {@link open} and {@link openSync}. */
export interface OpenOptions {
  /** The namespace to work in (name, path, pid, fd, or an open NetworkNamespace). Default: the caller's. */
  netns?: NetnsRef;
  /** Receive buffer of the handle's sockets in bytes (default 4 MiB). */
  receiveBufferBytes?: number;
  /**
   * The handle is opened for a few requests and closed (a container's
   * namespace configured at attach, a one-off change). `open()` then returns
   * without a hand-off to a worker: the rtnetlink socket is made inside the
   * namespace by the worker job that sends the first requests (those asked in
   * the first tick), and kept: a failure to make it is the first requests'
   * error, not `open()`'s. The next rounds (up to eight in all) are a worker
   * job each on that socket. A dump, a bulk call, a round over 64 KiB or the
   * ninth round waits for the rounds in flight, then the handle carries on
   * with that socket as any handle; a stream started while a round is in
   * flight does not wait: it gets a socket of its own at once (the kept one
   * is closed once its rounds are done). Default false: the socket is
   * made by `open()` (a long-lived handle, or one sending thousands of
   * requests at once, gets the batching of the full connection from its
   * first call).
   */
  shortLived?: boolean;
}

const OPEN_OPTION_KEYS = keysOf<OpenOptions>()(['netns', 'receiveBufferBytes', 'shortLived']);

/**
 * Refuses option keys `open` does not know: a misspelt `netns` (`netNs`,
 * `namespace`) was ignored, and the handle worked in the caller's namespace —
 * usually the host's — instead of the one meant.
 */
function checkOpenOptions(opts: OpenOptions): void {
  rejectUnknownKeys(opts, OPEN_OPTION_KEYS, 'open options');
  checkBufferBytes('receiveBufferBytes', opts.receiveBufferBytes);
}

/** Opens the namespace of `opts` and creates the handle's rtnetlink connection in it. */
function openParts<T>(opts: OpenOptions, make: (fd: number) => T): { ns?: NetworkNamespace; conn: T } {
  const ns = opts.netns !== undefined ? openNetnsSync(opts.netns) : undefined;
  try {
    return { ns, conn: make(ns ? ns.fd : -1) };
  } catch (e) {
    ns?.close();
    throw e;
  }
}

/**
 * Async handle; create with {@link open}. Every method returns a promise and
 * never blocks the event loop; any number of calls may be in flight at once.
 */
export class Handle {
  /** Links: list, get, add (veth, bridge, ...), set, delete. */
  declare readonly links: AsyncOps<typeof linkOps>;
  /** 64-bit link counters (RTM_GETSTATS, `ip -s link`). */
  declare readonly linkStats: AsyncOps<typeof linkStatsOps>;
  /** IPv4/IPv6 addresses. */
  declare readonly addresses: AsyncOps<typeof addressOps>;
  /** IPv6 address labels for source address selection (`ip addrlabel`). */
  declare readonly addressLabels: AsyncOps<typeof addressLabelOps>;
  /** Routes, including the kernel's lookup (`routes.lookup()`). */
  declare readonly routes: RouteOperations;
  /** ARP/NDP neighbour entries. */
  declare readonly neighbours: NeighbourOperations;
  /** Bridge and VXLAN forwarding entries (`bridge fdb`). */
  declare readonly fdb: AsyncOps<typeof fdbOps>;
  /** Policy routing rules. */
  declare readonly rules: AsyncOps<typeof ruleOps>;
  /** Nexthop objects and groups (`ip nexthop`), used by routes with `nhid`. */
  declare readonly nexthops: AsyncOps<typeof nexthopOps>;
  /** Ids this namespace has for other namespaces (`ip netns list-id`, `ip netns set`). */
  declare readonly nsids: AsyncOps<typeof nsidOps>;
  /** Per-interface IP settings, read-only (`ip netconf`: forwarding, rp_filter, ...). */
  declare readonly netconf: AsyncOps<typeof netconfOps>;
  /** Traffic control qdiscs (`tc qdisc`): TBF, HTB, ingress, clsact. */
  declare readonly qdiscs: AsyncOps<typeof qdiscOps>;
  /** Traffic control classes (`tc class`): HTB classes. */
  declare readonly classes: AsyncOps<typeof tcClassOps>;
  /** VLANs of bridge ports (`bridge vlan`): vid, ranges, pvid, untagged. */
  declare readonly bridgeVlans: AsyncOps<typeof bridgeVlanOps>;
  /** The bridge multicast database (`bridge mdb`). */
  declare readonly mdb: AsyncOps<typeof mdbOps>;
  /** Change events of this namespace (`ip monitor`). */
  declare readonly events: RtnetlinkEvents;
  private readonly rtnl: NetlinkConnection | FirstRoundConnection;
  private readonly env: OperationEnv;
  private readonly ns?: NetworkNamespace;
  private readonly receiveBufferBytes?: number;
  private nfnl?: NetlinkConnection;
  private diag?: NetlinkConnection;
  private closed = false;
  /** close({ drain: true }) has begun: new subscriptions, and sockets not open yet, are refused as after close. */
  private closing = false;
  private nftApi?: Nftables;
  private conntrackApi?: ConntrackOperations;
  private conntrackStreams?: { closeAll(): void; refuseNew(): void };
  private socketsApi?: AsyncOps<typeof socketDiagOps>;

  /**
   * @internal use {@link open}
   * @param opened the namespace and an rtnetlink socket fd already made in it (owned from here on), or -1 for a short-lived handle's (made by its first round)
   */
  constructor(opts: OpenOptions, opened: { ns?: NetworkNamespace; socketFd: number }) {
    const ns = opened.ns;
    const netnsFd = ns ? ns.fd : -1;
    this.rtnl =
      opened.socketFd < 0
        ? new FirstRoundConnection(NETLINK_ROUTE, netnsFd, opts.receiveBufferBytes)
        : new NetlinkConnection({ protocol: NETLINK_ROUTE, netnsFd, fd: opened.socketFd, receiveBufferBytes: opts.receiveBufferBytes });
    this.ns = ns;
    this.receiveBufferBytes = opts.receiveBufferBytes;
    // Steps that are not netlink requests (tun creation) run in the handle's namespace.
    this.env = {
      get netnsFd() {
        return ns ? ns.fd : -1;
      },
    };
  }

  static {
    defineLazyFamilies(Handle.prototype, (h, ops, name) => bindAsync(h.rtnl, ops, name === 'links' ? h.env : undefined));
    defineLazy(Handle.prototype, 'events', (h) => {
      const events = new RtnetlinkEvents({ netnsFd: () => h.env.netnsFd, run: (op) => runAsync(h.rtnl, op, h.env) });
      // First reached after close(): subscribe() throws ClosedError (it subscribed anyway, and the stream never ended).
      if (h.closed) events.closeAll();
      else if (h.closing) events.refuseNew();
      return events;
    });
  }

  /** The namespace this handle works in, or undefined for the caller's own. */
  get netns(): NetworkNamespace | undefined {
    return this.ns;
  }

  /**
   * Runs a custom rtnetlink operation on this handle's connection.
   * @example
   * const links = await h.run(linkOps.list({ kind: 'veth' })); // same as h.links.list(...)
   */
  run<T>(op: Operation<T>): Promise<T> {
    return runAsync(this.rtnl, op, { netnsFd: this.ns ? this.ns.fd : -1 });
  }

  /** @internal the rtnetlink connection, for streaming dumps. */
  get rtnetlink(): NetlinkConnection {
    return this.rtnl instanceof FirstRoundConnection ? this.rtnl.connectionNow() : this.rtnl;
  }

  /** nftables of this namespace: transactions, listing, events (netfilter socket opened on first use). */
  get nft(): Nftables {
    // Rules naming interfaces (`fwd('veth1')`) have them looked up over rtnetlink at commit.
    if (this.nftApi) return this.nftApi;
    this.nftApi = new Nftables(this.netfilter(), this.ns ? this.ns.fd : -1, this.receiveBufferBytes, (name) => this.run(getLink(name)).then((l) => l.index));
    if (this.closing) this.nftApi.refuseNew();
    return this.nftApi;
  }

  /** Connection tracking of this namespace: list, filter, change, delete entries; their events. */
  get conntrack(): ConntrackOperations {
    if (this.conntrackApi) return this.conntrackApi;
    const nfnl = this.netfilter();
    const netnsFd = this.ns ? this.ns.fd : -1;
    const streams = conntrackEvents({
      netnsFd,
      receiveBufferBytes: this.receiveBufferBytes,
      run: (op) => runAsync(nfnl, op, { netnsFd }),
      list: () => conntrackOps.list(),
    });
    this.conntrackStreams = streams;
    if (this.closing) streams.refuseNew();
    return (this.conntrackApi = Object.assign(bindAsync(nfnl, conntrackOps), { events: streams.events }) as unknown as ConntrackOperations);
  }

  /** TCP and UDP sockets of this namespace, as `ss` lists them (socket diagnostics socket opened on first use). */
  get sockets(): AsyncOps<typeof socketDiagOps> {
    // Opened on first use, so never once the handle is closing or closed: its calls would not be refused until close.
    if ((this.closed || this.closing) && !this.diag) throw new ClosedError('open socket diagnostics socket');
    this.diag ??= NetlinkConnection.inNamespace({ protocol: NETLINK_SOCK_DIAG, netnsFd: this.ns ? this.ns.fd : -1 });
    return (this.socketsApi ??= bindAsync(this.diag, socketDiagOps));
  }

  private netfilter(): NetlinkConnection {
    // Opened on first use, so never after close (the namespace fd is gone), nor while close({ drain: true })
    // drains (a socket opened then would take new calls until the handle closes).
    if ((this.closed || this.closing) && !this.nfnl) throw new ClosedError('open netfilter socket');
    // Made off the event loop (entering the namespace takes a thread); calls wait for it.
    return (this.nfnl ??= NetlinkConnection.inNamespace({
      protocol: NETLINK_NETFILTER,
      netnsFd: this.ns ? this.ns.fd : -1,
      receiveBufferBytes: this.receiveBufferBytes,
    }));
  }

  /**
   * Closes the handle now: its sockets, event streams and namespace reference.
   *
   * Returns at once and never blocks the event loop. Calls still pending
   * reject with {@link ClosedError}: `err.sent === false` means the kernel
   * never got the request (nothing changed); `true` means it did and may have
   * applied it (read the state back). A request the kernel is processing at
   * that moment still completes in the kernel.
   * @example
   * const h = await open({ netns: 'c1' });
   * try { await h.links.set('lo', { up: true }); } finally { h.close(); }
   */
  close(): void;
  /**
   * Closes the handle once pending calls are done: new calls and new event
   * subscriptions (`events.subscribe()`, `nft.events.subscribe()`,
   * `conntrack.events.subscribe()`: the
   * {@link ClosedError} of after close) are refused at once, including the
   * first use of a family whose socket is not open yet (`h.nft`,
   * `h.conntrack`, `h.sockets` throw that ClosedError, as after close);
   * every call already made is sent and answered as usual, then the handle
   * closes (the promise settles then; streams subscribed before end then).
   * @example
   * for (const r of routes) void h.routes.add(r);
   * await h.close({ drain: true }); // every add was answered
   */
  close(opts: CloseOptions & { drain: true }): Promise<void>;
  /**
   * Closes now (`{}` or `{ drain: false }`) or once pending calls are done
   * (`{ drain: true }`, returns a promise); see the two forms above.
   * @example
   * await h.close({ drain: shouldDrain });
   */
  close(opts?: CloseOptions): void | Promise<void>;
  close(opts?: CloseOptions): void | Promise<void> {
    if (checkCloseOptions(opts).drain) return this.drainAndClose();
    this.closeNow();
  }

  private async drainAndClose(): Promise<void> {
    // New calls are refused from here on (by the connections); so are new event subscriptions, the same ClosedError as after close.
    this.closing = true;
    (Object.hasOwn(this, 'events') ? this.events : undefined)?.refuseNew();
    this.nftApi?.refuseNew();
    this.conntrackStreams?.refuseNew();
    await Promise.all([this.rtnl.close({ drain: true }), this.nfnl?.close({ drain: true }), this.diag?.close({ drain: true })]);
    this.closeNow();
  }

  private closeNow(): void {
    this.closed = true;
    (Object.hasOwn(this, 'events') ? this.events : undefined)?.closeAll();
    this.nftApi?.closeAll();
    this.conntrackStreams?.closeAll();
    this.rtnl.close();
    this.nfnl?.close();
    this.diag?.close();
    this.ns?.close();
  }

  /** Closes the handle at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the handle at the end of an `await using` block, letting pending calls finish. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close({ drain: true });
  }
}

/**
 * Blocking handle for scripts; create with {@link openSync}. The rtnetlink
 * families and conntrack, without promises. It has no nftables (`nft`) and
 * no event streams: transactions and notifications are asynchronous by
 * nature, so use {@link open} for those (`hs.conntrack.events.subscribe()`
 * throws a ValidationError).
 */
export class SyncHandle {
  /** Links: list, get, add (veth, bridge, ...), set, delete. */
  declare readonly links: SyncOps<typeof linkOps>;
  /** 64-bit link counters (RTM_GETSTATS, `ip -s link`). */
  declare readonly linkStats: SyncOps<typeof linkStatsOps>;
  /** IPv4/IPv6 addresses. */
  declare readonly addresses: SyncOps<typeof addressOps>;
  /** IPv6 address labels for source address selection (`ip addrlabel`). */
  declare readonly addressLabels: SyncOps<typeof addressLabelOps>;
  /** Routes, including the kernel's lookup (`routes.lookup()`). */
  declare readonly routes: RouteSyncOperations;
  /** ARP/NDP neighbour entries. */
  declare readonly neighbours: NeighbourSyncOperations;
  /** Bridge and VXLAN forwarding entries (`bridge fdb`). */
  declare readonly fdb: SyncOps<typeof fdbOps>;
  /** Policy routing rules. */
  declare readonly rules: SyncOps<typeof ruleOps>;
  /** Nexthop objects and groups (`ip nexthop`), used by routes with `nhid`. */
  declare readonly nexthops: SyncOps<typeof nexthopOps>;
  /** Ids this namespace has for other namespaces (`ip netns list-id`, `ip netns set`). */
  declare readonly nsids: SyncOps<typeof nsidOps>;
  /** Per-interface IP settings, read-only (`ip netconf`: forwarding, rp_filter, ...). */
  declare readonly netconf: SyncOps<typeof netconfOps>;
  /** Traffic control qdiscs (`tc qdisc`): TBF, HTB, ingress, clsact. */
  declare readonly qdiscs: SyncOps<typeof qdiscOps>;
  /** Traffic control classes (`tc class`): HTB classes. */
  declare readonly classes: SyncOps<typeof tcClassOps>;
  /** VLANs of bridge ports (`bridge vlan`): vid, ranges, pvid, untagged. */
  declare readonly bridgeVlans: SyncOps<typeof bridgeVlanOps>;
  /** The bridge multicast database (`bridge mdb`). */
  declare readonly mdb: SyncOps<typeof mdbOps>;
  private readonly rtnl: NetlinkSyncConnection;
  private readonly env: OperationEnv;
  private readonly ns?: NetworkNamespace;
  private readonly receiveBufferBytes?: number;
  private nfnl?: NetlinkSyncConnection;
  private conntrackApi?: ConntrackSyncOperations;

  /** @internal use {@link openSync} */
  constructor(opts: OpenOptions = {}) {
    checkOpenOptions(opts);
    const { ns, conn } = openParts(
      opts,
      (fd) => new NetlinkSyncConnection({ protocol: NETLINK_ROUTE, netnsFd: fd, receiveBufferBytes: opts.receiveBufferBytes }),
    );
    this.ns = ns;
    this.rtnl = conn;
    this.env = {
      get netnsFd() {
        return ns ? ns.fd : -1;
      },
    };
    this.receiveBufferBytes = opts.receiveBufferBytes;
  }

  static {
    defineLazyFamilies(SyncHandle.prototype, (h, ops, name) => bindSync(h.rtnl, ops, name === 'links' ? h.env : undefined));
  }

  /**
   * Connection tracking of this namespace, blocking (netfilter socket opened on first use).
   * @example
   * const flows = hs.conntrack.list({ protocol: 'tcp' });
   */
  get conntrack(): ConntrackSyncOperations {
    if (!this.rtnlOpen) throw new ClosedError('open netfilter socket');
    this.nfnl ??= new NetlinkSyncConnection({ protocol: NETLINK_NETFILTER, netnsFd: this.ns ? this.ns.fd : -1, receiveBufferBytes: this.receiveBufferBytes });
    // events: a refusal at subscribe(), not a missing property (a TypeError) or a stream nothing would read.
    return (this.conntrackApi ??= Object.assign(bindSync(this.nfnl, conntrackOps), { events: SYNC_HANDLE_EVENTS }) as unknown as ConntrackSyncOperations);
  }

  private rtnlOpen = true;

  /**
   * Runs a custom rtnetlink operation on this handle's socket, blocking.
   * @example
   * const lo = hs.run(linkOps.get('lo'));
   */
  run<T>(op: Operation<T>): T {
    return runSync(this.rtnl, op, { netnsFd: this.ns ? this.ns.fd : -1 });
  }

  /**
   * Closes the socket and the namespace fd.
   * @example
   * const hs = openSync({ netns: 'c1' });
   * try { hs.links.set('lo', { up: true }); } finally { hs.close(); }
   */
  close(): void {
    this.rtnlOpen = false;
    this.rtnl.close();
    this.nfnl?.close();
    this.ns?.close();
  }

  /** Closes the handle at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens a handle bound to one network namespace.
 * @example
 * import * as nlkit from 'nlkit';
 * const h = await nlkit.open({ netns: 'c1' });
 * try {
 *   console.log(await h.links.list());
 * } finally {
 *   h.close();
 * }
 */
export async function open(opts: OpenOptions = {}): Promise<Handle> {
  checkOpenOptions(opts);
  if (opts.shortLived !== undefined && typeof opts.shortLived !== 'boolean') throw new ValidationError('shortLived', opts.shortLived, 'must be a boolean');
  const ns = opts.netns !== undefined ? openNetnsSync(opts.netns) : undefined;
  try {
    // Short-lived: no worker now, the first requests' job makes the socket (netlink/first-round.ts).
    if (opts.shortLived) return new Handle(opts, { ns, socketFd: -1 });
    // The socket is made on a worker: entering the namespace must not stall the event loop.
    const socketFd = await openNetlinkSocketFd(NETLINK_ROUTE, ns ? ns.fd : -1);
    return new Handle(opts, { ns, socketFd });
  } catch (e) {
    ns?.close();
    throw e;
  }
}

/**
 * Opens a blocking handle (for scripts; the async {@link open} is the main API).
 * @example
 * const hs = nlkit.openSync({ netns: 'c1' });
 * try {
 *   hs.addresses.add('lo', '127.0.0.2/8');
 * } finally {
 *   hs.close();
 * }
 */
export function openSync(opts: OpenOptions = {}): SyncHandle {
  return new SyncHandle(opts);
}
