/**
 * Deleting a network's bridge (network delete, and reconcile completing an
 * interrupted one). The bridge is known by name, and the name may have come
 * to reach another link since nlkit made it: a bridge someone made with `ip`
 * after nlkit's was deleted, another network's bridge, a link carrying the
 * name as an altname. Such a link is never deleted, and the process is told
 * (an NlkitWarning, code NLKIT_FOREIGN_LINK_LEFT), as detach does for veths.
 * @module
 */
import type { NetworkContext } from './context';
import type { Link } from '../rtnetlink/link-types';
import { notOurBridge } from './host-conflicts';
import { warnForeignLink } from './foreign-link-warning';
import { ignoreMissing } from './named-link';

/** A network's bridge to delete: the network, the bridge's name and the MAC recorded for it (absent in older records). */
export interface BridgeRef {
  network: string;
  bridge: string;
  mac?: string;
  /** The network's gateway with its prefix ("10.0.0.1/24"): the proof of a bridge of a record without a MAC. */
  gateway?: string;
}

/**
 * Deletes network `ref.network`'s bridge if the link its name reaches is nlkit's bridge of it (notOurBridge);
 * returns why the link was left otherwise (undefined: deleted, or no link of that name).
 */
export async function deleteNetworkBridge(ctx: NetworkContext, ref: BridgeRef): Promise<string | undefined> {
  const link = await ctx.host.links.find(ref.bridge);
  if (!link) return undefined;
  // The lookup matches an altname too: the link that carries it is someone else's.
  if (link.name !== ref.bridge) return `${link.name} (index ${link.index}) carries the name as an altname`;
  let why = notOurBridge(ctx.store.tag, ref.network, link, ref.mac);
  if (why !== undefined && isUnmarkedBridgeOfOldRecord(ref, link))
    why = (await carriesGateway(ctx, link, ref.gateway)) ? undefined : `${why}, nor does it carry the network's gateway ${ref.gateway}`;
  if (why === undefined) await ctx.host.links.delete(link.index).catch(ignoreMissing); // gone meanwhile is fine
  return why;
}

/**
 * Whether `link` may be the bridge a version before ownership marks made for a record that has no MAC (0.1.0
 * made every bridge unmarked, with a MAC of the kernel's, and recorded none). Such a bridge is proven by the
 * network's gateway address, which that version put on it (carriesGateway). Without this, every such
 * network's bridge (with its gateway, which then blocks the subnet) would be left forever by the delete.
 */
function isUnmarkedBridgeOfOldRecord(ref: BridgeRef, link: Link): ref is BridgeRef & { gateway: string } {
  return ref.mac === undefined && ref.gateway !== undefined && link.kind === 'bridge' && !link.alias;
}

/** Whether `link` carries `gateway` ("10.0.0.1/24": the address with its prefix). */
async function carriesGateway(ctx: NetworkContext, link: Link, gateway: string): Promise<boolean> {
  const addrs = await ctx.host.addresses.list({ link: link.index, family: 4 });
  return addrs.some((a) => `${a.address}/${a.prefixLength}` === gateway);
}

/** Tells the process (an NlkitWarning) that the link a network's bridge name reached was left in place, and why. */
export function warnForeignBridge(ref: BridgeRef, op: string, reason: string): void {
  warnForeignLink(`${op}: ${ref.bridge}, network ${ref.network}'s bridge name, reaches a link nlkit left untouched: ${reason}`);
}
