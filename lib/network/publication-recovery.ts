/**
 * Settling the publish and unpublish operations a dead process left
 * halfway, before the next publish or detach: the state file is written
 * after the kernel, so it names what was done, and nlkit's table is
 * rewritten from it. Left to reconcile alone, an element a dead publish
 * added without recording it stayed through the detach of its backend (a
 * host port DNATed to an address the next sandbox gets) and made every
 * later publish of that port fail with EEXIST.
 * @module
 */
import type { NetworkContext } from './context';
import { clearIntent, intentExists, pendingIntents } from './intents';
import { networksWithForeignBridge } from './network-bridge';

/** Rewrites nlkit's table from the state if a publish or unpublish died; one directory read when none did. */
export async function settleInterruptedPublications(ctx: NetworkContext): Promise<void> {
  const dead = pendingIntents(ctx.store.dir, { liveJournals: false }).filter((p) => !p.live && (p.record.op === 'publish' || p.record.op === 'unpublish'));
  if (dead.length === 0) return;
  // under the state lock, as publish changes the table: none slips in between
  await ctx.store.edit(async (st) => {
    if (Object.keys(st.networks).length === 0) await ctx.firewall.remove();
    else await ctx.firewall.repair(st, await networksWithForeignBridge(ctx, st));
  });
  // cleared once the table is right: a repair that fails leaves them for the next call or reconcile
  for (const p of dead) if (intentExists(p)) clearIntent(p);
}
