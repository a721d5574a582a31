/**
 * Writing the services table: the whole table once (base chains and maps,
 * then every service), and afterwards each change as the difference between
 * a service's objects before and after, queued into one transaction. Its
 * size depends on that one service only, never on how many others exist.
 * @module
 */
import type { Transaction } from '../nftables/transaction';
import type { SetElement } from '../nftables';
import { BASE_CHAINS, TABLE, baseLayout, type MapElementLayout, type MemberLayout, type ObjectsLayout } from './layout';
import { serviceLayout } from './service-layout';
import type { ServiceRecord } from './spec';

const NONE: ObjectsLayout = { chains: [], sets: [], elements: [], members: [] };

/** The objects of a service, or none. */
export function objectsOf(rec: ServiceRecord | undefined): ObjectsLayout {
  return rec ? serviceLayout(rec) : NONE;
}

const elementKey = (e: MapElementLayout): string => `${e.map}\0${e.key.join('\0')}`;
const toElement = (e: MapElementLayout): SetElement => ({ key: e.key, verdict: { code: 'goto', chain: e.chain } });
const memberKey = (m: MemberLayout): string => `${m.set}\0${m.key}`;
const toMember = (m: MemberLayout): SetElement => (m.value ? { key: m.key, value: m.value } : { key: m.key });

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

/**
 * Queues the change from `before` to `after`: elements that go first, then
 * the chains of `before` are flushed (nothing refers to what is deleted
 * next), chains and sets that go are deleted, new ones added, and the rules
 * and elements of `after` written. Chains whose rules stay the same are left
 * alone, so established affinity entries and unrelated chains are kept.
 */
export function queueChange(tx: Transaction, before: ObjectsLayout, after: ObjectsLayout): void {
  const afterElements = new Map(after.elements.map((e) => [elementKey(e), e]));
  const beforeElements = new Map(before.elements.map((e) => [elementKey(e), e]));
  for (const [k, e] of beforeElements) {
    if (afterElements.get(k)?.chain !== e.chain) tx.deleteElements({ ...TABLE, name: e.map }, [{ key: e.key }]);
  }
  const afterChains = new Map(after.chains.map((c) => [c.name, c]));
  const beforeChains = new Map(before.chains.map((c) => [c.name, c]));
  const unchanged = new Set<string>();
  for (const [name, c] of beforeChains) {
    const next = afterChains.get(name);
    if (next && signature(next.rules) === signature(c.rules)) unchanged.add(name);
    else tx.flushChain({ ...TABLE, name });
  }
  for (const name of beforeChains.keys()) if (!afterChains.has(name)) tx.deleteChain({ ...TABLE, name });
  const afterSets = new Set(after.sets.map((s) => s.name));
  const beforeSets = new Set(before.sets.map((s) => s.name));
  for (const s of before.sets) if (!afterSets.has(s.name)) tx.deleteSet({ ...TABLE, name: s.name });
  for (const s of after.sets) if (!beforeSets.has(s.name)) tx.addSet(s);
  for (const c of after.chains) if (!beforeChains.has(c.name)) tx.addChain({ ...TABLE, name: c.name });
  for (const c of after.chains) {
    if (unchanged.has(c.name)) continue;
    for (const r of c.rules) tx.addRule({ ...TABLE, chain: c.name, rule: r });
  }
  queueMembers(tx, before, after, afterSets);
  for (const [k, e] of afterElements) {
    if (beforeElements.get(k)?.chain !== e.chain) tx.addElements({ ...TABLE, name: e.map }, [toElement(e)]);
  }
}

/**
 * The elements of a service's own sets: those that go or change are deleted
 * (in sets that stay), new and changed ones added. Affinity entries that may
 * lead to an endpoint no longer picked are dropped (the affinity map is
 * emptied: its clients choose again).
 */
function queueMembers(tx: Transaction, before: ObjectsLayout, after: ObjectsLayout, afterSets: Set<string>): void {
  const afterMembers = new Map(after.members.map((m) => [memberKey(m), m]));
  const beforeMembers = new Map(before.members.map((m) => [memberKey(m), m]));
  const same = (a: MemberLayout, b: MemberLayout | undefined) => b !== undefined && JSON.stringify(a.value) === JSON.stringify(b.value);
  // One message per set and direction: the kernel finds a set by walking the table's list of sets, once per message.
  const deletes = new Map<string, SetElement[]>();
  const adds = new Map<string, SetElement[]>();
  const push = (to: Map<string, SetElement[]>, set: string, e: SetElement) => to.set(set, [...(to.get(set) ?? []), e]);
  for (const [k, m] of beforeMembers) if (!same(m, afterMembers.get(k)) && afterSets.has(m.set)) push(deletes, m.set, { key: m.key });
  for (const [k, m] of afterMembers) if (!same(m, beforeMembers.get(k))) push(adds, m.set, toMember(m));
  // Ranges go one per message: the kernel refuses a message that adds several of them after they were replaced in the same
  // transaction (EEXIST, even after a flush). So an endpoint map is emptied and written whole when that takes fewer messages
  // than a delete per range that goes (each message makes the kernel walk the table's list of sets to find the map).
  const whole = (set: string) => 1 + after.members.filter((m) => m.set === set).length;
  const piecewise = (set: string) => (deletes.get(set)?.length ?? 0) + (adds.get(set)?.length ?? 0);
  const rewritten = new Set([...deletes.keys()].filter((set) => set.startsWith('eps-') && whole(set) < piecewise(set)));
  for (const set of rewritten) {
    tx.flushSet({ ...TABLE, name: set });
    deletes.delete(set);
    adds.set(set, after.members.filter((m) => m.set === set).map(toMember));
  }
  const send = (set: string, els: SetElement[], write: (els: SetElement[]) => void) => (set.startsWith('eps-') ? els.forEach((e) => write([e])) : write(els));
  for (const [set, els] of deletes) send(set, els, (e) => tx.deleteElements({ ...TABLE, name: set }, e));
  for (const [set, els] of adds) send(set, els, (e) => tx.addElements({ ...TABLE, name: set }, e));
  for (const s of new Set([...rewritten, ...adds.keys()])) {
    const aff = s.replace(/^eps-/, 'aff-');
    if (s.startsWith('eps-') && before.sets.some((x) => x.name === aff) && afterSets.has(aff)) tx.flushSet({ ...TABLE, name: aff });
  }
}

/** Queues the whole table (there is none): base chains, maps and rules, then every service. */
export function queueTable(tx: Transaction, services: ServiceRecord[]): void {
  tx.addTable({ family: TABLE.family, name: TABLE.table });
  const base = baseLayout();
  for (const s of base.sets) tx.addSet(s);
  for (const c of BASE_CHAINS) tx.addChain({ ...TABLE, ...c });
  // Service chains before the base rules: the vmap lookups refer to maps only, but the elements refer to chains.
  for (const rec of services) queueChange(tx, NONE, serviceLayout(rec));
  for (const c of base.chains) for (const r of c.rules) tx.addRule({ ...TABLE, chain: c.name, rule: r });
}

/** Queues the removal of the whole table. */
export function queueTableRemoval(tx: Transaction): void {
  tx.deleteTable({ family: TABLE.family, name: TABLE.table });
}
