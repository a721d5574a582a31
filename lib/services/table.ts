/**
 * Writing the services table: the whole table once (base chains and maps,
 * then every service), and afterwards each change as the difference between
 * services' objects before and after, queued into one transaction. Its size
 * depends on the changed services only, never on how many others exist; the
 * elements of many services go in one message per map and direction.
 * @module
 */
import type { Transaction } from '../nftables/transaction';
import type { SetElement } from '../nftables';
import { BASE_CHAINS, BASE_MAPS, TABLE, baseLayout, type ChainLayout, type MapElementLayout, type MemberLayout, type ObjectsLayout } from './layout';
import { LaidOut } from './layout-objects';
import { diffPortMembers, sameFields } from './members';
import { serviceLayout } from './service-layout';
import type { ServiceRecord } from './spec';

const NONE: ObjectsLayout = { chains: [], sets: [], elements: [], members: [] };

/** A chain or set of the services table by name (a literal: a spread of TABLE made a far larger object, per command). */
const inTable = (name: string): { family: typeof TABLE.family; table: string; name: string } => ({ family: TABLE.family, table: TABLE.table, name });

/** The shared maps by name (see queueChanges' `declareMaps`). */
const BASE_MAP = new Map(BASE_MAPS.map((m) => [m.name, m]));

/** One service's objects before and after a change (NONE when it did not or does not exist). */
export interface LayoutChange {
  before: ObjectsLayout;
  after: ObjectsLayout;
}

/**
 * The layout of each service laid out last, by name, with the record it is of
 * (records are never modified: the same object, the same layout). One entry
 * per service, replaced by its next layout: keyed by record object, the last
 * 64 layouts of a service changed again and again stayed reachable for 64
 * changes, and every scavenge copied and promoted them (~1.3 MB a scavenge at
 * 10,000 services, half its pause).
 */
const recent = new Map<string, LaidOut<ServiceRecord>>();
const MAX_RECENT = 64;

/**
 * The objects of a service, or none. A change's `before` is usually the
 * record the previous change wrote (the store gives the same object back,
 * store.ts), so its layout is not made again.
 */
export function objectsOf(rec: ServiceRecord | undefined): ObjectsLayout {
  if (!rec) return NONE;
  const known = recent.get(rec.name);
  if (known?.rec === rec) return known.layout;
  const layout = serviceLayout(rec);
  if (known) recent.delete(rec.name);
  else if (recent.size >= MAX_RECENT) recent.delete(recent.keys().next().value as string);
  recent.set(rec.name, new LaidOut(rec, layout)); // not a literal: layout-objects.ts
  return layout;
}

const elementKey = (e: MapElementLayout): string => `${e.map}\0${e.key.join('\0')}`;
const toElement = (e: MapElementLayout): SetElement => ({ key: e.key, verdict: { code: 'goto', chain: e.chain } });
/** A member as added. */
export const toMember = (m: MemberLayout): SetElement => (m.value ? { key: m.key, value: m.value } : { key: m.key });

/** A chain's rules as a comparable signature (their builders' steps are opaque; the expressions are not). */
function signature(rules: ObjectsLayout['chains'][number]['rules']): string {
  try {
    return JSON.stringify(
      rules.map((r) => r.toExpressions('inet')),
      (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
    );
  } catch {
    return `${Math.random()}`; // not comparable: always rewritten
  }
}

/** Whether two chains' rules are the same: by what they are made from when both say, else by their expressions. */
function sameRules(a: ChainLayout, b: ChainLayout): boolean {
  if (a.inputs !== undefined && b.inputs !== undefined) return a.inputs === b.inputs;
  return signature(a.rules) === signature(b.rules);
}

/** Element lists by map: one message per map and direction (the kernel finds a message's set by walking the table's sets). */
class ElementsByMap {
  /** Made on the first element: most changes leave the dispatch lists empty. */
  private lists: Map<string, SetElement[]> | undefined;
  push(map: string, e: SetElement): void {
    const list = this.lists?.get(map);
    if (list) list.push(e);
    else (this.lists ??= new Map()).set(map, [e]);
  }
  queue(write: (map: string, els: SetElement[]) => void): void {
    if (this.lists) for (const [map, els] of this.lists) write(map, els);
  }
}

/** The elements of `from` not in `to` with the same value (dispatch elements: the same chain). */
function changedElements<T>(from: readonly T[], to: readonly T[], key: (x: T) => string, value: (x: T) => string): T[] {
  const other = new Map(to.map((x) => [key(x), value(x)]));
  return from.filter((x) => other.get(key(x)) !== value(x));
}

/** Whether two lists of dispatch elements are the same, in the same order (most changes: no key strings and Maps to learn it). */
function sameElements(a: readonly MapElementLayout[], b: readonly MapElementLayout[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].map !== b[i].map || a[i].chain !== b[i].chain || !sameFields(a[i].key, b[i].key)) return false;
  return true;
}

/**
 * Queues the changes: dispatch elements and shared-map elements that go or
 * change are deleted first, then the chains of `before` whose rules change
 * are flushed (nothing refers to what is deleted next), chains that go are
 * deleted, new ones added, the rules written, and the new and changed
 * elements added. A changed element is deleted and added again in the same
 * transaction (the kernel cannot change an element's data in place). Chains
 * whose rules stay the same are left alone.
 *
 * With `declareMaps`, each shared map written to is also added (with the
 * definition the table was made with) before its first element command: the
 * transaction then encodes the elements with the types it knows instead of
 * asking the kernel for each map's definition first (one round trip per map
 * and change). To the kernel, adding an existing set with the same
 * definition changes nothing; a map redefined behind nlkit's back fails the
 * transaction (EEXIST), and the manager sends the change again without
 * declarations (manager.ts).
 */
export function queueChanges(tx: Transaction, changes: readonly LayoutChange[], declareMaps = false): void {
  const declared = new Set<string>();
  const declare = (map: string) => {
    const def = declareMaps && !declared.has(map) ? BASE_MAP.get(map) : undefined;
    if (!def) return;
    declared.add(map);
    tx.addSet(def);
  };
  const dels = { dispatch: new ElementsByMap(), members: new ElementsByMap() };
  const adds = { dispatch: new ElementsByMap(), members: new ElementsByMap() };
  const chainValue = (e: MapElementLayout) => e.chain;
  /** The ports whose endpoint slots changed, per change (their affinity maps are emptied). */
  const picksChanged = changes.map(() => new Set<string>());
  changes.forEach(({ before, after }, i) => {
    if (!sameElements(before.elements, after.elements)) {
      for (const e of changedElements(before.elements, after.elements, elementKey, chainValue)) dels.dispatch.push(e.map, { key: e.key });
      for (const e of changedElements(after.elements, before.elements, elementKey, chainValue)) adds.dispatch.push(e.map, toElement(e));
    }
    diffPortMembers(
      before.members,
      after.members,
      (set, e, port) => {
        dels.members.push(set, e);
        picksChanged[i].add(port);
      },
      (set, e, port) => {
        adds.members.push(set, e);
        picksChanged[i].add(port);
      },
    );
  });
  dels.dispatch.queue((map, els) => (declare(map), tx.deleteElements(inTable(map), els)));
  dels.members.queue((map, els) => (declare(map), tx.deleteElements(inTable(map), els)));
  const rewritten: ObjectsLayout['chains'] = [];
  changes.forEach(({ before, after }, i) => {
    // Most services have no chain or set of their own (no affinity): nothing below to compare.
    if (!before.chains.length && !after.chains.length && !before.sets.length && !after.sets.length) return;
    const afterChains = new Map(after.chains.map((c) => [c.name, c]));
    const beforeChains = new Map(before.chains.map((c) => [c.name, c]));
    for (const [name, c] of beforeChains) {
      const next = afterChains.get(name);
      if (next && sameRules(next, c)) continue;
      tx.flushChain(inTable(name));
      if (next) rewritten.push(next);
      else tx.deleteChain(inTable(name));
    }
    // A port's own sets (affinity maps): those that go are deleted once no rule reads them, new ones added before the rules.
    const afterSets = new Set(after.sets.map((x) => x.name));
    const beforeSets = new Set(before.sets.map((x) => x.name));
    for (const name of beforeSets) if (!afterSets.has(name)) tx.deleteSet(inTable(name));
    for (const set of after.sets) if (!beforeSets.has(set.name)) tx.addSet(set);
    for (const c of after.chains) {
      if (beforeChains.has(c.name)) continue;
      tx.addChain(inTable(c.name));
      rewritten.push(c);
    }
    // Affinity entries may lead to an endpoint no longer picked: the port's affinity map is emptied (its clients choose again).
    for (const port of picksChanged[i]) if (beforeSets.has(`aff-${port}`) && afterSets.has(`aff-${port}`)) tx.flushSet(inTable(`aff-${port}`));
  });
  for (const c of rewritten) for (const r of c.rules) tx.addRule({ ...TABLE, chain: c.name, rule: r });
  adds.members.queue((map, els) => (declare(map), tx.addElements(inTable(map), els)));
  adds.dispatch.queue((map, els) => (declare(map), tx.addElements(inTable(map), els)));
}

/** Queues the change of one service from `before` to `after`. */
export function queueChange(tx: Transaction, before: ObjectsLayout, after: ObjectsLayout): void {
  queueChanges(tx, [{ before, after }]);
}

/** Queues the whole table (there is none): base chains, maps and rules, then every service. */
export function queueTable(tx: Transaction, services: readonly ServiceRecord[], more: readonly LayoutChange[] = []): void {
  tx.addTable({ family: TABLE.family, name: TABLE.table });
  const base = baseLayout();
  for (const s of base.sets) tx.addSet(s);
  for (const c of BASE_CHAINS) tx.addChain({ ...TABLE, ...c });
  // Services (their chains, if any, and elements) before the base rules: the vmap lookups refer to maps only, but the elements refer to chains.
  queueChanges(tx, [...services.map((rec) => ({ before: NONE, after: serviceLayout(rec) })), ...more]);
  for (const c of base.chains) for (const r of c.rules) tx.addRule({ ...TABLE, chain: c.name, rule: r });
}

/** Queues the removal of the whole table. */
export function queueTableRemoval(tx: Transaction): void {
  tx.deleteTable({ family: TABLE.family, name: TABLE.table });
}
