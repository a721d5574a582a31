/**
 * Settling the publish, unpublish and setBackends operations a dead process
 * left halfway, before the next attach, detach or publish: the state file is
 * written after the kernel, so it names what was done, and nlkit's table is
 * rewritten from it. Left to reconcile alone, an element a dead publish
 * added without recording it stayed through the detach of its backend (a
 * host port DNATed to an address the next sandbox gets) and made every
 * later publish of that port fail with EEXIST.
 * @module
 */
import type { NetworkContext } from './context';
import { repairFirewall } from './firewall-repair';
import { clearIntent, intentExists, pendingIntents, type PendingIntent } from './intents';

/**
 * Rewrites nlkit's table from the state if a publish, unpublish or setBackends died (`dead`: the dead processes'
 * intents, when the caller has read them); one directory read when none did.
 */
export async function settleInterruptedPublications(
  ctx: NetworkContext,
  dead: PendingIntent[] = pendingIntents(ctx.store.dir, { liveJournals: false }).filter((p) => !p.live),
): Promise<void> {
  const publishing = dead.filter((p) => p.record.op === 'publish' || p.record.op === 'unpublish');
  if (publishing.length === 0) return;
  // under the state lock, as publish changes the table: none slips in between
  await repairFirewall(ctx);
  // cleared once the table is right: a repair that fails leaves them for the next call or reconcile
  for (const p of publishing) if (intentExists(p)) clearIntent(p);
}
