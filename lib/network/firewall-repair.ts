/**
 * nlkit's table rewritten from the state, under the state lock (reconcile,
 * the recovery of dead publishes, and what an external `nft flush ruleset`
 * needs).
 * @module
 */
import type { NetworkContext } from './context';
import { networksWithForeignBridge } from './network-bridge';

/**
 * Rewrites the firewall from the record (reconcile; also what an external `nft flush ruleset` needs). The
 * bridge sysctls of a network whose bridge name reaches a link that is not nlkit's bridge of it are not set.
 */
export async function repairFirewall(ctx: NetworkContext): Promise<void> {
  await ctx.store.edit(async (st) => {
    if (Object.keys(st.networks).length === 0) await ctx.firewall.remove();
    else await ctx.firewall.repair(st, await networksWithForeignBridge(ctx, st));
  });
}
