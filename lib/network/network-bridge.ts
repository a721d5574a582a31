/**
 * A network's bridge found by its name, acted on only once proven nlkit's
 * (bridge-owner.ts): network delete (and reconcile completing an interrupted
 * one) deletes it, reconcile's rebuild brings it up and gives it the
 * gateway, attach makes a sandbox's port on it (attach-veth.ts, which
 * refuses any other link). Any other link the name reaches (a bridge someone made with `ip`
 * after nlkit's was deleted, another network's bridge, a link of another
 * kind, one carrying the name as an altname) is never touched, and the
 * process is told (an NlkitWarning, code NLKIT_FOREIGN_LINK_LEFT), as detach
 * does for veths.
 * @module
 */
import type { NetworkContext } from './context';
import { bridgeRefOf, needsGatewayProof, notNetworksBridge, type BridgeCandidate, type BridgeRef } from './bridge-owner';
import type { HostState } from './state';
import { ignoreMissing } from './named-link';

export type { BridgeRef } from './bridge-owner';

/**
 * Deletes network `ref.network`'s bridge if the link its name reaches is nlkit's bridge of it (notNetworksBridge);
 * returns why the link was left otherwise (undefined: deleted, or no link of that name).
 */
export async function deleteNetworkBridge(ctx: NetworkContext, ref: BridgeRef): Promise<string | undefined> {
  const link = await ctx.host.links.find(ref.bridge);
  if (!link) return undefined;
  const why = await whyNotNetworksBridge(ctx, ref, link);
  if (why === undefined) await ctx.host.links.delete(link.index).catch(ignoreMissing); // gone meanwhile is fine
  return why;
}

/**
 * Why `link`, which `ref.bridge` reached, is not network `ref.network`'s bridge (undefined: it is). Reads the
 * link's IPv4 addresses only for an unmarked bridge of a record without a MAC (0.1.0), proven by its gateway.
 */
export async function whyNotNetworksBridge(ctx: NetworkContext, ref: BridgeRef, link: BridgeCandidate): Promise<string | undefined> {
  const cidrs = needsGatewayProof(ref, link) && link.name === ref.bridge ? await ipv4CidrsOf(ctx, link) : undefined;
  return notNetworksBridge(ctx.store.tag, ref, link, cidrs);
}

/**
 * The networks of `st` whose bridge name reaches a link that is not their bridge (a missing bridge is not one):
 * the firewall repair sets no sysctl of theirs (route_localnet), as that link is not nlkit's to configure.
 */
export async function networksWithForeignBridge(ctx: NetworkContext, st: HostState): Promise<Set<string>> {
  // A sysctl names a link by its own name (never an altname): only links called that name count.
  const byName = new Map((await ctx.host.links.list()).map((l) => [l.name, l]));
  const out = new Set<string>();
  for (const rec of Object.values(st.networks)) {
    const link = byName.get(rec.bridge);
    if (link && (await whyNotNetworksBridge(ctx, bridgeRefOf(rec), link)) !== undefined) out.add(rec.name);
  }
  return out;
}

/** The link's IPv4 addresses with their prefixes ("10.0.0.1/24"). */
async function ipv4CidrsOf(ctx: NetworkContext, link: BridgeCandidate): Promise<string[]> {
  const addrs = await ctx.host.addresses.list({ link: link.index, family: 4 });
  return addrs.map((a) => `${a.address}/${a.prefixLength}`);
}
