/**
 * IPv6 address labels — RTM_*ADDRLABEL, what `ip addrlabel` shows and
 * changes: the namespace's RFC 6724 label table used for source address
 * selection (each namespace starts with the RFC's defaults). An entry is
 * named by its prefix and link; types in address-label-types.ts.
 * @module
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from '../netlink/constants';
import { constants as osConstants } from 'node:os';
import { NetlinkError, NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, u32At, u8At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET6, formatCidr, networkOf, parseCidr, type Cidr } from '../validate/ip';
import { isObject, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { resolveLinkIndex, resolveLinkNames } from './link';
import type { LinkRef } from './link-types';
import { deleting, notFoundOn, type MissingCodes } from './not-found';
import type { AddressLabel, AddressLabelFilter, AddressLabelKey, AddressLabelOptions } from './address-label-types';
import { ADDRESS_LABEL_FILTER_KEYS, ADDRESS_LABEL_KEY_KEYS, ADDRESS_LABEL_OPTION_KEYS } from './address-label-types';

export type { AddressLabel, AddressLabelFilter, AddressLabelKey, AddressLabelOptions } from './address-label-types';

/** The kernel's "no such entry" (ESRCH on delete) and "no such link". */
const LABEL_MISSING: MissingCodes = { ESRCH: 'address label', ENODEV: 'link' };

/** IPV6_ADDR_LABEL_DEFAULT: the kernel's "no label", refused in an entry. */
const MAX_LABEL = 0xfffffffe;

function checkLabel(v: unknown, field = 'label'): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_LABEL) throw new ValidationError(field, v, `must be an integer 0-${MAX_LABEL}`);
  return v as number;
}

function checkPrefix(v: unknown): Cidr {
  return networkOf(parseCidr(v, 'prefix', { family: 6 }));
}

function* linkIndexOf(link: LinkRef | undefined): Operation<number> {
  return link === undefined ? 0 : yield* resolveLinkIndex(link);
}

function request(type: number, flags: number, prefix?: Cidr, index = 0, label?: number): Buffer {
  const w = new NetlinkWriter().begin(type, flags);
  const off = w.struct(C.IFADDRLBLMSG_LEN);
  w.view.writeUInt8(AF_INET6, off);
  if (prefix) w.view.writeUInt8(prefix.prefixLength, off + 2);
  w.view.writeUInt32LE(index, off + 4);
  if (prefix) w.attr(C.IFAL_ADDRESS, prefix.bytes);
  // The kernel wants a label on delete too (it does not match on it).
  if (label !== undefined) w.u32(C.IFAL_LABEL, label);
  return w.end().finish();
}

function decode(m: NetlinkMessage): AddressLabel | undefined {
  const a = new Attributes(m.payload, C.IFADDRLBLMSG_LEN);
  const address = a.get(C.IFAL_ADDRESS);
  const label = a.u32(C.IFAL_LABEL);
  if (address?.length !== 16 || label === undefined) return undefined;
  const entry: AddressLabel = { prefix: formatCidr(address, u8At(m.payload, 2)), label };
  const index = u32At(m.payload, 4);
  if (index !== 0) entry.link = index;
  return entry;
}

/**
 * add and replace. The kernel looks for an entry to refuse (EEXIST) or
 * replace only until the place where the new one sorts in: behind an entry
 * of the same length on a link it stops short and adds a duplicate. So the
 * table is read first; replace deletes the old entry and adds the new one
 * (two requests: for a moment the prefix has the label of a shorter one).
 */
function* writeLabel(opts: AddressLabelOptions, replace: boolean): Operation<void> {
  if (!isObject(opts)) throw new ValidationError('options', opts, 'must be { prefix, label, link? }');
  rejectUnknownKeys(opts, ADDRESS_LABEL_OPTION_KEYS, 'address label');
  const prefix = checkPrefix(opts.prefix);
  const label = checkLabel(opts.label);
  const index = yield* linkIndexOf(opts.link);
  const text = formatCidr(prefix.bytes, prefix.prefixLength);
  const operation = `${replace ? 'replace' : 'add'} address label ${text}`;
  const existing = (yield* addressLabelOps.list()).find((e) => e.prefix === text && (e.link ?? 0) === index);
  if (existing && !replace) throw new NetlinkError({ errno: osConstants.errno.EEXIST, operation, extack: 'the prefix has a label on this link already' });
  if (existing?.label === label) return;
  if (existing) yield* call(request(C.RTM_DELADDRLABEL, 0, prefix, index, 0), operation);
  yield* notFoundOn(LABEL_MISSING, call(request(C.RTM_NEWADDRLABEL, NLM_F_CREATE | NLM_F_EXCL, prefix, index, label), operation));
}

/** The operations on IPv6 address labels; bound to a handle as `handle.addressLabels`. */
export const addressLabelOps = {
  /**
   * Lists the namespace's address label table (the kernel's order: longest prefix first).
   * @example
   * const table = await h.addressLabels.list(); // [{ prefix: '::1/128', label: 0 }, ...]
   */
  *list(filter: AddressLabelFilter = {}): Operation<AddressLabel[]> {
    rejectUnknownKeys(filter, ADDRESS_LABEL_FILTER_KEYS, 'address label filter');
    const label = filter.label !== undefined ? checkLabel(filter.label) : undefined;
    const index = filter.link !== undefined ? yield* resolveLinkIndex(filter.link) : undefined;
    let entries = (yield* dump(request(C.RTM_GETADDRLABEL, NLM_F_DUMP), 'list address labels')).flatMap((m) => {
      const e = m.type === C.RTM_NEWADDRLABEL ? decode(m) : undefined;
      return e ? [e] : [];
    });
    if (index !== undefined) entries = entries.filter((e) => e.link === index);
    if (label !== undefined) entries = entries.filter((e) => e.label === label);
    const names = yield* resolveLinkNames(entries.map((e) => e.link));
    for (const e of entries) {
      const name = e.link !== undefined ? names.get(e.link) : undefined;
      if (name !== undefined) e.linkName = name;
    }
    return entries;
  },

  /**
   * The entry of a prefix (and link); {@link NotFoundError} if there is none.
   * @example
   * const { label } = await h.addressLabels.get({ prefix: '2001:db8::/32' });
   */
  *get(key: AddressLabelKey): Operation<AddressLabel> {
    const found = yield* addressLabelOps.find(key);
    if (!found) throw new NotFoundError('address label', { errno: osConstants.errno.ESRCH, operation: `get address label ${key.prefix}` });
    return found;
  },

  /**
   * The entry of a prefix (and link), or undefined.
   * @example
   * if (!(await h.addressLabels.find({ prefix: '2001:db8::/32' }))) await h.addressLabels.add({ prefix: '2001:db8::/32', label: 100 });
   */
  *find(key: AddressLabelKey): Operation<AddressLabel | undefined> {
    if (!isObject(key)) throw new ValidationError('key', key, 'must be { prefix, link? }');
    rejectUnknownKeys(key, ADDRESS_LABEL_KEY_KEYS, 'address label key');
    const prefix = checkPrefix(key.prefix);
    const index = yield* linkIndexOf(key.link);
    const wanted = formatCidr(prefix.bytes, prefix.prefixLength);
    return (yield* addressLabelOps.list()).find((e) => e.prefix === wanted && (e.link ?? 0) === index);
  },

  /**
   * Adds an entry (`ip addrlabel add prefix P label L [dev D]`); `EEXIST` if
   * the prefix (on that link) has one.
   * @example
   * await h.addressLabels.add({ prefix: '2001:db8:1::/48', label: 100 });
   * await h.addressLabels.add({ prefix: 'fd00::/8', label: 101, link: 'eth0' });
   */
  *add(opts: AddressLabelOptions): Operation<void> {
    yield* writeLabel(opts, false);
  },

  /**
   * Adds an entry, or changes the label of the one with the same prefix and
   * link (by deleting it and adding the new one: the kernel's own replace
   * misses entries that sort behind one of the same length on a link).
   * @example
   * await h.addressLabels.replace({ prefix: '2001:db8:1::/48', label: 200 });
   */
  *replace(opts: AddressLabelOptions): Operation<void> {
    yield* writeLabel(opts, true);
  },

  /**
   * Deletes the entry of a prefix (and link). Resolves to `true`; a missing
   * entry is a {@link NotFoundError}, or `false` with `{ missingOk: true }`.
   * @example
   * await h.addressLabels.delete({ prefix: '2001:db8:1::/48' });
   * for (const e of await h.addressLabels.list({ label: 100 })) await h.addressLabels.delete(e);
   */
  *delete(key: AddressLabelKey, opts?: DeleteOptions): Operation<boolean> {
    if (!isObject(key)) throw new ValidationError('key', key, 'must be { prefix, link? }');
    rejectUnknownKeys(key, ADDRESS_LABEL_KEY_KEYS, 'address label key');
    const prefix = checkPrefix(key.prefix);
    const missingOk = checkDeleteOptions(opts);
    const operation = `delete address label ${formatCidr(prefix.bytes, prefix.prefixLength)}`;
    // A missing link means a missing entry too: inside `deleting`, so missingOk covers it.
    function* send(): Operation<unknown> {
      return yield* call(request(C.RTM_DELADDRLABEL, 0, prefix, yield* linkIndexOf(key.link), 0), operation);
    }
    return yield* deleting(LABEL_MISSING, send(), missingOk);
  },
};
