/**
 * What is in a network's interface group when all of its sandboxes go
 * (detach of every one, detachAll, network delete). The group is where
 * nlkit puts its host veths, but anyone can put a link there (`ip link set
 * X group N`): deleting the group whole would take that link with it. So
 * the group is read (one link dump: the kernel filters a dump by master and
 * kind, not by group; iproute2's `ip link show group N` filters in
 * userspace too) and only nlkit's veths of the attachments that go are
 * deleted, by index; any other member is left, with a warning.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { dumpCollected, type Operation } from '../netlink/operation';
import { Attributes } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import * as C from '../rtnetlink/constants';
import { linkIdentityOf } from '../rtnetlink/link-added';
import type { LinkOwnership } from '../rtnetlink/link-identity';
import { ifinfomsg } from '../rtnetlink/link-ref';
import type { NetworkContext } from './context';
import { pendingIntents } from './intents';
import { parseMark } from './names';
import type { AttachmentRecord, NetworkRecord } from './state';
import { foreignMemberReason, notOurVeth, SCRATCH_GROUP } from './veth-owner';

/** The links of `groups` (identity, name, alias, group), in one dump without statistics; other links are not decoded. */
function* listGroupMembers(groups: readonly number[]): Operation<LinkOwnership[]> {
  const w = new NetlinkWriter().begin(C.RTM_GETLINK, NLM_F_DUMP);
  ifinfomsg(w);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  return yield* dumpCollected(w.end().finish(), `list links of group ${groups.join(', ')}`, (m) => {
    if (m.type !== C.RTM_NEWLINK) return undefined;
    const a = new Attributes(m.payload, C.IFINFOMSG_LEN);
    const group = a.u32(C.IFLA_GROUP);
    if (group === undefined || !groups.includes(group)) return undefined;
    const out: LinkOwnership = linkIdentityOf(m);
    out.name = a.string(C.IFLA_IFNAME);
    out.alias = a.string(C.IFLA_IFALIAS) || undefined;
    out.group = group;
    return out;
  });
}

/** A member of a network's group that is not nlkit's, left untouched. */
export interface ForeignMember {
  index: number;
  name?: string;
  reason: string;
}

/** The group's members sorted: nlkit's veths of `atts` to delete, links that are not nlkit's, and attachments not found in it. */
export interface GroupMembers {
  /** Indexes of the attachments' host veths (and of dead attaches' unmarked ones), verified. */
  ours: number[];
  foreign: ForeignMember[];
  /** Attachments whose host veth is not in the group (gone with its namespace, or moved out): checked by name. */
  elsewhere: AttachmentRecord[];
  /** Whether the scratch group holds only nlkit's veths (it is then safe to delete it whole). */
  scratchClean: boolean;
}

/**
 * Reads the network's group (and its scratch group) and sorts its members.
 * A member is deleted if it is the host veth of one of `atts` (notOurVeth:
 * exact name, veth, the attachment's mark, or unmarked in the group), or an
 * unmarked veth that a dead attach of this network named in its intent (it
 * died before marking it). nlkit's marked veths of this network for other
 * ids (an attach under way, a stray for reconcile) and unmarked ones a live
 * attach named are left silently; everything else is foreign.
 */
export async function groupMembers(ctx: NetworkContext, rec: NetworkRecord, atts: AttachmentRecord[]): Promise<GroupMembers> {
  const scratch = rec.group + SCRATCH_GROUP;
  const members = await ctx.host.run(listGroupMembers([rec.group, scratch]));
  const byName = new Map(atts.map((a) => [a.hostIfname, a]));
  const tag = ctx.store.tag;
  const out: GroupMembers = { ours: [], foreign: [], elsewhere: [], scratchClean: true };
  const found = new Set<string>();
  let intents: Map<string, boolean> | undefined; // host veth name → its attach is live; read only if needed
  for (const l of members) {
    const att = l.name === undefined ? undefined : byName.get(l.name);
    if (att && notOurVeth(tag, rec, att, l) === undefined) {
      out.ours.push(l.index);
      found.add(att.id);
      continue;
    }
    const mark = parseMark(l.alias);
    if (l.kind === 'veth' && mark?.tag === tag && mark.network === rec.name && mark.id !== undefined) continue;
    if (l.kind === 'veth' && !l.alias && l.name !== undefined) {
      intents ??= attachIntents(ctx, rec.name);
      const live = intents.get(l.name);
      if (live === false) out.ours.push(l.index);
      if (live !== undefined) continue;
    }
    out.foreign.push({ index: l.index, name: l.name, reason: foreignMemberReason(l) });
    if (l.group === scratch) out.scratchClean = false;
  }
  out.elsewhere = atts.filter((a) => !found.has(a.id));
  return out;
}

/**
 * Whether `group` now holds no link but `indexes` (one dump): read after
 * moving them there and right before deleting the group whole, so a link
 * someone put there before or meanwhile is not deleted with them. What is
 * left is the instant between this read and the delete: the kernel has no
 * delete of several links by index, nor a conditional group delete.
 */
export async function groupHoldsOnly(ctx: NetworkContext, group: number, indexes: readonly number[]): Promise<boolean> {
  const mine = new Set(indexes);
  return (await ctx.host.run(listGroupMembers([group]))).every((l) => mine.has(l.index));
}

/** The host veths that attaches of `network` recorded in their intents, and whether each attach still runs. */
function attachIntents(ctx: NetworkContext, network: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const p of pendingIntents(ctx.store.dir)) {
    if (p.record.op !== 'attach' || p.record.network !== network) continue;
    for (const name of p.record.hostIfnames ?? []) out.set(name, p.live || out.get(name) === true);
  }
  return out;
}
