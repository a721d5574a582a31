/**
 * Chains: base chains (attached to a netfilter hook with a type, priority and
 * policy; netdev chains also name devices) and regular chains (jump/goto
 * targets). Encoding of NEWCHAIN / DELCHAIN and decoding of chain messages.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { Attributes, type NetlinkMessage } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { validateInterfaceName, validateNftName, validateNftText } from '../validate/names';
import * as C from './constants';
import { beginNft, familyName, familyNumber, messageAttributes, messageFamily, type NftFamily } from './message';
import { FlagTable, NameTable } from './names';
import { validateHandle } from './ranges';
import { UDATA_COMMENT, joinComment, splitComment } from './userdata';

/** Type of a base chain: "filter", "nat" (NAT statements) or "route" (rerouting after mark changes). */
export type ChainType = 'filter' | 'nat' | 'route';
/** Netfilter hook a base chain attaches to. */
export type ChainHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
/** Verdict of a base chain for packets no rule decided on. */
export type ChainPolicy = 'accept' | 'drop';
/** Priority names nft accepts (values depend on the family, see {@link resolvePriority}). */
export type PriorityName = 'raw' | 'mangle' | 'dstnat' | 'filter' | 'security' | 'srcnat' | 'out';

const INET_HOOKS = new NameTable<ChainHook>('hook', [
  ['prerouting', C.NF_INET_PRE_ROUTING],
  ['input', C.NF_INET_LOCAL_IN],
  ['forward', C.NF_INET_FORWARD],
  ['output', C.NF_INET_LOCAL_OUT],
  ['postrouting', C.NF_INET_POST_ROUTING],
  ['ingress', C.NF_INET_INGRESS],
]);
const NETDEV_HOOKS = new NameTable<ChainHook>('hook', [
  ['ingress', C.NF_NETDEV_INGRESS],
  ['egress', C.NF_NETDEV_EGRESS],
]);
const ARP_HOOKS = new NameTable<ChainHook>('hook', [
  ['input', 0],
  ['output', 1],
]);

function hooksOf(family: NftFamily): NameTable<ChainHook> {
  if (family === 'netdev') return NETDEV_HOOKS;
  if (family === 'arp') return ARP_HOOKS;
  return INET_HOOKS;
}

const STANDARD_PRIORITIES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const BRIDGE_PRIORITIES: Record<string, number> = { dstnat: -300, filter: -200, out: 100, srcnat: 300 };

/**
 * A priority as a number: numbers pass through; names ("filter", "srcnat")
 * and offsets ("dstnat - 10", "filter + 5") resolve as nft does for the family.
 * @example
 * resolvePriority('inet', 'srcnat')      // 100
 * resolvePriority('bridge', 'filter + 1') // -199
 */
export function resolvePriority(family: NftFamily, p: number | string): number {
  if (typeof p === 'number') {
    if (!Number.isInteger(p) || p < -2147483648 || p > 2147483647) throw new ValidationError('priority', p, 'must be a 32-bit integer');
    return p;
  }
  const m = /^\s*([a-z]+)\s*(?:([+-])\s*(\d+))?\s*$/.exec(p);
  const table = family === 'bridge' ? BRIDGE_PRIORITIES : STANDARD_PRIORITIES;
  if (!m || !Object.hasOwn(table, m[1])) {
    throw new ValidationError('priority', p, `must be a number or one of ${Object.keys(table).join(', ')} (optionally "+ n" / "- n")`);
  }
  const base = table[m[1]];
  const off = m[3] ? Number(m[3]) : 0;
  return m[2] === '-' ? base - off : base + off;
}

/** Chain flags nlkit names; others come back as text. */
export type ChainFlag = 'hw-offload' | 'binding';
const CHAIN_FLAGS = new FlagTable<ChainFlag | 'base'>('chain flag', [
  ['base', C.NFT_CHAIN_BASE],
  ['hw-offload', C.NFT_CHAIN_HW_OFFLOAD],
  ['binding', C.NFT_CHAIN_BINDING],
]);

/** A chain as written and as listed. A chain with `hook` is a base chain. */
export interface Chain {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Chain name. */
  name: string;
  /** Base chains: "filter", "nat" or "route". */
  type?: ChainType;
  /** Base chains: the hook it attaches to. */
  hook?: ChainHook;
  /** Number, or a name such as "srcnat" / "filter + 10" (listed back as a number). */
  priority?: number | string;
  /** Base chains: what happens to packets no rule decided on (default accept). */
  policy?: ChainPolicy;
  /** netdev (and inet ingress) base chains: the device to attach to. */
  device?: string;
  /** Several devices (listed this way when there is more than one). */
  devices?: string[];
  /** Chain flags ("hw-offload", ...). */
  flags?: Array<ChainFlag | (string & {})>;
  /** Shown by `nft list` as `comment "..."`. */
  comment?: string;
  /** Kernel-assigned; set when listed or echoed (read-only: accepted when passed back to an add, not written). */
  handle?: number;
  /** Number of references (jumps) to it (listed only: accepted when passed back to an add, not written). */
  use?: number;
  /** Userdata other than the comment, kept verbatim. */
  userdata?: Buffer;
}

/** Identifies a chain by name (or by handle). */
export interface ChainRef {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Chain name (or give `handle`). */
  name?: string;
  /** Kernel-assigned handle (or give `name`). */
  handle?: number;
}

const CHAIN_TYPES: readonly string[] = ['filter', 'nat', 'route'] satisfies ChainType[];

/** The kernel knows only these; "mangle" is a priority, not a type. */
function chainTypeName(t: unknown): string {
  const name = validateNftName(t, 'chain type');
  if (!CHAIN_TYPES.includes(name)) throw new ValidationError('chain type', t, `must be one of ${CHAIN_TYPES.join(', ')}`);
  return name;
}

/** Writes NFT_MSG_NEWCHAIN; `chainId` lets rules of the same batch refer to it. */
export function writeNewChain(w: NetlinkWriter, c: Chain, flags: number, chainId?: number): void {
  validateNftName(c.table, 'table name');
  validateNftName(c.name, 'chain name');
  const fam = familyNumber(c.family);
  beginNft(w, C.NFT_MSG_NEWCHAIN, flags, fam);
  w.string(C.NFTA_CHAIN_TABLE, c.table);
  w.string(C.NFTA_CHAIN_NAME, c.name);
  if (c.hook !== undefined) {
    if (c.type === undefined) throw new ValidationError('chain type', c.type, 'a base chain (with a hook) needs a type: filter, nat or route');
    const hook = w.nest(C.NFTA_CHAIN_HOOK);
    w.be32(C.NFTA_HOOK_HOOKNUM, hooksOf(c.family).number(c.hook, 'hook'));
    w.be32(C.NFTA_HOOK_PRIORITY, resolvePriority(c.family, c.priority ?? 0) >>> 0);
    const devices = c.devices ?? (c.device !== undefined ? [c.device] : []);
    for (const d of devices) validateNftText(validateInterfaceName(d, 'device'), 'device');
    if (devices.length === 1) w.string(C.NFTA_HOOK_DEV, devices[0]);
    else if (devices.length > 1) {
      const list = w.nest(C.NFTA_HOOK_DEVS);
      for (const d of devices) w.string(C.NFTA_DEVICE_NAME, d);
      w.endNest(list);
    }
    w.endNest(hook);
    w.string(C.NFTA_CHAIN_TYPE, chainTypeName(c.type));
    if (c.policy !== undefined) w.be32(C.NFTA_CHAIN_POLICY, policyNumber(c.policy));
  } else if (c.type !== undefined || c.policy !== undefined || c.priority !== undefined) {
    throw new ValidationError('chain hook', c.hook, 'type, priority and policy belong to base chains: give a hook too');
  }
  const f = CHAIN_FLAGS.number(c.flags);
  if (f) w.be32(C.NFTA_CHAIN_FLAGS, f | (c.hook !== undefined ? C.NFT_CHAIN_BASE : 0));
  if (chainId !== undefined) w.be32(C.NFTA_CHAIN_ID, chainId);
  const ud = joinComment(c.comment, c.userdata, UDATA_COMMENT);
  if (ud) w.attr(C.NFTA_CHAIN_USERDATA, ud);
  w.end();
}

function policyNumber(p: ChainPolicy): number {
  if (p === 'accept') return C.NF_ACCEPT;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (p === 'drop') return C.NF_DROP;
  throw new ValidationError('policy', p, 'must be "accept" or "drop"');
}

/** Writes NFT_MSG_DELCHAIN. */
export function writeDeleteChain(w: NetlinkWriter, c: ChainRef, msg: number = C.NFT_MSG_DELCHAIN): void {
  beginNft(w, msg, 0, familyNumber(c.family));
  w.string(C.NFTA_CHAIN_TABLE, validateNftName(c.table, 'table name'));
  if (c.handle !== undefined) w.be64(C.NFTA_CHAIN_HANDLE, BigInt(validateHandle(c.handle, 'chain handle')));
  else w.string(C.NFTA_CHAIN_NAME, validateNftName(c.name, 'chain name'));
  w.end();
}

/** Decodes a NEWCHAIN/DELCHAIN message. */
export function decodeChain(m: NetlinkMessage): Chain {
  const a = messageAttributes(m);
  const family = familyName(messageFamily(m));
  const c: Chain = { family, table: a.string(C.NFTA_CHAIN_TABLE) ?? '', name: a.string(C.NFTA_CHAIN_NAME) ?? '' };
  const type = a.string(C.NFTA_CHAIN_TYPE);
  const hook = a.nested(C.NFTA_CHAIN_HOOK);
  if (type !== undefined) c.type = type as ChainType;
  if (hook) {
    const num = hook.be32(C.NFTA_HOOK_HOOKNUM);
    if (num !== undefined) c.hook = hooksOf(family).name(num) as ChainHook;
    const prio = hook.get(C.NFTA_HOOK_PRIORITY);
    if (prio && prio.length >= 4) c.priority = prio.readInt32BE(0);
    const dev = hook.string(C.NFTA_HOOK_DEV);
    const devs = hook.get(C.NFTA_HOOK_DEVS);
    if (dev !== undefined) c.device = dev;
    else if (devs) {
      const names = new Attributes(devs).list.filter((x) => x.type === C.NFTA_DEVICE_NAME).map((x) => x.data.toString('utf8').replace(/\0.*$/s, ''));
      if (names.length === 1) c.device = names[0];
      else c.devices = names;
    }
  }
  const policy = a.be32(C.NFTA_CHAIN_POLICY);
  if (policy !== undefined) c.policy = policy === C.NF_DROP ? 'drop' : 'accept';
  const flags = (a.be32(C.NFTA_CHAIN_FLAGS) ?? 0) & ~C.NFT_CHAIN_BASE;
  if (flags) c.flags = CHAIN_FLAGS.names(flags);
  const { comment, rest } = splitComment(a.get(C.NFTA_CHAIN_USERDATA), UDATA_COMMENT);
  if (comment !== undefined) c.comment = comment;
  if (rest) c.userdata = rest;
  const handle = a.be64(C.NFTA_CHAIN_HANDLE);
  if (handle !== undefined) c.handle = Number(handle);
  const use = a.be32(C.NFTA_CHAIN_USE);
  if (use !== undefined) c.use = use;
  return c;
}

export function describeChain(c: ChainRef): string {
  return `${c.family} ${c.table} ${c.name ?? `#${c.handle}`}`;
}
