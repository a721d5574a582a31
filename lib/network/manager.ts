/**
 * Single-host container networking, the way the classic "container
 * networking from scratch" walkthrough builds it — a bridge per network in a
 * host namespace, a veth pair per sandbox (peer created directly inside the
 * sandbox), addresses from IPAM, default routes via the bridge, outbound NAT
 * and published ports in nlkit's own nftables table — as typed, atomic calls.
 *
 * This is the facade; the work is in lifecycle.ts (networks), attachments.ts
 * (sandboxes) and publishing.ts (ports), which share a {@link NetworkContext}.
 * @module
 */
import { open, type Handle } from '../handle';
import { checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import type { NetnsRef } from '../netns/namespace';
import { attach, detach, detachAll, forget, reattach, type Attachment, type AttachOptions, type SandboxRef } from './attachments';
import { notFound, requireNetwork, type NetworkContext } from './context';
import { Firewall } from './firewall';
import { findLeftovers } from './leftovers';
import { createNetwork, deleteNetwork, findNetwork, listNetworks, rebuildNetwork, type NetworkDetails, type NetworkInfo, type NetworkSpec } from './lifecycle';
import { repairFirewall } from './firewall-repair';
import type { BackendSpec, Publication, PublicationRef, PublishSpec } from './publication';
import {
  checkSetBackendsOptions,
  checkUnpublishOptions,
  dropInternalPublication,
  findPublication,
  listPublications,
  publish,
  setBackends,
  unpublish,
  type PublicationFilter,
  type SetBackendsOptions,
  type UnpublishOptions,
} from './publishing';
import { check, reconcile, type Drift, type ReconcileContext } from './reconcile';
import { isolatePorts } from './firewall/icc';
import { unshadowDefaultRoutes } from './sandbox-unshadow';
import { checkLeases, releaseLeaked } from './lease-drift';
import { inFlightVeths, interrupted, recoverInterrupted, settleInterruptedLifecycle } from './recovery';
import { withLifecycleLock } from './sandbox-lock';
import { openStateStore } from './records';
import { verifyOpenedHost } from './host-identity';
import type { HostState } from './state';
import { keysOf, rejectUnknownKeys } from '../validate/options';

export { CorruptStateError, ForeignBridgeError, InternalNetworkPublishError, NetworkOperationError, PortInUseError } from './errors';
export type { Attachment, AttachOptions, SandboxRef } from './attachments';
export type { NetworkDetails, NetworkInfo, NetworkSpec } from './lifecycle';
export type { PublicationFilter, SetBackendsOptions, UnpublishOptions } from './publishing';

export interface NetworkManagerOptions {
  /** The namespace playing the host: bridges, NAT and published ports live here. Default: the caller's. */
  host?: NetnsRef;
  /**
   * Where state is kept; default /run/nlkit/<host>. It and every directory
   * above it must be safe from other users (UnsafeStateDirError otherwise):
   * see "State and trust" in the container networking guide.
   */
  stateDir?: string;
}

const MANAGER_KEYS = keysOf<NetworkManagerOptions>()(['host', 'stateDir']);

/**
 * `nets.publications`: the published ports. `list()`, `get(ref)`, `find(ref)`;
 * calling `nets.publications()` itself is the deprecated form of `list()`.
 */
export interface Publications {
  /**
   * @deprecated use `nets.publications.list()`
   * @example
   * const pubs = await nets.publications.list();
   */
  (): Promise<Publication[]>;
  /**
   * Every publication on this host, or of one network.
   * @example
   * for (const p of await nets.publications.list({ network: 'web' })) console.log(p.protocol, p.hostPort, p.backends.length);
   */
  list(filter?: PublicationFilter): Promise<Publication[]>;
  /**
   * One publication by protocol, host port (range) and host address; NotFoundError if it is not published.
   * @example
   * const p = await nets.publications.get({ protocol: 'udp', hostPort: 5353, hostIp: '127.0.0.1' });
   */
  get(ref: PublicationRef): Promise<Publication>;
  /**
   * Like `get`, but undefined if it is not published.
   * @example
   * if (!(await nets.publications.find({ hostPort: 8080 }))) console.log('8080 is free');
   */
  find(ref: PublicationRef): Promise<Publication | undefined>;
}

/**
 * Networks on one host: create them, attach sandboxes, publish ports. Get
 * one with {@link networks}. Follows the verbs of every nlkit family:
 * `list`, `get` (NotFoundError when missing), `find` (undefined), and
 * deletes that throw NotFoundError for what is missing unless
 * `{ missingOk: true }` (then they resolve to false).
 * @example
 * const nets = await networks({ host: 'host1' });
 * await nets.create({ name: 'web', subnet: '10.88.0.0/24' });
 * await nets.attach('web', { sandbox: 'c1', create: true });
 * await nets.publish({ network: 'web', hostPort: 8080, containerPort: 80, to: 'c1' });
 */
export class NetworkManager {
  /** The published ports: `list(filter)`, `get(ref)`, `find(ref)`. */
  readonly publications: Publications;
  private readonly ctx: NetworkContext;

  /** @internal use {@link networks} */
  constructor(host: Handle, opts: NetworkManagerOptions) {
    const store = openStateStore(opts);
    // Everything in the host namespace goes through the namespace the handle holds open, never through the host's
    // name again: a name deleted or re-pointed at another namespace since must not redirect the firewall or a sysctl.
    const hostNs = host.netns;
    verifyOpenedHost(hostNs, store.identity, opts.host);
    let firewall: Firewall | undefined;
    this.ctx = {
      host,
      hostRef: hostNs,
      store,
      // Made on first use: the firewall is this layer's only user of nftables (half of the library's modules),
      // which the build loads lazily (scripts/bundle.mjs), and listing networks never needs it.
      get firewall() {
        return (firewall ??= new Firewall(host, hostNs));
      },
    };
    const ctx = this.ctx;
    const publications = (() => listPublications(ctx)) as Publications;
    publications.list = (filter) => listPublications(ctx, filter);
    publications.find = (ref) => findPublication(ctx, ref);
    publications.get = async (ref) => {
      const p = await findPublication(ctx, ref);
      if (!p) throw notFound('publication', JSON.stringify(ref.hostPort), 'get publication');
      return p;
    };
    this.publications = publications;
  }

  /** The host-side rtnetlink handle. */
  get hostHandle(): Handle {
    return this.ctx.host;
  }

  // --- networks ------------------------------------------------------------

  /**
   * Creates a network: a bridge with the gateway address(es), forwarding
   * enabled in the host namespace, and its NAT/isolation rules. Idempotent
   * for an identical spec; a different spec under the same name is a
   * ValidationError. So is another interface under the bridge's name (a
   * leftover bridge of this very network, marked by nlkit, is replaced), a
   * gateway on the network or broadcast address, and a subnet overlapping the
   * host's routes or addresses (unless `overlapOk`).
   * @example
   * await nets.create({ name: 'web', subnet: '10.88.0.0/24' });
   */
  create(spec: NetworkSpec): Promise<NetworkInfo> {
    return withLifecycleLock(this.ctx.store.dir, async () => {
      // a create a dead process left halfway is undone first: its record must not pass for the network
      const name = (spec as { name?: unknown } | null | undefined)?.name; // validated by createNetwork
      if (typeof name === 'string') await settleInterruptedLifecycle(this.ctx, name);
      return createNetwork(this.ctx, spec);
    });
  }

  /**
   * Deletes a network: detaches every sandbox (in one bulk link delete),
   * removes the bridge, its rules, its published ports and its IPAM state.
   * Resolves to true; a network that does not exist is a NotFoundError, or
   * false with `{ missingOk: true }`.
   * @example
   * await nets.delete('web');
   * await nets.delete('maybe', { missingOk: true });
   */
  async delete(name: string, opts?: DeleteOptions): Promise<boolean> {
    const o = checkDeleteOptions(opts);
    return withLifecycleLock(this.ctx.store.dir, () => deleteNetwork(this.ctx, name, o));
  }

  /**
   * Every network recorded on this host.
   * @example
   * for (const n of await nets.list()) console.log(n.name, n.subnet);
   */
  list(): Promise<NetworkInfo[]> {
    return listNetworks(this.ctx);
  }

  /**
   * One network with its attachments; NotFoundError if there is none.
   * @example
   * const web = await nets.get('web');
   * console.log(web.attachments.map((a) => `${a.id} ${a.ipv4}`));
   */
  async get(name: string): Promise<NetworkDetails> {
    const n = await findNetwork(this.ctx, name);
    if (!n) throw notFound('network', name, `get network ${name}`);
    return n;
  }

  /**
   * One network with its attachments, or undefined if there is none.
   * @example
   * const web = await nets.find('web');
   * if (!web) await nets.create({ name: 'web', subnet: '10.88.0.0/24' });
   */
  find(name: string): Promise<NetworkDetails | undefined> {
    return findNetwork(this.ctx, name);
  }

  /**
   * @deprecated use {@link NetworkManager.find} (or `get`, which throws NotFoundError)
   * @example
   * const web = await nets.find('web');
   */
  inspect(name: string): Promise<NetworkDetails | undefined> {
    return this.find(name);
  }

  // --- sandboxes -----------------------------------------------------------

  /**
   * Attaches a sandbox: a veth pair whose peer is created directly inside
   * the sandbox, an address from IPAM, loopback up, default route(s) via the
   * gateway. All or nothing; attaching what is attached returns the existing
   * attachment. NotFoundError if the network does not exist;
   * AttachmentConflictError if another sandbox holds the id;
   * ForeignBridgeError (rolled back) if the network's bridge name reaches a
   * link that is not nlkit's bridge of it (delete or rename that link, then
   * `reconcile()`). The sandbox's namespace identity is recorded and verified before later changes; the
   * host namespace is refused unless `allowHostNamespace: true`.
   * @example
   * const a = await nets.attach('web', { sandbox: 'c1', create: true });
   * // a.ipv4 === '10.88.0.2/24', a.ifname === 'eth0'
   */
  attach(network: string, opts: AttachOptions): Promise<Attachment> {
    return attach(this.ctx, network, opts);
  }

  /**
   * Detaches a sandbox, or several in one bulk kernel request: removes
   * exactly what attach made (the veth pair, with its addresses and routes;
   * the IPAM lease; the namespace if nlkit created it; the sandbox as a
   * backend of published ports). A sandbox is named as given to attach, or
   * by attachment id (`{ id }`; a listed Attachment is one).
   *
   * One sandbox resolves to true; a list, to how many were detached. What
   * is not attached is a NotFoundError (nothing is detached then), unless
   * `{ missingOk: true }`: then it is skipped (one sandbox resolves to false).
   * @example
   * await nets.detach('web', 'c1');                       // by namespace name
   * await nets.detach('web', { id: 'c1' });               // by attachment id
   * await nets.detach('web', ['c1', 'c2', 'c3']);         // one bulk request
   * await nets.detach('web', 'c9', { missingOk: true });  // false: was not attached
   */
  async detach<S extends SandboxRef | SandboxRef[]>(network: string, sandboxes: S, opts?: DeleteOptions): Promise<S extends unknown[] ? number : boolean> {
    const missingOk = checkDeleteOptions(opts);
    type Result = S extends unknown[] ? number : boolean;
    if (Array.isArray(sandboxes)) return (await detach(this.ctx, network, sandboxes, missingOk)) as Result;
    return ((await detach(this.ctx, network, [sandboxes], missingOk)) === 1) as Result;
  }

  /**
   * Detaches every sandbox of a network with one bulk kernel request (the
   * kernel tears the veth pairs down together instead of ~20 ms each).
   * Returns how many were detached. NotFoundError if the network does not exist.
   * @example
   * const n = await nets.detachAll('web');
   */
  async detachAll(network: string): Promise<number> {
    return detachAll(this.ctx, await requireNetwork(this.ctx, network, `detach all from network ${network}`));
  }

  /**
   * @deprecated use `nets.detach(network, ids, { missingOk: true })` (same bulk request, same count)
   * @example
   * await nets.detach('web', ['c1', 'c2', 'c3'], { missingOk: true });
   */
  detachMany(network: string, ids: string[]): Promise<number> {
    return detach(
      this.ctx,
      network,
      ids.map((id) => ({ id })),
      true,
    );
  }

  // --- published ports -----------------------------------------------------

  /**
   * Publishes a host port to one container, or to several with weights
   * (canary releases), for TCP or UDP, on every host address or one (e.g.
   * "127.0.0.1" for local-only access). One backend and one port is a single
   * map element; several backends or a port range is one rule. Publishing
   * the same thing again changes nothing; a conflicting port is a ValidationError.
   * A network created with `internal: true` is refused with an
   * {@link InternalNetworkPublishError} before anything is read or changed:
   * nothing from outside reaches an internal network's containers.
   * @example
   * await nets.publish({ network: 'web', hostPort: 8080, containerPort: 80, to: 'c1' });
   * await nets.publish({ network: 'web', hostPort: 80, backends: [{ id: 'v1', weight: 90 }, { id: 'v2', weight: 10 }] });
   */
  publish(spec: PublishSpec): Promise<Publication> {
    return publish(this.ctx, spec);
  }

  /**
   * Changes the backends (or weights) of a publication in one atomic
   * transaction. Established connections keep their backend; new ones follow
   * the new weights. Flows to removed backends are cut (their conntrack
   * entries), unless `{ cutFlows: false }`: then they run on until they end.
   * NotFoundError if it is not published.
   * @example
   * await nets.setBackends({ hostPort: 80 }, [{ id: 'v1', weight: 50 }, { id: 'v2', weight: 50 }]);
   * await nets.setBackends({ hostPort: 80 }, [{ id: 'v2' }], { cutFlows: false }); // v1's open connections finish
   */
  async setBackends(ref: PublicationRef, backends: BackendSpec[], opts?: SetBackendsOptions): Promise<Publication> {
    return setBackends(this.ctx, ref, backends, checkSetBackendsOptions(opts));
  }

  /**
   * Stops publishing a port (or range) and deletes the conntrack entries of
   * its flows (only its own: other publications to the same backend keep
   * theirs), so no stale flow (UDP especially) keeps reaching the old
   * backend; `{ cutFlows: false }` lets established flows finish instead. A
   * listed publication can be given as it is. Resolves to true; what is not
   * published is a NotFoundError, or false with `{ missingOk: true }`.
   * @example
   * await nets.unpublish({ hostPort: 8080 });
   * await nets.unpublish({ hostPort: 8443 }, { cutFlows: false }); // open connections finish
   * for (const p of await nets.publications.list({ network: 'web' })) await nets.unpublish(p);
   */
  async unpublish(ref: PublicationRef, opts?: UnpublishOptions): Promise<boolean> {
    const { missingOk, cutFlows } = checkUnpublishOptions(opts);
    return unpublish(this.ctx, ref, missingOk, cutFlows);
  }

  // --- drift ---------------------------------------------------------------

  /**
   * Compares what is recorded with the kernel (bridges, gateway addresses,
   * veths, sandbox interfaces, addresses, routes, firewall) and reports drift,
   * what an admin or another daemon changed among them (a veth set down: `veth-down`; its bridge port's hairpin mode off: `hairpin-off`, or its isolation on an `icc: false` network: `isolation-off`, or still on after bridge netfilter was turned on: `isolation-stale`; a sandbox's IPv4 or IPv6 default route deleted or re-pointed: `sandbox-route-missing`; or undercut by another route (a lower metric, or wider than /8 like a VPN's `0.0.0.0/1`): `sandbox-route-shadowed`; or bypassed by a policy rule tried before the main table: `sandbox-rule-shadowed`; a bridge's connected route deleted or its MTU changed: `bridge-route-missing`, `bridge-mtu`),
   * including bridges and veths nlkit marked that no state claims (leftovers),
   * operations whose process died halfway (`interrupted-attach`,
   * ...), sandboxes whose namespace was replaced (`sandbox-gone`) and a
   * link under a network's bridge name that is not nlkit's bridge of it
   * (`bridge-foreign`, which reconcile leaves: remove that link, or delete
   * the network) and ports an earlier nlkit published on an `internal`
   * network (`publication-internal`, which reconcile unpublishes). Changes nothing; see {@link NetworkManager.reconcile}.
   * A state file or journal (`state.json`, `state.journal`, `intents/*.log`)
   * that cannot be read as state (not JSON, the wrong shape) is thrown as a
   * {@link CorruptStateError} naming the file and what is wrong, never read as
   * empty; an `intents/` directory or journal another user could change (a
   * symbolic link, not the caller's, group/world-writable) as an
   * `UnsafeStateDirError`.
   * @example
   * for (const d of await nets.check()) console.log(d.network, d.kind, d.id ?? '');
   */
  check(): Promise<Drift[]> {
    return check(this.reconcileContext());
  }

  /**
   * Repairs drift: first completes or undoes operations a dead process left
   * halfway (from the intent journal), then rebuilds missing bridges,
   * addresses, veths and rules, garbage-collects attachments whose sandbox
   * no longer exists (never touching a namespace that replaced it), veths
   * nobody owns and leftover bridges. A link under a network's bridge name
   * that is not nlkit's bridge of it, or carries that name as an altname,
   * is never touched (`bridge-foreign`, with an `NLKIT_FOREIGN_LINK_LEFT`
   * warning), nor are that network's attachments re-made; the other
   * networks are repaired. Returns what was found. On a corrupt state
   * (`CorruptStateError`) or an untrusted state or `intents/` directory
   * (`UnsafeStateDirError`) it throws before changing anything: a state read
   * as empty would have it delete the networks it records as leftovers.
   * @example
   * const fixed = await nets.reconcile(); // e.g. after a reboot or someone's `nft flush ruleset`
   */
  reconcile(): Promise<Drift[]> {
    return reconcile(this.reconcileContext());
  }

  /**
   * Closes the host handle.
   * @example
   * const nets = await networks({ host: 'host1' });
   * try { await nets.list(); } finally { nets.close(); }
   */
  close(): void {
    this.ctx.host.close();
  }

  /** @internal for tests */
  async state(): Promise<HostState> {
    return structuredClone(await this.ctx.store.snapshot());
  }

  private reconcileContext(): ReconcileContext {
    const ctx = this.ctx;
    return {
      host: ctx.host,
      tag: ctx.store.tag,
      state: () => ctx.store.snapshot(),
      rebuildNetwork: (rec) => rebuildNetwork(ctx, rec),
      isolatePorts: (rec) => isolatePorts(ctx.hostRef, rec),
      dropPublication: (pub) => dropInternalPublication(ctx, pub),
      unshadowDefaultRoutes: (rec, att) => unshadowDefaultRoutes(ctx.store, rec, att),
      reattach: (rec, att) => reattach(ctx, rec, att),
      forget: (rec, atts) => forget(ctx, rec, atts),
      checkFirewall: (st) => ctx.firewall.check(st),
      repairFirewall: () => repairFirewall(ctx),
      findLeftovers: (st, links) => findLeftovers(ctx.store.tag, st, links),
      interrupted: () => interrupted(ctx),
      inFlightVeths: () => inFlightVeths(ctx),
      recoverInterrupted: () => recoverInterrupted(ctx),
      checkLeases: (st) => checkLeases(ctx, st),
      releaseLeases: (rec, ids) => releaseLeaked(ctx, rec, ids),
    };
  }
}

/**
 * Opens a network manager for a host namespace.
 * @example
 * const nets = await networks({ host: 'host1' });
 * await nets.create({ name: 'web', subnet: '10.88.0.0/24' });
 * const a = await nets.attach('web', { sandbox: 'c1', create: true });
 */
export async function networks(opts: NetworkManagerOptions = {}): Promise<NetworkManager> {
  rejectUnknownKeys(opts, MANAGER_KEYS, 'networks options');
  const host = await open({ netns: opts.host });
  try {
    return new NetworkManager(host, opts);
  } catch (e) {
    host.close(); // an unsafe state directory, say
    throw e;
  }
}
