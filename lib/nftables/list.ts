/**
 * Reading the ruleset back: tables, chains, rules (with decoded
 * expressions), sets and maps with their elements, named objects, and the
 * ruleset generation — as the same typed objects a transaction writes.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { ENOENT } from '../netlink/errno';
import { DecodeError, NetlinkError, NotFoundError, ValidationError } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { anonymousSetNames } from './anonymous-sets';
import { dumpCommand } from './dump';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { validateNftName } from '../validate/names';
import { rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { decodeChain, describeChain, type Chain, type ChainRef } from './chain';
import { assembleElements, decodeElementMessage, type RawElement, type SetElement } from './elements';
import { beginNft, familyNumber, messageAttributes, nftCommand, type NftFamily } from './message';
import { decodeObject, describeObject, type NftObject, type ObjectRef } from './object';
import { OBJECT_TYPES, type ObjectType } from './object-types';
import { decodeRule, describeRule, type Rule, type RuleRef } from './rule';
import { dumpChainRules, dumpRulesOfChains } from './rule-dump';
import { decodeFieldLengths, decodeSet, describeSet, shapeOf, type NftSet, type SetRef, type SetShape } from './set';
import { cachedSetShape } from './set-shape-cache';
import { decodeTable, describeTable, type Table, type TableRef } from './table';
import { CHAIN_KEYS, RULE_KEYS, SET_KEYS, TABLE_KEYS, rejectUnknownObjectKeys } from './write-keys';

/** Narrows listings; every field is optional. */
export interface NftFilter {
  /** Only this family. */
  family?: NftFamily;
  /** Only this table. */
  table?: string;
  /** Only this chain (rules). */
  chain?: string;
}

/** A set with its elements, as `h.nft.ruleset.get()` returns it. */
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

/**
 * Whether an object passes the filter. Only the levels an object has are
 * compared: a table has no chain, so `{ table, chain }` keeps the table.
 */
function matches(f: NftFilter, family: NftFamily, table: string, chain?: string): boolean {
  return (
    (f.family === undefined || family === f.family) &&
    (f.table === undefined || table === f.table) &&
    (chain === undefined || f.chain === undefined || chain === f.chain)
  );
}

/** Shapes of sets by "family table name", for decoding elements. */
export function setKey(s: { family: string; table: string; name: string }): string {
  return `${s.family}\0${s.table}\0${s.name}`;
}

/** The element layout of a listed set, honouring the field lengths the kernel reports. */
export function shapeOfMessage(m: NetlinkMessage): SetShape {
  return cachedSetShape(m, deriveShape);
}

function deriveShape(m: NetlinkMessage): SetShape {
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
  if (lengths?.length === shape.keyFields.length) shape.keyFieldLengths = lengths;
  return shape;
}

/** Filter keys each listing accepts (others are refused: a typo must not widen a listing). */
const FILTER_KEYS = ['family', 'table', 'chain'] as const;

function checkFilter<F extends object>(filter: F | undefined, keys: readonly string[] = FILTER_KEYS): F {
  return rejectUnknownKeys(filter, keys, 'nftables filter') ?? ({} as F);
}

/** The kernel's "no such table/chain/rule/set/object" becomes a typed NotFoundError. */
function* getOne(msg: number, family: NftFamily, what: string, attrs: (w: NetlinkWriter) => void): Operation<NetlinkMessage> {
  const w = new NetlinkWriter();
  beginNft(w, msg, 0, familyNumber(family));
  attrs(w);
  let replies: NetlinkMessage[];
  try {
    replies = yield* call(w.end().finish(), `get nftables ${what}`);
  } catch (e) {
    throw asNotFound(e, `nftables ${what.split(' ')[0]}`);
  }
  const m = replies.find((r) => nftCommand(r) === msg - 1); // GETx is answered with NEWx
  if (!m) throw new DecodeError(`nftables ${what.split(' ')[0]}`, `the kernel answered a get of ${what} without its message`);
  return m;
}

/** ENOENT as NotFoundError (anything else unchanged); `what` names the kind of object ("nftables set"). */
export function asNotFound(e: unknown, what: string): unknown {
  return e instanceof NetlinkError && e.code === 'ENOENT' ? NotFoundError.from(what, e) : e;
}

/** `find`: the object, or undefined where `get` throws NotFoundError. */
function* orUndefined<T>(op: Operation<T>): Operation<T | undefined> {
  try {
    return yield* op;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/** An object given by handle: found by listing (the kernel gets tables and chains by name only). */
function byHandle<T extends { handle?: number }>(all: T[], handle: number, what: string): T {
  const hit = all.find((x) => x.handle === handle);
  if (!hit) throw new NotFoundError({ what: `nftables ${what.split(' ')[0]}`, errno: ENOENT, operation: `get nftables ${what}` });
  return hit;
}

function checkHandle(h: unknown): number {
  if (!Number.isSafeInteger(h) || (h as number) <= 0) throw new ValidationError('handle', h, 'must be a positive kernel handle');
  return h as number;
}

/** `h.nft.tables`: list, get, find (operations: run them on a netfilter connection; the handle binds them). */
export const nftTableOps = {
  /**
   * Lists tables, optionally of one family.
   * @example
   * const tables = await h.nft.tables.list({ family: 'inet' });
   */
  *list(filter?: Pick<NftFilter, 'family' | 'table'>): Operation<Table[]> {
    const f = checkFilter(filter, ['family', 'table']);
    const msgs = yield* dumpCommand(C.NFT_MSG_GETTABLE, f.family, 'tables');
    return msgs.map(decodeTable).filter((t) => matches(f, t.family, t.name));
  },

  /**
   * Gets one table by name (or handle); NotFoundError if there is none.
   * @example
   * const nat = await h.nft.tables.get({ family: 'inet', name: 'nat' });
   */
  *get(ref: TableRef): Operation<Table> {
    // A listed table is its own reference; a misspelt key is refused, as by the transaction's calls.
    rejectUnknownKeys(ref, TABLE_KEYS, 'table reference');
    if (ref.name === undefined && ref.handle !== undefined) {
      const all = yield* nftTableOps.list({ family: ref.family });
      return byHandle(all, checkHandle(ref.handle), `table ${describeTable(ref)}`);
    }
    const name = validateNftName(ref.name, 'table name');
    return decodeTable(yield* getOne(C.NFT_MSG_GETTABLE, ref.family, `table ${describeTable(ref)}`, (w) => w.string(C.NFTA_TABLE_NAME, name)));
  },

  /**
   * Like {@link nftTableOps.get}, but undefined if there is no such table.
   * @example
   * if (!(await h.nft.tables.find({ family: 'inet', name: 'nat' }))) console.log('no nat table');
   */
  *find(ref: TableRef): Operation<Table | undefined> {
    return yield* orUndefined(nftTableOps.get(ref));
  },
};

/** `h.nft.chains`: list, get, find. */
export const nftChainOps = {
  /**
   * Lists chains, optionally of one family or table.
   * @example
   * const chains = await h.nft.chains.list({ family: 'inet', table: 'nat' });
   */
  *list(filter?: NftFilter): Operation<Chain[]> {
    const f = checkFilter(filter);
    const msgs = yield* dumpCommand(C.NFT_MSG_GETCHAIN, f.family, 'chains');
    return msgs.map(decodeChain).filter((c) => matches(f, c.family, c.table, c.name));
  },

  /**
   * Gets one chain by name (or handle); NotFoundError if it (or its table) does not exist.
   * @example
   * const post = await h.nft.chains.get({ family: 'inet', table: 'nat', name: 'postrouting' });
   */
  *get(ref: ChainRef): Operation<Chain> {
    rejectUnknownKeys(ref, CHAIN_KEYS, 'chain reference');
    const table = validateNftName(ref.table, 'table name');
    if (ref.name === undefined && ref.handle !== undefined) {
      const all = yield* nftChainOps.list({ family: ref.family, table });
      return byHandle(all, checkHandle(ref.handle), `chain ${describeChain(ref)}`);
    }
    const name = validateNftName(ref.name, 'chain name');
    const m = yield* getOne(C.NFT_MSG_GETCHAIN, ref.family, `chain ${describeChain(ref)}`, (w) => {
      w.string(C.NFTA_CHAIN_TABLE, table);
      w.string(C.NFTA_CHAIN_NAME, name);
    });
    return decodeChain(m);
  },

  /**
   * Like {@link nftChainOps.get}, but undefined if there is no such chain.
   * @example
   * const c = await h.nft.chains.find({ family: 'inet', table: 'nat', name: 'services' });
   */
  *find(ref: ChainRef): Operation<Chain | undefined> {
    return yield* orUndefined(nftChainOps.get(ref));
  },
};

/** `h.nft.rules`: list, get, find. */
export const nftRuleOps = {
  /**
   * Lists rules with their decoded expressions, optionally of one table or chain.
   * @example
   * const rules = await h.nft.rules.list({ family: 'inet', table: 'nat', chain: 'postrouting' });
   */
  *list(filter?: NftFilter): Operation<Rule[]> {
    const f = checkFilter(filter);
    if (f.table !== undefined) validateNftName(f.table, 'table');
    if (f.chain !== undefined) validateNftName(f.chain, 'chain');
    // Without both table and chain: one dump per chain (a dump of many chains' rules is quadratic in the kernel).
    if (f.table === undefined || f.chain === undefined) return yield* dumpRulesOfChains(yield* nftChainOps.list(f));
    return (yield* dumpChainRules(f.family, f.table, f.chain)).filter((r) => matches(f, r.family, r.table, r.chain));
  },

  /**
   * Gets one rule by its handle; NotFoundError if it (or its chain) does
   * not exist. A listed rule can be given as it is.
   * @example
   * const r = await h.nft.rules.get({ family: 'inet', table: 'filter', chain: 'input', handle: 7 });
   */
  *get(ref: RuleRef | Rule): Operation<Rule> {
    rejectUnknownKeys(ref, RULE_KEYS, 'rule reference');
    const table = validateNftName(ref.table, 'table name');
    const chain = validateNftName(ref.chain, 'chain name');
    const handle = checkHandle(ref.handle);
    const m = yield* getOne(C.NFT_MSG_GETRULE, ref.family, `rule ${describeRule(ref)}`, (w) => {
      w.string(C.NFTA_RULE_TABLE, table);
      w.string(C.NFTA_RULE_CHAIN, chain);
      w.be64(C.NFTA_RULE_HANDLE, BigInt(handle));
    });
    return decodeRule(m);
  },

  /**
   * Like {@link nftRuleOps.get}, but undefined if there is no such rule.
   * @example
   * const still = await h.nft.rules.find({ family: 'inet', table: 'filter', chain: 'input', handle: 7 });
   */
  *find(ref: RuleRef | Rule): Operation<Rule | undefined> {
    return yield* orUndefined(nftRuleOps.get(ref));
  },
};

/** `h.nft.sets`: list, get, find (sets and maps; elements are in `h.nft.elements`). */
export const nftSetOps = {
  /**
   * Lists sets and maps (without elements; see {@link nftElementOps.list}).
   * @example
   * const sets = await h.nft.sets.list({ family: 'inet', table: 'filter' });
   */
  *list(filter?: Pick<NftFilter, 'family' | 'table'>): Operation<NftSet[]> {
    const f = checkFilter(filter, ['family', 'table']);
    const msgs = yield* dumpCommand(C.NFT_MSG_GETSET, f.family, 'sets', (w) => {
      if (f.table !== undefined) w.string(C.NFTA_SET_TABLE, validateNftName(f.table, 'table'));
    });
    return msgs.map(decodeSet).filter((s) => matches(f, s.family, s.table));
  },

  /**
   * Gets one set or map definition; NotFoundError if it does not exist.
   * @example
   * const set = await h.nft.sets.get({ family: 'inet', table: 'filter', name: 'allowed' });
   */
  *get(ref: SetRef): Operation<NftSet> {
    rejectUnknownKeys(ref, SET_KEYS, 'set reference');
    return decodeSet(yield* getSetMessage(ref));
  },

  /**
   * Like {@link nftSetOps.get}, but undefined if there is no such set.
   * @example
   * const set = await h.nft.sets.find({ family: 'inet', table: 'filter', name: 'allowed' });
   */
  *find(ref: SetRef): Operation<NftSet | undefined> {
    return yield* orUndefined(nftSetOps.get(ref));
  },
};

/** `h.nft.elements`: the elements of one set or map. */
export const nftElementOps = {
  /**
   * Lists the elements of a set or map, typed by the set's key and data types
   * (NotFoundError if the set does not exist).
   * @example
   * const els = await h.nft.elements.list({ family: 'inet', table: 'filter', name: 'allowed' });
   * // [{ key: '10.0.0.0/8' }, { key: '192.168.1.1' }]
   */
  *list(ref: SetRef): Operation<SetElement[]> {
    rejectUnknownKeys(ref, SET_KEYS, 'set reference');
    const shape = shapeOfMessage(yield* getSetMessage(ref));
    return yield* listElementsWithShape(ref, shape);
  },
};

/** Filter of {@link nftObjectOps.list}. */
export type NftObjectFilter = Pick<NftFilter, 'family' | 'table'> & {
  /** Only objects of this type. */
  type?: ObjectType;
};

/** `h.nft.objects`: list, get, find (named counters, quotas, limits, ...). */
export const nftObjectOps = {
  /**
   * Lists named objects (counters, quotas, limits, ...).
   * @example
   * const counters = await h.nft.objects.list({ family: 'inet', table: 'filter', type: 'counter' });
   */
  *list(filter?: NftObjectFilter): Operation<NftObject[]> {
    const f = checkFilter(filter, ['family', 'table', 'type']);
    const msgs = yield* dumpCommand(C.NFT_MSG_GETOBJ, f.family, 'objects', (w) => {
      if (f.table !== undefined) w.string(C.NFTA_OBJ_TABLE, validateNftName(f.table, 'table'));
      if (f.type !== undefined) w.be32(C.NFTA_OBJ_TYPE, OBJECT_TYPES.number(f.type));
    });
    return msgs.map(decodeObject).filter((o) => matches(f, o.family, o.table) && (f.type === undefined || o.type === f.type));
  },

  /**
   * Gets one named object with its current values (a counter's packets and
   * bytes); NotFoundError if it does not exist.
   * @example
   * const http = await h.nft.objects.get({ family: 'inet', table: 'filter', name: 'http', type: 'counter' });
   */
  *get(ref: ObjectRef): Operation<NftObject> {
    // The keys of the object's type: a listed counter (packets, bytes) is its own reference.
    rejectUnknownObjectKeys(ref as NftObject);
    const table = validateNftName(ref.table, 'table name');
    const name = validateNftName(ref.name, 'object name');
    const type = OBJECT_TYPES.number(ref.type, 'object type');
    const m = yield* getOne(C.NFT_MSG_GETOBJ, ref.family, describeObject(ref), (w) => {
      w.string(C.NFTA_OBJ_TABLE, table);
      w.string(C.NFTA_OBJ_NAME, name);
      w.be32(C.NFTA_OBJ_TYPE, type);
    });
    return decodeObject(m);
  },

  /**
   * Like {@link nftObjectOps.get}, but undefined if there is no such object.
   * @example
   * const q = await h.nft.objects.find({ family: 'inet', table: 'filter', name: 'q', type: 'quota' });
   */
  *find(ref: ObjectRef): Operation<NftObject | undefined> {
    return yield* orUndefined(nftObjectOps.get(ref));
  },
};

/** `h.nft.ruleset`: everything at once. */
export const nftRulesetOps = {
  /**
   * Gets everything: tables, chains, rules, sets with their elements, objects
   * (of one family or table when filtered).
   * @example
   * const { tables, chains, rules, sets } = await h.nft.ruleset.get();
   */
  *get(filter?: Pick<NftFilter, 'family' | 'table'>): Operation<Ruleset> {
    const f = checkFilter(filter, ['family', 'table']);
    const tables = yield* nftTableOps.list(f);
    const chains = yield* nftChainOps.list(f);
    const rules = yield* nftRuleOps.list(f);
    const setMsgs = (yield* dumpCommand(C.NFT_MSG_GETSET, f.family, 'sets')).filter((m) => {
      const s = decodeSet(m);
      return matches(f, s.family, s.table);
    });
    const sets: SetWithElements[] = [];
    for (const m of setMsgs) {
      const s = decodeSet(m);
      sets.push({ ...s, elements: yield* listElementsWithShape(s, shapeOfMessage(m)) });
    }
    const objects = yield* nftObjectOps.list(f);
    attachAnonymousSets(rules, sets);
    return { tables, chains, rules, sets, objects };
  },
};

/** Gives each rule the anonymous sets it refers to, so that it can be added elsewhere as it is. */
function attachAnonymousSets(rules: Rule[], sets: SetWithElements[]): void {
  const anonymous = new Map<string, SetWithElements>();
  for (const s of sets) if (s.flags?.includes('anonymous')) anonymous.set(`${s.family}\0${s.table}\0${s.name}`, s);
  if (anonymous.size === 0) return;
  for (const r of rules) {
    const own = anonymousSetNames(r.expressions).flatMap((n) => anonymous.get(`${r.family}\0${r.table}\0${n}`) ?? []);
    if (own.length) r.anonymousSets = own;
  }
}

/** `h.nft.generation`: the ruleset generation. */
export const nftGenerationOps = {
  /**
   * Gets the ruleset generation (for optimistic concurrency: pass its `id`
   * to `tx.commit({ expectGeneration })`).
   * @example
   * const { id } = await h.nft.generation.get();
   */
  *get(): Operation<Generation> {
    const w = new NetlinkWriter();
    beginNft(w, C.NFT_MSG_GETGEN, 0, C.NFPROTO_UNSPEC);
    const replies = yield* call(w.end().finish(), 'get nftables generation');
    const m = replies.find((r) => nftCommand(r) === C.NFT_MSG_NEWGEN);
    if (!m) throw new DecodeError('nftables generation', 'the kernel answered GETGEN without a NEWGEN message');
    return decodeGeneration(m);
  },
};

/** @internal the list operations under their former names (transactions use them; `h.nft.list*` are deprecated). */
export const nftListOps = {
  listTables: (filter?: Pick<NftFilter, 'family' | 'table'>) => nftTableOps.list(filter),
  listChains: (filter?: NftFilter) => nftChainOps.list(filter),
  listRules: (filter?: NftFilter) => nftRuleOps.list(filter),
  listSets: (filter?: Pick<NftFilter, 'family' | 'table'>) => nftSetOps.list(filter),
  getSet: (ref: SetRef) => nftSetOps.get(ref),
  listElements: (ref: SetRef) => nftElementOps.list(ref),
  listObjects: (filter?: NftObjectFilter) => nftObjectOps.list(filter),
  listRuleset: (filter?: Pick<NftFilter, 'family' | 'table'>) => nftRulesetOps.get(filter),
  generation: () => nftGenerationOps.get(),
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
  let replies: NetlinkMessage[];
  try {
    replies = yield* call(w.end().finish(), `get nftables set ${ref.family} ${ref.table} ${ref.name}`);
  } catch (e) {
    throw asNotFound(e, 'nftables set');
  }
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
  const raw: RawElement[] = [];
  for (const m of replies) if (nftCommand(m) === C.NFT_MSG_NEWSETELEM) for (const e of decodeElementMessage(m).elements) raw.push(e);
  return assembleElements(shape, raw);
}
