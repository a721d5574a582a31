/**
 * The host ends of attachments, verified before they are changed. A host
 * veth is recorded by name; by the time a detach, a recovery or a reattach
 * acts on it, the name may reach another link: one that carries it as an
 * altname (the kernel's lookup by name matches altnames), or a link someone
 * renamed to it after ours was gone. Such a link is never moved or deleted:
 * only a veth called exactly that name, carrying the attachment's ownership
 * mark (or, not marked yet, in the network's group: an attach that died
 * before its mark), is acted on, by index. One get per veth, asked at once.
 * @module
 */
import type { NetworkContext } from './context';
import { NotFoundError } from '../netlink/errors';
import { getLinkOwnership } from '../rtnetlink/link-identity';
import { warnForeignLink } from './foreign-link-warning';
import { ignoreMissing } from './named-link';
import { notOurVeth, type HostVethRef, type VethNetwork } from './veth-owner';

/** The code of the process warning emitted when a host veth's recorded name reaches a link that is not the attachment's. */
export { FOREIGN_LINK_WARNING } from './foreign-link-warning';

/** A host veth whose recorded name reached another link, left untouched. */
export interface ForeignVeth {
  id: string;
  hostIfname: string;
  /** Why it is not the attachment's. */
  reason: string;
}

/**
 * The indexes of the attachments' host veths that are still theirs (one get
 * each, asked at once); the others are returned as `foreign` (a name that
 * reaches no link at all is neither: the veth is gone).
 */
export async function verifiedHostVeths(
  ctx: NetworkContext,
  rec: VethNetwork,
  refs: HostVethRef[],
): Promise<{ indexes: Map<string, number>; foreign: ForeignVeth[] }> {
  // The identity, name, alias and group from each reply: no whole decode, no lookups of master and peer names.
  const links = await Promise.all(refs.map((r) => ctx.host.run(getLinkOwnership(r.hostIfname)).catch(absent)));
  const indexes = new Map<string, number>();
  const foreign: ForeignVeth[] = [];
  refs.forEach((r, i) => {
    const l = links[i];
    if (!l) return;
    const reason = notOurVeth(ctx.store.tag, rec, r, l);
    if (reason === undefined) indexes.set(r.id, l.index);
    else foreign.push({ id: r.id, hostIfname: r.hostIfname, reason });
  });
  return { indexes, foreign };
}

/** Tells the process (an NlkitWarning) about host veth names that reached links nlkit left alone. */
export function warnForeign(rec: VethNetwork, op: string, foreign: ForeignVeth[]): void {
  for (const f of foreign) warnForeignLink(`${op}: ${f.hostIfname}, recorded as ${f.id}'s host veth on network ${rec.name}, left untouched: ${f.reason}`);
}

/**
 * Deletes attachments' host veths (with their sandbox ends) that are still
 * theirs; returns the links left untouched. Gone already is fine.
 */
export async function deleteHostVeths(ctx: NetworkContext, rec: VethNetwork, refs: HostVethRef[]): Promise<ForeignVeth[]> {
  const { indexes, foreign } = await verifiedHostVeths(ctx, rec, refs);
  await Promise.all([...indexes.values()].map((i) => ctx.host.links.delete(i).catch(ignoreMissing)));
  return foreign;
}

/** A `.catch()` of a lookup: no such link is undefined. */
function absent(e: unknown): undefined {
  if (e instanceof NotFoundError) return undefined;
  throw e;
}
