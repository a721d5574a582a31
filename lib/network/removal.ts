/**
 * Removing attachments: the part detach, detachAll, reconcile's garbage
 * collection and the recovery of interrupted operations share. Recorded in
 * the intent journal first; publications are updated before any link goes.
 * @module
 */
import * as path from 'node:path';
import { deleteNetns, NETNS_RUN_DIR } from '../netns/namespace';
import { ignoreMissing, ipamOf, type NetworkContext } from './context';
import { stepDone } from './fault';
import { beginIntent, type IntentNamespace } from './intents';
import { handOverSandboxes, sameSandbox } from './multi-network';
import { dropBackends } from './publishing';
import { identityAt } from './sandbox-identity';
import type { AttachmentRecord, NetworkRecord } from './state';

/**
 * Deletes the host ends of attachments in one request: their interface
 * group when all of the network's go, else after moving them to a scratch
 * group (the kernel tears the veth pairs down together instead of ~20 ms each).
 */
async function deleteHostLinks(ctx: NetworkContext, rec: NetworkRecord, atts: AttachmentRecord[], every: boolean): Promise<void> {
  let group = rec.group;
  if (!every) {
    group = rec.group + 0x8000;
    await Promise.all(atts.map((a) => ctx.host.links.set(a.hostIfname, { group }).catch(ignoreMissing)));
  }
  // Missing: the group is empty (the veths went with their namespaces, or someone deleted them).
  await ctx.host.links.deleteGroup(group).catch(ignoreMissing);
}

/**
 * Removes attachments, recorded first in the intent journal (a crash
 * anywhere is completed by reconcile): the sandboxes leave every publication
 * first (so no new connection is DNATed to a backend about to vanish), then
 * the host links go (their sandbox ends with them), then the leases, the
 * records, and the namespaces nlkit made — each only if it is still the
 * namespace that was attached.
 */
export async function removeAttachments(ctx: NetworkContext, rec: NetworkRecord, atts: AttachmentRecord[], every: boolean): Promise<void> {
  // A namespace nlkit made stays while another of the sandbox's networks is attached (that one inherits it).
  const st = await ctx.store.snapshot();
  const leaving = new Set(atts.map((a) => `${a.network}\0${a.id}`));
  const stillUsed = (a: AttachmentRecord) => sameSandbox(st, a.sandboxPath).some((o) => !leaving.has(`${o.network}\0${o.id}`));
  const owned = atts.filter((a) => a.ownsSandbox && a.sandboxName && !stillUsed(a));
  const ids = atts.map((a) => a.id);
  const intent = beginIntent(ctx.store.dir, {
    op: 'detach',
    network: rec.name,
    ids,
    hostIfnames: atts.map((a) => a.hostIfname),
    macs: atts.map((a) => a.mac),
    namespaces: owned.map((a) => ({ name: a.sandboxName as string, ...a.sandboxNs })),
  });
  try {
    stepDone('detach');
    await dropBackends(ctx, rec, new Set(ids));
    stepDone('detach');
    await deleteHostLinks(ctx, rec, atts, every);
    stepDone('detach');
    await ipamOf(ctx, rec).release(ids);
    stepDone('detach');
    await ctx.store.edit((s, edits) => {
      for (const a of atts) edits.removeAttachment(rec.name, a.id);
      handOverSandboxes(s, edits, atts);
    });
    stepDone('detach');
    for (const a of owned) await deleteOwnedNamespace({ name: a.sandboxName as string, ...a.sandboxNs });
    stepDone('detach');
  } catch (e) {
    intent.abandon(); // reconcile completes it
    throw e;
  }
  intent.done();
}

/** Deletes a namespace nlkit created, unless another namespace has taken its name since (then it is not ours to delete). */
export async function deleteOwnedNamespace(ns: IntentNamespace): Promise<void> {
  const now = identityAt(path.join(NETNS_RUN_DIR, ns.name));
  if (!now) return;
  if (ns.ino !== undefined && (now.ino !== ns.ino || now.dev !== ns.dev)) return;
  await deleteNetns(ns.name, { missingOk: true });
}
