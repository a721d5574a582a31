/**
 * Per-interface IP settings — RTM_GETNETCONF, what `ip netconf` shows:
 * forwarding, rp_filter, proxy ARP/NDP, ... of each interface and of
 * conf.all / conf.default, for IPv4 and IPv6. Read-only here: they are
 * sysctls, changed with setSysctl. Types in netconf-types.ts.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { ENODEV } from '../netlink/errno';
import { NetlinkError, NotFoundError, ValidationError } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, u8At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET, AF_INET6, type IpFamily } from '../validate/ip';
import { isObject, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { getLink, resolveLinkIndex, resolveLinkNames } from './link';
import type { LinkRef } from './link-types';
import { notFoundOn, type MissingCodes } from './not-found';
import { NETCONF_FILTER_KEYS, NETCONF_KEY_KEYS, type Netconf, type NetconfFilter, type NetconfKey, type RpFilterMode } from './netconf-types';

export type { Netconf, NetconfFilter, NetconfKey, RpFilterMode } from './netconf-types';

/** struct netconfmsg, padded to 4 bytes. */
const NETCONFMSG_LEN = 4;
const RP_FILTER_MODES: readonly RpFilterMode[] = ['off', 'strict', 'loose'];
/** The kernel answers ENODEV for an index without a device. */
const NETCONF_MISSING: MissingCodes = { ENODEV: 'link' };

function checkFamily(v: unknown): IpFamily {
  if (v !== 4 && v !== 6) throw new ValidationError('family', v, 'must be 4 or 6');
  return v;
}

/** The kernel's ifindex for a link, or for all / default. */
function* ifindexOf(link: LinkRef): Operation<number> {
  if (link === 'all') return C.NETCONFA_IFINDEX_ALL;
  if (link === 'default') return C.NETCONFA_IFINDEX_DEFAULT;
  return yield* resolveLinkIndex(link);
}

function request(family: IpFamily, flags: number, ifindex?: number): Buffer {
  const w = new NetlinkWriter().begin(C.RTM_GETNETCONF, flags);
  const off = w.struct(NETCONFMSG_LEN);
  w.view.writeUInt8(family === 4 ? AF_INET : AF_INET6, off);
  if (ifindex !== undefined) w.s32(C.NETCONFA_IFINDEX, ifindex);
  return w.end().finish();
}

function decode(m: NetlinkMessage): Netconf | undefined {
  if (m.type !== C.RTM_NEWNETCONF) return undefined;
  const af = u8At(m.payload, 0);
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const a = new Attributes(m.payload, NETCONFMSG_LEN);
  const index = a.s32(C.NETCONFA_IFINDEX);
  if (index === undefined) return undefined;
  const link = index === C.NETCONFA_IFINDEX_ALL ? 'all' : index === C.NETCONFA_IFINDEX_DEFAULT ? 'default' : index;
  const out: Netconf = { family: af === AF_INET ? 4 : 6, link };
  const flag = (k: 'forwarding' | 'mcForwarding' | 'proxyNeigh' | 'ignoreRoutesWithLinkdown' | 'input' | 'bcForwarding', type: number) => {
    const v = a.s32(type);
    if (v !== undefined) out[k] = v !== 0;
  };
  flag('forwarding', C.NETCONFA_FORWARDING);
  const rp = a.s32(C.NETCONFA_RP_FILTER);
  if (rp !== undefined) out.rpFilter = RP_FILTER_MODES[rp] ?? 'loose';
  flag('mcForwarding', C.NETCONFA_MC_FORWARDING);
  flag('proxyNeigh', C.NETCONFA_PROXY_NEIGH);
  flag('ignoreRoutesWithLinkdown', C.NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN);
  flag('input', C.NETCONFA_INPUT);
  flag('bcForwarding', C.NETCONFA_BC_FORWARDING);
  return out;
}

function* named(entries: Netconf[]): Operation<Netconf[]> {
  const names = yield* resolveLinkNames(entries.map((e) => (typeof e.link === 'number' ? e.link : undefined)));
  for (const e of entries) {
    const name = typeof e.link === 'number' ? names.get(e.link) : undefined;
    if (name !== undefined) e.linkName = name;
  }
  return entries;
}

/** The read-only operations on per-interface IP settings; bound to a handle as `handle.netconf`. */
export const netconfOps = {
  /**
   * The settings of one interface (or `'all'` / `'default'`) for one family;
   * {@link NotFoundError} (code ENODEV) if the link does not exist.
   * @example
   * const { forwarding, rpFilter } = await h.netconf.get({ link: 'eth0', family: 4 });
   * const all6 = await h.netconf.get({ link: 'all', family: 6 });
   */
  *get(key: NetconfKey): Operation<Netconf> {
    if (!isObject(key)) throw new ValidationError('key', key, 'must be { link, family }');
    rejectUnknownKeys(key, NETCONF_KEY_KEYS, 'netconf key');
    const family = checkFamily(key.family);
    const operation = `get netconf of ${String(key.link)} (IPv${family})`;
    const ifindex = yield* notFoundOn(NETCONF_MISSING, ifindexOf(key.link));
    let replies: NetlinkMessage[];
    try {
      replies = yield* notFoundOn(NETCONF_MISSING, call(request(family, 0, ifindex), operation));
    } catch (e) {
      // IPv6 answers EINVAL for an index without a device: say NotFoundError when that is why.
      if (e instanceof NetlinkError && e.code === 'EINVAL' && ifindex > 0) yield* getLink(ifindex);
      throw e;
    }
    const entry = replies.map(decode).find((e) => e !== undefined);
    if (!entry) throw new NotFoundError('link', { errno: ENODEV, operation });
    return (yield* named([entry]))[0];
  },

  /**
   * The settings, or undefined when the link does not exist.
   * @example
   * const conf = await h.netconf.find({ link: 'veth0', family: 6 });
   */
  *find(key: NetconfKey): Operation<Netconf | undefined> {
    try {
      return yield* netconfOps.get(key);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * The settings of every interface and of all / default (one dump per family).
   * @example
   * const forwarding = (await h.netconf.list({ family: 4 })).filter((c) => c.forwarding);
   */
  *list(filter: NetconfFilter = {}): Operation<Netconf[]> {
    rejectUnknownKeys(filter, NETCONF_FILTER_KEYS, 'netconf filter');
    const families = filter.family !== undefined ? [checkFamily(filter.family)] : ([4, 6] as const);
    const ifindex = filter.link !== undefined ? yield* ifindexOf(filter.link) : undefined;
    const entries: Netconf[] = [];
    for (const family of families) {
      for (const m of yield* dump(request(family, NLM_F_DUMP), `list netconf (IPv${family})`)) {
        const e = decode(m);
        if (e) entries.push(e);
      }
    }
    const key = (e: Netconf) => (e.link === 'all' ? C.NETCONFA_IFINDEX_ALL : e.link === 'default' ? C.NETCONFA_IFINDEX_DEFAULT : e.link);
    return yield* named(ifindex === undefined ? entries : entries.filter((e) => key(e) === ifindex));
  },
};
