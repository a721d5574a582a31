/**
 * Names of interface indexes (resolveLinkNames): read objects of other kinds
 * (routes, addresses, neighbours...) carry indexes only. Only the name is
 * decoded from each link: the first dump of a new process names its objects'
 * links with this, and decodeLink would be compiled and interpreted for it.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { NotFoundError } from '../netlink/errors';
import { call, dump, linkNamesOnSocket, type Operation } from '../netlink/operation';
import { Attributes, s32At } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import * as C from './constants';
import { notFoundOn, type MissingCodes } from './not-found';

/** The kernel's "no such link". */
const LINK_MISSING: MissingCodes = { ENODEV: 'link' };

/** An ifinfomsg naming link `index` (0: any), as link.ts writes it. */
function ifinfomsg(w: NetlinkWriter, index = 0): void {
  w.view.writeInt32LE(index, w.struct(C.IFINFOMSG_LEN) + 4);
}

/** The name of one link (undefined: no reply for it). */
function* getLinkName(index: number): Operation<string | undefined> {
  const w = new NetlinkWriter().begin(C.RTM_GETLINK, 0);
  ifinfomsg(w, index);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  const replies = yield* notFoundOn(LINK_MISSING, call(w.end().finish(), `get link ${index}`));
  const m = replies.find((r) => r.type === C.RTM_NEWLINK);
  // As decodeLink: a link without IFLA_IFNAME is named ''.
  return m ? (new Attributes(m.payload, C.IFINFOMSG_LEN).string(C.IFLA_IFNAME) ?? '') : undefined;
}

/** Index → name of every link of the namespace: one dump, statistics skipped, only names decoded. */
function* dumpLinkNames(): Operation<Map<number, string>> {
  const w = new NetlinkWriter().begin(C.RTM_GETLINK, NLM_F_DUMP);
  ifinfomsg(w);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  const names = new Map<number, string>();
  for (const m of yield* dump(w.end().finish(), 'list link names')) {
    if (m.type !== C.RTM_NEWLINK) continue;
    const name = new Attributes(m.payload, C.IFINFOMSG_LEN).string(C.IFLA_IFNAME);
    if (name !== undefined) names.set(s32At(m.payload, 4), name);
  }
  return names;
}

/** Up to this many unknown indexes are looked up one by one; more take one link dump. */
const NAME_LOOKUPS_BEFORE_DUMP = 8;
/**
 * Up to this many are read on the handle's socket (~1 µs each, on the event
 * loop); more take the link dump, which does not hold the event loop as long.
 */
const SOCKET_READS_BEFORE_DUMP = 64;

/**
 * Names of interface indexes, for read objects the kernel gives indexes
 * only. Indexes in `known` cost nothing. Up to 64 others are read on the
 * handle's own socket (ioctl SIOCGIFNAME, ~1 µs each, no request) when the
 * handle has one open; otherwise up to 8 cost one RTM_GETLINK each (~20-60
 * µs). More cost one link dump (~0.15 ms with 10 links, ~4 ms with 1,000).
 * Either way the names are those of this moment, in the handle's namespace;
 * a link gone meanwhile has no name. Read on the socket, they do not wait for
 * requests queued on the handle after the list's dump: a rename the kernel
 * has not processed yet (e.g. `links.set('a', { name: 'b' })` begun in the same
 * tick, whose RTM_NEWLINK follows its own RTM_GETLINK) may still show 'a',
 * as the dump (answered before it too) does. A request queued before the list is
 * answered before the dump is, so its effect is always seen.
 * @example
 * const names = yield* resolveLinkNames(routes.map((r) => r.link)); // Map { 2 => 'eth0', … }
 */
export function* resolveLinkNames(indexes: Iterable<number | undefined>, known?: ReadonlyMap<number, string>): Operation<Map<number, string>> {
  const names = new Map(known);
  const missing = new Set<number>();
  for (const i of indexes) if (i !== undefined && i > 0 && !names.has(i)) missing.add(i);
  if (missing.size === 0) return names;
  if (missing.size <= SOCKET_READS_BEFORE_DUMP) {
    const read = yield* linkNamesOnSocket([...missing], 'read link names');
    if (read) {
      for (const [i, n] of read) names.set(i, n);
      return names;
    }
  }
  if (missing.size > NAME_LOOKUPS_BEFORE_DUMP) {
    for (const [i, n] of yield* dumpLinkNames()) if (!names.has(i)) names.set(i, n);
    return names;
  }
  for (const index of missing) {
    try {
      const name = yield* getLinkName(index);
      if (name !== undefined) names.set(index, name);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  return names;
}
