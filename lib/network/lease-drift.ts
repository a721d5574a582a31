/**
 * Address leases nobody holds: a lease whose owner is not attached and is
 * not being attached or detached by a running operation leaked (a rollback
 * that failed, a crash before this version kept an intent journal). check()
 * reports each as `leaked-lease`; reconcile() releases it.
 * @module
 */
import { ipamOf, type NetworkContext } from './context';
import { pendingIntents } from './intents';
import type { Drift } from './reconcile';
import { withSandboxLocks } from './sandbox-lock';
import type { HostState, NetworkRecord } from './state';

/** Ids that running operations are attaching or detaching, per network. */
function idsInFlight(ctx: NetworkContext): Set<string> {
  return new Set(
    pendingIntents(ctx.store.dir)
      .filter((p) => p.live)
      .flatMap((p) => (p.record.ids ?? []).map((id) => `${p.record.network}\0${id}`)),
  );
}

/** The owners of a network's leases that hold no attachment. */
async function unattachedOwners(ctx: NetworkContext, st: HostState, rec: NetworkRecord, busy: Set<string>): Promise<string[]> {
  const attached = st.attachments[rec.name] ?? {};
  const owners = new Set(Object.values(await ipamOf(ctx, rec).list()));
  return [...owners].filter((o) => !(o in attached) && !busy.has(`${rec.name}\0${o}`));
}

/** One drift entry per leaked lease owner. */
export async function checkLeases(ctx: NetworkContext, st: HostState): Promise<Drift[]> {
  const busy = idsInFlight(ctx);
  const out: Drift[] = [];
  for (const rec of Object.values(st.networks)) {
    for (const id of await unattachedOwners(ctx, st, rec, busy)) {
      out.push({ network: rec.name, id, kind: 'leaked-lease', detail: `${id} holds an address on ${rec.name} but is not attached` });
    }
  }
  return out;
}

/** Releases the leases of owners that are still not attached (under their locks: an attach may have come meanwhile). */
export async function releaseLeaked(ctx: NetworkContext, rec: NetworkRecord, ids: string[]): Promise<void> {
  await withSandboxLocks(ctx.store.dir, rec.name, ids, async () => {
    const st = await ctx.store.snapshot();
    const still = new Set(await unattachedOwners(ctx, st, rec, idsInFlight(ctx)));
    const leaked = ids.filter((id) => still.has(id));
    if (leaked.length) await ipamOf(ctx, rec).release(leaked);
  });
}
