/**
 * The keys a transaction accepts on what it is given to add, create or
 * replace: the keys it writes, and the read-only keys a listing returns
 * (handles, use counts, an owner, counters, elements' time left), accepted
 * so that a listed object can be passed back in, and not written. Any other
 * key is refused with a ValidationError naming it: a misspelt option
 * (`{ polciy: 'drop' }`) would otherwise be dropped without a word.
 *
 * The same lists check the references given to delete, destroy, flush and
 * rename calls (a reference's keys are among its kind's, so a listed object
 * still serves as its own reference): `{ hanlde: 7 }` given to `deleteRule`
 * used to be dropped, and the rule's whole chain flushed.
 *
 * Each list is checked against its type by `keysOf`: a field added to a type
 * and not listed here does not compile.
 * @module
 */
import { keysOf, rejectUnknownKeys } from '../validate/options';
import type { Chain, ChainRef } from './chain';
import type { SetElement } from './element-types';
import type { Flowtable, FlowtableRef } from './flowtable';
import type {
  CounterObject,
  CtExpectationObject,
  CtHelperObject,
  CtTimeoutObject,
  LimitObject,
  NftObject,
  ObjectRef,
  OpaqueObject,
  QuotaObject,
  SecmarkObject,
  SynproxyObject,
} from './object';
import type { Rule, RuleRef } from './rule';
import type { NftSet, SetRef } from './set';
import type { Table, TableRef } from './table';
import type { AddOptions, CommitOptions, RuleAnchor, RuleInput } from './transaction-options';

/** Tables; read-only: handle, use, owner. */
export const TABLE_KEYS = keysOf<Table & TableRef>()(['family', 'name', 'flags', 'comment', 'userdata', 'handle', 'use', 'owner']);

/** Chains; read-only: handle, use. */
export const CHAIN_KEYS = keysOf<Chain & ChainRef>()([
  'family',
  'table',
  'name',
  'type',
  'hook',
  'priority',
  'policy',
  'device',
  'devices',
  'flags',
  'comment',
  'userdata',
  'handle',
  'use',
]);

/**
 * Sets and maps; read-only: handle. `elements` is what `h.nft.ruleset.get()`
 * lists with a set (and a listed rule with its anonymous sets): given to
 * `addSet`, they are added with the set.
 */
export const SET_KEYS = keysOf<NftSet & SetRef & { elements?: SetElement[] }>()([
  'family',
  'table',
  'name',
  'keyType',
  'keyLength',
  'dataType',
  'dataLength',
  'dataInterval',
  'objectType',
  'flags',
  'timeout',
  'gcInterval',
  'policy',
  'size',
  'counter',
  'expressions',
  'comment',
  'userdata',
  'handle',
  'elements',
]);

/** Elements; read-only: expires (a counter is written with its values). */
export const ELEMENT_KEYS = keysOf<SetElement>()([
  'key',
  'keyEnd',
  'value',
  'verdict',
  'object',
  'timeout',
  'comment',
  'expressions',
  'catchall',
  'expires',
  'counter',
]);

/** Rules to add, insert or replace; read-only: handle (replaceRule's handle says which rule it replaces; deleteRule's, which it deletes). */
export const RULE_KEYS = keysOf<RuleInput & RuleRef & Pick<Rule, 'handle'>>()([
  'family',
  'table',
  'chain',
  'expressions',
  'rule',
  'comment',
  'userdata',
  'anonymousSets',
  'handle',
]);

/** Flowtables; read-only: handle, use. */
export const FLOWTABLE_KEYS = keysOf<Flowtable & FlowtableRef>()(['family', 'table', 'name', 'hook', 'priority', 'devices', 'flags', 'handle', 'use']);

/** What every named object has; read-only: handle, use. */
const OBJECT_BASE = ['family', 'table', 'name', 'type', 'comment', 'userdata', 'handle', 'use'] as const;

/** Named objects by type; read-only besides the common ones: a quota's depleted. */
const OBJECT_KEYS: Record<string, readonly string[]> = {
  counter: keysOf<CounterObject>()([...OBJECT_BASE, 'packets', 'bytes']),
  quota: keysOf<QuotaObject>()([...OBJECT_BASE, 'bytes', 'consumed', 'invert', 'depleted']),
  limit: keysOf<LimitObject>()([...OBJECT_BASE, 'rate', 'unit', 'burst', 'limitType', 'invert']),
  'ct helper': keysOf<CtHelperObject>()([...OBJECT_BASE, 'helper', 'protocol', 'l3proto']),
  'ct timeout': keysOf<CtTimeoutObject>()([...OBJECT_BASE, 'protocol', 'l3proto', 'policy']),
  'ct expectation': keysOf<CtExpectationObject>()([...OBJECT_BASE, 'protocol', 'dport', 'timeout', 'size', 'l3proto']),
  synproxy: keysOf<SynproxyObject>()([...OBJECT_BASE, 'mss', 'wscale', 'timestamp', 'sackPerm', 'ecn']),
  secmark: keysOf<SecmarkObject>()([...OBJECT_BASE, 'context']),
};
/** Objects of the other types carry their attributes as raw data. */
const OPAQUE_KEYS = keysOf<OpaqueObject & ObjectRef>()([...OBJECT_BASE, 'data']);

/** Refuses keys a named object of its type does not have. */
export function rejectUnknownObjectKeys(o: NftObject): void {
  const type: unknown = o.type;
  rejectUnknownKeys(o, (typeof type === 'string' && Object.hasOwn(OBJECT_KEYS, type) ? OBJECT_KEYS[type] : undefined) ?? OPAQUE_KEYS, `${String(type)} object`);
}

/** Options of the `add*` calls. */
export const ADD_OPTION_KEYS = keysOf<AddOptions>()(['exclusive']);
/** Options of `addRule`. */
export const ADD_RULE_OPTION_KEYS = keysOf<{ after?: RuleAnchor }>()(['after']);
/** Options of `insertRule`. */
export const INSERT_RULE_OPTION_KEYS = keysOf<{ before?: RuleAnchor; index?: number }>()(['before', 'index']);
/** Options of `commit` and `encode`. */
export const COMMIT_OPTION_KEYS = keysOf<CommitOptions>()(['expectGeneration', 'echo']);
