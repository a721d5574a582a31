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
import type { NetworkContext } from './context';
import { settleInterrupted } from './attachment-recovery';
import { clearIntent, intentExists, pendingIntents, type IntentRecord, type PendingIntent } from './intents';
import { deleteOwnedNamespace } from './removal';
import { deleteNetwork } from './lifecycle';
import { repairFirewall } from './firewall-repair';
import { warnForeignBridge } from './foreign-link-warning';
import { deleteNetworkBridge } from './network-bridge';
import type { Drift } from './reconcile';
import { withLifecycleLock, withSandboxLocks } from './sandbox-lock';

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

/** Recovers an interrupted attach or detach under the locks of its ids. */
async function recoverAttachments(ctx: NetworkContext, p: PendingIntent): Promise<void> {
  await withSandboxLocks(ctx.store.dir, p.record.network, p.record.ids ?? [], () => settleInterrupted(ctx, p));
}

/**
 * Undoes an interrupted create like it completes an interrupted delete: the
 * network goes. The caller holds the lifecycle lock.
 */
async function settleLifecycle(ctx: NetworkContext, p: PendingIntent): Promise<void> {
  if (!intentExists(p)) return; // another process settled it while this one waited for the lock (and may have created the network anew)
  const r = p.record;
  if (r.network in (await ctx.store.snapshot()).networks) await deleteNetwork(ctx, r.network, true);
  else if (r.op === 'delete' && r.bridge) {
    // The record is gone, and its bridge's MAC with it: only a bridge with the network's mark is proven nlkit's.
    const bridge = { network: r.network, bridge: r.bridge };
    const left = await deleteNetworkBridge(ctx, bridge);
    if (left !== undefined) warnForeignBridge(bridge, `recover delete of network ${r.network}`, left);
  }
  for (const ns of r.namespaces ?? []) await deleteOwnedNamespace(ns);
  clearIntent(p);
}

/**
 * Settles a dead create or delete of `network` before a create looks at its
 * record (which such a create left half-built). The caller holds the
 * lifecycle lock.
 */
export async function settleInterruptedLifecycle(ctx: NetworkContext, network: string): Promise<void> {
  const dead = pendingIntents(ctx.store.dir).filter((p) => !p.live && p.record.network === network && (p.record.op === 'create' || p.record.op === 'delete'));
  for (const p of dead) await settleLifecycle(ctx, p);
}

async function recoverOne(ctx: NetworkContext, p: PendingIntent): Promise<void> {
  switch (p.record.op) {
    case 'attach':
    case 'detach':
      return recoverAttachments(ctx, p); // records its end itself, under the locks
    case 'create':
    case 'delete':
      // under the lock creates and deletes hold: a create running now must not see its network deleted under it
      return withLifecycleLock(ctx.store.dir, () => settleLifecycle(ctx, p));
    case 'publish':
    case 'unpublish':
      clearIntent(p); // the table is rewritten from the state below
      return;
  }
}

/** Completes or undoes every operation whose process died; returns what it found. */
export async function recoverInterrupted(ctx: NetworkContext): Promise<Drift[]> {
  const dead = pendingIntents(ctx.store.dir).filter((p) => !p.live);
  if (dead.length === 0) return [];
  for (const p of dead) await recoverOne(ctx, p);
  // nlkit's table as the state says: elements a dead publish added without recording them go, removed ones come back.
  await repairFirewall(ctx);
  return dead.map(driftOf);
}
