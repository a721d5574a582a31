/**
 * A link's index, kind, parent, name, alias, group and MAC read from one
 * RTM_GETLINK reply without decoding the whole link: for internal paths that
 * need no more (an attach's bridge proof, lib/network/attach-veth.ts; a host
 * veth's check, lib/network/host-veth.ts). A bridge's full decode is dozens
 * of attributes, flag names and an object per field; this is a few
 * attribute reads (link-added.ts).
 * @internal
 * @module
 */
import type { Operation } from '../netlink/operation';
import { Attributes } from '../netlink/parser';
import { formatMac } from '../validate/ip';
import * as C from './constants';
import { getLinkMessage } from './link-ref';
import { linkIdentityOf, type LinkIdentity } from './link-added';
import type { LinkRef } from './link-types';

export type { LinkIdentity } from './link-added';

/** A link's identity with what tells its owner: its own name, alias, interface group and MAC. */
export type LinkOwnership = LinkIdentity & { name?: string; alias?: string; group?: number; mac?: string };

/**
 * One link's identity, name, alias, group and MAC by name or index
 * (NotFoundError as getLink): for checking that a link recorded earlier is
 * still the one that was made (a host veth, lib/network/host-veth.ts; an
 * attach's bridge, lib/network/attach-veth.ts), without the whole decode and
 * the lookups of its master's and peer's names that `links.get` adds.
 */
export function* getLinkOwnership(ref: LinkRef): Operation<LinkOwnership> {
  const m = yield* getLinkMessage(ref);
  const a = new Attributes(m.payload, C.IFINFOMSG_LEN);
  const out: LinkOwnership = linkIdentityOf(m);
  out.name = a.string(C.IFLA_IFNAME);
  out.alias = a.string(C.IFLA_IFALIAS) || undefined;
  out.group = a.u32(C.IFLA_GROUP);
  const mac = a.get(C.IFLA_ADDRESS);
  if (mac) out.mac = formatMac(mac);
  return out;
}
