/**
 * Tables: the top-level containers of chains, sets and objects, one per
 * family and name. Encoding of NFT_MSG_NEWTABLE / DELTABLE and decoding of
 * table messages.
 * @module
 */
import type { NetlinkMessage } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { beginNft, familyName, familyNumber, messageAttributes, messageFamily, type NftFamily } from './message';
import { FlagTable } from './names';
import { validateHandle } from './ranges';
import { UDATA_COMMENT, joinComment, splitComment } from './userdata';

/** Table flags (see {@link Table.flags}). */
export type TableFlag = 'dormant' | 'owner' | 'persist';

/** NFT_TABLE_F_*; "persist" (0x4) is newer than the UAPI header but listed by current kernels. */
export const TABLE_FLAGS = new FlagTable<TableFlag>('table flag', [
  ['dormant', C.NFT_TABLE_F_DORMANT],
  ['owner', C.NFT_TABLE_F_OWNER],
  ['persist', 0x4],
]);

/** A table as written and as listed. */
export interface Table {
  /** "ip", "ip6", "inet", "arp", "bridge" or "netdev". */
  family: NftFamily;
  /** Table name. */
  name: string;
  /**
   * "dormant": registered but its base chains see no packets.
   * "owner": removed when the netlink socket that created it (this handle) closes,
   * and only that socket may change it.
   */
  flags?: Array<TableFlag | (string & {})>;
  /** Shown by `nft list` as `comment "..."`. */
  comment?: string;
  /** Kernel-assigned; set when listed or echoed (read-only: accepted when passed back to an add, not written). */
  handle?: number;
  /** Number of chains, sets and objects in it (listed only: accepted when passed back to an add, not written). */
  use?: number;
  /** Netlink port id of the owning socket (tables with the "owner" flag; listed only: accepted when passed back to an add, not written). */
  owner?: number;
  /** Userdata other than the comment, kept verbatim. */
  userdata?: Buffer;
}

/** Identifies a table by name (or by handle). */
export interface TableRef {
  /** Its family. */
  family: NftFamily;
  /** Table name (or give `handle`). */
  name?: string;
  /** Kernel-assigned handle (or give `name`). */
  handle?: number;
}

/** Writes NFT_MSG_NEWTABLE. */
export function writeNewTable(w: NetlinkWriter, t: Table, flags: number): void {
  validateNftName(t.name, 'table name');
  beginNft(w, C.NFT_MSG_NEWTABLE, flags, familyNumber(t.family));
  w.string(C.NFTA_TABLE_NAME, t.name);
  const f = TABLE_FLAGS.number(t.flags);
  if (f || t.flags) w.be32(C.NFTA_TABLE_FLAGS, f);
  const ud = joinComment(t.comment, t.userdata, UDATA_COMMENT);
  if (ud) w.attr(C.NFTA_TABLE_USERDATA, ud);
  w.end();
}

/** Writes NFT_MSG_DELTABLE (by name or handle). */
export function writeDeleteTable(w: NetlinkWriter, t: TableRef, msg: number = C.NFT_MSG_DELTABLE): void {
  beginNft(w, msg, 0, familyNumber(t.family));
  if (t.handle !== undefined) w.be64(C.NFTA_TABLE_HANDLE, BigInt(validateHandle(t.handle, 'table handle')));
  else w.string(C.NFTA_TABLE_NAME, validateNftName(t.name, 'table name'));
  w.end();
}

/** Decodes a NEWTABLE/DELTABLE message. */
export function decodeTable(m: NetlinkMessage): Table {
  const a = messageAttributes(m);
  const t: Table = { family: familyName(messageFamily(m)), name: a.string(C.NFTA_TABLE_NAME) ?? '' };
  const flags = a.be32(C.NFTA_TABLE_FLAGS);
  if (flags) t.flags = TABLE_FLAGS.names(flags);
  const { comment, rest } = splitComment(a.get(C.NFTA_TABLE_USERDATA), UDATA_COMMENT);
  if (comment !== undefined) t.comment = comment;
  if (rest) t.userdata = rest;
  const handle = a.be64(C.NFTA_TABLE_HANDLE);
  if (handle !== undefined) t.handle = Number(handle);
  const use = a.be32(C.NFTA_TABLE_USE);
  if (use !== undefined) t.use = use;
  const owner = a.be32(C.NFTA_TABLE_OWNER);
  if (owner !== undefined) t.owner = owner;
  return t;
}

/** "inet nat" — how errors and descriptions name a table. */
export function describeTable(t: TableRef): string {
  return `${t.family} ${t.name ?? `#${t.handle}`}`;
}
