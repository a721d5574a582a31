/**
 * What the kernel says about one link in an RTM_NEWLINK message, read from
 * its header and two attributes without decoding the whole link: the echo of
 * a create (NLM_F_ECHO, Linux ≥ 6.3) that `links.add()` turns into its
 * result, and an internal lookup's reply (link-identity.ts).
 * @module
 */
import { Attributes, s32At, type NetlinkMessage } from '../netlink/parser';
import * as C from './constants';

/**
 * What `links.add()` resolves to: the indexes the kernel gave the new link,
 * for requests by index that follow (no lookup by name).
 */
export interface LinkAdded {
  /**
   * The new link's interface index. Absent only when `netns` created the
   * link in another namespace: the kernel reports it there, not to this handle.
   */
  index?: number;
  /**
   * A veth's peer's index, in the peer's namespace (`peer.netns`, else this
   * one): what the peer is addressed by there. Absent for other kinds.
   */
  peerIndex?: number;
}

/** Index, kind and parent of a link: the same values as the decoded link's `index`, `kind` and `parentIndex`. @internal */
export interface LinkIdentity {
  index: number;
  kind?: string;
  /** IFLA_LINK (a veth's peer, a vlan's parent), as decodeLink sets it. */
  parentIndex?: number;
}

/** Reads a link's identity from one RTM_NEWLINK message. @internal */
export function linkIdentityOf(m: NetlinkMessage): LinkIdentity {
  const p = m.payload;
  const a = new Attributes(p, C.IFINFOMSG_LEN);
  const out: LinkIdentity = { index: s32At(p, 4), kind: a.nested(C.IFLA_LINKINFO)?.string(C.IFLA_INFO_KIND) || undefined, parentIndex: undefined };
  const parent = a.u32(C.IFLA_LINK);
  // As decodeLink: iflink == ifindex means no parent, unless the parent is in another namespace.
  if (parent !== undefined && (parent !== out.index || a.s32(C.IFLA_LINK_NETNSID) !== undefined)) out.parentIndex = parent;
  return out;
}

/**
 * The result of creating a link of `kind`, from the kernel's echo or a read-back:
 * IFLA_LINK is a veth's peer (another kind's is its parent, which the caller named).
 * @internal
 */
export function addedOf(m: NetlinkMessage, kind: string): LinkAdded {
  if (kind !== 'veth') return { index: s32At(m.payload, 4) }; // the header alone
  const { index, parentIndex } = linkIdentityOf(m);
  return parentIndex !== undefined ? { index, peerIndex: parentIndex } : { index };
}
