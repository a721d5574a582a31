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

/** A link's identity with what tells its owner: its own name, alias and interface group. */
export type LinkOwnership = LinkIdentity & { name?: string; alias?: string; group?: number };

/**
 * One link's identity, name, alias and group by name or index (NotFoundError
 * as getLink): for checking that a link recorded earlier is still the one
 * that was made (lib/network/host-veth.ts), without the whole decode and the
 * lookups of its master's and peer's names that `links.get` adds.
 */
export function* getLinkOwnership(ref: LinkRef): Operation<LinkOwnership> {
  const m = yield* getLinkMessage(ref);
  const a = new Attributes(m.payload, C.IFINFOMSG_LEN);
  const out: LinkOwnership = linkIdentityOf(m);
  out.name = a.string(C.IFLA_IFNAME);
  out.alias = a.string(C.IFLA_IFALIAS) || undefined;
  out.group = a.u32(C.IFLA_GROUP);
  return out;
}
