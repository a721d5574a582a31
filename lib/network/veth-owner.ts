/**
 * Whether a link that an attachment's recorded host veth name reaches is
 * still that veth: called exactly that name (not an altname), a veth, with
 * the attachment's ownership mark — or, not marked yet, in the network's
 * group (an attach that died between creating the veth and marking it).
 * @module
 */
import { parseMark, vethMark } from './names';

/** Offset of the scratch group a partial detach moves its host veths to (removal.ts). */
export const SCRATCH_GROUP = 0x8000;

/** The network a host veth is checked against: its name, and its group when it is still recorded. */
export interface VethNetwork {
  name: string;
  group?: number;
}

/** What a host veth's name is checked against: the attachment's id. */
export interface HostVethRef {
  hostIfname: string;
  id: string;
}

/** What is read of a link to tell whose it is (a listed Link has it all). */
export interface LinkOwner {
  index: number;
  name?: string;
  kind?: string;
  alias?: string;
  group?: number;
}

/** Why `link` (found by `ref.hostIfname`) is not that attachment's host veth, or undefined when it is. */
export function notOurVeth(tag: string, rec: VethNetwork, ref: HostVethRef, link: LinkOwner): string | undefined {
  if (link.name !== ref.hostIfname) return `${link.name ?? '?'} (index ${link.index}) carries the name as an altname`;
  if (link.kind !== 'veth') return `${link.name} (index ${link.index}) is a ${link.kind ?? 'device'}, not nlkit's veth`;
  const want = vethMark(tag, rec.name, ref.id);
  if (link.alias === want) return undefined;
  const marked = parseMark(link.alias) !== undefined;
  // An attach that died between creating the veth (in the network's group) and marking it leaves it unmarked.
  if (!link.alias && rec.group !== undefined && (link.group === rec.group || link.group === rec.group + SCRATCH_GROUP)) return undefined;
  return `${link.name} (index ${link.index}) has alias ${JSON.stringify(link.alias ?? '')}${marked ? '' : ` and group ${link.group ?? '?'}`}, not "${want}"`;
}

/**
 * Whether a link in network `rec`'s group that no attachment claims is one of nlkit's veths of it (a stray
 * reconcile deletes): a veth with the network's mark. An unmarked veth is not, whatever its name: one made with
 * `ip` and named like nlkit's host veths ("nv" + 12 hex) would pass for one. nlkit's unmarked veths are those of
 * attaches that died before marking them, and their intents name them: reconcile undoes those attaches (and
 * deletes their veths) before it looks for strays, and leaves a live attach's alone. Anything else someone put
 * into the group is not nlkit's: detach and reconcile leave it, with a warning (group-members.ts, reconcile.ts).
 */
export function isStrayVeth(tag: string, rec: VethNetwork, link: LinkOwner): boolean {
  return link.group === rec.group && isMarkedVethOf(tag, rec, link);
}

/** A veth carrying network `rec`'s mark of an attachment (in whatever group: a detach moves its veths to the scratch group). */
export function isMarkedVethOf(tag: string, rec: { name: string }, link: LinkOwner): boolean {
  if (link.kind !== 'veth') return false;
  const mark = parseMark(link.alias);
  return mark?.tag === tag && mark.network === rec.name && mark.id !== undefined;
}

/** Why a member of a network's interface group is not one of nlkit's veths of it (the text of the warning that it was left). */
export function foreignMemberReason(l: LinkOwner): string {
  return `a ${l.kind ?? 'device'} with alias ${JSON.stringify(l.alias ?? '')}, not one of nlkit's veths of this network`;
}
