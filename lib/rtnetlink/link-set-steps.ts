/**
 * `links.set` sends its changes in one RTM_NEWLINK, but alternative names and
 * bridge port options need requests of their own, sent after it (a rename or
 * a new master must come first). The kernel applies each request on its own:
 * a later one it refused left the first applied — the link brought up, its
 * MTU changed — while the call failed. So what would make a later request
 * fail is checked before anything is sent.
 * @module
 */
import { NotFoundError, ValidationError } from '../netlink/errors';
import type { Operation } from '../netlink/operation';
import { decodeLink } from './link-decode';
import { getLinkMessage } from './link-ref';
import type { Link, LinkRef, LinkSetOptions } from './link-types';

/** The index of the link holding `name` (as its name or an alternative name), if any. */
function* holderOf(name: string): Operation<number | undefined> {
  try {
    return decodeLink(yield* getLinkMessage(name)).index;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/**
 * Refuses, before anything is sent, the changes whose own request would be
 * refused after the main one was applied. `link` is the link as read before
 * the call; `master` the master's index when the call sets one.
 */
export function* checkLaterSteps(link: Link, changes: LinkSetOptions, master: LinkRef | null | undefined): Operation<void> {
  if (changes.port !== undefined) {
    if (changes.netns !== undefined) throw new ValidationError('port', changes.port, 'cannot be set while the link moves to another namespace (set it there)');
    if (master === null) throw new ValidationError('port', changes.port, 'cannot be set on a link released from its bridge in the same call');
    if (master !== undefined) {
      const m = decodeLink(yield* getLinkMessage(master));
      if (m.kind !== 'bridge') throw new ValidationError('port', changes.port, `needs a bridge as master; ${m.name} is ${m.kind ?? 'no bridge'}`);
    } else if (link.port === undefined) {
      throw new ValidationError('port', changes.port, `${link.name} is not a bridge port (give master in the same call)`);
    }
  }
  if (changes.altNames !== undefined) {
    const current = link.altNames ?? [];
    for (const [i, n] of changes.altNames.entries()) {
      if (current.includes(n)) continue;
      if (n === changes.name) throw new ValidationError(`altNames[${i}]`, n, 'is the name the link is renamed to');
      // The link's own name is free once the call renames it.
      if (n === link.name && changes.name !== undefined && changes.name !== n) continue;
      const holder = n === link.name ? link.index : yield* holderOf(n);
      if (holder !== undefined) {
        throw new ValidationError(`altNames[${i}]`, n, holder === link.index ? `is the link's own name` : `is a name of another link (index ${holder})`);
      }
    }
  }
}
