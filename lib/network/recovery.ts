/**
 * Finishing operations that a dead process left halfway, from their intent
 * records (intents.ts): what builds is undone (attach, create: the caller
 * never got a result), what tears down is completed (detach, delete), and
 * for publish and unpublish the state file decides (it is written after the
 * kernel, so it names what was done) and nlkit's table is rewritten from
 * it. Every step tolerates what is already gone, so recovering twice (a
 * reconcile that died itself) is harmless.
 * @module
 */
import { ignoreMissing, ipamOf, type NetworkContext } from './context';
import { deleteOwnedNamespace, removeAttachments } from './attachments';
import { clearIntent, intentExists, pendingIntents, type IntentRecord, type PendingIntent } from './intents';
import { deleteNetwork, repairFirewall } from './lifecycle';
import type { Drift } from './reconcile';
import { withSandboxLocks } from './sandbox-lock';
import type { AttachmentRecord, NetworkRecord } from './state';

function describe(r: IntentRecord): string {
  const what = r.ids?.join(', ') ?? r.publication ?? r.bridge ?? '';
  return `${r.op} ${what} on ${r.network || 'this host'} by process ${r.pid} (started ${r.started}) did not finish`.replace('  ', ' ');
}

/** A drift entry for an interrupted operation. */
function driftOf(p: PendingIntent): Drift {
  const r = p.record;
  return { network: r.network, id: r.ids?.length === 1 ? r.ids[0] : undefined, kind: `interrupted-${r.op}`, detail: describe(r) };
}

/** The operations whose process died before they finished. */
export function interrupted(ctx: NetworkContext): Drift[] {
  return pendingIntents(ctx.store.dir)
    .filter((p) => !p.live)
    .map(driftOf);
}

/** Host veths that running operations are creating or deleting (not strays). */
export function inFlightVeths(ctx: NetworkContext): Set<string> {
  return new Set(
    pendingIntents(ctx.store.dir)
      .filter((p) => p.live)
      .flatMap((p) => p.record.hostIfnames ?? []),
  );
}

/**
 * Undoes (attach) or completes (detach) an attachment operation, under the
 * attachments' locks. An attachment recorded under one of its ids is removed
 * only if it is the one this operation made or meant (its MAC): one a later
 * attach made under the same id, after the crash, is left alone, and so are
 * the veth, lease and namespace it now uses.
 */
async function recoverAttachments(ctx: NetworkContext, p: PendingIntent): Promise<void> {
  const r = p.record;
  const ids = r.ids ?? [];
  await withSandboxLocks(ctx.store.dir, r.network, ids, async () => {
    if (!intentExists(p)) return; // recovered meanwhile (another reconcile)
    const st = await ctx.store.snapshot();
    const rec = st.networks[r.network] as NetworkRecord | undefined;
    const all: Partial<Record<string, AttachmentRecord>> = st.attachments[r.network] ?? {};
    const ours: AttachmentRecord[] = [];
    const unrecorded: number[] = [];
    ids.forEach((id, i) => {
      const att = all[id];
      if (!att) unrecorded.push(i);
      else if (r.macs?.[i] === undefined || att.mac === r.macs[i]) ours.push(att);
    });
    if (rec && ours.length) await removeAttachments(ctx, rec, ours, false);
    // What no record names any more: the links and leases of the ids nobody holds now.
    const veths = unrecorded.map((i) => r.hostIfnames?.[i]).filter((n) => n !== undefined);
    await Promise.all(veths.map((n) => ctx.host.links.delete(n).catch(ignoreMissing)));
    if (rec && unrecorded.length) await ipamOf(ctx, rec).release(unrecorded.map((i) => ids[i]));
    const inUse = new Set(Object.values((await ctx.store.snapshot()).attachments[r.network] ?? {}).map((a) => a.sandboxName));
    for (const ns of r.namespaces ?? []) if (!inUse.has(ns.name)) await deleteOwnedNamespace(ns);
  });
}

async function recoverOne(ctx: NetworkContext, p: PendingIntent): Promise<void> {
  const r = p.record;
  const recorded = r.network in (await ctx.store.snapshot()).networks;
  switch (r.op) {
    case 'attach':
    case 'detach':
      return recoverAttachments(ctx, p);
    case 'create':
    case 'delete':
      // An interrupted create is undone like an interrupted delete is completed: the network goes.
      if (recorded) await deleteNetwork(ctx, r.network, true);
      else if (r.op === 'delete' && r.bridge) await ctx.host.links.delete(r.bridge).catch(ignoreMissing);
      for (const ns of r.namespaces ?? []) await deleteOwnedNamespace(ns);
      return;
    case 'publish':
    case 'unpublish':
      return; // the table is rewritten from the state below
  }
}

/** Completes or undoes every operation whose process died; returns what it found. */
export async function recoverInterrupted(ctx: NetworkContext): Promise<Drift[]> {
  const dead = pendingIntents(ctx.store.dir).filter((p) => !p.live);
  if (dead.length === 0) return [];
  for (const p of dead) {
    await recoverOne(ctx, p);
    clearIntent(p);
  }
  // nlkit's table as the state says: elements a dead publish added without recording them go, removed ones come back.
  const st = await ctx.store.snapshot();
  if (Object.keys(st.networks).length === 0) await ctx.firewall.remove();
  else await repairFirewall(ctx, st);
  return dead.map(driftOf);
}
