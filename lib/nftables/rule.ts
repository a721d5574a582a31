/**
 * Rules: an ordered list of expressions in a chain, identified by a
 * kernel-assigned handle. Encoding of NEWRULE (append, insert, replace) and
 * DELRULE, and decoding of rule messages including every expression.
 * @module
 */
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_REPLACE } from '../netlink/constants';
import { ValidationError } from '../netlink/errors';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { readExpressionList, writeExpressionList, type Expression } from './expressions/registry';
import { beginNft, familyName, familyNumber, messageAttributes, messageFamily, type NftFamily } from './message';
import { validateHandle } from './ranges';
import { UDATA_COMMENT, joinComment, splitComment } from './userdata';
import type { RuleSet } from './anonymous-sets';

/** A rule as listed (and as written, when given expressions directly). */
export interface Rule {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Name of its chain. */
  chain: string;
  /** The rule's expressions, in order, decoded (unknown ones as `opaque`). */
  expressions: Expression[];
  /** Shown by `nft list` as `comment "..."`. */
  comment?: string;
  /** Kernel-assigned; set when listed or echoed (read-only: accepted when passed back to an add, not written). */
  handle?: number;
  /** Userdata other than the comment, kept verbatim. */
  userdata?: Buffer;
  /**
   * The anonymous sets the expressions refer to (`tcp dport { 22, 80 }` lists
   * as a lookup of `@__set0`), with their elements: set by
   * `h.nft.ruleset.get()`, so that the rule can be added elsewhere as it is.
   */
  anonymousSets?: RuleSet[];
}

/** Identifies a rule. */
export interface RuleRef {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Name of its chain. */
  chain: string;
  /** Kernel-assigned handle. */
  handle: number;
}

/** Where a NEWRULE message puts the rule. */
export interface RulePlacement {
  /** NLM_F_APPEND: after `position` (or at the end without one); otherwise before it (or at the start). */
  append: boolean;
  /** Replace the rule with this handle. */
  replace?: number;
  /** Handle of the reference rule. */
  position?: number;
  /** NFTA_RULE_ID of a reference rule added earlier in the same batch. */
  positionId?: number;
  /** NFTA_RULE_ID of this rule, so later commands can place rules next to it. */
  ruleId?: number;
}

/** Writes NFT_MSG_NEWRULE. */
export function writeNewRule(w: NetlinkWriter, r: Omit<Rule, 'handle'>, place: RulePlacement, extraFlags: number): void {
  validateNftName(r.table, 'table name');
  validateNftName(r.chain, 'chain name');
  if (!Array.isArray(r.expressions)) throw new ValidationError('expressions', r.expressions, 'must be an array of expressions');
  let flags = extraFlags | NLM_F_CREATE;
  if (place.replace !== undefined) flags |= NLM_F_REPLACE;
  else if (place.append) flags |= NLM_F_APPEND;
  beginNft(w, C.NFT_MSG_NEWRULE, flags, familyNumber(r.family));
  w.bytes(tableAndChain(r.table, r.chain));
  if (place.replace !== undefined) w.be64(C.NFTA_RULE_HANDLE, BigInt(place.replace));
  if (place.position !== undefined) w.be64(C.NFTA_RULE_POSITION, BigInt(place.position));
  if (place.positionId !== undefined) w.be32(C.NFTA_RULE_POSITION_ID, place.positionId);
  if (place.ruleId !== undefined) w.be32(C.NFTA_RULE_ID, place.ruleId);
  writeExpressionList(w, C.NFTA_RULE_EXPRESSIONS, r.expressions);
  const ud = joinComment(r.comment, r.userdata, UDATA_COMMENT);
  if (ud) w.attr(C.NFTA_RULE_USERDATA, ud);
  w.end();
}

/** NFTA_RULE_TABLE and NFTA_RULE_CHAIN of the last chain written to, encoded once (rules of a batch mostly share them). */
let lastTableAndChain: { table: string; chain: string; bytes: Buffer } | undefined;

function tableAndChain(table: string, chain: string): Buffer {
  const last = lastTableAndChain;
  if (last?.table === table && last.chain === chain) return last.bytes;
  const w = new NetlinkWriter(64);
  w.string(C.NFTA_RULE_TABLE, table);
  w.string(C.NFTA_RULE_CHAIN, chain);
  lastTableAndChain = { table, chain, bytes: w.finish() };
  return lastTableAndChain.bytes;
}

/** Writes NFT_MSG_DELRULE: one rule by handle, or every rule of a chain / table (a flush). */
export function writeDeleteRule(
  w: NetlinkWriter,
  r: { family: NftFamily; table: string; chain?: string; handle?: number },
  msg: number = C.NFT_MSG_DELRULE,
): void {
  beginNft(w, msg, 0, familyNumber(r.family));
  w.string(C.NFTA_RULE_TABLE, validateNftName(r.table, 'table name'));
  if (r.chain !== undefined) w.string(C.NFTA_RULE_CHAIN, validateNftName(r.chain, 'chain name'));
  if (r.handle !== undefined) {
    if (r.chain === undefined) throw new ValidationError('chain', r.chain, 'deleting a rule by handle needs its chain');
    w.be64(C.NFTA_RULE_HANDLE, BigInt(validateHandle(r.handle, 'rule handle')));
  }
  w.end();
}

/** Decodes a NEWRULE/DELRULE message. */
export function decodeRule(m: NetlinkMessage): Rule {
  const a = messageAttributes(m);
  const r: Rule = {
    family: familyName(messageFamily(m)),
    table: a.string(C.NFTA_RULE_TABLE) ?? '',
    chain: a.string(C.NFTA_RULE_CHAIN) ?? '',
    expressions: readExpressionList(a.get(C.NFTA_RULE_EXPRESSIONS)),
  };
  const { comment, rest } = splitComment(a.get(C.NFTA_RULE_USERDATA), UDATA_COMMENT);
  if (comment !== undefined) r.comment = comment;
  if (rest) r.userdata = rest;
  const handle = a.be64(C.NFTA_RULE_HANDLE);
  if (handle !== undefined) r.handle = Number(handle);
  return r;
}

export function describeRule(r: { family: NftFamily; table: string; chain: string; handle?: number }): string {
  return `${r.family} ${r.table} ${r.chain}${r.handle !== undefined ? ` handle ${r.handle}` : ''}`;
}
