/**
 * 64-bit link statistics — RTM_GETSTATS with IFLA_STATS_LINK_64, what
 * `ip -s link` shows: every counter of struct rtnl_link_stats64 as a bigint,
 * one request per link (or one dump) without the rest of the link's state.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { ENODEV } from '../netlink/errno';
import { NotFoundError } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, s32At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { resolveLinkIndex, resolveLinkNames } from './link';
import { decodeStats64 } from './link-decode';
import type { LinkRef, LinkStats } from './link-types';
import { notFoundOn, type MissingCodes } from './not-found';

/** The counters of one link. */
export interface LinkStatsEntry {
  /** Interface index. */
  index: number;
  /** Interface name (absent if the link went away meanwhile). */
  name?: string;
  /** Every counter of struct rtnl_link_stats64. */
  stats: LinkStats;
}

const LINK_MISSING: MissingCodes = { ENODEV: 'link' };

/** RTM_GETSTATS asking only for the 64-bit link counters. */
function statsRequest(index: number, flags: number): Buffer {
  const w = new NetlinkWriter().begin(C.RTM_GETSTATS, flags);
  const off = w.struct(C.IF_STATS_MSG_LEN);
  w.view.writeUInt32LE(index, off + 4);
  // filter_mask: bit (attribute - 1) of each IFLA_STATS_* wanted.
  w.view.writeUInt32LE(1 << (C.IFLA_STATS_LINK_64 - 1), off + 8);
  return w.end().finish();
}

function decodeEntry(m: NetlinkMessage): { index: number; stats: LinkStats } | undefined {
  const stats = decodeStats64(new Attributes(m.payload, C.IF_STATS_MSG_LEN).get(C.IFLA_STATS_LINK_64));
  return stats && { index: s32At(m.payload, 4), stats };
}

/** The operations on link counters; bound to a handle as `handle.linkStats`. */
export const linkStatsOps = {
  /**
   * The 64-bit counters of one link; {@link NotFoundError} (code ENODEV) if there is none.
   * @example
   * const { stats } = await h.linkStats.get('veth0');
   * console.log(stats.rxBytes, stats.txPackets, stats.rxDropped);
   */
  *get(ref: LinkRef): Operation<LinkStatsEntry> {
    const index = yield* resolveLinkIndex(ref);
    const operation = `get stats of link ${typeof ref === 'number' ? `#${ref}` : ref}`;
    const replies = yield* notFoundOn(LINK_MISSING, call(statsRequest(index, 0), operation));
    const m = replies.find((r) => r.type === C.RTM_NEWSTATS);
    const entry = m && decodeEntry(m);
    if (!entry) throw new NotFoundError('link', { errno: ENODEV, operation });
    const names = yield* resolveLinkNames([index], typeof ref === 'string' ? new Map([[index, ref]]) : undefined);
    return { index, name: names.get(index), stats: entry.stats };
  },

  /**
   * Gets the counters of a link, or undefined when it does not exist.
   * @example
   * const counters = await h.linkStats.find('veth0');
   */
  *find(ref: LinkRef): Operation<LinkStatsEntry | undefined> {
    try {
      return yield* linkStatsOps.get(ref);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * The 64-bit counters of every link of the namespace, in one dump.
   * @example
   * for (const { name, stats } of await h.linkStats.list()) console.log(name, stats.rxBytes);
   */
  *list(filter: Record<string, never> = {}): Operation<LinkStatsEntry[]> {
    rejectUnknownKeys(filter, [], 'link stats filter');
    const entries: LinkStatsEntry[] = [];
    for (const m of yield* dump(statsRequest(0, NLM_F_DUMP), 'list link stats')) {
      const entry = m.type === C.RTM_NEWSTATS ? decodeEntry(m) : undefined;
      if (entry) entries.push(entry);
    }
    const names = yield* resolveLinkNames(entries.map((e) => e.index));
    for (const e of entries) e.name = names.get(e.index);
    return entries;
  },
};
