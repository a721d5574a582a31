/**
 * Published ports: publishing a host port to one or several weighted
 * backends, changing the backends atomically, unpublishing (with the flows
 * that went to the old backends cut), and reading publications back. Each
 * change is one lock, one state read kept in memory, one journal line and
 * one small nftables transaction: the cost does not grow with the number of
 * publications.
 * @module
 */
import { rejectUnknownKeys, isObject } from '../validate/options';
import { notFound, type NetworkContext } from './context';
import { stepDone } from './fault';
import { withIntent } from './intents';
import { validateNetworkName } from './names';
import { conflicts, publicationKey, toPublication, type BackendSpec, type Publication, type PublicationRef, type PublishSpec } from './publication';
import { ValidationError } from '../netlink/errors';
import type { NetworkRecord, PublicationRecord } from './state';

/** Filter of `nets.publications.list()`. */
export interface PublicationFilter {
  /** Only the publications of this network. */
  network?: string;
}

/** A publication for the caller: the recorded one stays shared with the state kept in memory. */
function copyPublication(p: Publication): Publication {
  return { ...p, backends: p.backends.map((b) => ({ ...b })) };
}

/** Publishes a host port (see `NetworkManager.publish`), recorded in the intent journal while it runs. */
export async function publish(ctx: NetworkContext, spec: PublishSpec): Promise<Publication> {
  return withIntent(ctx.store.dir, { op: 'publish', network: String((spec as Partial<PublishSpec> | undefined)?.network) }, () => publishNow(ctx, spec));
}

async function publishNow(ctx: NetworkContext, spec: PublishSpec): Promise<Publication> {
  const pub = await ctx.store.edit(async (s, edits) => {
    if (!isObject(spec)) throw new ValidationError('publish spec', spec, 'must be an object');
    const rec = s.networks[validateNetworkName(spec.network)] as NetworkRecord | undefined;
    if (!rec) throw notFound('network', spec.network, `publish on network ${spec.network}`);
    const p = toPublication({ ...spec, network: rec.name }, s.attachments[rec.name] ?? {});
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
  return copyPublication(pub);
}

/** Replaces the backends of a publication (see `NetworkManager.setBackends`); NotFoundError if it is not published. */
export async function setBackends(ctx: NetworkContext, ref: PublicationRef, backends: BackendSpec[]): Promise<Publication> {
  const key = publicationKey(ref);
  let removed: Publication['backends'] = [];
  const after = await ctx.store.edit(async (s, edits) => {
    const before = s.publications[key] as PublicationRecord | undefined;
    if (!before) throw notFound('publication', key, `set the backends of ${key}`);
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
    await ctx.firewall.replace(before, next);
    edits.put(next);
    removed = before.backends.filter((b) => !next.backends.some((n) => n.id === b.id));
    return next;
  });
  await cutFlows(ctx, after, removed);
  return copyPublication(after);
}

/**
 * Stops publishing (see `NetworkManager.unpublish`): true once done; when
 * it is not published, false with `missingOk`, else NotFoundError.
 */
export async function unpublish(ctx: NetworkContext, ref: PublicationRef, missingOk: boolean): Promise<boolean> {
  const key = publicationKey(ref);
  return withIntent(ctx.store.dir, { op: 'unpublish', network: '', publication: key }, () => unpublishNow(ctx, key, missingOk));
}

async function unpublishNow(ctx: NetworkContext, key: string, missingOk: boolean): Promise<boolean> {
  const pub = await ctx.store.edit(async (s, edits) => {
    const p = s.publications[key] as PublicationRecord | undefined;
    if (!p) return undefined;
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
  await cutFlows(ctx, pub, pub.backends);
  return true;
}

/** The publications of the host, or of one network. */
export async function listPublications(ctx: NetworkContext, filter?: PublicationFilter): Promise<Publication[]> {
  const network = rejectUnknownKeys(filter, ['network'], 'publications filter')?.network;
  if (network !== undefined) validateNetworkName(network);
  return Object.values((await ctx.store.snapshot()).publications)
    .filter((p) => network === undefined || p.network === network)
    .map(copyPublication);
}

/** One publication, or undefined. */
export async function findPublication(ctx: NetworkContext, ref: PublicationRef): Promise<Publication | undefined> {
  const p = (await ctx.store.snapshot()).publications[publicationKey(ref)] as PublicationRecord | undefined;
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

/** Deletes the conntrack entries of a publication's flows to the given backends. */
async function cutFlows(ctx: NetworkContext, pub: Publication, backends: Publication['backends']): Promise<void> {
  for (const b of backends) {
    for (const addr of [b.ipv4, b.ipv6]) {
      if (!addr) continue;
      const dport = pub.hostPortEnd === undefined ? pub.hostPort : undefined;
      await ctx.host.conntrack.flush({ protocol: pub.protocol, original: { dport, dst: pub.hostIp }, reply: { src: addr } });
    }
  }
}
