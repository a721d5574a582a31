/**
 * Reading the ruleset back: tables, chains, rules (with decoded
 * expressions), sets and maps with their elements, named objects, and the
 * ruleset generation — as the same typed objects a transaction writes.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { DecodeError, ValidationError } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { decodeChain, type Chain } from './chain';
import { assembleElements, decodeElementMessage, type SetElement } from './elements';
import { beginNft, familyNumber, messageAttributes, nftCommand, type NftFamily } from './message';
import { decodeObject, type NftObject } from './object';
import { OBJECT_TYPES, type ObjectType } from './object-types';
import { decodeRule, type Rule } from './rule';
import { decodeFieldLengths, decodeSet, describeSet, shapeOf, type NftSet, type SetRef, type SetShape } from './set';
import { decodeTable, type Table } from './table';

/** Narrows listings; every field is optional. */
export interface NftFilter {
  /** Only this family. */
  family?: NftFamily;
  /** Only this table. */
  table?: string;
  /** Only this chain (rules). */
  chain?: string;
}

/** A set with its elements, as {@link Nftables.listRuleset} returns it. */
export type SetWithElements = NftSet & {
  /** The set's elements, typed by its key and data types. */
  elements: SetElement[];
};

/** The whole ruleset (of one family, when filtered). */
export interface Ruleset {
  /** Every table. */
  tables: Table[];
  /** Every chain. */
  chains: Chain[];
  /** Every rule, with decoded expressions. */
  rules: Rule[];
  /** Every set and map, with its elements (anonymous sets included). */
  sets: SetWithElements[];
  /** Every named object. */
  objects: NftObject[];
}

/** The ruleset generation: bumped by every committed transaction. */
export interface Generation {
  /** Generation number; each commit increments it. */
  id: number;
  /** Process that committed last, when the kernel says. */
  pid?: number;
  /** Name of that process, when the kernel says. */
  processName?: string;
}

function familyFilter(f: NftFamily | undefined): number {
  return f === undefined ? C.NFPROTO_UNSPEC : familyNumber(f);
}

function* dumpCommand(msg: number, family: NftFamily | undefined, what: string, attrs?: (w: NetlinkWriter) => void): Operation<NetlinkMessage[]> {
  const w = new NetlinkWriter();
  beginNft(w, msg, NLM_F_DUMP, familyFilter(family));
  attrs?.(w);
  const replies = yield* dump(w.end().finish(), `list nftables ${what}`);
  return replies.filter((m) => nftCommand(m) === msg - 1); // GETx is answered with NEWx
}

/**
 * Whether an object passes the filter. Only the levels an object has are
 * compared: a table has no chain, so `{ table, chain }` keeps the table.
 */
function matches(f: NftFilter, family: NftFamily, table: string, chain?: string): boolean {
  return (f.family === undefined || family === f.family) && (f.table === undefined || table === f.table) && (chain === undefined || f.chain === undefined || chain === f.chain);
}

/** Shapes of sets by "family table name", for decoding elements. */
export function setKey(s: { family: string; table: string; name: string }): string {
  return `${s.family}\0${s.table}\0${s.name}`;
}

/** The element layout of a listed set, honouring the field lengths the kernel reports. */
export function shapeOfMessage(m: NetlinkMessage): SetShape {
  const s = decodeSet(m);
  let shape: SetShape;
  try {
    shape = shapeOf(s);
  } catch (e) {
    // The kernel always reports key and data lengths; without them there is no layout.
    if (e instanceof ValidationError) throw new DecodeError('nftables set', `${describeSet(s)}: ${e.message}`, m.type);
    throw e;
  }
  const lengths = decodeFieldLengths(m);
  if (lengths && lengths.length === shape.keyFields.length) shape.keyFieldLengths = lengths;
  return shape;
}

/** The list operations; bound to a handle as part of `handle.nft`. */
export const nftListOps = {
  /**
   * Lists tables.
   * @example
   * const tables = await h.nft.listTables({ family: 'inet' });
   */
  *listTables(filter: NftFilter = {}): Operation<Table[]> {
    const msgs = yield* dumpCommand(C.NFT_MSG_GETTABLE, filter.family, 'tables');
    return msgs.map(decodeTable).filter((t) => matches(filter, t.family, t.name));
  },

  /**
   * Lists chains, optionally of one table.
   * @example
   * const chains = await h.nft.listChains({ family: 'inet', table: 'nat' });
   */
  *listChains(filter: NftFilter = {}): Operation<Chain[]> {
    const msgs = yield* dumpCommand(C.NFT_MSG_GETCHAIN, filter.family, 'chains');
    return msgs.map(decodeChain).filter((c) => matches(filter, c.family, c.table, c.name));
  },

  /**
   * Lists rules with their decoded expressions, optionally of one table or chain.
   * @example
   * const rules = await h.nft.listRules({ family: 'inet', table: 'nat', chain: 'postrouting' });
   */
  *listRules(filter: NftFilter = {}): Operation<Rule[]> {
    const msgs = yield* dumpCommand(C.NFT_MSG_GETRULE, filter.family, 'rules', (w) => {
      // The kernel filters rule dumps by table and chain itself.
      if (filter.table !== undefined) w.string(C.NFTA_RULE_TABLE, validateNftName(filter.table, 'table'));
      if (filter.table !== undefined && filter.chain !== undefined) w.string(C.NFTA_RULE_CHAIN, validateNftName(filter.chain, 'chain'));
    });
    return msgs.map(decodeRule).filter((r) => matches(filter, r.family, r.table, r.chain));
  },

  /**
   * Lists sets and maps (without elements; see {@link nftListOps.listElements}).
   * @example
   * const sets = await h.nft.listSets({ family: 'inet', table: 'filter' });
   */
  *listSets(filter: NftFilter = {}): Operation<NftSet[]> {
    const msgs = yield* dumpCommand(C.NFT_MSG_GETSET, filter.family, 'sets', (w) => {
      if (filter.table !== undefined) w.string(C.NFTA_SET_TABLE, validateNftName(filter.table, 'table'));
    });
    return msgs.map(decodeSet).filter((s) => matches(filter, s.family, s.table));
  },

  /**
   * Gets one set or map definition.
   * @example
   * const set = await h.nft.getSet({ family: 'inet', table: 'filter', name: 'allowed' });
   */
  *getSet(ref: SetRef): Operation<NftSet> {
    const m = yield* getSetMessage(ref);
    return decodeSet(m);
  },

  /**
   * Lists the elements of a set or map, typed by the set's key and data types.
   * @example
   * const els = await h.nft.listElements({ family: 'inet', table: 'filter', name: 'allowed' });
   * // [{ key: '10.0.0.0/8' }, { key: '192.168.1.1' }]
   */
  *listElements(ref: SetRef): Operation<SetElement[]> {
    const shape = shapeOfMessage(yield* getSetMessage(ref));
    return yield* listElementsWithShape(ref, shape);
  },

  /**
   * Lists named objects (counters, quotas, limits, ...).
   * @example
   * const counters = await h.nft.listObjects({ family: 'inet', table: 'filter', type: 'counter' });
   */
  *listObjects(filter: NftFilter & { type?: ObjectType } = {}): Operation<NftObject[]> {
    const msgs = yield* dumpCommand(C.NFT_MSG_GETOBJ, filter.family, 'objects', (w) => {
      if (filter.table !== undefined) w.string(C.NFTA_OBJ_TABLE, validateNftName(filter.table, 'table'));
      if (filter.type !== undefined) w.be32(C.NFTA_OBJ_TYPE, OBJECT_TYPES.number(filter.type));
    });
    return msgs.map(decodeObject).filter((o) => matches(filter, o.family, o.table) && (filter.type === undefined || o.type === filter.type));
  },

  /**
   * Lists everything: tables, chains, rules, sets with their elements, objects.
   * @example
   * const { tables, chains, rules, sets } = await h.nft.listRuleset();
   */
  *listRuleset(filter: Pick<NftFilter, 'family' | 'table'> = {}): Operation<Ruleset> {
    const tables = yield* nftListOps.listTables(filter);
    const chains = yield* nftListOps.listChains(filter);
    const rules = yield* nftListOps.listRules(filter);
    const setMsgs = (yield* dumpCommand(C.NFT_MSG_GETSET, filter.family, 'sets')).filter((m) => {
      const s = decodeSet(m);
      return matches(filter, s.family, s.table);
    });
    const sets: SetWithElements[] = [];
    for (const m of setMsgs) {
      const s = decodeSet(m);
      sets.push({ ...s, elements: yield* listElementsWithShape(s, shapeOfMessage(m)) });
    }
    const objects = yield* nftListOps.listObjects(filter);
    return { tables, chains, rules, sets, objects };
  },

  /**
   * Reads the ruleset generation (for optimistic concurrency: pass its `id`
   * to `tx.commit({ expectGeneration })`).
   * @example
   * const { id } = await h.nft.generation();
   */
  *generation(): Operation<Generation> {
    const w = new NetlinkWriter();
    beginNft(w, C.NFT_MSG_GETGEN, 0, C.NFPROTO_UNSPEC);
    const replies = yield* call(w.end().finish(), 'get nftables generation');
    const m = replies.find((r) => nftCommand(r) === C.NFT_MSG_NEWGEN);
    if (!m) throw new DecodeError('nftables generation', 'the kernel answered GETGEN without a NEWGEN message');
    return decodeGeneration(m);
  },
};

/** Decodes a NEWGEN message. */
export function decodeGeneration(m: NetlinkMessage): Generation {
  const a = messageAttributes(m);
  const g: Generation = { id: a.be32(C.NFTA_GEN_ID) ?? 0 };
  const pid = a.be32(C.NFTA_GEN_PROC_PID);
  if (pid !== undefined) g.pid = pid;
  const name = a.string(C.NFTA_GEN_PROC_NAME);
  if (name !== undefined) g.processName = name;
  return g;
}

/** GETSET for one set; the reply is its NEWSET message. */
export function* getSetMessage(ref: SetRef): Operation<NetlinkMessage> {
  const w = new NetlinkWriter();
  beginNft(w, C.NFT_MSG_GETSET, 0, familyNumber(ref.family));
  w.string(C.NFTA_SET_TABLE, validateNftName(ref.table, 'table'));
  w.string(C.NFTA_SET_NAME, validateNftName(ref.name, 'set name'));
  const replies = yield* call(w.end().finish(), `get nftables set ${ref.family} ${ref.table} ${ref.name}`);
  const m = replies.find((r) => nftCommand(r) === C.NFT_MSG_NEWSET);
  if (!m) throw new DecodeError('nftables set', `the kernel answered GETSET for ${describeSet(ref)} without a NEWSET message`);
  return m;
}

function* listElementsWithShape(ref: SetRef, shape: SetShape): Operation<SetElement[]> {
  const w = new NetlinkWriter();
  beginNft(w, C.NFT_MSG_GETSETELEM, NLM_F_DUMP, familyNumber(ref.family));
  w.string(C.NFTA_SET_ELEM_LIST_TABLE, ref.table);
  w.string(C.NFTA_SET_ELEM_LIST_SET, ref.name);
  const replies = yield* dump(w.end().finish(), `list elements of nftables set ${ref.family} ${ref.table} ${ref.name}`);
  const raw = replies.filter((m) => nftCommand(m) === C.NFT_MSG_NEWSETELEM).flatMap((m) => decodeElementMessage(m).elements);
  return assembleElements(shape, raw);
}

