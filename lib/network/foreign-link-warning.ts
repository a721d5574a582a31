/**
 * The process warning (an NlkitWarning, code NLKIT_FOREIGN_LINK_LEFT) that
 * says nlkit left a link it found where it expected its own: in a network's
 * interface group (detach, reconcile), or under a network's bridge name
 * (network delete, reconcile). No imports: reconcile, removal and the
 * bridge's delete all use it without depending on each other.
 * @module
 */

/** The code of the process warning emitted when nlkit leaves a link that is not its own. */
export const FOREIGN_LINK_WARNING = 'NLKIT_FOREIGN_LINK_LEFT';

/** Emits the warning. */
export function warnForeignLink(message: string): void {
  process.emitWarning(message, { type: 'NlkitWarning', code: FOREIGN_LINK_WARNING });
}

/** Tells the process about links in a network's interface group that are not nlkit's, left in place. */
export function warnForeignMembers(rec: { name: string }, op: string, members: Array<{ index: number; name?: string; reason: string }>): void {
  for (const m of members) warnForeignLink(`${op}: ${m.name ?? '?'} (index ${m.index}), in network ${rec.name}'s interface group, left untouched: ${m.reason}`);
}

/** Tells the process that the link network `ref.network`'s bridge name reached was left in place, and why. */
export function warnForeignBridge(ref: { network: string; bridge: string }, op: string, reason: string): void {
  warnForeignLink(`${op}: ${ref.bridge}, network ${ref.network}'s bridge name, reaches a link nlkit left untouched: ${reason}`);
}
