/**
 * Published ports: publishing a host port to one or several weighted
 * backends (a free host port chosen for port 0; a host address and host
 * processes on the port checked first), changing the backends atomically,
 * unpublishing (with the flows that went to the old backends cut, unless
 * asked not to), and reading publications back. Each change is one lock,
 * one state read kept in memory, one journal line and one small nftables
 * transaction: the cost does not grow with the number of publications.
 * @module
 */
import { keysOf, rejectUnknownKeys, isObject } from '../validate/options';
import { notFound, type NetworkContext } from './context';
import { stepDone } from './fault';
import { cutPublicationFlows } from './flows';
import { checkHostAddress } from './host-address';
import { checkListenerConflictChoice, hostSockets, onListenerConflict, socketsInTheWay } from './host-listeners';
import { allocateHostPort, wantsAnyPort } from './host-port-allocation';
import { withIntent } from './intents';
import { settleInterruptedPublications } from './publication-recovery';
import { validateNetworkName } from './names';
import {
  canonicalHostIp,
  conflicts,
  hostPorts,
  publicationKey,
  refKey,
  toPublication,
  type BackendSpec,
  type Publication,
  type PublicationRef,
  type PublishSpec,
  refuseInternalNetwork,
  refuseIpv6Loopback,
} from './publication';
import { checkDeleteOptions, ValidationError, type DeleteOptions } from '../netlink/errors';
import type { HostState, NetworkRecord, PublicationRecord } from './state';

/** Filter of `nets.publications.list()`. */
export interface PublicationFilter {
  /** Only the publications of this network. */
  network?: string;
}

/** Options of `nets.setBackends()`. */
export interface SetBackendsOptions {
  /**
   * Cut the established flows to the removed backends (their conntrack
   * entries; default true). false lets them finish: with weight 0 before,
   * a drain.
   */
  cutFlows?: boolean;
}

/** Options of `nets.unpublish()`. */
export interface UnpublishOptions extends DeleteOptions {
  /** Cut the publication's established flows (its conntrack entries; default true). false lets them finish. */
  cutFlows?: boolean;
}

function checkCutFlows(v: unknown): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw new ValidationError('cutFlows', v, 'must be a boolean');
  return v !== false;
}

/** `cutFlows` of setBackends options (unknown keys refused). */
export function checkSetBackendsOptions(opts: unknown): boolean {
  return checkCutFlows(rejectUnknownKeys(opts as SetBackendsOptions | undefined, ['cutFlows'], 'setBackends options')?.cutFlows);
}

/** `missingOk` and `cutFlows` of unpublish options (unknown keys refused). */
export function checkUnpublishOptions(opts: unknown): { missingOk: boolean; cutFlows: boolean } {
  const o = rejectUnknownKeys(opts as UnpublishOptions | undefined, ['missingOk', 'cutFlows'], 'unpublish options');
  return { missingOk: checkDeleteOptions(o && { missingOk: o.missingOk }), cutFlows: checkCutFlows(o?.cutFlows) };
}

/** A publication for the caller: the recorded one stays shared with the state kept in memory. */
function copyPublication(p: Publication): Publication {
  return { ...p, backends: p.backends.map((b) => ({ ...b })) };
}

/**
 * The keys of a publish spec. Anything else is refused: a misspelt `hostip`
 * would publish on every address what was meant for 127.0.0.1, and a
 * `hostPortEnd` (a listed publication's) was taken for a single port under a
 * range's key.
 */
const PUBLISH_KEYS = keysOf<PublishSpec>()(['network', 'protocol', 'hostPort', 'hostIp', 'vip', 'onListenerConflict', 'containerPort', 'to', 'backends']);

/** Publishes a host port (see `NetworkManager.publish`), recorded in the intent journal while it runs. */
export async function publish(ctx: NetworkContext, spec: PublishSpec): Promise<Publication> {
  if (!isObject(spec)) throw new ValidationError('publish spec', spec, 'must be an object');
  rejectUnknownKeys(spec, PUBLISH_KEYS, 'publish spec');
  // What the host has (addresses, sockets) is read before the lock: nothing here waits for other publishers.
  const anyPort = wantsAnyPort(spec.hostPort);
  if (anyPort && spec.containerPort === undefined && !spec.backends?.every((b) => b.port !== undefined)) {
    throw new ValidationError('containerPort', spec.containerPort, 'is required with hostPort 0 (nlkit picks the host port)');
  }
  publicationKey({ ...spec, hostPort: anyPort ? 1 : spec.hostPort }); // protocol, port (range) and hostIp checked before anything is read
  const protocol = spec.protocol ?? 'tcp';
  const hostIp = canonicalHostIp(spec.hostIp);
  if (spec.vip !== undefined && typeof spec.vip !== 'boolean') throw new ValidationError('vip', spec.vip, 'must be a boolean');
  const choice = checkListenerConflictChoice(spec.onListenerConflict);
  refuseIpv6Loopback(hostIp); // before the host-address check: says why, where that check would only say the host lacks it
  // An internal network is refused before the host is read (a listener on the port is not what is wrong); again under the lock.
  const known = (await ctx.store.snapshot()).networks[validateNetworkName(spec.network)] as NetworkRecord | undefined;
  if (known) refuseInternalNetwork(known, `publish on network ${known.name}`);
  if (hostIp && !spec.vip) await checkHostAddress(ctx.host, hostIp);
  const sockets = anyPort || choice !== 'ignore' ? await hostSockets(ctx.host, protocol) : [];
  const [lo, hi] = anyPort ? [0, 0] : hostPorts(spec.hostPort);
  const inTheWay = anyPort ? [] : socketsInTheWay(sockets, lo, hi ?? lo, hostIp); // a chosen port is never in the way
  if (choice === 'refuse') onListenerConflict(choice, protocol, lo, inTheWay);
  const prepared: Prepared = { anyPort, protocol, hostIp, sockets };
  await settleInterruptedPublications(ctx); // a dead publish's unrecorded element would make this one fail (EEXIST)
  const pub = await withIntent(ctx.store.dir, { op: 'publish', network: spec.network }, () => publishNow(ctx, spec, prepared));
  if (choice === 'warn') onListenerConflict(choice, protocol, lo, inTheWay); // once it is published
  return copyPublication(pub);
}

/** What publish() read and decided before taking the lock. */
interface Prepared {
  anyPort: boolean;
  protocol: 'tcp' | 'udp';
  hostIp: string | undefined;
  sockets: Awaited<ReturnType<typeof hostSockets>>;
}

async function publishNow(ctx: NetworkContext, spec: PublishSpec, { anyPort, protocol, hostIp, sockets }: Prepared): Promise<Publication> {
  const pub = await ctx.store.edit(async (s, edits) => {
    const rec = s.networks[validateNetworkName(spec.network)] as NetworkRecord | undefined;
    if (!rec) throw notFound('network', spec.network, `publish on network ${spec.network}`);
    refuseInternalNetwork(rec, `publish on network ${rec.name}`); // created internal since the check above
    const hostPort = anyPort ? await allocateHostPort(ctx.hostRef, edits, { protocol, hostIp }, sockets) : spec.hostPort;
    const p = toPublication({ ...spec, hostPort, network: rec.name }, s.attachments[rec.name] ?? {});
    const same = s.publications[p.key] as PublicationRecord | undefined;
    if (same && JSON.stringify(same) === JSON.stringify(p)) return same; // same thing again
    for (const other of edits.overlapping(p.protocol, p.hostPort, p.hostPortEnd)) {
      if (conflicts(other, p)) throw new ValidationError('hostPort', spec.hostPort, `already published (${other.key} on network ${other.network})`);
    }
    // Kernel first: if the transaction fails, nothing is recorded and nothing was applied.
    stepDone('publish');
    await ctx.firewall.publish(p);
    stepDone('publish');
    edits.put(p);
    return p;
  });
  stepDone('publish');
  return pub;
}

/**
 * Replaces the backends of a publication (see `NetworkManager.setBackends`); NotFoundError if it is not published.
 * Journaled as a publish of its key: after a crash the state decides and reconcile rewrites the table from it.
 */
export async function setBackends(ctx: NetworkContext, ref: PublicationRef, backends: BackendSpec[], cutFlows = true): Promise<Publication> {
  const key = refKey(ref);
  return withIntent(ctx.store.dir, { op: 'publish', network: '', publication: key }, () => setBackendsNow(ctx, key, backends, cutFlows));
}

async function setBackendsNow(ctx: NetworkContext, key: string, backends: BackendSpec[], cutFlows: boolean): Promise<Publication> {
  let removed: Publication['backends'] = [];
  const after = await ctx.store.edit(async (s, edits) => {
    const before = s.publications[key] as PublicationRecord | undefined;
    if (!before) throw notFound('publication', key, `set the backends of ${key}`);
    // One an earlier nlkit made on an internal network is not given new backends: unpublish it (or reconcile() does).
    const net = s.networks[before.network] as NetworkRecord | undefined;
    if (net) refuseInternalNetwork(net, `set the backends of ${key}`);
    const next = toPublication(
      {
        network: before.network,
        protocol: before.protocol,
        hostPort: before.hostPortEnd ? `${before.hostPort}-${before.hostPortEnd}` : before.hostPort,
        hostIp: before.hostIp,
        containerPort: before.backends[0].port,
        backends,
      },
      s.attachments[before.network] ?? {},
    );
    stepDone('backends');
    await ctx.firewall.replace(before, next);
    stepDone('backends');
    edits.put(next);
    removed = before.backends.filter((b) => !next.backends.some((n) => n.id === b.id));
    return next;
  });
  stepDone('backends');
  if (cutFlows) await cutPublicationFlows(ctx.host, after, removed);
  return copyPublication(after);
}

/**
 * Stops publishing (see `NetworkManager.unpublish`): true once done; when
 * it is not published, false with `missingOk`, else NotFoundError.
 */
export async function unpublish(ctx: NetworkContext, ref: PublicationRef, missingOk: boolean, cutFlows = true): Promise<boolean> {
  const key = refKey(ref);
  return withIntent(ctx.store.dir, { op: 'unpublish', network: '', publication: key }, () => unpublishNow(ctx, key, missingOk, cutFlows));
}

async function unpublishNow(
  ctx: NetworkContext,
  key: string,
  missingOk: boolean,
  cutFlows: boolean,
  still: (s: HostState, p: PublicationRecord) => boolean = () => true,
): Promise<boolean> {
  const pub = await ctx.store.edit(async (s, edits) => {
    const p = s.publications[key] as PublicationRecord | undefined;
    if (!p || !still(s, p)) return undefined;
    stepDone('unpublish');
    await ctx.firewall.unpublish(p);
    stepDone('unpublish');
    edits.remove(key);
    return p;
  });
  stepDone('unpublish');
  if (!pub) {
    if (missingOk) return false;
    throw notFound('publication', key, `unpublish ${key}`);
  }
  if (cutFlows) await cutPublicationFlows(ctx.host, pub, pub.backends);
  return true;
}

/**
 * Unpublishes a publication an earlier nlkit made on an internal network (reconcile(), `publication-internal`), its
 * flows cut: only while it is still recorded on that network, and the network still internal, under the lock.
 */
export async function dropInternalPublication(ctx: NetworkContext, pub: PublicationRecord): Promise<void> {
  const still = (s: HostState, p: PublicationRecord) => p.network === pub.network && (s.networks[p.network] as NetworkRecord | undefined)?.internal === true;
  await withIntent(ctx.store.dir, { op: 'unpublish', network: '', publication: pub.key }, () => unpublishNow(ctx, pub.key, true, true, still));
}

/** The publications of the host, or of one network. */
export async function listPublications(ctx: Pick<NetworkContext, 'store'>, filter?: PublicationFilter): Promise<Publication[]> {
  const network = rejectUnknownKeys(filter, ['network'], 'publications filter')?.network;
  if (network !== undefined) validateNetworkName(network);
  return Object.values((await ctx.store.snapshot()).publications)
    .filter((p) => network === undefined || p.network === network)
    .map(copyPublication);
}

/** One publication, or undefined. */
export async function findPublication(ctx: NetworkContext, ref: PublicationRef): Promise<Publication | undefined> {
  const p = (await ctx.store.snapshot()).publications[refKey(ref)] as PublicationRecord | undefined;
  return p && copyPublication(p);
}

/** After a detach: publications lose the detached backends (and go away with their last one). */
export async function dropBackends(ctx: NetworkContext, rec: NetworkRecord, gone: Set<string>): Promise<void> {
  for (const p of Object.values((await ctx.store.snapshot()).publications)) {
    if (p.network !== rec.name || !p.backends.some((b) => b.id && gone.has(b.id))) continue;
    const rest = p.backends.filter((b) => !(b.id && gone.has(b.id)));
    if (rest.length === 0) await unpublish(ctx, p, true);
    else
      await setBackends(
        ctx,
        p,
        rest.map((b) => ({ id: b.id as string, port: b.port, weight: b.weight })),
      ); // a raw-address backend (no id) is refused there, as it always was
  }
}
