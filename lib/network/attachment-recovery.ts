/**
 * Finishing an attach or detach that a dead process left halfway (from its
 * intent), with the attachments' locks held: an interrupted attach is undone,
 * an interrupted detach completed. reconcile() does it for every such
 * operation; attach and detach do it first for the ids they are given, so
 * attaching a sandbox again right after a crash works without a reconcile
 * (the dead attempt's veth, lease and namespace are gone first).
 * @module
 */
import { ipamOf, type NetworkContext } from './context';
import { clearIntent, intentExists, pendingIntents, type IntentNamespace, type PendingIntent } from './intents';
import { settleInterruptedPublications } from './publication-recovery';
import { deleteHostVeths, warnForeign } from './host-veth';
import { deleteOwnedNamespace, removeAttachments } from './removal';
import type { AttachmentRecord, HostState, NetworkRecord } from './state';

/**
 * Undoes (attach) or completes (detach) one interrupted attachment
 * operation; the caller holds the locks of all its ids. An attachment
 * recorded under one of its ids is removed only if it is the one this
 * operation made or meant (its MAC): one a later attach made under the same
 * id is left alone, and so are the veth, lease and namespace it now uses.
 * Returns false if the intent was recovered meanwhile (nothing done).
 */
export async function settleInterrupted(ctx: NetworkContext, p: PendingIntent): Promise<boolean> {
  if (!intentExists(p)) return false; // recovered meanwhile (another reconcile)
  const r = p.record;
  const ids = r.ids ?? [];
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
  // Each only if it is still the one this operation made (its mark, or unmarked in the network's group).
  const veths = unrecorded.flatMap((i) => (r.hostIfnames?.[i] === undefined ? [] : [{ id: ids[i], hostIfname: r.hostIfnames[i] }]));
  // The network's record may be gone (deleted meanwhile): the group the attach recorded still tells its unmarked veth.
  const net = rec ?? { name: r.network, group: r.group };
  if (veths.length) warnForeign(net, `recover ${r.op} on network ${r.network}`, await deleteHostVeths(ctx, net, veths));
  if (rec && unrecorded.length) await ipamOf(ctx, rec).release(unrecorded.map((i) => ids[i]));
  for (const ns of r.namespaces ?? []) await settleNamespace(ctx, ns);
  clearIntent(p);
  return true;
}

/** The attachments, of any network, in the sandbox of that name. */
function usersOf(st: HostState, name: string): AttachmentRecord[] {
  return Object.values(st.attachments).flatMap((atts) => Object.values(atts).filter((a) => a.sandboxName === name));
}

/**
 * A namespace the operation made (attach) or meant to delete (detach) goes unless a sandbox's attachment uses it
 * now, in any network (another network's attach may have found it there meanwhile): then one of them inherits it,
 * if none owns it, so that it goes with the sandbox's last network as one nlkit made.
 */
async function settleNamespace(ctx: NetworkContext, ns: IntentNamespace): Promise<void> {
  if (usersOf(await ctx.store.snapshot(), ns.name).length === 0) return deleteOwnedNamespace(ns);
  await ctx.store.edit((s, edits) => {
    const users = usersOf(s, ns.name);
    if (users.length > 0 && !users.some((a) => a.ownsSandbox)) edits.putAttachment({ ...users[0], ownsSandbox: true });
  });
}

/**
 * Settles the interrupted attach/detach operations of a dead process that
 * concern only the given ids of a network (the caller holds their locks),
 * and every dead publish, unpublish or setBackends: its table elements may
 * send a host port to an address that this detach is about to release (or
 * that this attach is about to be given), for the next sandbox to get.
 * One directory read when there are none.
 */
export async function settleInterruptedOf(ctx: NetworkContext, network: string, ids: string[]): Promise<void> {
  const mine = new Set(ids);
  const dead = pendingIntents(ctx.store.dir, { liveJournals: false }).filter((p) => !p.live);
  for (const p of dead) {
    if ((p.record.op === 'attach' || p.record.op === 'detach') && p.record.network === network && (p.record.ids ?? []).every((id) => mine.has(id)))
      await settleInterrupted(ctx, p);
  }
  await settleInterruptedPublications(ctx, dead);
}
