/**
 * Flowtables: a fast path for established connections. A rule's `flow add
 * @ft` (the flow_offload expression) enters a connection into the
 * flowtable; its later packets, arriving on one of the flowtable's
 * devices, skip the forward chains (in software, or in the NIC with
 * `offload`). Encoding of NFT_MSG_NEWFLOWTABLE / DELFLOWTABLE and decoding
 * of flowtable messages.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { NetlinkMessage } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { validateInterfaceName, validateNftName, validateNftText } from '../validate/names';
import { isObject } from '../validate/options';
import { resolvePriority } from './chain';
import * as C from './constants';
import { beginNft, familyName, familyNumber, messageAttributes, messageFamily, type NftFamily } from './message';
import { FlagTable } from './names';
import { validateHandle } from './ranges';

const NFTA_FLOWTABLE_TABLE = 1;
const NFTA_FLOWTABLE_NAME = 2;
const NFTA_FLOWTABLE_HOOK = 3;
const NFTA_FLOWTABLE_USE = 4;
const NFTA_FLOWTABLE_HANDLE = 5;
const NFTA_FLOWTABLE_FLAGS = 7;
const NFTA_FLOWTABLE_HOOK_NUM = 1;
const NFTA_FLOWTABLE_HOOK_PRIORITY = 2;
const NFTA_FLOWTABLE_HOOK_DEVS = 3;
const NFTA_DEVICE_NAME = 1;
/** The only hook a flowtable has: netdev ingress. */
const NF_NETDEV_INGRESS = 0;
export const NFT_MSG_DESTROYFLOWTABLE = 32;

/** "offload": in the NIC (hardware flow offload); "counter": count packets and bytes per flow in conntrack. */
export type FlowtableFlag = 'offload' | 'counter';
export const FLOWTABLE_FLAGS = new FlagTable<FlowtableFlag>('flowtable flag', [
  ['offload', 1],
  ['counter', 2],
]);

/** A flowtable as written and as listed. */
export interface Flowtable {
  /** Family of its table ("ip", "ip6", "inet"). */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Flowtable name. */
  name: string;
  /** Its hook: always "ingress" (the default). */
  hook?: 'ingress';
  /** Hook priority: a number or a name ("filter"), as for chains; default 0. */
  priority?: number | string;
  /** The devices whose packets take the fast path. */
  devices?: string[];
  /** "offload", "counter". */
  flags?: Array<FlowtableFlag | (string & {})>;
  /** Kernel-assigned; set when listed (read-only: accepted when passed back to an add, not written). */
  handle?: number;
  /** Number of rules referencing it (listed only: accepted when passed back to an add, not written). */
  use?: number;
}

/** Identifies a flowtable by name (or handle). */
export interface FlowtableRef {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Flowtable name (or give `handle`). */
  name?: string;
  /** Kernel-assigned handle (or give `name`). */
  handle?: number;
}

/** Writes NFT_MSG_NEWFLOWTABLE, attributes in nft's order. */
export function writeNewFlowtable(w: NetlinkWriter, f: Flowtable, flags: number): void {
  if (!isObject(f)) throw new ValidationError('flowtable', f, 'must be an object with family, table and name');
  if (f.handle !== undefined) validateHandle(f.handle, 'flowtable handle');
  validateNftName(f.table, 'table name');
  validateNftName(f.name, 'flowtable name');
  if (f.hook !== undefined && (f.hook as string) !== 'ingress') throw new ValidationError('hook', f.hook, 'a flowtable hooks into "ingress" only');
  const devices = f.devices ?? [];
  if (!Array.isArray(devices)) throw new ValidationError('devices', devices, 'must be an array of interface names');
  devices.forEach((d, i) => validateNftText(validateInterfaceName(d, `devices[${i}]`), `devices[${i}]`));
  const flagBits = FLOWTABLE_FLAGS.number(f.flags);
  beginNft(w, C.NFT_MSG_NEWFLOWTABLE, flags, familyNumber(f.family));
  w.string(NFTA_FLOWTABLE_TABLE, f.table);
  w.string(NFTA_FLOWTABLE_NAME, f.name);
  const hook = w.nest(NFTA_FLOWTABLE_HOOK);
  w.be32(NFTA_FLOWTABLE_HOOK_NUM, NF_NETDEV_INGRESS);
  w.be32(NFTA_FLOWTABLE_HOOK_PRIORITY, resolvePriority(f.family, f.priority ?? 0) >>> 0);
  if (devices.length) {
    const devs = w.nest(NFTA_FLOWTABLE_HOOK_DEVS);
    for (const d of devices) w.string(NFTA_DEVICE_NAME, d);
    w.endNest(devs);
  }
  w.endNest(hook);
  w.be32(NFTA_FLOWTABLE_FLAGS, flagBits); // nft writes 0 too
  w.end();
}

/** Writes NFT_MSG_DELFLOWTABLE (or DESTROYFLOWTABLE), by name or handle. */
export function writeDeleteFlowtable(w: NetlinkWriter, f: FlowtableRef, msg: number = C.NFT_MSG_DELFLOWTABLE): void {
  validateNftName(f.table, 'table name');
  beginNft(w, msg, 0, familyNumber(f.family));
  w.string(NFTA_FLOWTABLE_TABLE, f.table);
  if (f.handle !== undefined) w.be64(NFTA_FLOWTABLE_HANDLE, BigInt(validateHandle(f.handle, 'flowtable handle')));
  else w.string(NFTA_FLOWTABLE_NAME, validateNftName(f.name, 'flowtable name'));
  w.end();
}

/** Decodes a NEWFLOWTABLE/DELFLOWTABLE message. */
export function decodeFlowtable(m: NetlinkMessage): Flowtable {
  const a = messageAttributes(m);
  const f: Flowtable = { family: familyName(messageFamily(m)), table: a.string(NFTA_FLOWTABLE_TABLE) ?? '', name: a.string(NFTA_FLOWTABLE_NAME) ?? '' };
  const hook = a.nested(NFTA_FLOWTABLE_HOOK);
  if (hook) {
    if ((hook.be32(NFTA_FLOWTABLE_HOOK_NUM) ?? NF_NETDEV_INGRESS) === NF_NETDEV_INGRESS) f.hook = 'ingress';
    const prio = hook.get(NFTA_FLOWTABLE_HOOK_PRIORITY);
    if (prio && prio.length >= 4) f.priority = prio.readInt32BE(0);
    const devs = hook.nested(NFTA_FLOWTABLE_HOOK_DEVS);
    if (devs) f.devices = devs.all(NFTA_DEVICE_NAME).map((d) => d.toString('utf8').replace(/\0.*$/s, ''));
  }
  const flags = a.be32(NFTA_FLOWTABLE_FLAGS);
  if (flags) f.flags = FLOWTABLE_FLAGS.names(flags);
  const handle = a.be64(NFTA_FLOWTABLE_HANDLE);
  if (handle !== undefined) f.handle = Number(handle);
  const use = a.be32(NFTA_FLOWTABLE_USE);
  if (use !== undefined) f.use = use;
  return f;
}

/** "inet filter ft" — how errors and descriptions name a flowtable. */
export function describeFlowtable(f: FlowtableRef): string {
  return `${f.family} ${f.table} ${f.name ?? `#${f.handle}`}`;
}
