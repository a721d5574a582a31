/**
 * Single-host container networking, the way the classic "container
 * networking from scratch" walkthrough builds it — a bridge per network in a
 * host namespace, a veth pair per sandbox (peer created directly inside the
 * sandbox), addresses from IPAM, default routes via the bridge, outbound NAT
 * and published ports in nlkit's own nftables table — as typed, atomic calls.
 * @module
 */
import * as path from 'node:path';
import { open, type Handle } from '../handle';
import { NetlinkError, NlkitError, ValidationError } from '../netlink/errors';
import { createNetns, deleteNetns, netnsExists, NETNS_RUN_DIR, openNetnsSync, type NetnsRef, NetworkNamespace } from '../netns/namespace';
import { setSysctl } from '../netns/sysctl';
import { validateInterfaceName } from '../validate/names';
import { parseIp } from '../validate/ip';
import { AddressPool } from './address-pool';
import { Ipam, type Lease } from './ipam';
import { defaultBridgeName, hostVethName, randomMac, validateNetworkName } from './names';
import { Firewall } from './firewall';
import { conflicts, publicationKey, toPublication, type BackendSpec, type Publication, type PublicationRef, type PublishSpec } from './publication';
import { check, reconcile, type Drift, type ReconcileContext } from './reconcile';
import { StateStore, type AttachmentRecord, type HostState, type NetworkRecord } from './state';

/** A failed step of a multi-step operation; everything done before it was undone. */
export class NetworkOperationError extends NlkitError {
  override name = 'NetworkOperationError';
  constructor(
    readonly operation: string,
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${operation}: step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)} (rolled back)`);
  }
}

/** What to create. */
export interface NetworkSpec {
  /** 1-32 chars of a-z, 0-9, "_", "-". */
  name: string;
  /** IPv4 subnet, e.g. "10.88.0.0/24". */
  subnet: string;
  /** Default: the first address of the subnet. */
  gateway?: string;
  /** Optional IPv6 subnet for dual stack, e.g. "fd00:88::/64". */
  subnet6?: string;
  gateway6?: string;
  /** Bridge name; default "nlk-<name>". */
  bridge?: string;
  mtu?: number;
  /** No way out of the network: no NAT, no forwarding to other interfaces. */
  internal?: boolean;
  /** Drop traffic to other nlkit networks (default true). */
  isolate?: boolean;
  /** Masquerade traffic leaving through other interfaces (default: true unless internal). */
  masquerade?: boolean;
}

/** A network as recorded and built. */
export type NetworkInfo = NetworkRecord;

/** Where a sandbox is, and how to name it. */
export interface AttachOptions {
  /** The sandbox's network namespace (name, path, pid, fd or open namespace). */
  sandbox: NetnsRef;
  /** Stable id of the sandbox on this network; default derived from the reference. */
  id?: string;
  /** Create the named namespace if it does not exist (and delete it on detach). */
  create?: boolean;
  /** Interface name inside the sandbox (default "eth0"). */
  ifname?: string;
  /** Requested IPv4 address (default: next free). */
  ip?: string;
  /** Requested IPv6 address (dual-stack networks). */
  ip6?: string;
  mac?: string;
}

/** The result of an attach. */
export interface Attachment {
  network: string;
  id: string;
  ifname: string;
  hostIfname: string;
  mac: string;
  /** "10.88.0.2/24" */
  ipv4?: string;
  ipv6?: string;
  gateway: string;
  gateway6?: string;
  sandboxPath: string;
}

export interface NetworkManagerOptions {
  /** The namespace playing the host: bridges, NAT and published ports live here. Default: the caller's. */
  host?: NetnsRef;
  /** Where state is kept; default /run/nlkit/<host>. */
  stateDir?: string;
}

/** First interface group nlkit uses; network n gets GROUP_BASE + n. */
const GROUP_BASE = 0x4e4c0000;

function sandboxIdentity(ref: NetnsRef): { id: string; path: string; name?: string } {
  if (typeof ref === 'string') return { id: ref, path: path.join(NETNS_RUN_DIR, ref), name: ref };
  if (ref instanceof NetworkNamespace) {
    const p = ref.path ?? `/proc/${process.pid}/fd/${ref.fd}`;
    return { id: ref.name ?? p, path: p, name: ref.name };
  }
  if ('name' in ref) return sandboxIdentity(ref.name);
  if ('pid' in ref) return { id: `pid-${ref.pid}`, path: `/proc/${ref.pid}/ns/net` };
  if ('path' in ref) return { id: ref.path, path: ref.path };
  return { id: `fd-${ref.fd}`, path: `/proc/${process.pid}/fd/${ref.fd}` };
}

/** Runs undo steps in reverse order, keeping the first error. */
class Rollback {
  private readonly steps: Array<() => Promise<unknown>> = [];
  push(undo: () => Promise<unknown>): void {
    this.steps.push(undo);
  }
  async run(): Promise<void> {
    for (const undo of this.steps.reverse()) {
      try {
        await undo();
      } catch {
        // Best effort: the original error is what the caller needs to see.
      }
    }
  }
}

export class NetworkManager {
  private readonly store: StateStore;
  private readonly hostRef?: NetnsRef;
  private readonly firewall: Firewall;

  /** @internal use {@link networks} */
  constructor(
    private readonly host: Handle,
    opts: NetworkManagerOptions,
  ) {
    this.hostRef = opts.host;
    this.store = new StateStore(opts.stateDir ?? defaultStateDir(opts.host));
    this.firewall = new Firewall(host);
  }

  /** The host-side rtnetlink handle. */
  get hostHandle(): Handle {
    return this.host;
  }

  /**
   * Creates a network: a bridge with the gateway address(es), forwarding
   * enabled in the host namespace, and its NAT/isolation rules. Idempotent
   * for an identical spec.
   * @example
   * await nets.create({ name: 'web', subnet: '10.88.0.0/24' });
   */
  async create(spec: NetworkSpec): Promise<NetworkInfo> {
    const rec = this.validateSpec(spec);
    const op = `create network ${rec.name}`;
    const existing = (await this.store.snapshot()).networks[rec.name];
    if (existing) {
      if (existing.subnet === rec.subnet && existing.subnet6 === rec.subnet6 && existing.bridge === rec.bridge) return { ...existing };
      throw new ValidationError('network', rec.name, `already exists with subnet ${existing.subnet}`);
    }
    const rollback = new Rollback();
    let step = 'record network';
    try {
      await this.store.update((s) => {
        const pool = new AddressPool(rec.subnet);
        for (const other of Object.values(s.networks)) {
          if (new AddressPool(other.subnet).overlaps(pool)) {
            throw new ValidationError('subnet', rec.subnet, `overlaps network ${other.name} (${other.subnet})`);
          }
          if (rec.subnet6 && other.subnet6 && new AddressPool(other.subnet6).overlaps(new AddressPool(rec.subnet6))) {
            throw new ValidationError('subnet6', rec.subnet6, `overlaps network ${other.name} (${other.subnet6})`);
          }
          if (other.bridge === rec.bridge) throw new ValidationError('bridge', rec.bridge, `used by network ${other.name}`);
        }
        const used = new Set(Object.values(s.networks).map((n) => n.group));
        let g = GROUP_BASE + 1;
        while (used.has(g)) g++;
        rec.group = g;
        s.networks[rec.name] = rec;
        s.attachments[rec.name] = {};
      });
      rollback.push(() => this.store.update((s) => void (delete s.networks[rec.name], delete s.attachments[rec.name])));

      step = 'create bridge';
      await this.host.links.add({ name: rec.bridge, kind: 'bridge', up: true, mtu: rec.mtu });
      rollback.push(() => this.host.links.delete(rec.bridge));
      step = 'add gateway address';
      await this.host.addresses.add(rec.bridge, new AddressPool(rec.subnet, rec.gateway).withPrefix(rec.gateway));
      if (rec.subnet6 && rec.gateway6) {
        await this.host.addresses.add(rec.bridge, new AddressPool(rec.subnet6, rec.gateway6).withPrefix(rec.gateway6), { nodad: true });
      }
      step = 'enable forwarding';
      await this.enableForwarding(rec);
      step = 'install firewall rules';
      await this.installFirewall(rec);
      return { ...rec };
    } catch (e) {
      await rollback.run();
      if (e instanceof ValidationError) throw e;
      throw new NetworkOperationError(op, step, e);
    }
  }

  /**
   * Deletes a network: detaches every sandbox (in one bulk link delete),
   * removes the bridge, its rules and its IPAM state. Deleting a network that
   * does not exist does nothing and returns false.
   * @example
   * await nets.delete('web');
   */
  async delete(name: string): Promise<boolean> {
    validateNetworkName(name);
    const st = await this.store.snapshot();
    const rec = st.networks[name];
    if (!rec) return false;
    await this.detachAll(name);
    await this.removeFirewall(rec);
    const bridge = await this.host.links.find(rec.bridge);
    if (bridge) await this.host.links.delete(rec.bridge);
    await this.ipam(rec).destroy();
    await this.store.update((s) => {
      delete s.networks[name];
      delete s.attachments[name];
      for (const [k, p] of Object.entries(s.publications)) if (p.network === name) delete s.publications[k];
    });
    return true;
  }

  /**
   * Every network recorded on this host.
   * @example
   * for (const n of await nets.list()) console.log(n.name, n.subnet);
   */
  async list(): Promise<NetworkInfo[]> {
    return Object.values((await this.store.snapshot()).networks)
      .map((n) => ({ ...n }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * One network with its attachments; undefined if there is none.
   * @example
   * const web = await nets.inspect('web');
   * console.log(web?.attachments.map((a) => `${a.id} ${a.ipv4}`));
   */
  async inspect(name: string): Promise<(NetworkInfo & { attachments: Attachment[] }) | undefined> {
    const st = await this.store.snapshot();
    const rec = st.networks[validateNetworkName(name)];
    if (!rec) return undefined;
    return { ...rec, attachments: Object.values(st.attachments[name] ?? {}).map((a) => this.toAttachment(rec, a)) };
  }

  /**
   * Attaches a sandbox: a veth pair whose peer is created directly inside
   * the sandbox, an address from IPAM, loopback up, default route(s) via the
   * gateway. All or nothing; attaching what is attached returns the existing
   * attachment.
   * @example
   * const a = await nets.attach('web', { sandbox: 'c1', create: true });
   * // a.ipv4 === '10.88.0.2/24', a.ifname === 'eth0'
   */
  async attach(network: string, opts: AttachOptions): Promise<Attachment> {
    const ident = sandboxIdentity(opts.sandbox);
    const id = opts.id ?? ident.id;
    const ifname = validateInterfaceName(opts.ifname ?? 'eth0', 'ifname');
    const st = await this.store.snapshot();
    const rec = st.networks[validateNetworkName(network)];
    if (!rec) throw new ValidationError('network', network, 'does not exist');
    const op = `attach ${id} to ${network}`;
    const known = st.attachments[network]?.[id];
    if (known && (await this.host.links.find(known.hostIfname))) return this.toAttachment(rec, known);

    const rollback = new Rollback();
    let step = 'prepare sandbox';
    try {
      let ownsSandbox = false;
      if (opts.create && ident.name && !netnsExists(ident.name)) {
        await createNetns(ident.name);
        ownsSandbox = true;
        rollback.push(() => deleteNetns(ident.name!, { missingOk: true }));
      }
      const ns = openNetnsSync(opts.sandbox);
      try {
        const att: AttachmentRecord = {
          network,
          id,
          sandboxPath: ident.path,
          sandboxName: ident.name,
          ownsSandbox,
          ifname,
          hostIfname: hostVethName(network, id),
          mac: opts.mac ?? randomMac(),
        };
        // The address lease (a file under a lock) does not wait for the kernel: plumb() needs it only for the address step.
        const ipam = this.ipam(rec);
        const lease = ipam.allocate(id, { ipv4: opts.ip, ipv6: opts.ip6 }).then((l) => {
          rollback.push(() => ipam.release(id));
          att.ipv4 = l.ipv4;
          att.ipv6 = l.ipv6;
        });
        await this.plumb(rec, att, ns, rollback, (s) => (step = s), lease);

        step = 'record attachment';
        await this.store.edit((s, edits) => {
          if (!s.networks[network]) throw new ValidationError('network', network, 'was deleted meanwhile');
          edits.putAttachment(att);
        });
        return this.toAttachment(rec, att);
      } finally {
        ns.close();
      }
    } catch (e) {
      await rollback.run();
      if (e instanceof ValidationError || e instanceof NlkitError && e.name === 'AddressInUseError') throw e;
      throw new NetworkOperationError(op, step, e);
    }
  }

  /**
   * Detaches a sandbox: removes exactly what attach made (the veth pair, its
   * addresses and routes go with it; the IPAM lease; the namespace if nlkit
   * created it). Detaching what is not attached returns false.
   * @example
   * await nets.detach('web', 'c1');          // by namespace name
   * await nets.detach('web', { id: 'c1' }); // by attachment id
   */
  async detach(network: string, sandbox: NetnsRef | { id: string }): Promise<boolean> {
    const id = typeof sandbox === 'object' && 'id' in sandbox && !(sandbox instanceof NetworkNamespace) ? sandbox.id : sandboxIdentity(sandbox as NetnsRef).id;
    const rec = await this.network(network);
    const att = (await this.store.snapshot()).attachments[network]?.[id];
    if (!att) return false;
    const link = await this.host.links.find(att.hostIfname);
    if (link) await this.host.links.delete(att.hostIfname);
    await this.finishDetach(rec, [att]);
    return true;
  }

  /**
   * Detaches every sandbox of a network with one bulk kernel request (the
   * kernel tears the veth pairs down together instead of ~20 ms each).
   * Returns how many were detached.
   * @example
   * const n = await nets.detachAll('web');
   */
  async detachAll(network: string): Promise<number> {
    const rec = await this.network(network);
    const atts = Object.values((await this.store.snapshot()).attachments[network] ?? {});
    if (atts.length === 0) return 0;
    await this.deleteHostLinks(rec, atts);
    await this.finishDetach(rec, atts);
    return atts.length;
  }

  /**
   * Detaches several sandboxes of one network at once, in one bulk delete.
   * Returns how many were attached (and are now detached).
   * @example
   * await nets.detachMany('web', ['c1', 'c2', 'c3']);
   */
  async detachMany(network: string, ids: string[]): Promise<number> {
    const rec = await this.network(network);
    const all = (await this.store.snapshot()).attachments[network] ?? {};
    const atts = ids.map((i) => all[i]).filter((a): a is AttachmentRecord => !!a);
    if (atts.length === 0) return 0;
    await this.deleteHostLinks(rec, atts);
    await this.finishDetach(rec, atts);
    return atts.length;
  }

  /**
   * Closes the host handle.
   * @example
   * const nets = await networks({ host: 'host1' });
   * try { await nets.list(); } finally { nets.close(); }
   */
  close(): void {
    this.host.close();
  }

  /**
   * Publishes a host port to one container, or to several with weights
   * (canary releases), for TCP or UDP, on every host address or one (e.g.
   * "127.0.0.1" for local-only access). One backend and one port is a single
   * map element; several backends or a port range is one rule.
   * @example
   * await nets.publish({ network: 'web', hostPort: 8080, containerPort: 80, to: 'c1' });
   * await nets.publish({ network: 'web', hostPort: 80, backends: [{ id: 'v1', weight: 90 }, { id: 'v2', weight: 10 }] });
   */
  async publish(spec: PublishSpec): Promise<Publication> {
    // One lock, one state read (kept in memory between calls) and one journal
    // line: the cost does not grow with the number of publications.
    const pub = await this.store.edit(async (s, edits) => {
      const rec = s.networks[validateNetworkName(spec.network)];
      if (!rec) throw new ValidationError('network', spec.network, 'does not exist');
      const p = toPublication({ ...spec, network: rec.name }, s.attachments[rec.name] ?? {});
      const same = s.publications[p.key];
      if (same && JSON.stringify(same) === JSON.stringify(p)) return same; // same thing again
      for (const other of edits.overlapping(p.protocol, p.hostPort, p.hostPortEnd)) {
        if (conflicts(other, p)) throw new ValidationError('hostPort', spec.hostPort, `already published (${other.key} on network ${other.network})`);
      }
      // Kernel first: if the transaction fails, nothing is recorded and nothing was applied.
      await this.firewall.publish(p);
      edits.put(p);
      return p;
    });
    return copyPublication(pub);
  }

  /**
   * Changes the backends (or weights) of a publication in one atomic
   * transaction. Established connections keep their backend; new ones follow
   * the new weights. Flows to removed backends are cut (conntrack).
   * @example
   * await nets.setBackends({ hostPort: 80 }, [{ id: 'v1', weight: 50 }, { id: 'v2', weight: 50 }]);
   */
  async setBackends(ref: PublicationRef, backends: BackendSpec[]): Promise<Publication> {
    const key = publicationKey(ref);
    let removed: Publication['backends'] = [];
    let before: Publication | undefined;
    const after = await this.store.edit(async (s, edits) => {
      before = s.publications[key];
      if (!before) throw new ValidationError('publication', key, 'is not published');
      const next = toPublication(
        { network: before.network, protocol: before.protocol, hostPort: before.hostPortEnd ? `${before.hostPort}-${before.hostPortEnd}` : before.hostPort, hostIp: before.hostIp, containerPort: before.backends[0].port, backends },
        s.attachments[before.network] ?? {},
      );
      await this.firewall.replace(before, next);
      edits.put(next);
      removed = before.backends.filter((b) => !next.backends.some((n) => n.id === b.id));
      return next;
    });
    await this.cutFlows(after, removed);
    return copyPublication(after);
  }

  /**
   * Stops publishing a port and deletes its conntrack entries, so no stale
   * flow (UDP especially) keeps reaching the old backend. Returns false if it
   * was not published.
   * @example
   * await nets.unpublish({ hostPort: 8080 });
   */
  async unpublish(ref: PublicationRef): Promise<boolean> {
    const key = publicationKey(ref);
    const pub = await this.store.edit(async (s, edits) => {
      const p = s.publications[key];
      if (!p) return undefined;
      await this.firewall.unpublish(p);
      edits.remove(key);
      return p;
    });
    if (!pub) return false;
    await this.cutFlows(pub, pub.backends);
    return true;
  }

  /**
   * Every publication on this host.
   * @example
   * for (const p of await nets.publications()) console.log(p.protocol, p.hostPort, p.backends.length);
   */
  async publications(): Promise<Publication[]> {
    return Object.values((await this.store.snapshot()).publications).map(copyPublication);
  }

  /** Deletes the conntrack entries of a publication's flows to the given backends. */
  private async cutFlows(pub: Publication, backends: Publication['backends']): Promise<void> {
    for (const b of backends) {
      for (const addr of [b.ipv4, b.ipv6]) {
        if (!addr) continue;
        const dport = pub.hostPortEnd === undefined ? pub.hostPort : undefined;
        await this.host.conntrack.delete({ protocol: pub.protocol, original: { dport, dst: pub.hostIp }, reply: { src: addr } });
      }
    }
  }

  /**
   * Compares what is recorded with the kernel (bridges, gateway addresses,
   * veths, sandbox interfaces, addresses, routes, firewall) and reports drift.
   * Changes nothing; see {@link NetworkManager.reconcile}.
   * @example
   * for (const d of await nets.check()) console.log(d.network, d.kind, d.id ?? '');
   */
  async check(): Promise<Drift[]> {
    return check(this.reconcileContext());
  }

  /**
   * Repairs drift: rebuilds missing bridges, addresses, veths and rules,
   * garbage-collects attachments whose sandbox no longer exists and veths
   * nobody owns. Returns what was found.
   * @example
   * const fixed = await nets.reconcile(); // e.g. after a reboot or someone's `nft flush ruleset`
   */
  async reconcile(): Promise<Drift[]> {
    return reconcile(this.reconcileContext());
  }

  // --- internals ---------------------------------------------------------

  /**
   * Builds the kernel side of an attachment; each step registers its undo.
   * Independent steps run at once (the kernel works on the I/O threads while
   * JavaScript goes on): the address lease, the veth pair and a socket in the
   * sandbox; then the hairpin flag on the host and, in the sandbox, every
   * request queued at once by interface index (one socket processes its
   * requests in order: up, address, then the route that needs it).
   */
  private async plumb(rec: NetworkRecord, att: AttachmentRecord, ns: NetworkNamespace, rollback: Rollback, onStep: (s: string) => void, lease?: Promise<void>): Promise<void> {
    let sb: Handle | undefined;
    let hostIndex = 0;
    let peerIndex = 0;
    try {
      await together(onStep, [
        ['allocate addresses', () => lease],
        [
          'create veth pair',
          async () => {
            await this.host.links.add({
              name: att.hostIfname,
              kind: 'veth',
              master: rec.bridge,
              group: rec.group,
              mtu: rec.mtu,
              up: true,
              peer: { name: att.ifname, netns: ns, mac: att.mac, mtu: rec.mtu },
            });
            rollback.push(() => this.host.links.delete(att.hostIfname));
            // Both ends' indexes at once (IFLA_LINK is the peer's index in the sandbox): no name lookups below.
            const link = await this.host.links.get(att.hostIfname);
            hostIndex = link.index;
            peerIndex = link.parentIndex ?? 0;
          },
        ],
        ['open sandbox', async () => void (sb = await open({ netns: ns }))],
      ]);
      const box = sb!;
      const dev: string | number = peerIndex > 0 ? peerIndex : att.ifname;
      await together(onStep, [
        // A container reaching its own published port: the DNATed frame goes back
        // out the bridge port it came in on, which the bridge allows only in hairpin mode.
        ['set hairpin mode', () => this.host.links.set(hostIndex, { port: { hairpin: true } })],
        [
          'configure sandbox interface',
          () => {
            const reqs = [box.links.set('lo', { up: true }), box.links.set(dev, { up: true })];
            if (att.ipv4) reqs.push(box.addresses.add(dev, new AddressPool(rec.subnet, rec.gateway).withPrefix(att.ipv4)));
            if (att.ipv6 && rec.subnet6) reqs.push(box.addresses.add(dev, new AddressPool(rec.subnet6).withPrefix(att.ipv6), { nodad: true }));
            reqs.push(box.routes.add({ dst: 'default', gateway: rec.gateway, dev }));
            if (att.ipv6 && rec.gateway6) reqs.push(box.routes.add({ dst: 'default', family: 6, gateway: rec.gateway6, dev }));
            return settled(reqs);
          },
        ],
      ]);
    } finally {
      sb?.close();
    }
  }

  private reconcileContext(): ReconcileContext {
    return {
      host: this.host,
      state: () => this.store.snapshot(),
      rebuildNetwork: async (rec) => {
        const br = await this.host.links.find(rec.bridge);
        if (!br) await this.host.links.add({ name: rec.bridge, kind: 'bridge', up: true, mtu: rec.mtu });
        else if (!br.up) await this.host.links.set(rec.bridge, { up: true });
        await this.host.addresses.replace(rec.bridge, new AddressPool(rec.subnet, rec.gateway).withPrefix(rec.gateway));
        if (rec.subnet6 && rec.gateway6) {
          await this.host.addresses.replace(rec.bridge, new AddressPool(rec.subnet6, rec.gateway6).withPrefix(rec.gateway6), { nodad: true });
        }
        await this.enableForwarding(rec);
      },
      reattach: async (rec, att) => {
        await this.host.links.delete(att.hostIfname).catch(ignoreMissing);
        const ns = openNetnsSync({ path: att.sandboxPath });
        try {
          const sb = await open({ netns: ns });
          await sb.links.delete(att.ifname).catch(ignoreMissing).finally(() => sb.close());
          await this.plumb(rec, att, ns, new Rollback(), () => undefined);
        } finally {
          ns.close();
        }
      },
      forget: async (rec, atts) => {
        await Promise.all(atts.map((a) => this.host.links.delete(a.hostIfname).catch(ignoreMissing)));
        await this.finishDetach(rec, atts);
      },
      checkFirewall: (st) => this.checkFirewall(st),
      repairFirewall: (st) => this.repairFirewall(st),
    };
  }

  private async deleteHostLinks(rec: NetworkRecord, atts: AttachmentRecord[]): Promise<void> {
    const links = this.host.links as unknown as { deleteGroup?: (g: number) => Promise<void> };
    const every = Object.keys((await this.store.snapshot()).attachments[rec.name] ?? {}).length === atts.length;
    if (links.deleteGroup) {
      // Move the chosen links into a scratch group unless all of the network's
      // links go, then delete that group in one request.
      let group = rec.group;
      if (!every) {
        group = rec.group + 0x8000;
        await Promise.all(atts.map((a) => this.host.links.set(a.hostIfname, { group }).catch(ignoreMissing)));
      }
      // ENODEV: the group is empty (the veths went with their namespaces, or someone deleted them).
      await links.deleteGroup(group).catch(ignoreMissing);
      return;
    }
    await Promise.all(atts.map((a) => this.host.links.delete(a.hostIfname).catch(ignoreMissing)));
  }

  private async finishDetach(rec: NetworkRecord, atts: AttachmentRecord[]): Promise<void> {
    // Publications lose the detached backends (and go away with their last one).
    const gone = new Set(atts.map((a) => a.id));
    for (const p of Object.values((await this.store.snapshot()).publications)) {
      if (p.network !== rec.name || !p.backends.some((b) => b.id && gone.has(b.id))) continue;
      const rest = p.backends.filter((b) => !(b.id && gone.has(b.id)));
      const ref = { protocol: p.protocol, hostPort: p.hostPortEnd ? `${p.hostPort}-${p.hostPortEnd}` : p.hostPort, hostIp: p.hostIp };
      if (rest.length === 0) await this.unpublish(ref);
      else await this.setBackends(ref, rest.map((b) => ({ id: b.id!, port: b.port, weight: b.weight })));
    }
    await this.ipam(rec).release(atts.map((a) => a.id));
    await this.store.edit((_s, edits) => {
      for (const a of atts) edits.removeAttachment(rec.name, a.id);
    });
    for (const a of atts) if (a.ownsSandbox && a.sandboxName) await deleteNetns(a.sandboxName, { missingOk: true });
  }

  private async network(name: string): Promise<NetworkRecord> {
    const rec = (await this.store.snapshot()).networks[validateNetworkName(name)];
    if (!rec) throw new ValidationError('network', name, 'does not exist');
    return rec;
  }

  private ipam(rec: NetworkRecord): Ipam {
    const pools = [new AddressPool(rec.subnet, rec.gateway)];
    if (rec.subnet6) pools.push(new AddressPool(rec.subnet6, rec.gateway6));
    return new Ipam(path.join(this.store.dir, 'ipam'), rec.name, pools);
  }

  private toAttachment(rec: NetworkRecord, a: AttachmentRecord): Attachment {
    return {
      network: rec.name,
      id: a.id,
      ifname: a.ifname,
      hostIfname: a.hostIfname,
      mac: a.mac,
      ipv4: a.ipv4 ? new AddressPool(rec.subnet).withPrefix(a.ipv4) : undefined,
      ipv6: a.ipv6 && rec.subnet6 ? new AddressPool(rec.subnet6).withPrefix(a.ipv6) : undefined,
      gateway: rec.gateway,
      gateway6: rec.gateway6,
      sandboxPath: a.sandboxPath,
    };
  }

  private validateSpec(spec: NetworkSpec): NetworkRecord {
    if (!spec || typeof spec !== 'object') throw new ValidationError('network spec', spec, 'must be an object');
    const name = validateNetworkName(spec.name);
    const pool = new AddressPool(spec.subnet, spec.gateway);
    if (pool.family !== 4) throw new ValidationError('subnet', spec.subnet, 'must be IPv4 (use subnet6 for IPv6)');
    let subnet6: string | undefined;
    let gateway6: string | undefined;
    if (spec.subnet6 !== undefined) {
      const p6 = new AddressPool(spec.subnet6, spec.gateway6);
      if (p6.family !== 6) throw new ValidationError('subnet6', spec.subnet6, 'must be IPv6');
      subnet6 = p6.subnet;
      gateway6 = p6.gateway;
    }
    if (spec.mtu !== undefined && (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535)) {
      throw new ValidationError('mtu', spec.mtu, 'must be 68-65535');
    }
    const internal = !!spec.internal;
    return {
      name,
      bridge: validateInterfaceName(spec.bridge ?? defaultBridgeName(name), 'bridge'),
      subnet: pool.subnet,
      gateway: pool.gateway,
      subnet6,
      gateway6,
      mtu: spec.mtu,
      internal,
      isolate: spec.isolate ?? true,
      masquerade: spec.masquerade ?? !internal,
      group: 0,
      created: new Date().toISOString(),
    };
  }

  private async enableForwarding(rec: NetworkRecord): Promise<void> {
    // Per-namespace sysctls of the host namespace only; nothing global.
    await setSysctl(this.hostRef, 'net.ipv4.ip_forward', 1);
    if (rec.subnet6) await setSysctl(this.hostRef, 'net.ipv6.conf.all.forwarding', 1);
  }

  // Networks are rare: the table is rewritten atomically from the record.
  private async installFirewall(rec: NetworkRecord): Promise<void> {
    // Ports published on 127.0.0.1 are routed to the bridge with a loopback source.
    await setSysctl(this.hostRef, `net/ipv4/conf/${rec.bridge}/route_localnet`, 1);
    await this.firewall.rebuild(await this.store.snapshot());
  }

  private async removeFirewall(_rec: NetworkRecord): Promise<void> {
    const st = await this.store.snapshot();
    const rest: HostState = {
      ...st,
      networks: Object.fromEntries(Object.entries(st.networks).filter(([n]) => n !== _rec.name)),
      publications: Object.fromEntries(Object.entries(st.publications).filter(([, p]) => p.network !== _rec.name)),
    };
    if (Object.keys(rest.networks).length === 0) await this.firewall.remove();
    else await this.firewall.rebuild(rest);
  }

  private checkFirewall(st: HostState): Promise<Drift[]> {
    return this.firewall.check(st);
  }

  private async repairFirewall(st: HostState): Promise<void> {
    for (const n of Object.values(st.networks)) await setSysctl(this.hostRef, `net/ipv4/conf/${n.bridge}/route_localnet`, 1).catch(() => undefined);
    await this.firewall.rebuild(st);
  }

  /** @internal for tests */
  async state(): Promise<HostState> {
    return structuredClone(await this.store.snapshot());
  }
}

/**
 * Runs steps at once and waits for all of them (so every undo they register
 * is in place); then fails with the first failure, naming its step.
 */
async function together(onStep: (s: string) => void, steps: Array<[string, () => Promise<unknown> | undefined]>): Promise<void> {
  const results = await Promise.allSettled(steps.map(([, run]) => Promise.resolve().then(run)));
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    onStep(steps[failed][0]);
    throw (results[failed] as PromiseRejectedResult).reason;
  }
}

/** Promise.all that waits for every promise before failing with the first error. */
async function settled(ps: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** A publication for the caller: the recorded one stays shared with the state kept in memory. */
function copyPublication(p: Publication): Publication {
  return { ...p, backends: p.backends.map((b) => ({ ...b })) };
}

function ignoreMissing(e: unknown): void {
  if (e instanceof NetlinkError && e.code === 'ENODEV') return;
  throw e;
}

function defaultStateDir(host?: NetnsRef): string {
  const base = '/run/nlkit';
  if (host === undefined) return path.join(base, 'default');
  if (typeof host === 'string') return path.join(base, host);
  const ns = openNetnsSync(host);
  try {
    return path.join(base, `ino-${ns.inode}`);
  } finally {
    ns.close();
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
  const host = await open({ netns: opts.host });
  return new NetworkManager(host, opts);
}

