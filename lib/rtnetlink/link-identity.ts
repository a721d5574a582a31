/**
 * A link's index, kind, parent and name read from one RTM_GETLINK reply without
 * decoding the whole link: for internal paths that need no more (an attach's
 * bridge check, lib/network/attachments.ts). A bridge's full decode is
 * dozens of attributes, flag names and an object per field; this is three
 * attribute reads (link-added.ts).
 * @internal
 * @module
 */
import type { Operation } from '../netlink/operation';
import { Attributes } from '../netlink/parser';
import * as C from './constants';
import { getLinkMessage } from './link-ref';
import { linkIdentityOf, type LinkIdentity } from './link-added';
import type { LinkRef } from './link-types';

export type { LinkIdentity } from './link-added';

/**
 * One link's identity by name or index; NotFoundError as getLink. `name` is
 * the link's own name: the kernel's lookup by name also matches an altname,
 * so a caller that wants the link *called* X compares it.
 */
export function* getLinkIdentity(ref: LinkRef): Operation<LinkIdentity & { name?: string }> {
  const m = yield* getLinkMessage(ref);
  const id: LinkIdentity & { name?: string } = linkIdentityOf(m);
  id.name = new Attributes(m.payload, C.IFINFOMSG_LEN).string(C.IFLA_IFNAME);
  return id;
}
