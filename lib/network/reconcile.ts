/**
 * Drift between what nlkit recorded and what the kernel has: a bridge or an
 * address that vanished, a sandbox whose namespace is gone, a host veth
 * nobody owns, firewall rules flushed from outside, a veth an admin set down (or its hairpin
 * mode turned off, or its isolation on an `icc: false` network), a bridge's
 * connected route deleted or its MTU changed, a sandbox's default route
 * undercut by another route or bypassed by a policy rule, an `icc: false`
 * network's ports still isolated after bridge netfilter was turned on, a port
 * an earlier nlkit published on an `internal` network. `check` reports,
 * `reconcile` repairs (rebuilds what is missing, garbage-collects leftovers).
 * A link that took a recorded bridge's name is not nlkit's to repair: it is
 * reported (`bridge-foreign`) and left, with the network's attachments.
 * @module
 */
import * as fs from 'node:fs';
import type { Handle } from '../handle';
import type { Link } from '../rtnetlink/link-types';
import { open } from '../handle';
import { openNetnsSync, type NetworkNamespace } from '../netns/namespace';
import { foreignMemberReason, isMarkedVethOf, isStrayVeth, notOurVeth, SCRATCH_GROUP } from './veth-owner';
import { altnameHolderReason, bridgeRefOf, notNetworksBridge } from './bridge-owner';
import { warnForeignBridge, warnForeignMembers } from './foreign-link-warning';
import { deleteNamedLink } from './named-link';
import { identityOf, sameNamespace } from './sandbox-identity';
import { sandboxRouteDrift } from './sandbox-route-rules';
import type { Drift } from './drift';
import type { AttachmentRecord, HostState, NetworkRecord, PublicationRecord } from './state';

export type { Drift } from './drift';

/** What check/reconcile need from the manager. */
export interface ReconcileContext {
  host: Handle;
  /** The state directory's owner tag (names.ts): a host veth carries it in its ownership mark. */
  tag: string;
  state(): Promise<HostState>;
  /**
   * Rebuilds a network's bridge (up, with the network's MTU), gateway addresses and connected routes; returns why it left the link under the bridge's name
   * instead (not nlkit's bridge of the network, as read then), or undefined once rebuilt.
   */
  rebuildNetwork(rec: NetworkRecord): Promise<string | undefined>;
  /** Whether the network's ports are isolated (`icc: false` with bridge netfilter off: firewall/icc.ts). */
  isolatePorts(rec: NetworkRecord): Promise<boolean>;
  /** Unpublishes a recorded publication, its flows cut (publication-internal); gone meanwhile is fine. */
  dropPublication(pub: PublicationRecord): Promise<void>;
  /** Deletes the routes and rules that win over an attachment's default routes in its sandbox (sandbox-route-shadowed, sandbox-rule-shadowed). */
  unshadowDefaultRoutes(rec: NetworkRecord, att: AttachmentRecord): Promise<void>;
  /** Re-creates an attachment with its recorded names and addresses. */
  reattach(rec: NetworkRecord, att: AttachmentRecord): Promise<void>;
  /** Forgets an attachment whose sandbox no longer exists. */
  forget(rec: NetworkRecord, atts: AttachmentRecord[]): Promise<void>;
  /** Firewall drift, if the firewall layer is active. */
  checkFirewall(st: HostState): Promise<Drift[]>;
  /** Repairs the firewall from the state as it is under the lock (no sysctl of a link under a bridge name that is not nlkit's). */
  repairFirewall(): Promise<void>;
  /** nlkit's interfaces that no state claims (leftovers.ts). */
  findLeftovers(st: HostState, links: Link[]): Drift[];
  /** Operations whose process died halfway (intent journal), and the host veths of those still running. */
  interrupted(): Drift[];
  inFlightVeths(): Set<string>;
  /** Completes or undoes the interrupted operations; returns them. */
  recoverInterrupted(): Promise<Drift[]>;
  /** Leases whose owner is not attached (and not being attached), and releasing them. */
  checkLeases(st: HostState): Promise<Drift[]>;
  releaseLeases(rec: NetworkRecord, ids: string[]): Promise<void>;
}

function isNamespaceFile(p: string): boolean {
  try {
    return fs.statfsSync(p).type === 0x6e736673;
  } catch {
    return false;
  }
}

/** What checkAttachment compares a network's attachments with: the host's links, nlkit's bridge's index if it is there, whether its ports are isolated. */
interface HostView {
  tag: string;
  hostLinks: Map<string, Link>;
  bridgeIndex?: number;
  /** `icc: false` and bridge netfilter off: every port isolated. */
  isolate: boolean;
  /** `icc: false` and bridge netfilter on: no port isolated (the firewall rule keeps the sandboxes apart). */
  unisolate: boolean;
}

async function checkAttachment(host: HostView, rec: NetworkRecord, att: AttachmentRecord): Promise<Drift[]> {
  const out: Drift[] = [];
  const d = (kind: Drift['kind'], detail: string) => out.push({ network: rec.name, id: att.id, kind, detail });
  if (!isNamespaceFile(att.sandboxPath)) {
    d('sandbox-gone', `${att.sandboxPath} is no longer a network namespace`);
    return out;
  }
  // Opened once and verified: what is inspected below is the namespace that was attached, not whatever took its path.
  let ns: NetworkNamespace;
  try {
    ns = openNetnsSync({ path: att.sandboxPath });
  } catch {
    d('sandbox-gone', `${att.sandboxPath} is no longer a network namespace`);
    return out;
  }
  if (!sameNamespace(att.sandboxNs, identityOf(ns))) {
    ns.close();
    d('sandbox-gone', `${att.sandboxPath} is another namespace now (the attached one is gone)`);
    return out;
  }
  try {
    return await inspectSandbox(host, rec, att, ns, out);
  } finally {
    ns.close();
  }
}

async function inspectSandbox(host: HostView, rec: NetworkRecord, att: AttachmentRecord, ns: NetworkNamespace, out: Drift[]): Promise<Drift[]> {
  const { tag, hostLinks, bridgeIndex } = host;
  const d = (kind: Drift['kind'], detail: string) =>
    out.push({
      network: rec.name,
      id: att.id,
      kind,
      ...(HOST_VETH_DRIFT.has(kind) && { link: att.hostIfname }),
      detail,
    });
  const hv = hostLinks.get(att.hostIfname);
  if (!hv) {
    d('veth-missing', `host interface ${att.hostIfname} is gone`);
    return out;
  }
  const foreign = notOurVeth(tag, rec, att, hv);
  if (foreign) {
    d('veth-missing', `host interface ${att.hostIfname} is gone: ${foreign} (reconcile leaves it alone)`);
    return out;
  }
  if (bridgeIndex !== undefined && hv.master !== bridgeIndex) d('veth-missing', `${att.hostIfname} is not a port of ${rec.bridge}`);
  if (!hv.up) d('veth-down', `host interface ${att.hostIfname} is down`);
  // Every port is made with hairpin on (a sandbox reaching its own published port); read from the host dump.
  const port = bridgeIndex !== undefined && hv.master === bridgeIndex ? hv.port : undefined;
  if (port && !port.hairpin) d('hairpin-off', `hairpin mode is off on ${att.hostIfname}`);
  if (port && host.isolate && !port.isolated) d('isolation-off', `${att.hostIfname} is not isolated (the network has icc: false)`);
  if (port && host.unisolate && port.isolated)
    d('isolation-stale', `${att.hostIfname} is isolated, but bridge netfilter is on (icc: false is the firewall rule; isolation drops published hairpin)`);
  const sb = await open({ netns: ns });
  try {
    const link = await sb.links.find(att.ifname);
    if (link?.name !== att.ifname) {
      // The lookup matches an altname too: another link carrying the name is not the attachment's interface.
      d('sandbox-interface-missing', `${att.ifname} is gone from the sandbox${link ? ` (${link.name} carries the name as an altname)` : ''}`);
      return out;
    }
    if (!link.up) d('veth-down', `${att.ifname} is down in the sandbox`);
    const addrs = (await sb.addresses.list({ link: link.index })).map((a) => a.address);
    if (att.ipv4 && !addrs.includes(att.ipv4)) d('sandbox-address-missing', `${att.ipv4} is missing on ${att.ifname}`);
    if (att.ipv6 && !addrs.includes(att.ipv6)) d('sandbox-address-missing', `${att.ipv6} is missing on ${att.ifname}`);
    const wantsDefault = att.defaultRoute !== false; // another network of the sandbox may carry it
    // Both families, every table and the rules: there, not undercut in the main table and not bypassed by a rule.
    if (wantsDefault) for (const r of sandboxRouteDrift(await sb.routes.list({ table: 'all' }), await sb.rules.list(), rec, att)) d(r.kind, r.detail);
  } finally {
    sb.close();
  }
  return out;
}

/** A link in a recorded network's interface group that is not nlkit's: reconcile leaves it, and says so. */
interface GroupForeigner {
  network: string;
  index: number;
  name?: string;
  reason: string;
}

/** Compares the record with the kernel; changes nothing. */
export async function check(ctx: ReconcileContext): Promise<Drift[]> {
  return (await inspect(ctx)).drift;
}

/** The drift, and the links in the networks' groups (or their scratch groups) that are not nlkit's. */
async function inspect(ctx: ReconcileContext): Promise<{ drift: Drift[]; foreign: GroupForeigner[] }> {
  const st = await ctx.state();
  const drift: Drift[] = [];
  const foreign: GroupForeigner[] = [];
  const foreignBridges = new Set<string>(); // networks whose bridge name another link holds
  const altnameHeld: Array<{ drift: Drift; holder: Link }> = []; // bridge-missing, unless the holder goes first
  const links = await ctx.host.links.list();
  const byName = new Map(links.map((l) => [l.name, l]));
  // The host's routes, once for every network (both families, the main table): the bridges' connected routes.
  const routes = Object.keys(st.networks).length ? await ctx.host.routes.list() : [];
  // Read after the dump, the journal first and then the state: a veth the dump saw is either still in flight then
  // (its intent open) or recorded by then (an attach records itself before it ends its intent). The state read
  // above, before the dump, would miss an attach that completed during it, and call its veth a stray.
  const owned = ctx.inFlightVeths(); // an attach or detach under way is not drift
  for (const atts of Object.values((await ctx.state()).attachments)) for (const a of Object.values(atts)) owned.add(a.hostIfname);
  for (const rec of Object.values(st.networks)) {
    const found = byName.get(rec.bridge);
    const link = rec.bridge;
    let bridgeIndex: number | undefined; // nlkit's bridge of the network, when it is there
    // Read now, not when the ports were made: bridge netfilter turned on or off since then switches the mode.
    const isolate = rec.icc === false && (await ctx.isolatePorts(rec));
    const unisolate = rec.icc === false && !isolate;
    if (!found) {
      const missing: Drift = { network: rec.name, kind: 'bridge-missing', link, detail: `bridge ${rec.bridge} is gone` };
      drift.push(missing);
      // The kernel's lookup by name matches an altname: while another link carries it, the bridge cannot be made.
      const holder = links.find((l) => l.altNames?.includes(rec.bridge));
      if (holder) altnameHeld.push({ drift: missing, holder });
    } else {
      const addrs = await ctx.host.addresses.list({ link: found.index });
      const foreign = notNetworksBridge(
        ctx.tag,
        bridgeRefOf(rec),
        found,
        addrs.filter((a) => a.family === 4).map((a) => `${a.address}/${a.prefixLength}`),
      );
      if (foreign !== undefined) {
        drift.push({ network: rec.name, kind: 'bridge-foreign', link, detail: `${foreign} (reconcile leaves it alone)` });
        foreignBridges.add(rec.name);
      } else {
        bridgeIndex = found.index;
        if (!found.up) drift.push({ network: rec.name, kind: 'bridge-down', link, detail: `bridge ${rec.bridge} is down` });
        const ips = addrs.map((a) => a.address);
        if (!ips.includes(rec.gateway)) drift.push({ network: rec.name, kind: 'gateway-missing', link, detail: `${rec.gateway} is missing on ${rec.bridge}` });
        if (rec.gateway6 && !ips.includes(rec.gateway6))
          drift.push({ network: rec.name, kind: 'gateway-missing', link, detail: `${rec.gateway6} is missing on ${rec.bridge}` });
        // The kernel keeps the MTU nlkit set on its bridge, with or without ports (addBridge); a bridge an earlier
        // nlkit made with it follows its ports instead, and is back at 1500 without any: reconcile sets it for good.
        if (rec.mtu !== undefined && found.mtu !== rec.mtu)
          drift.push({ network: rec.name, kind: 'bridge-mtu', link, detail: `bridge ${rec.bridge} has MTU ${found.mtu}, not ${rec.mtu}` });
        // The kernel makes the connected route with the address, and drops it while the bridge is down (bridge-down).
        const connected = (subnet: string) => routes.some((r) => r.dst === subnet && r.link === found.index);
        for (const [gateway, subnet] of [
          [rec.gateway, rec.subnet],
          [rec.gateway6, rec.subnet6],
        ]) {
          if (found.up && gateway && subnet && ips.includes(gateway) && !connected(subnet))
            drift.push({ network: rec.name, kind: 'bridge-route-missing', link, detail: `no route to ${subnet} on ${rec.bridge}` });
        }
      }
    }
    for (const att of Object.values(st.attachments[rec.name] ?? {})) {
      owned.add(att.hostIfname);
      // Under a foreign bridge there is no bridge of nlkit's to be a port of: that is the bridge-foreign drift.
      drift.push(...(await checkAttachment({ tag: ctx.tag, hostLinks: byName, bridgeIndex, isolate, unisolate }, rec, att)));
    }
    // nlkit's veths in the network's group that no attachment claims (a crashed attach, say); not another's link
    for (const l of links) {
      if (owned.has(l.name) || (l.group !== rec.group && l.group !== rec.group + SCRATCH_GROUP)) continue;
      if (isStrayVeth(ctx.tag, rec, l)) {
        drift.push({ network: rec.name, kind: 'stray-veth', link: l.name, detail: `${l.name} is in ${rec.name}'s group but not attached` });
      } else if (!isMarkedVethOf(ctx.tag, rec, l)) foreign.push({ network: rec.name, index: l.index, name: l.name, reason: foreignMemberReason(l) });
    }
  }
  // A publication on an internal network (an earlier nlkit's): a way in from outside to what nothing may reach.
  for (const p of Object.values(st.publications)) {
    const net = st.networks[p.network] as NetworkRecord | undefined;
    if (net?.internal) {
      const detail = `${p.key} is published on ${p.network}, an internal network: reachable from outside through a host address`;
      drift.push({ network: p.network, kind: 'publication-internal', publication: p.key, detail });
    }
  }
  // A marked veth of an attach still under way is not a leftover either.
  drift.push(...ctx.findLeftovers(st, links).filter((d) => d.kind !== 'leftover-veth' || !owned.has(d.link ?? '')));
  // A leftover or stray veth carrying a bridge's name is deleted first, and the bridge made; any other holder stays.
  const deleted = new Set(drift.filter((d) => d.kind === 'leftover-bridge' || d.kind === 'leftover-veth' || d.kind === 'stray-veth').map((d) => d.link));
  for (const { drift: d, holder } of altnameHeld) {
    if (deleted.has(holder.name)) continue;
    d.kind = 'bridge-foreign';
    d.detail = `${altnameHolderReason(ctx.tag, st, holder)} (reconcile leaves it alone)`;
    foreignBridges.add(d.network);
  }
  // A foreign bridge's route_localnet is its owner's business, not drift of nlkit's (and reconcile does not set it).
  drift.push(...(await ctx.checkFirewall(st)).filter((d) => !(d.kind === 'sysctl' && foreignBridges.has(d.network))));
  drift.push(...(await ctx.checkLeases(st)));
  drift.push(...ctx.interrupted());
  // A link a drift names (a leftover bridge put into the group, say) is reconcile's to act on, not left.
  const named = new Set(drift.map((d) => d.link));
  return { drift, foreign: foreign.filter((f) => !named.has(f.name)) };
}

/** Repairs every drift `check` finds; returns what it found (and fixed, but a `bridge-foreign`, which it leaves). */
export async function reconcile(ctx: ReconcileContext): Promise<Drift[]> {
  // The state is read (and checked) before anything is done: a state file or journal that cannot be read as state
  // is a CorruptStateError here, before an interrupted operation is settled against it.
  await ctx.state();
  // Interrupted operations first: what they leave (a half-made veth, a lease, a record) is theirs to finish or undo.
  const recovered = await ctx.recoverInterrupted();
  return [...recovered, ...(await repair(ctx))];
}

async function repair(ctx: ReconcileContext): Promise<Drift[]> {
  const found = await inspect(ctx);
  // What is in a network's group and not nlkit's (an unmarked veth named like nlkit's among them) stays: say so.
  for (const f of found.foreign) warnForeignMembers({ name: f.network }, 'reconcile', [f]);
  // An operation that died since recoverInterrupted() ran is left for the next reconcile.
  const drift = found.drift.filter((d) => !d.kind.startsWith('interrupted-'));
  if (drift.length === 0) return drift;
  const st = await ctx.state();
  const nets = new Map(Object.values(st.networks).map((n) => [n.name, n]));
  const netOf = (name: string): NetworkRecord => {
    const n = nets.get(name);
    if (!n) throw new Error(`drift reported on network ${name}, which is not in the state`); // check() looks only at recorded networks
    return n;
  };
  // Leftovers and strays go first: one of them may carry a bridge's name as an altname, which the rebuild below
  // could not take back (a foreign link carrying it is left alone, and the rebuild says which and why). A link
  // gone meanwhile is fine (deleteNamedLink); any other refusal fails the reconcile instead of reading as repaired.
  for (const d of drift) {
    if (d.kind === 'leftover-bridge' || d.kind === 'leftover-veth') {
      // Still a leftover as read now (not another link that took the name since check() listed it).
      // By the drift's link, not its text (which is for people); a drift without one names nothing to delete.
      if (d.link !== undefined) await deleteNamedLink(ctx.host, d.link, (l) => ctx.findLeftovers(st, [l]).some((x) => x.kind === d.kind));
    } else if (d.kind === 'stray-veth' && d.link !== undefined) {
      const rec = netOf(d.network);
      await deleteNamedLink(ctx.host, d.link, (l) => isStrayVeth(ctx.tag, rec, l)); // still one, as read now
    }
  }
  const rebuilt = new Set<string>();
  const left = new Set<string>(); // networks whose bridge name reaches a link that is not nlkit's bridge of them
  for (const d of drift) {
    if (!BRIDGE_DRIFT.has(d.kind) || rebuilt.has(d.network) || left.has(d.network)) continue;
    // A bridge-foreign link too: the rebuild proves the link again as it is now, and leaves it if it still is
    // not nlkit's (a leftover deleted above frees the name, and the bridge is made anew).
    const rec = netOf(d.network);
    const foreign = await ctx.rebuildNetwork(rec);
    if (foreign === undefined) rebuilt.add(d.network);
    else {
      left.add(d.network);
      warnForeignBridge({ network: rec.name, bridge: rec.bridge }, 'reconcile', foreign);
    }
  }
  // A missing connected route or a changed MTU: the bridge is set right in place, its ports (and sandboxes) kept.
  const tuned = new Set<string>();
  for (const d of drift) {
    if (!BRIDGE_TUNING.has(d.kind) || rebuilt.has(d.network) || left.has(d.network) || tuned.has(d.network)) continue;
    const rec = netOf(d.network);
    tuned.add(d.network);
    const foreign = await ctx.rebuildNetwork(rec); // not nlkit's bridge since check() read it: left, as above
    if (foreign !== undefined) {
      left.add(d.network);
      warnForeignBridge({ network: rec.name, bridge: rec.bridge }, 'reconcile', foreign);
    }
  }
  const gone = new Map<string, AttachmentRecord[]>();
  const redo: Array<[NetworkRecord, AttachmentRecord]> = [];
  const ports = new Map<AttachmentRecord, { rec: NetworkRecord; hairpin?: true; isolated?: boolean }>(); // set in place, unless re-made
  const shadowed: Array<[NetworkRecord, AttachmentRecord]> = []; // the winning default routes deleted, after any re-make
  for (const d of drift) {
    if (d.kind === 'leftover-bridge' || d.kind === 'leftover-veth' || d.kind === 'stray-veth') continue; // deleted above
    if (isFirewallDrift(d)) continue; // repaired below, in one transaction
    if (d.kind === 'publication-internal') {
      // By its key, still on that network as recorded now (not a publication made since under the same key).
      const p = (await ctx.state()).publications[d.publication ?? ''] as PublicationRecord | undefined;
      if (p?.network === d.network && netOf(d.network).internal) await ctx.dropPublication(p);
      continue;
    }
    const rec = netOf(d.network);
    if (!d.id) continue;
    if (d.kind === 'leaked-lease') {
      await ctx.releaseLeases(rec, [d.id]);
      continue;
    }
    const att = (st.attachments[d.network] as Partial<Record<string, AttachmentRecord>> | undefined)?.[d.id];
    if (!att) continue;
    if (d.kind === 'sandbox-gone') {
      const list = gone.get(d.network) ?? [];
      gone.set(d.network, [...list, att]);
    } else if (left.has(d.network)) {
      // Not re-made: its veth would become a port of the link under the bridge's name, which is not nlkit's.
    } else if (d.kind === 'hairpin-off' || d.kind === 'isolation-off' || d.kind === 'isolation-stale') {
      ports.set(att, { ...ports.get(att), rec, ...(d.kind === 'hairpin-off' ? { hairpin: true } : { isolated: d.kind === 'isolation-off' }) });
    } else if (d.kind === 'sandbox-route-shadowed' || d.kind === 'sandbox-rule-shadowed') {
      if (!shadowed.some(([r, a]) => r.name === rec.name && a.id === att.id)) shadowed.push([rec, att]);
    } else if (!redo.some(([r, a]) => r.name === rec.name && a.id === att.id)) redo.push([rec, att]);
  }
  // Bridges rebuilt from scratch lost their ports: every attachment comes back.
  for (const name of rebuilt) {
    for (const att of Object.values(st.attachments[name] ?? {})) {
      if (!redo.some(([r, a]) => r.name === name && a.id === att.id) && !(gone.get(name) ?? []).includes(att)) redo.push([netOf(name), att]);
    }
  }
  for (const [name, atts] of gone) await ctx.forget(netOf(name), atts);
  for (const [rec, att] of redo) await ctx.reattach(rec, att);
  for (const [att, { rec, ...flags }] of ports) {
    if (redo.some(([r, a]) => r.name === rec.name && a.id === att.id)) continue; // re-made with hairpin on (and isolated as the sysctl says now)
    // By index, if the name still reaches the attachment's own veth as read now (not a link that took the name since).
    const hv = await ctx.host.links.find(att.hostIfname);
    if (hv?.name === att.hostIfname && notOurVeth(ctx.tag, rec, att, hv) === undefined) await ctx.host.links.set(hv.index, { port: flags });
  }
  // A re-made attachment keeps a winning route through another interface of its sandbox, and the rules: deleted either way.
  for (const [rec, att] of shadowed) await ctx.unshadowDefaultRoutes(rec, att);
  // The state as it is now: forgetting gone sandboxes changed publications.
  if (drift.some(isFirewallDrift) || rebuilt.size) await ctx.repairFirewall();
  return drift;
}

/** The drift of an attachment that names its host veth as `link`. */
const HOST_VETH_DRIFT = new Set<Drift['kind']>(['veth-missing', 'veth-down', 'hairpin-off', 'isolation-off', 'isolation-stale']);

/** The drift of a network's bridge that reconcile() rebuilds it for (or, not nlkit's, leaves it). */
const BRIDGE_DRIFT = new Set<Drift['kind']>(['bridge-missing', 'bridge-down', 'gateway-missing', 'bridge-foreign']);

/** The drift of a network's bridge that reconcile() sets right in place, without re-making the attachments. */
const BRIDGE_TUNING = new Set<Drift['kind']>(['bridge-route-missing', 'bridge-mtu']);

/** Drift of nlkit's table or of the sysctls (the firewall layer repairs it, whatever network it names). */
function isFirewallDrift(d: Drift): boolean {
  return d.kind.startsWith('firewall-') || d.kind === 'sysctl';
}
