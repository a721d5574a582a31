/**
 * A flannel-style overlay for one host: `createOverlay` sets up this host's
 * side, and a membership store (a shared file, etcd, Kubernetes Node
 * objects) feeds it peers with `apply` (the whole desired list) or
 * `join`/`leave` (events). Each peer costs a constant number of kernel
 * writes when it joins, changes or leaves; nothing is rebuilt.
 * @module
 */
import type { Handle } from '../handle';
import { ValidationError } from '../netlink/errors';
import { ensureDevice, ownedDevice } from './device';
import { findDrift, type OverlayDrift } from './drift';
import { removePeer, writePeer } from './peer-entries';
import { stepDone } from '../network/fault';
import {
  checkNoOverlap,
  parseOverlaySpec,
  parsePeer,
  parsePeers,
  sameKeys,
  samePeer,
  vtepMac,
  type OverlayPeer,
  type OverlaySpec,
  type ParsedOverlaySpec,
  type ParsedPeer,
} from './spec';

/** What `apply` changed. */
export interface OverlayChanges {
  /** Peers whose entries were written for the first time. */
  joined: string[];
  /** Peers whose entries were rewritten (a new underlay address, MAC or subnet). */
  updated: string[];
  /** Peers whose entries were removed. */
  left: string[];
}

/** One host's side of an overlay; made by {@link createOverlay}. */
export class Overlay {
  readonly #h: Handle;
  readonly #spec: ParsedOverlaySpec;
  readonly #peers = new Map<string, ParsedPeer>();
  /** Peers whose last write failed part-way, and whether that write was their join or an update: the next apply or join writes them again. */
  readonly #dirty = new Map<string, 'joined' | 'updated'>();
  /** Calls run one after another, so that an event stream and a full apply never interleave. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The first apply also removes what an earlier run left for peers that are gone now. */
  #synced = false;

  /** @internal use {@link createOverlay} */
  constructor(h: Handle, spec: ParsedOverlaySpec) {
    this.#h = h;
    this.#spec = spec;
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * This host as its peers need it: publish it to the membership store.
   * @example
   * await store.put(ov.self().name, ov.self());
   */
  self(name = this.#spec.vtep): OverlayPeer {
    const own: OverlayPeer = { name, subnet: this.#spec.subnet, underlay: this.#spec.underlayAddress };
    if (this.#spec.mode === 'vxlan') own.mac = vtepMac(this.#spec.vtep);
    return own;
  }

  /**
   * The peers whose entries are written, as last applied or joined.
   * @example
   * console.log(ov.peers().map((p) => p.name));
   */
  peers(): OverlayPeer[] {
    return [...this.#peers.values()].map((p) => ({ name: p.name, subnet: p.subnet, underlay: p.underlay, ...(p.mac ? { mac: p.mac } : {}) }));
  }

  /**
   * Converges to a desired peer list: peers not in it leave, new ones join,
   * changed ones are rewritten in place; unchanged ones cost nothing. This
   * host's own entry may be in the list (it is skipped). The whole list is
   * checked before anything is written.
   * @example
   * const changes = await ov.apply(JSON.parse(fs.readFileSync('/shared/hosts.json', 'utf8')));
   */
  async apply(desired: readonly OverlayPeer[]): Promise<OverlayChanges> {
    const wanted = parsePeers(this.#spec, Array.isArray(desired) ? desired.filter((p) => (p as OverlayPeer | null)?.subnet !== this.#spec.subnet) : desired);
    return await this.#serial(async () => {
      const changes: OverlayChanges = { joined: [], updated: [], left: [] };
      const leaving = [...this.#peers].filter(([name]) => !wanted.has(name));
      const changed = [...wanted.values()].filter((peer) => {
        const old = this.#peers.get(peer.name);
        return !old || !samePeer(old, peer) || this.#dirty.has(peer.name);
      });
      if (leaving.length + changed.length > 0) await this.#checkDevice();
      for (const [name, old] of leaving) {
        await removePeer(this.#h, this.#spec, old);
        stepDone('overlay');
        this.#peers.delete(name);
        this.#dirty.delete(name);
        changes.left.push(name);
      }
      // Entries under keys that change go before any are written: two peers swapping subnets must not delete each other's new route.
      for (const peer of changed) {
        const old = this.#peers.get(peer.name);
        if (old && !sameKeys(old, peer)) await removePeer(this.#h, this.#spec, old);
      }
      for (const peer of changed) {
        changes[await this.#record(peer, this.#peers.get(peer.name))].push(peer.name);
        stepDone('overlay');
      }
      if (!this.#synced) {
        for (const d of await findDrift(this.#h, this.#spec, this.#peers)) if (d.kind.endsWith('-foreign')) await d.repair();
        this.#synced = true;
      }
      return changes;
    });
  }

  /**
   * One peer joins, or an existing one changes (a new underlay address): its entries are written or replaced in place.
   * @example
   * await ov.join({ name: 'node-7', subnet: '10.244.7.0/24', underlay: '192.168.1.7', mac: '0a:58:0a:f4:07:00' });
   */
  async join(peer: OverlayPeer): Promise<void> {
    const parsed = parsePeer(this.#spec, peer);
    await this.#serial(async () => {
      checkNoOverlap([...[...this.#peers.values()].filter((other) => other.name !== parsed.name), parsed]);
      const old = this.#peers.get(parsed.name);
      if (old && samePeer(old, parsed) && !this.#dirty.has(parsed.name)) return;
      await this.#checkDevice();
      await this.#write(parsed, old);
    });
  }

  /**
   * One peer leaves: exactly its entries are removed. Resolves to false if it was not a peer.
   * @example
   * await ov.leave('node-7');
   */
  leave(name: string): Promise<boolean> {
    return this.#serial(async () => {
      const old = this.#peers.get(name);
      if (!old) return false;
      await this.#checkDevice();
      await removePeer(this.#h, this.#spec, old);
      this.#peers.delete(name);
      this.#dirty.delete(name);
      return true;
    });
  }

  /**
   * Drift between the peers and the kernel: missing, wrong or foreign entries, a changed device or underlay address.
   * @example
   * for (const d of await ov.check()) console.log(d.kind, d.peer ?? '', d.detail);
   */
  check(): Promise<OverlayDrift[]> {
    return this.#serial(async () => (await findDrift(this.#h, this.#spec, this.#peers)).map(({ repair: _repair, ...d }) => d));
  }

  /**
   * Repairs what `check` reports: remakes a changed device (then writes every peer again), rewrites missing or wrong entries, removes foreign ones. Resolves to what was found.
   * @example
   * const repaired = await ov.reconcile();
   */
  reconcile(): Promise<OverlayDrift[]> {
    return this.#serial(async () => {
      const found = await findDrift(this.#h, this.#spec, this.#peers);
      const device = found.filter((d) => d.kind.startsWith('device') || d.kind === 'vtep-address-missing');
      if (device.length > 0 && this.#spec.mode === 'vxlan' && (await ensureDevice(this.#h, this.#spec))) {
        for (const peer of this.#peers.values()) await writePeer(this.#h, this.#spec, peer);
      } else {
        for (const d of found) await d.repair();
      }
      return found.map(({ repair: _repair, ...d }) => d);
    });
  }

  /**
   * Removes the overlay from this host: every peer's entries and the VXLAN device (in host-gw mode, every route of the cluster CIDR with the overlay's protocol, also those of an earlier run).
   * @example
   * await ov.delete();
   */
  delete(): Promise<void> {
    return this.#serial(async () => {
      // Someone else's device under the name is refused before any entry is removed.
      const device = this.#spec.mode === 'vxlan' ? await ownedDevice(this.#h, this.#spec) : undefined;
      for (const peer of this.#peers.values()) await removePeer(this.#h, this.#spec, peer);
      this.#peers.clear();
      this.#dirty.clear();
      // host-gw routes do not go with a device: those an earlier run wrote (a restarted agent knows no peers yet) carry the overlay's protocol.
      if (this.#spec.mode === 'host-gw') for (const d of await findDrift(this.#h, this.#spec, this.#peers)) if (d.kind === 'route-foreign') await d.repair();
      if (device) await this.#h.links.delete(device.index, { missingOk: true });
    });
  }

  /** Entries are written to or removed from the overlay's own device only: someone else's device put under its name since is refused. */
  async #checkDevice(): Promise<void> {
    if (this.#spec.mode === 'vxlan') await ownedDevice(this.#h, this.#spec);
  }

  async #write(peer: ParsedPeer, old: ParsedPeer | undefined): Promise<void> {
    // A new subnet or MAC means other keys: the old entries go first. A new underlay address is replaced in place.
    if (old && !sameKeys(old, peer)) await removePeer(this.#h, this.#spec, old);
    await this.#record(peer, old);
  }

  /** Writes a peer's entries and only then counts it as applied; a write that fails part-way leaves it dirty, so that a retry writes it again. */
  async #record(peer: ParsedPeer, old: ParsedPeer | undefined): Promise<'joined' | 'updated'> {
    const change = this.#dirty.get(peer.name) ?? (old ? 'updated' : 'joined');
    // Recorded first as dirty: what failed part-way is under the new peer's keys, and leave() must remove exactly those.
    this.#peers.set(peer.name, peer);
    this.#dirty.set(peer.name, change);
    await writePeer(this.#h, this.#spec, peer);
    this.#dirty.delete(peer.name);
    return change;
  }
}

/**
 * The underlay address is the link's (a NotFoundError when the link is missing): peers send to it, and a VXLAN
 * device sending from an address the host does not have loses every packet without an error.
 */
async function checkUnderlayAddress(h: Handle, spec: ParsedOverlaySpec): Promise<void> {
  const own = await h.addresses.list({ link: spec.underlayLink, family: spec.underlayFamily });
  if (own.some((a) => a.address === spec.underlayAddress)) return;
  const has = own.map((a) => a.address).join(', ') || 'none';
  throw new ValidationError('underlay.address', spec.underlayAddress, `is not an address of the underlay link ${String(spec.underlayLink)} (it has ${has})`);
}

/**
 * Sets up this host's side of an overlay on a handle bound to the host's
 * namespace: in vxlan mode the VXLAN device (learning off, MTU less the
 * outer headers, the VTEP address), made again if its settings differ
 * (a new underlay address). Idempotent. Entries already on the device
 * from an earlier run stay until the first `apply` (which removes those
 * of peers no longer listed), so a restart does not cut traffic.
 * @example
 * const ov = await createOverlay(h, { clusterCidr: '10.244.0.0/16', subnet: '10.244.1.0/24', underlay: { link: 'eth1', address: '192.168.1.1' } });
 * await ov.apply(peersFromStore);
 */
export async function createOverlay(h: Handle, spec: OverlaySpec): Promise<Overlay> {
  const parsed = parseOverlaySpec(spec);
  await checkUnderlayAddress(h, parsed);
  if (parsed.mode === 'vxlan') await ensureDevice(h, parsed);
  return new Overlay(h, parsed);
}
