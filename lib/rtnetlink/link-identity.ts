/**
 * A link's index, kind and parent read from one RTM_GETLINK reply without
 * decoding the whole link: for internal paths that need no more (an attach's
 * bridge check and veth read-back, lib/network/attachments.ts). A bridge's
 * full decode is dozens of attributes, flag names and an object per field;
 * this is three attribute reads.
 * @internal
 * @module
 */
import { Attributes } from '../netlink/parser';
import type { Operation } from '../netlink/operation';
import { s32At } from '../netlink/parser';
import * as C from './constants';
import { getLinkMessage } from './link';
import type { LinkRef } from './link-types';

/** What {@link getLinkIdentity} reads: the same values as the decoded link's `index`, `kind` and `parentIndex`. */
export interface LinkIdentity {
  index: number;
  kind?: string;
  /** IFLA_LINK (a veth's peer, a vlan's parent), as decodeLink sets it. */
  parentIndex?: number;
}

/** One link's identity by name or index; NotFoundError as getLink. */
export function* getLinkIdentity(ref: LinkRef): Operation<LinkIdentity> {
  const p = (yield* getLinkMessage(ref)).payload;
  const a = new Attributes(p, C.IFINFOMSG_LEN);
  const out: LinkIdentity = { index: s32At(p, 4), kind: a.nested(C.IFLA_LINKINFO)?.string(C.IFLA_INFO_KIND) || undefined, parentIndex: undefined };
  const parent = a.u32(C.IFLA_LINK);
  // As decodeLink: iflink == ifindex means no parent, unless the parent is in another namespace.
  if (parent !== undefined && (parent !== out.index || a.s32(C.IFLA_LINK_NETNSID) !== undefined)) out.parentIndex = parent;
  return out;
}
