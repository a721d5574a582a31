// The services layout and change queueing as they were before a service's
// slots were laid out per port and diffed slot by slot (main at 14a2ab1:
// lib/services/service-layout.ts and table.ts): one member object and key
// string per slot. Kept, unchanged but for imports, exports and the old
// layout types, only as the reference whose batches the new code's are
// compared with (test/unit/services-queue.test.ts). Not used by lib/.
import type { NftSet, SetElement } from '../../lib/nftables';
import { rule, type Expression, type RuleBuilder } from '../../lib/nftables';
import type { Transaction } from '../../lib/nftables/transaction';
import { hairpinExpressions, hairpinSet } from '../../lib/services/hairpin';
import { TABLE } from '../../lib/services/layout';
import { dnatFromRegisters, endpointRegisters, endpointsMap, pickChain, pickExpressions, reg32, type Fam, type PickBy } from '../../lib/services/pick';
import { NO_ENDPOINTS_CHAIN, refusal } from '../../lib/services/pick-chains';
import { slotEndpoints, slotTier, type SlotTier } from '../../lib/services/slots';
import { isV6, selectedEndpoints, type ServicePortRecord, type ServiceRecord } from '../../lib/services/spec';

interface ChainLayout {
  name: string;
  rules: RuleBuilder[];
  inputs?: string;
}
interface MapElementLayout {
  map: string;
  key: Array<string | number>;
  chain: string;
}
interface MemberLayout {
  set: string;
  port: string;
  key: Array<string | number>;
  value?: Array<string | number>;
}
export interface ObjectsLayoutBefore {
  chains: ChainLayout[];
  sets: NftSet[];
  elements: MapElementLayout[];
  members: MemberLayout[];
}
type ObjectsLayout = ObjectsLayoutBefore;

/** The suffix naming one port's objects: "<service>-tcp80-v4". */
function portObjectsName(rec: ServiceRecord, fam: Fam, p: ServicePortRecord): string {
  return `${rec.name}-${p.protocol}${p.port}-v${fam}`;
}

/** The client's address into register 0 (the key of the affinity map). */
const clientLoad = (fam: Fam): Expression => ({ type: 'payload', base: 'network', offset: fam === 4 ? 12 : 8, len: fam === 4 ? 4 : 16, dreg: reg32(0) });

/** Writes client → endpoint into the port's affinity map, or refreshes its timeout. */
function refreshAffinity(fam: Fam, set: string, seconds: number): Expression {
  return { type: 'dynset', set, op: 'update', sregKey: reg32(0), sregData: endpointRegisters(fam).addr, timeout: seconds * 1000 };
}

/** The rules of the own chain of a port with session affinity. */
function affinityRules(fam: Fam, p: ServicePortRecord, name: string, seconds: number, slots: SlotTier): RuleBuilder[] {
  const nfproto = fam === 4 ? 'ipv4' : 'ipv6';
  const start = () => rule().nfproto(nfproto).protocol(p.protocol);
  // NodePort packets (to a local address) are looked up by NodePort; a virtual IP's lookup finds nothing for them.
  const by = (kind: PickBy) => (kind === 'vip' ? start() : start().fib({ lookup: ['daddr'], type: 'local' }));
  const kinds = p.nodePort === undefined ? (['vip'] as const) : (['vip', 'nodeport'] as const);
  const rules = kinds.map((kind) => by(kind).expressions(...hairpinExpressions(fam, kind)));
  const aff = `aff-${name}`;
  const known: Expression[] = [clientLoad(fam), { type: 'lookup', set: aff, sreg: reg32(0), dreg: endpointRegisters(fam).addr }];
  rules.push(start().expressions(...known, refreshAffinity(fam, aff, seconds), dnatFromRegisters(fam)));
  // The pick also writes the client's affinity entry, in the port's own map: so it is done here, not in a shared chain.
  for (const kind of kinds) {
    rules.push(by(kind).expressions(...pickExpressions(fam, kind, slots), clientLoad(fam), refreshAffinity(fam, aff, seconds), dnatFromRegisters(fam)));
  }
  // No endpoint (the lookup found nothing): refuse now rather than let the client time out.
  rules.push(refusal(fam, p.protocol));
  return rules;
}

/** The objects of one service: its dispatch elements, its elements in the shared maps, and its own chains and maps if it has affinity. */
export function serviceLayoutBefore(rec: ServiceRecord): ObjectsLayout {
  const out: ObjectsLayout = { chains: [], sets: [], elements: [], members: [] };
  const selected = selectedEndpoints(rec);
  const affinity = rec.affinitySeconds;
  for (const fam of [4, 6] as const) {
    const addrs = [...rec.vips, ...rec.externalIps].filter((a) => isV6(a) === (fam === 6));
    const ofFamily = rec.endpoints.filter((e) => isV6(e.ip) === (fam === 6));
    // A family without addresses serves a NodePort only if the service has endpoints of that family (single-stack services claim one).
    const hasFamily = addrs.length > 0 || ofFamily.length > 0;
    for (const p of rec.ports) {
      if (!hasFamily || (addrs.length === 0 && p.nodePort === undefined)) continue;
      const name = portObjectsName(rec, fam, p);
      const eps = selected.filter((e) => isV6(e.ip) === (fam === 6));
      const slots = slotTier(eps);
      const picked = slotEndpoints(eps, slots);
      const own = `svc-${name}`;
      const chainOf = (by: PickBy) => (affinity !== undefined ? own : picked.length === 0 ? NO_ENDPOINTS_CHAIN : pickChain(fam, by, p.protocol, slots));
      const elements: MapElementLayout[] = addrs.map((a) => ({ map: `vips${fam}`, key: [a, p.protocol, p.port], chain: chainOf('vip') }));
      if (p.nodePort !== undefined) elements.push({ map: `nodeports${fam}`, key: [p.protocol, p.nodePort], chain: chainOf('nodeport') });
      out.elements.push(...elements);
      if (affinity !== undefined) {
        // The rules' inputs (affinityRules reads nothing else): a change of endpoints that keeps them is seen without building expressions.
        const inputs = JSON.stringify([name, fam, p, slots, affinity]);
        out.chains.push({ name: own, rules: affinityRules(fam, p, name, affinity, slots), inputs });
        out.sets.push({
          ...TABLE,
          name: `aff-${name}`,
          keyType: fam === 4 ? 'ipv4_addr' : 'ipv6_addr',
          dataType: [fam === 4 ? 'ipv4_addr' : 'ipv6_addr', 'inet_service'],
          flags: ['timeout', 'dynamic'],
          timeout: affinity * 1000,
        });
      }
      const members: MemberLayout[] = [];
      for (const ip of new Set(ofFamily.map((e) => e.ip))) {
        for (const a of addrs) members.push({ set: hairpinSet(fam, 'vip'), port: name, key: [ip, a, p.protocol, p.port] });
        if (p.nodePort !== undefined) members.push({ set: hairpinSet(fam, 'nodeport'), port: name, key: [ip, p.protocol, p.nodePort] });
      }
      // One value per endpoint, shared by its slots (a change builds this twice, before and after: nothing per slot it can spare).
      const values = eps.map((e) => [e.ip, e.port ?? p.targetPort]);
      const vipMap = endpointsMap(fam, 'vip');
      const nodePortMap = endpointsMap(fam, 'nodeport');
      picked.forEach((i, slot) => {
        const value = values[i];
        for (const a of addrs) members.push({ set: vipMap, port: name, key: [a, p.protocol, p.port, slot], value });
        if (p.nodePort !== undefined) members.push({ set: nodePortMap, port: name, key: [p.protocol, p.nodePort, slot], value });
      });
      out.members.push(...members);
    }
  }
  return out;
}

const elementKey = (e: MapElementLayout): string => `${e.map}\0${e.key.join('\0')}`;
const toElement = (e: MapElementLayout): SetElement => ({ key: e.key, verdict: { code: 'goto', chain: e.chain } });
const memberKey = (m: MemberLayout): string => `${m.set}\0${m.key.join('\0')}`;
/** A member's key, as deleting it takes. */
const memberRef = (m: MemberLayout): SetElement => ({ key: m.key });
/** A member as added. */
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

/** Whether two chains' rules are the same: by what they are made from when both say, else by their expressions. */
function sameRules(a: ChainLayout, b: ChainLayout): boolean {
  if (a.inputs !== undefined && b.inputs !== undefined) return a.inputs === b.inputs;
  return signature(a.rules) === signature(b.rules);
}

/** Element lists by map: one message per map and direction (the kernel finds a message's set by walking the table's sets). */
class ElementsByMap {
  private readonly lists = new Map<string, SetElement[]>();
  push(map: string, e: SetElement): void {
    const list = this.lists.get(map);
    if (list) list.push(e);
    else this.lists.set(map, [e]);
  }
  queue(write: (map: string, els: SetElement[]) => void): void {
    for (const [map, els] of this.lists) write(map, els);
  }
}

/** The elements of `from` not in `to` with the same value (dispatch elements: the same chain). */
function changedElements<T>(from: readonly T[], to: readonly T[], key: (x: T) => string, value: (x: T) => string): T[] {
  const other = new Map(to.map((x) => [key(x), value(x)]));
  return from.filter((x) => other.get(key(x)) !== value(x));
}

/** Whether two members map to the same value (compared field by field: nothing is allocated per member). */
function sameValue(a: MemberLayout['value'], b: MemberLayout['value']): boolean {
  if (a === b) return true;
  if (a?.length !== b?.length || !a || !b) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The members of `before` that go or change (`gone`) and those of `after` that are new or changed (`come`), with one key per member. */
function diffMembers(before: readonly MemberLayout[], after: readonly MemberLayout[], gone: (m: MemberLayout) => void, come: (m: MemberLayout) => void): void {
  const old = new Map<string, MemberLayout>();
  for (const m of before) old.set(memberKey(m), m);
  for (const m of after) {
    const k = memberKey(m);
    const was = old.get(k);
    if (was) {
      old.delete(k);
      if (sameValue(was.value, m.value)) continue;
      gone(was);
    }
    come(m);
  }
  for (const m of old.values()) gone(m);
}

/**
 * Queues the changes: dispatch elements and shared-map elements that go or
 * change are deleted first, then the chains of `before` whose rules change
 * are flushed (nothing refers to what is deleted next), chains that go are
 * deleted, new ones added, the rules written, and the new and changed
 * elements added. A changed element is deleted and added again in the same
 * transaction (the kernel cannot change an element's data in place). Chains
 * whose rules stay the same are left alone.
 */
export function queueChangesBefore(tx: Transaction, changes: readonly LayoutChange[]): void {
  const dels = { dispatch: new ElementsByMap(), members: new ElementsByMap() };
  const adds = { dispatch: new ElementsByMap(), members: new ElementsByMap() };
  const chainValue = (e: MapElementLayout) => e.chain;
  /** The ports whose endpoint slots changed, per change (their affinity maps are emptied). */
  const picksChanged = changes.map(() => new Set<string>());
  changes.forEach(({ before, after }, i) => {
    for (const e of changedElements(before.elements, after.elements, elementKey, chainValue)) dels.dispatch.push(e.map, { key: e.key });
    for (const e of changedElements(after.elements, before.elements, elementKey, chainValue)) adds.dispatch.push(e.map, toElement(e));
    diffMembers(
      before.members,
      after.members,
      (m) => {
        dels.members.push(m.set, memberRef(m));
        picksChanged[i].add(m.port);
      },
      (m) => {
        adds.members.push(m.set, toMember(m));
        picksChanged[i].add(m.port);
      },
    );
  });
  dels.dispatch.queue((map, els) => tx.deleteElements({ ...TABLE, name: map }, els));
  dels.members.queue((map, els) => tx.deleteElements({ ...TABLE, name: map }, els));
  const rewritten: ObjectsLayout['chains'] = [];
  changes.forEach(({ before, after }, i) => {
    const afterChains = new Map(after.chains.map((c) => [c.name, c]));
    const beforeChains = new Map(before.chains.map((c) => [c.name, c]));
    for (const [name, c] of beforeChains) {
      const next = afterChains.get(name);
      if (next && sameRules(next, c)) continue;
      tx.flushChain({ ...TABLE, name });
      if (next) rewritten.push(next);
      else tx.deleteChain({ ...TABLE, name });
    }
    // A port's own sets (affinity maps): those that go are deleted once no rule reads them, new ones added before the rules.
    const afterSets = new Set(after.sets.map((x) => x.name));
    const beforeSets = new Set(before.sets.map((x) => x.name));
    for (const name of beforeSets) if (!afterSets.has(name)) tx.deleteSet({ ...TABLE, name });
    for (const set of after.sets) if (!beforeSets.has(set.name)) tx.addSet(set);
    for (const c of after.chains) {
      if (beforeChains.has(c.name)) continue;
      tx.addChain({ ...TABLE, name: c.name });
      rewritten.push(c);
    }
    // Affinity entries may lead to an endpoint no longer picked: the port's affinity map is emptied (its clients choose again).
    for (const port of picksChanged[i]) if (beforeSets.has(`aff-${port}`) && afterSets.has(`aff-${port}`)) tx.flushSet({ ...TABLE, name: `aff-${port}` });
  });
  for (const c of rewritten) for (const r of c.rules) tx.addRule({ ...TABLE, chain: c.name, rule: r });
  adds.members.queue((map, els) => tx.addElements({ ...TABLE, name: map }, els));
  adds.dispatch.queue((map, els) => tx.addElements({ ...TABLE, name: map }, els));
}
