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
import { groupHoldsOnly, groupMembers, type ForeignMember } from './group-members';
import { verifiedHostVeths, warnForeign, type ForeignVeth } from './host-veth';
import { warnForeignMembers } from './foreign-link-warning';
import { SCRATCH_GROUP } from './veth-owner';
import { handOverSandboxes, sameSandbox } from './multi-network';
import { cutSandboxFlows } from './flows';
import { dropBackends } from './publishing';
import { identityAt } from './sandbox-identity';
import type { AttachmentRecord, NetworkRecord } from './state';

/**
 * Deletes the host ends of attachments, those verified to be still theirs,
 * by index: one alone directly, several after moving them to a scratch
 * group, deleted in one request (the kernel tears the veth pairs down
 * together instead of ~20 ms each). When all of the network's go, what is
 * theirs is found in one read of its interface group (group-members.ts),
 * else by one get per veth (host-veth.ts). Returns the links that carried a
 * recorded name, or sat in the group, but were not nlkit's: left untouched.
 */
async function deleteHostLinks(ctx: NetworkContext, rec: NetworkRecord, atts: AttachmentRecord[], every: boolean): Promise<Left> {
  if (!every) {
    const { indexes, foreign } = await verifiedHostVeths(ctx, rec, atts);
    await deleteByIndex(ctx, rec, [...indexes.values()], true);
    return { veths: foreign, members: [] };
  }
  const g = await groupMembers(ctx, rec, atts);
  // Attachments whose veth is not in the group: one get each (none in the common case).
  const { indexes, foreign } = g.elsewhere.length ? await verifiedHostVeths(ctx, rec, g.elsewhere) : { indexes: new Map<string, number>(), foreign: [] };
  await deleteByIndex(ctx, rec, [...new Set([...g.ours, ...indexes.values()])], g.scratchClean);
  return { veths: foreign, members: g.foreign };
}

/**
 * Deletes links by index: one directly; several through the scratch group,
 * deleted whole only if, re-read after the moves, nothing else is in it
 * (another's link put there, a concurrent detach's veths); else one by one.
 * `scratchClean` false (a foreign member already seen there): one by one.
 */
async function deleteByIndex(ctx: NetworkContext, rec: NetworkRecord, indexes: number[], scratchClean: boolean): Promise<void> {
  const oneByOne = () => Promise.all(indexes.map((i) => ctx.host.links.delete(i).catch(ignoreMissing)));
  if (indexes.length === 0) return;
  if (indexes.length === 1 || !scratchClean) {
    await oneByOne();
    return;
  }
  const group = rec.group + SCRATCH_GROUP;
  await Promise.all(indexes.map((i) => ctx.host.links.set(i, { group }).catch(ignoreMissing)));
  if (await groupHoldsOnly(ctx, group, indexes)) await ctx.host.links.deleteGroup(group).catch(ignoreMissing);
  else await oneByOne();
}

/** What a removal left untouched: links a recorded host veth name reached, and foreign members of the group. */
interface Left {
  veths: ForeignVeth[];
  members: ForeignMember[];
}

/**
 * Removes attachments, recorded first in the intent journal (a crash
 * anywhere is completed by reconcile): the sandboxes leave every publication
 * first (so no new connection is DNATed to a backend about to vanish), then
 * the host links go (their sandbox ends with them), then the conntrack
 * entries of the sandboxes' flows (their addresses are given out again),
 * the leases, the records, and the namespaces nlkit made — each only if it
 * is still the namespace that was attached. A host veth is deleted only if it is still the
 * attachment's (host-veth.ts): a link its recorded name now reaches is left
 * untouched, and a process warning (code NLKIT_FOREIGN_LINK_LEFT) says which and why.
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
  let left: Left = { veths: [], members: [] };
  try {
    stepDone('detach');
    await dropBackends(ctx, rec, new Set(ids));
    stepDone('detach');
    left = await deleteHostLinks(ctx, rec, atts, every);
    // Before the addresses are released: the next sandbox given one must not inherit its flows.
    await cutSandboxFlows(ctx.host, atts);
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
  warnForeign(rec, `detach from network ${rec.name}`, left.veths);
  warnForeignMembers(rec, `detach from network ${rec.name}`, left.members);
}

/** Deletes a namespace nlkit created, unless another namespace has taken its name since (then it is not ours to delete). */
export async function deleteOwnedNamespace(ns: IntentNamespace): Promise<void> {
  const now = identityAt(path.join(NETNS_RUN_DIR, ns.name));
  if (!now) return;
  if (ns.ino !== undefined && (now.ino !== ns.ino || now.dev !== ns.dev)) return;
  await deleteNetns(ns.name, { missingOk: true });
}
