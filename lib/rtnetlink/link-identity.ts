/**
 * A link's index, kind and parent read from one RTM_GETLINK reply without
 * decoding the whole link: for internal paths that need no more (an attach's
 * bridge check, lib/network/attachments.ts). A bridge's full decode is
 * dozens of attributes, flag names and an object per field; this is three
 * attribute reads (link-added.ts).
 * @internal
 * @module
 */
import type { Operation } from '../netlink/operation';
import { getLinkMessage } from './link';
import { linkIdentityOf, type LinkIdentity } from './link-added';
import type { LinkRef } from './link-types';

export type { LinkIdentity } from './link-added';

/** One link's identity by name or index; NotFoundError as getLink. */
export function* getLinkIdentity(ref: LinkRef): Operation<LinkIdentity> {
  return linkIdentityOf(yield* getLinkMessage(ref));
}
