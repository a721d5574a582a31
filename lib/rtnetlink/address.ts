/**
 * IPv4 and IPv6 addresses on links — RTM_*ADDR.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dumpCollected, type Operation } from '../netlink/operation';
import { Attributes, u32At, u8At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { afOf, formatIp, parseCidr, parseIp, AF_INET6, type IpFamily } from '../validate/ip';
import { isAddressOfKey, parseAddressKey } from './address-key';
import * as C from './constants';
import { resolveLinkIndex, resolveLinkNames, type LinkRef } from './link';
import { deleting, type MissingCodes } from './not-found';
import { parseScope, scopeName } from './names';
import {
  ADDRESS_FILTER_KEYS,
  ADDRESS_OPTION_KEYS,
  ADDRESS_WRITE_KEYS,
  type Address,
  type AddressOptions,
  type AddressFilter,
  type AddressWrite,
} from './address-types';
import { isObject, rejectUnknownKeys } from '../validate/options';

export type { Address, AddressOptions, AddressFilter, AddressWrite } from './address-types';

const FLAG_NAMES: Array<[number, string]> = [
  [C.IFA_F_SECONDARY, 'secondary'],
  [C.IFA_F_NODAD, 'nodad'],
  [C.IFA_F_OPTIMISTIC, 'optimistic'],
  [C.IFA_F_DADFAILED, 'dadfailed'],
  [C.IFA_F_HOMEADDRESS, 'home'],
  [C.IFA_F_DEPRECATED, 'deprecated'],
  [C.IFA_F_TENTATIVE, 'tentative'],
  [C.IFA_F_MANAGETEMPADDR, 'mngtmpaddr'],
  [C.IFA_F_NOPREFIXROUTE, 'noprefixroute'],
  [C.IFA_F_MCAUTOJOIN, 'autojoin'],
  [C.IFA_F_STABLE_PRIVACY, 'stable-privacy'],
];

const KNOWN = new Set([C.IFA_ADDRESS, C.IFA_LOCAL, C.IFA_LABEL, C.IFA_BROADCAST, C.IFA_CACHEINFO, C.IFA_FLAGS, C.IFA_RT_PRIORITY, C.IFA_PROTO]);
const INFINITY = 0xffffffff;

/** Decodes one RTM_NEWADDR message. */
export function decodeAddress(m: NetlinkMessage): Address {
  const p = m.payload;
  const family: IpFamily = u8At(p, 0) === AF_INET6 ? 6 : 4;
  const prefixLength = u8At(p, 1);
  const a = new Attributes(p, C.IFADDRMSG_LEN);
  const local = a.get(C.IFA_LOCAL);
  const addr = a.get(C.IFA_ADDRESS);
  const own = local ?? addr ?? Buffer.alloc(family === 4 ? 4 : 16);
  const flags = a.u32(C.IFA_FLAGS) ?? u8At(p, 2);
  const out: Address = {
    family,
    link: u32At(p, 4),
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias of `link`, still filled
    index: u32At(p, 4),
    address: formatIp(own),
    prefixLength,
    cidr: `${formatIp(own)}/${prefixLength}`,
    scope: scopeName(u8At(p, 3)),
    flags: FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n),
    unknownAttributes: a.list.filter((x) => !KNOWN.has(x.type)),
  };
  // ip shows the absence of IFA_F_PERMANENT (an address that expires) as "dynamic".
  if (!(flags & C.IFA_F_PERMANENT)) out.flags.unshift('dynamic');
  if (local && addr && !local.equals(addr)) out.peer = formatIp(addr);
  const brd = a.get(C.IFA_BROADCAST);
  if (brd) out.broadcast = formatIp(brd);
  const label = a.string(C.IFA_LABEL);
  if (label) out.label = label;
  const ci = a.get(C.IFA_CACHEINFO);
  if (ci && ci.length >= 8) {
    const pref = ci.readUInt32LE(0);
    const valid = ci.readUInt32LE(4);
    if (valid !== INFINITY) out.validLifetime = valid;
    if (pref !== INFINITY) out.preferredLifetime = pref;
  }
  const metric = a.u32(C.IFA_RT_PRIORITY);
  if (metric !== undefined) out.metric = metric;
  const proto = a.u8(C.IFA_PROTO);
  if (proto !== undefined) out.protocol = proto;
  return out;
}

function lifetime(v: number | 'forever' | undefined, field: string): number {
  if (v === undefined || v === 'forever') return INFINITY;
  if (!Number.isInteger(v) || v < 0 || v >= INFINITY) throw new ValidationError(field, v, 'seconds, or "forever"');
  return v;
}

/** Options of {@link addressOps.delete}. */
export interface AddressDeleteOptions extends DeleteOptions {
  /** The peer of a point-to-point address (IPv4 matches it to find the address). */
  peer?: string;
}

/** The arguments of add and replace: `(link, cidr, options?)`, or one object `{ link, cidr, ...options }`. */
export type AddressWriteArgs = [address: AddressWrite] | [link: LinkRef, cidr: string, opts?: AddressOptions];

/** The link, address and options of add's and replace's arguments, either form (the verb table's `add(object)` too). */
function writeArgs(args: AddressWriteArgs): [LinkRef, string, AddressOptions] {
  const [first]: unknown[] = args;
  // JavaScript callers may pass anything: checked as unknown.
  if (args.length === 1 && isObject(first)) {
    const { link, cidr, ...opts } = first as { link?: LinkRef; cidr?: unknown } & AddressOptions;
    // A listed address's `address` is the address without its prefix: the object form names it cidr.
    if (cidr === undefined && 'address' in first)
      throw new ValidationError('address', first.address, 'the object form takes cidr: add({ link, cidr: "10.0.0.2/24" })');
    rejectUnknownKeys(first, ADDRESS_WRITE_KEYS, 'address');
    if (link === undefined) throw new ValidationError('link', link, 'required: the link to add the address to');
    if (typeof cidr !== 'string') throw new ValidationError('cidr', cidr, 'required: the address with its prefix, "10.0.0.2/24"');
    return [link, cidr, opts];
  }
  const [link, cidr, opts = {}] = args as [LinkRef, unknown, AddressOptions?];
  if (typeof cidr !== 'string')
    throw new ValidationError('cidr', cidr, 'required: the address with its prefix, as add(link, "10.0.0.2/24") or add({ link, cidr })');
  return [link, cidr, opts];
}

/** The kernel's "no such address" (and "no such link"). */
const ADDRESS_MISSING: MissingCodes = { EADDRNOTAVAIL: 'address', ENODEV: 'link' };

function* writeAddress(type: number, flags: number, link: LinkRef, cidrText: string, opts: AddressOptions, verb: string): Operation<void> {
  rejectUnknownKeys(opts, ADDRESS_OPTION_KEYS, 'address options');
  const cidr = parseCidr(cidrText, 'address', { defaultFull: true });
  const w = new NetlinkWriter().begin(type, flags);
  const off = w.struct(C.IFADDRMSG_LEN);
  let ifaFlags = 0;
  if (opts.nodad) ifaFlags |= C.IFA_F_NODAD;
  if (opts.noprefixroute) ifaFlags |= C.IFA_F_NOPREFIXROUTE;
  if (opts.manageTempAddr) ifaFlags |= C.IFA_F_MANAGETEMPADDR;
  if (opts.autojoin) ifaFlags |= C.IFA_F_MCAUTOJOIN;
  w.view.writeUInt8(afOf(cidr.family), off);
  w.view.writeUInt8(cidr.prefixLength, off + 1);
  w.view.writeUInt8(ifaFlags & 0xff, off + 2);
  w.view.writeUInt8(opts.scope !== undefined ? parseScope(opts.scope) : 0, off + 3);
  w.attr(C.IFA_LOCAL, cidr.bytes);
  w.attr(C.IFA_ADDRESS, opts.peer !== undefined ? parseCidr(opts.peer, 'peer', { family: cidr.family, defaultFull: true }).bytes : cidr.bytes);
  if (opts.broadcast !== undefined && opts.broadcast !== false) {
    if (cidr.family !== 4) throw new ValidationError('broadcast', opts.broadcast, 'IPv4 only');
    let brd: Buffer;
    if (opts.broadcast === true) {
      brd = Buffer.from(cidr.bytes);
      for (let bit = cidr.prefixLength; bit < 32; bit++) brd[bit >> 3] |= 0x80 >> (bit & 7);
    } else {
      brd = parseIp(opts.broadcast, 'broadcast', 4).bytes;
    }
    w.attr(C.IFA_BROADCAST, brd);
  }
  if (opts.label !== undefined) {
    if (cidr.family !== 4) throw new ValidationError('label', opts.label, 'IPv4 only');
    if (Buffer.byteLength(opts.label) > 15) throw new ValidationError('label', opts.label, 'longer than 15 bytes');
    // As iproute2 insists: a label names its link ("eth0" or "eth0:web").
    if (typeof link === 'string' && !opts.label.startsWith(link)) {
      throw new ValidationError('label', opts.label, `must start with the link name "${link}"`);
    }
    w.string(C.IFA_LABEL, opts.label);
  }
  if (ifaFlags > 0xff) w.u32(C.IFA_FLAGS, ifaFlags);
  if (opts.validLifetime !== undefined || opts.preferredLifetime !== undefined) {
    const ci = Buffer.alloc(16);
    const valid = lifetime(opts.validLifetime, 'validLifetime');
    if (valid === 0) throw new ValidationError('validLifetime', opts.validLifetime, 'must be at least 1 second');
    const pref = lifetime(opts.preferredLifetime ?? opts.validLifetime, 'preferredLifetime');
    if (pref > valid) throw new ValidationError('preferredLifetime', opts.preferredLifetime, 'must not exceed validLifetime');
    ci.writeUInt32LE(pref, 0);
    ci.writeUInt32LE(valid, 4);
    w.attr(C.IFA_CACHEINFO, ci);
  }
  if (opts.metric !== undefined) w.u32(C.IFA_RT_PRIORITY, opts.metric);
  // Resolve the link last, once the whole request has been validated.
  w.view.writeUInt32LE(yield* resolveLinkIndex(link), off + 4);
  yield* call(w.end().finish(), `${verb} address ${cidrText} on ${typeof link === 'number' ? `#${link}` : link}`);
}

/** The operations on addresses; bound to a handle as `handle.addresses`. */
export const addressOps = {
  /**
   * Adds an address to a link; EEXIST if it is already there. The link,
   * address and options as arguments, or as one object ({@link AddressWrite}).
   * @example
   * await h.addresses.add('eth0', '10.0.0.2/24');
   * await h.addresses.add('eth0', 'fd00::2/64', { nodad: true });
   * await h.addresses.add({ link: 'eth0', cidr: '10.0.1.2/24', metric: 50 });
   */
  *add(...args: AddressWriteArgs): Operation<void> {
    const [link, cidr, opts] = writeArgs(args);
    yield* writeAddress(C.RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, link, cidr, opts, 'add');
  },

  /**
   * Adds the address, or updates its options (lifetimes, flags) when present;
   * arguments as for {@link addressOps.add}.
   * @example
   * await h.addresses.replace('eth0', '10.0.0.2/24', { validLifetime: 3600, preferredLifetime: 1800 });
   * await h.addresses.replace({ link: 'eth0', cidr: '10.0.0.2/24', validLifetime: 60 });
   */
  *replace(...args: AddressWriteArgs): Operation<void> {
    const [link, cidr, opts] = writeArgs(args);
    yield* writeAddress(C.RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, link, cidr, opts, 'replace');
  },

  /**
   * Removes an address: a listed {@link Address} as it is (or `{ link, cidr }`),
   * or the link and the address as two arguments. Resolves to `true`; an
   * address (or link) that is not there is a {@link NotFoundError} (code
   * EADDRNOTAVAIL, or ENODEV for the link), or `false` with `{ missingOk: true }`.
   * @example
   * for (const a of await h.addresses.list({ link: 'eth0', family: 6 })) await h.addresses.delete(a);
   * await h.addresses.delete('eth0', '10.0.0.2/24');
   * await h.addresses.delete({ link: 'eth0', cidr: '10.0.0.2/24' }, { missingOk: true }); // false: gone already
   */
  *delete(
    ...args: [address: { link: LinkRef; cidr: string; peer?: string }, opts?: DeleteOptions] | [link: LinkRef, cidr: string, opts?: AddressDeleteOptions]
  ): Operation<boolean> {
    if (typeof args[0] === 'object') {
      // The key form: the peer comes with the key; options are { missingOk } only.
      const key = parseAddressKey(args[0]);
      const missingOk = checkDeleteOptions(args[1]);
      return yield* deleting(ADDRESS_MISSING, writeAddress(C.RTM_DELADDR, 0, key.link, key.cidr, { peer: key.peer }, 'delete'), missingOk);
    }
    const [link, cidr, opts = {}] = args as [LinkRef, string, AddressDeleteOptions?];
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers may pass null, which the default does not replace
    const { peer, ...rest } = opts ?? {};
    const missingOk = checkDeleteOptions(rest);
    return yield* deleting(ADDRESS_MISSING, writeAddress(C.RTM_DELADDR, 0, link, cidr, { peer }, 'delete'), missingOk);
  },

  /**
   * Gets the address a key names: its link (name or index) and `cidr` (a
   * listed {@link Address} is a key). {@link NotFoundError} (code
   * EADDRNOTAVAIL, or ENODEV for a link that does not exist) when there is
   * none. Costs one address dump the kernel filters by link and family, and
   * one `RTM_GETLINK` (for the link's index, or for its name).
   * @example
   * const a = await h.addresses.get({ link: 'eth0', cidr: '10.0.0.2/24' }); // a.flags, a.validLifetime
   */
  *get(key: { link: LinkRef; cidr: string; peer?: string }): Operation<Address> {
    const found = yield* findAddress(key);
    if (!found) {
      throw new NotFoundError('address', { errno: osConstants.errno.EADDRNOTAVAIL, operation: `get address ${key.cidr} on ${describeLink(key.link)}` });
    }
    return found;
  },

  /**
   * Like {@link addressOps.get}, but undefined when there is no such address
   * (or no such link).
   * @example
   * if (!(await h.addresses.find({ link: 'eth0', cidr: '10.0.0.2/24' }))) await h.addresses.add('eth0', '10.0.0.2/24');
   */
  *find(key: { link: LinkRef; cidr: string; peer?: string }): Operation<Address | undefined> {
    try {
      return yield* findAddress(key);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * Lists addresses, optionally of one link and/or family; each carries its
   * link's name (`linkName`).
   * @example
   * const v4 = await h.addresses.list({ link: 'eth0', family: 4 });
   * for (const a of v4) console.log(a.linkName, a.cidr);
   */
  *list(filter: AddressFilter = {}): Operation<Address[]> {
    const all = yield* listAddresses(filter);
    const names = yield* resolveLinkNames(all.map((a) => a.link));
    for (const a of all) {
      const name = names.get(a.link);
      if (name !== undefined) a.linkName = name;
    }
    return all;
  },

  /**
   * Removes every address of a link (of one family if given), like `ip addr flush dev X`.
   * Returns how many were removed.
   * @example
   * const removed = await h.addresses.flush('eth0', 4);
   */
  *flush(link: LinkRef, family?: IpFamily): Operation<number> {
    const index = yield* resolveLinkIndex(link);
    const all = yield* listAddresses({ link: index, family });
    // Secondaries vanish with their primary (or get promoted): delete those first.
    const ordered = [...all.filter((a) => a.flags.includes('secondary')), ...all.filter((a) => !a.flags.includes('secondary'))];
    let n = 0;
    for (const a of ordered) if (yield* addressOps.delete(index, a.cidr, { peer: a.peer, missingOk: true })) n++;
    return n;
  },
};

function describeLink(link: LinkRef): string {
  return typeof link === 'number' ? `#${String(link)}` : link;
}

/** The address a key names, with its link's name, or undefined: one dump filtered by the kernel, the rest here. */
function* findAddress(keyInput: unknown): Operation<Address | undefined> {
  const key = parseAddressKey(keyInput);
  const index = yield* resolveLinkIndex(key.link);
  const found = (yield* listAddresses({ link: index, family: key.family })).find((a) => isAddressOfKey(key, a));
  if (!found) return undefined;
  // A key naming its link by name has resolved it already.
  const name = typeof key.link === 'string' ? key.link : (yield* resolveLinkNames([index])).get(index);
  if (name !== undefined) found.linkName = name;
  return found;
}

/** Lists addresses without resolving link names (flush needs none). */
function* listAddresses(filter: AddressFilter): Operation<Address[]> {
  rejectUnknownKeys(filter, ADDRESS_FILTER_KEYS, 'address filter');
  const index = filter.link !== undefined ? yield* resolveLinkIndex(filter.link) : 0;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (filter.family !== undefined && filter.family !== 4 && filter.family !== 6) {
    throw new ValidationError('family', filter.family, 'must be 4 or 6');
  }
  const w = new NetlinkWriter().begin(C.RTM_GETADDR, NLM_F_DUMP);
  const off = w.struct(C.IFADDRMSG_LEN);
  w.view.writeUInt8(filter.family ? afOf(filter.family) : 0, off);
  w.view.writeUInt32LE(index, off + 4); // strict dumps filter by index in the kernel
  // Decoded as the messages arrive (routes.list() explains why).
  return yield* dumpCollected(w.end().finish(), 'list addresses', (m) => {
    if (m.type !== C.RTM_NEWADDR) return undefined;
    const a = decodeAddress(m);
    return (index === 0 || a.link === index) && (!filter.family || a.family === filter.family) ? a : undefined;
  });
}
