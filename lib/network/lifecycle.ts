/**
 * Networks themselves: creating one (bridge, gateway addresses, forwarding,
 * firewall rules — all or nothing), deleting one with everything in it, and
 * reading them back.
 * @module
 */
import { UnsafeStateDirError, ValidationError } from '../netlink/errors';
import { setSysctl } from '../netns/sysctl';
import { validateInterfaceName } from '../validate/names';
import { AddressPool } from './address-pool';
import { detachAll, toAttachment, type Attachment } from './attachments';
import { ignoreMissing, ipamOf, notFound, type NetworkContext } from './context';
import type { Link } from '../rtnetlink/link-types';
import { NetworkOperationError } from './errors';
import { stepDone } from './fault';
import { checkHostOverlap, leftoverBridge } from './host-conflicts';
import { beginIntent, endFailed } from './intents';
import { bridgeMark, defaultBridgeName, parseMark, randomMac, validateNetworkName } from './names';
import { FIREWALL_SPEC_KEYS, sameFirewallSpec, validateFirewallSpec } from './firewall/spec';
import { altnameHolderReason, bridgeRefOf } from './bridge-owner';
import { warnForeignBridge } from './foreign-link-warning';
import { deleteNetworkBridge, whyNotNetworksBridge } from './network-bridge';
import { Rollback } from './settle';
import type { HostState, NetworkRecord } from './state';
import { isObject } from '../validate/options';

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
  /** No new connections with other nlkit networks, in either direction (default true); non-isolated networks talk to each other without NAT. */
  isolate?: boolean;
  /** Masquerade traffic leaving through an interface that is no nlkit bridge (default: true unless internal). */
  masquerade?: boolean;
  /** Destinations never masqueraded (cluster CIDRs of a routed or overlay setup), e.g. ["10.244.0.0/16"]. */
  masqueradeExclude?: string[];
  /**
   * Accept new connections from other interfaces into the network without a
   * published port (default false: closed, only replies and published ports
   * enter). For routed setups, such as cross-host overlays, where
   * neighbours route the subnet to this host. Isolation from other nlkit
   * networks still applies.
   */
  routed?: boolean;
  /** Containers on the network may talk to each other directly (default true); false keeps them apart, published ports excepted. */
  icc?: boolean;
  /**
   * Create the network even if a subnet overlaps a route or an address the
   * host namespace has (routed setups that mean it); default false: a
   * ValidationError naming the subnet.
   */
  overlapOk?: boolean;
}

const SPEC_KEYS = [
  'name',
  'subnet',
  'gateway',
  'subnet6',
  'gateway6',
  'bridge',
  'mtu',
  'internal',
  'isolate',
  'masquerade',
  'overlapOk',
  ...FIREWALL_SPEC_KEYS,
];

/** A network as recorded and built. */
export type NetworkInfo = NetworkRecord;

/** A network with its attachments, as `get` and `find` return it. */
export type NetworkDetails = NetworkInfo & {
  /** The sandboxes attached to it. */
  attachments: Attachment[];
};

/** First interface group nlkit uses; network n gets GROUP_BASE + n. */
const GROUP_BASE = 0x4e4c0000;

/** Creates a network (see `NetworkManager.create`). */
export async function createNetwork(ctx: NetworkContext, spec: NetworkSpec): Promise<NetworkInfo> {
  const rec = validateSpec(spec);
  const op = `create network ${rec.name}`;
  const existing = (await ctx.store.snapshot()).networks[rec.name] as NetworkRecord | undefined;
  if (existing) {
    if (existing.subnet === rec.subnet && existing.subnet6 === rec.subnet6 && existing.bridge === rec.bridge) {
      if (!sameFirewallSpec(existing, rec))
        throw new ValidationError('network', rec.name, 'already exists with other routed, icc or masqueradeExclude options');
      return { ...existing };
    }
    throw new ValidationError('network', rec.name, `already exists with subnet ${existing.subnet}`);
  }
  const leftover = await leftoverBridge(ctx, rec);
  if (spec.overlapOk !== true) await checkHostOverlap(ctx, rec, await ctx.store.snapshot(), leftover);
  const intent = beginIntent(ctx.store.dir, { op: 'create', network: rec.name, bridge: rec.bridge });
  stepDone('create');
  const rollback = new Rollback();
  let step = 'record network';
  try {
    await ctx.store.update((s) => {
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
    rollback.push(() =>
      ctx.store.update((s) => {
        delete s.networks[rec.name];
        delete s.attachments[rec.name];
      }),
    );
    stepDone('create');

    if (leftover) {
      step = 'remove leftover bridge';
      await removeLeftoverBridge(ctx, rec, leftover);
    }
    step = 'create bridge';
    const bridge = await addBridge(ctx, rec, rollback);
    stepDone('create');
    step = 'add gateway address';
    await ctx.host.addresses.add(bridge, new AddressPool(rec.subnet, rec.gateway).withPrefix(rec.gateway));
    if (rec.subnet6 && rec.gateway6) {
      await ctx.host.addresses.add(bridge, new AddressPool(rec.subnet6, rec.gateway6).withPrefix(rec.gateway6), { nodad: true });
    }
    stepDone('create');
    step = 'enable forwarding';
    await enableForwarding(ctx, rec);
    step = 'install firewall rules';
    // Ports published on 127.0.0.1 are routed to the bridge with a loopback source.
    await setSysctl(ctx.hostRef, `net/ipv4/conf/${rec.bridge}/route_localnet`, 1);
    await rebuildFirewall(ctx);
    stepDone('create');
  } catch (e) {
    const undone = await rollback.run(); // false: reconcile undoes the rest
    const err = e instanceof ValidationError || e instanceof UnsafeStateDirError ? e : new NetworkOperationError(op, step, e);
    endFailed(intent, err, undone);
    throw err;
  }
  // After the try: a journal that cannot record the end does not roll the network back (its error is thrown, the
  // intent stays open, and reconcile undoes the create whole).
  intent.done();
  return { ...rec };
}

/**
 * Deletes a network with everything in it (see `NetworkManager.delete`):
 * true once done; when there is no such network, false with `missingOk`,
 * else NotFoundError.
 */
export async function deleteNetwork(ctx: NetworkContext, name: string, missingOk: boolean): Promise<boolean> {
  validateNetworkName(name);
  const rec = (await ctx.store.snapshot()).networks[name] as NetworkRecord | undefined;
  if (!rec) {
    if (missingOk) return false;
    throw notFound('network', name, `delete network ${name}`);
  }
  const intent = beginIntent(ctx.store.dir, { op: 'delete', network: name, bridge: rec.bridge });
  const bridge = bridgeRefOf(rec);
  let bridgeLeft: string | undefined;
  try {
    stepDone('delete');
    await detachAll(ctx, rec);
    stepDone('delete');
    await rebuildFirewall(ctx, rec.name); // networks are rare: the table is rewritten atomically without this one (or removed with the last)
    stepDone('delete');
    // Not another link that carries the name as an altname, nor one that took the name since: left, with a warning.
    bridgeLeft = await deleteNetworkBridge(ctx, bridge);
    stepDone('delete');
    await ipamOf(ctx, rec).destroy();
    stepDone('delete');
    await ctx.store.update((s) => {
      delete s.networks[name];
      delete s.attachments[name];
      for (const [k, p] of Object.entries(s.publications)) if (p.network === name) delete s.publications[k];
    });
    stepDone('delete');
  } catch (e) {
    intent.abandon(); // reconcile completes the delete
    throw e;
  }
  intent.done();
  // The record goes all the same: the link is not the network's, and a record kept for it could never be deleted.
  if (bridgeLeft !== undefined) warnForeignBridge(bridge, `delete network ${name}`, bridgeLeft);
  return true;
}

/** Every network recorded on this host, by name. */
export async function listNetworks(ctx: Pick<NetworkContext, 'store'>): Promise<NetworkInfo[]> {
  return Object.values((await ctx.store.snapshot()).networks)
    .map((n) => ({ ...n }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One network with its attachments, or undefined. */
export async function findNetwork(ctx: Pick<NetworkContext, 'store'>, name: string): Promise<NetworkDetails | undefined> {
  const st = await ctx.store.snapshot();
  const rec = st.networks[validateNetworkName(name)] as NetworkRecord | undefined;
  if (!rec) return undefined;
  return { ...rec, attachments: Object.values(st.attachments[name] ?? {}).map((a) => toAttachment(rec, a)) };
}

/**
 * Brings a recorded network's bridge (up, with its MTU), addresses and connected routes back (reconcile); returns why it left the link under the
 * bridge's name instead (undefined: rebuilt). A missing bridge is made with the record's MAC; a record without
 * one (of 0.1.0) is given one first (recordBridgeMac). A bridge that is there keeps its MAC, whatever it is, and
 * is brought up and given the gateway only if it is still nlkit's bridge of this network (bridge-owner.ts): a
 * link that took the name since (someone's bridge, a veth, another network's or runtime's bridge) or carries it
 * as an altname is not touched at all, and the caller says so.
 */
export async function rebuildNetwork(ctx: NetworkContext, rec: NetworkRecord): Promise<string | undefined> {
  const br = await ctx.host.links.find(rec.bridge);
  // The lookup matches an altname too: another link carrying the bridge's name is not given the gateway, and
  // the name cannot be taken for a new bridge while it carries it. reconcile deleted its leftovers first.
  if (br && br.name !== rec.bridge) return altnameHolderReason(ctx.store.tag, await ctx.store.snapshot(), br);
  let bridge: number | string;
  if (br) {
    const foreign = await whyNotNetworksBridge(ctx, bridgeRefOf(rec), br);
    if (foreign !== undefined) return foreign;
    // Up and with the network's MTU again, in one request, if either changed (bridge-down, bridge-mtu). Set on the
    // existing bridge, the kernel keeps that MTU from now on, with or without ports (see addBridge).
    const fix = { ...(!br.up && { up: true }), ...(rec.mtu !== undefined && br.mtu !== rec.mtu && { mtu: rec.mtu }) };
    if (Object.keys(fix).length) await ctx.host.links.set(br.index, fix);
    bridge = br.index;
  } else {
    const mac = rec.mac ?? (await recordBridgeMac(ctx, rec.name));
    stepDone('rebuildmac');
    bridge = await addBridge(ctx, { ...rec, mac }, new Rollback());
  }
  stepDone('rebuild');
  // By index: once the bridge found or made here is gone, its name may reach another link (an altname holder).
  await ctx.host.addresses.replace(bridge, new AddressPool(rec.subnet, rec.gateway).withPrefix(rec.gateway));
  if (rec.subnet6 && rec.gateway6) {
    await ctx.host.addresses.replace(bridge, new AddressPool(rec.subnet6, rec.gateway6).withPrefix(rec.gateway6), { nodad: true });
  }
  // The connected routes the kernel makes with an address, as it makes them: replacing an address that is there
  // does not bring back its route once someone deleted it (bridge-route-missing).
  await ctx.host.routes.replace({ dst: rec.subnet, link: bridge, protocol: 'kernel', scope: 'link', prefsrc: rec.gateway });
  if (rec.subnet6 && rec.gateway6) await ctx.host.routes.replace({ dst: rec.subnet6, link: bridge, protocol: 'kernel', metric: 256 });
  await enableForwarding(ctx, rec);
  return undefined;
}

/**
 * The MAC network `name`'s bridge is to be made with, recorded in the state before the bridge is made: a
 * record of 0.1.0 has none, and a bridge made without one follows its lowest port's MAC (see addBridge).
 * Recorded first, so that a process dying in between leaves a bridge with the recorded MAC, or none (the MAC
 * then proves the bridge nlkit's if its mark is missing too). A MAC another process recorded meanwhile is kept.
 */
async function recordBridgeMac(ctx: NetworkContext, name: string): Promise<string> {
  return ctx.store.update((s) => {
    const rec = s.networks[name] as NetworkRecord | undefined;
    if (!rec) throw notFound('network', name, `rebuild network ${name}`); // deleted since reconcile read it
    rec.mac ??= randomMac();
    return rec.mac;
  });
}

/**
 * Rewrites nlkit's table from the state (without the network being deleted,
 * if any), read and committed under the state lock: publish and setBackends
 * of every manager sharing the state change the table under that lock too,
 * so none of them slips in between (a lost element), and their commits
 * cannot keep making this one's listing stale.
 */
async function rebuildFirewall(ctx: NetworkContext, without?: string): Promise<void> {
  await ctx.store.edit(async (st) => {
    const rest: HostState = without
      ? {
          ...st,
          networks: Object.fromEntries(Object.entries(st.networks).filter(([n]) => n !== without)),
          publications: Object.fromEntries(Object.entries(st.publications).filter(([, p]) => p.network !== without)),
        }
      : st;
    if (Object.keys(rest.networks).length === 0) await ctx.firewall.remove();
    else await ctx.firewall.rebuild(rest);
  });
}

/**
 * Creates a network's bridge with a fixed MAC of its own and its ownership
 * mark. Created without a MAC, a bridge takes its lowest port's and changes
 * it when that port goes: every other container's cached gateway MAC is then
 * wrong until its ARP entry expires (Docker fixes the MAC too). The kernel
 * ignores an alias in the creating request, so the mark is a second one.
 * The network's MTU is set in that second request too, not in the creating
 * one: the kernel keeps a bridge's MTU only once it was changed on the
 * existing bridge. Given at creation, the bridge follows its ports instead
 * (the smallest port's MTU) and falls back to 1500 when its last port goes.
 */
async function addBridge(ctx: NetworkContext, rec: NetworkRecord, rollback: Rollback): Promise<number | string> {
  const added = await ctx.host.links.add({ name: rec.bridge, kind: 'bridge', up: true, mac: rec.mac });
  // By index from here on: once this bridge is gone, its name may reach another link (one carrying it as an altname).
  const bridge = added.index ?? rec.bridge;
  rollback.push(() => ctx.host.links.delete(bridge).catch(ignoreMissing)); // gone already: nothing to undo
  await ctx.host.links.set(bridge, { alias: bridgeMark(ctx.store.tag, rec.name), ...(rec.mtu !== undefined && { mtu: rec.mtu }) });
  return bridge;
}

/** Replaces a lost state's bridge of this network: it goes with the host veths marked as this network's (nobody claims them any more). */
async function removeLeftoverBridge(ctx: NetworkContext, rec: NetworkRecord, leftover: Link): Promise<void> {
  for (const port of await ctx.host.links.list({ master: leftover.index })) {
    const mark = parseMark(port.alias);
    if (mark?.tag === ctx.store.tag && mark.network === rec.name && mark.id !== undefined) await ctx.host.links.delete(port.index).catch(ignoreMissing);
  }
  await ctx.host.links.delete(leftover.index).catch(ignoreMissing);
}

async function enableForwarding(ctx: NetworkContext, rec: NetworkRecord): Promise<void> {
  // Per-namespace sysctls of the host namespace only; nothing global.
  await setSysctl(ctx.hostRef, 'net.ipv4.ip_forward', 1);
  if (rec.subnet6) await setSysctl(ctx.hostRef, 'net.ipv6.conf.all.forwarding', 1);
}

function validateSpec(spec: NetworkSpec): NetworkRecord {
  if (!isObject(spec)) throw new ValidationError('network spec', spec, 'must be an object');
  for (const key of Object.keys(spec))
    if (!SPEC_KEYS.includes(key)) throw new ValidationError('network spec', key, `unknown option (known: ${SPEC_KEYS.join(', ')})`);
  const name = validateNetworkName(spec.name);
  const pool = new AddressPool(spec.subnet, spec.gateway);
  if (pool.family !== 4) throw new ValidationError('subnet', spec.subnet, 'must be IPv4 (use subnet6 for IPv6)');
  if (isSubnetEdge(pool, pool.gateway)) throw new ValidationError('gateway', spec.gateway, `is the network or broadcast address of ${pool.subnet}`);
  let subnet6: string | undefined;
  let gateway6: string | undefined;
  if (spec.subnet6 !== undefined) {
    const p6 = new AddressPool(spec.subnet6, spec.gateway6);
    if (p6.family !== 6) throw new ValidationError('subnet6', spec.subnet6, 'must be IPv6');
    // With forwarding on, the kernel gives the bridge this address as the subnet-router anycast: it cannot be a unicast gateway too.
    if (isSubnetEdge(p6, p6.gateway)) throw new ValidationError('gateway6', spec.gateway6, `is the subnet-router anycast address of ${p6.subnet}`);
    subnet6 = p6.subnet;
    gateway6 = p6.gateway;
  }
  if (spec.overlapOk !== undefined && typeof spec.overlapOk !== 'boolean') throw new ValidationError('overlapOk', spec.overlapOk, 'must be a boolean');
  if (spec.mtu !== undefined && (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535)) {
    throw new ValidationError('mtu', spec.mtu, 'must be 68-65535');
  }
  const internal = !!spec.internal;
  const firewall = validateFirewallSpec(spec);
  return {
    ...firewall,
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
    mac: randomMac(),
    created: new Date().toISOString(),
  };
}

/** Whether `ip` is the subnet's own address (v4 network, v6 subnet-router anycast) or its v4 broadcast: no host can hold it. */
function isSubnetEdge(pool: AddressPool, ip: string): boolean {
  const plain = new AddressPool(pool.subnet); // its gateway is the first host address, which a host can hold
  const canonical = plain.canonical(ip);
  return canonical !== plain.canonical(plain.gateway) && !plain.usable(canonical);
}
