/**
 * Drift of the services table: what the recorded services want (base and
 * shared chains and maps, each service's dispatch elements and elements in
 * the shared maps, and the chains and sets of ports with affinity) against
 * the table as listed. Chains are compared by their rules' expressions (as
 * canonical text), dispatch elements by key and target chain (which shared
 * chain serves the port), shared-map elements by key and value. Each
 * difference is one entry; the repair rewrites exactly the chains, sets and
 * elements that differ, in one transaction.
 * @module
 */
import type { Handle } from '../handle';
import type { Expression, SetWithElements } from '../nftables';
import { describe as describeRule } from '../nftables/describe';
import type { Transaction } from '../nftables/transaction';
import { BASE_CHAINS, TABLE, baseLayout, isSharedMap, tableLayout, type ChainLayout, type MapElementLayout, type MemberLayout } from './layout';
import { listMembers } from './members';
import { serviceLayout } from './service-layout';
import type { ServiceRecord } from './spec';
import { foreignObjectsIn } from './ownership';
import { queueTable, queueTableRemoval, toMember } from './table';

/** One difference between the recorded services and the kernel. */
export interface ServiceDrift {
  /** The service concerned; "" for the table's own objects. */
  service: string;
  kind:
    | 'table-missing'
    /** The table is left with no service recorded: reconcile() removes it when it holds only what nlkit writes. */
    | 'table-leftover'
    | 'chain-missing'
    /** A chain's rules are not the ones nlkit wrote. */
    | 'rules-wrong'
    /** A chain nlkit did not write (or of a service no longer recorded). */
    | 'chain-unexpected'
    | 'set-missing'
    | 'set-unexpected'
    | 'element-missing'
    /** A map element leads to another chain. */
    | 'element-wrong'
    | 'element-unexpected'
    /** A service operation whose process died halfway (from the intent journal). */
    | 'interrupted'
    /**
     * A recorded virtual or external IP no service can have (loopback,
     * multicast, ...: an older nlkit recorded it before refusing such
     * addresses). Every set() of the service that keeps the address fails
     * with a ValidationError; reconcile() leaves it (the table keeps what the
     * record says). Give the service unicast addresses
     * (`set(name, { vips: [...] })`) or delete it.
     */
    | 'address-special';
  detail: string;
}

/** What differs, and the repair. */
export interface ServicesDiff {
  drift: ServiceDrift[];
  repair(tx: Transaction): void;
}

interface Wanted {
  chains: Map<string, { chain: ChainLayout; service: string }>;
  sets: Map<string, { set: SetWithElements; service: string }>;
  elements: Map<string, { el: MapElementLayout; service: string }>;
  members: Map<string, { m: MemberLayout; service: string }>;
}

const elementKey = (map: string, key: unknown): string => `${map}\0${JSON.stringify(key)}`;
const scalarText = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));
const memberKey = (set: string, key: string): string => `${set}\0${key}`;
/** A wanted element of a shared map as listedMemberKey writes a listed one. */
const wantedMemberKey = (m: MemberLayout): string => scalarText(m.key);
/** A listed element of a shared map as its key is written. */
const listedMemberKey = (e: { key: unknown }): string => scalarText(e.key);
/**
 * The service an element of a shared map belongs to, by the dispatch
 * element of the address and port its key carries: endpoints (address .
 * protocol . port . slot) and (protocol . NodePort . slot), hairpin (client
 * . address . protocol . port) and (client . protocol . NodePort).
 */
function ownerOf(w: Wanted, set: string, key: unknown): string {
  if (!Array.isArray(key)) return '';
  const fam = set.slice(-1);
  if (set.includes('hairpin')) {
    const k = (key as unknown[]).slice(1);
    const dispatch = set.startsWith('nodeport') ? elementKey(`nodeports${fam}`, k) : elementKey(`vips${fam}`, k);
    return w.elements.get(dispatch)?.service ?? '';
  }
  const k = key as unknown[];
  const dispatch = set.startsWith('nodeport') ? elementKey(`nodeports${fam}`, k.slice(0, 2)) : elementKey(`vips${fam}`, k.slice(0, 3));
  return w.elements.get(dispatch)?.service ?? '';
}

/** How drift reports name an element of a shared map: the endpoint address (and virtual IP), or the slot ("10.96.0.1 slot 3"). */
function memberLabel(m: MemberLayout): string {
  const k = m.key;
  if (m.set.startsWith('hairpin')) return `${k[0]} to ${k[1]}`;
  if (m.set.startsWith('nodeport-hairpin')) return String(k[0]);
  return m.set.startsWith('nodeport') ? `nodeport slot ${k[2]}` : `${k[0]} slot ${k[3]}`;
}

function wanted(services: Iterable<ServiceRecord>): Wanted {
  const w: Wanted = { chains: new Map(), sets: new Map(), elements: new Map(), members: new Map() };
  const add = (service: string, l: ReturnType<typeof baseLayout>) => {
    for (const c of l.chains) w.chains.set(c.name, { chain: c, service });
    for (const s of l.sets) w.sets.set(s.name, { set: { ...s, elements: [] }, service });
    for (const e of l.elements) w.elements.set(elementKey(e.map, e.key), { el: e, service });
    for (const m of listMembers(l.members)) w.members.set(memberKey(m.set, wantedMemberKey(m)), { m, service });
  };
  add('', baseLayout());
  for (const rec of services) add(rec.name, serviceLayout(rec));
  return w;
}

function text(expressions: readonly Expression[], sets: readonly SetWithElements[]): string {
  return describeRule({ expressions, family: TABLE.family, table: TABLE.table }, { sets });
}

/** Lists the services table and compares it with the recorded services. */
export async function compareServices(host: Handle, services: Iterable<ServiceRecord>): Promise<ServicesDiff> {
  const all = [...services];
  const drift: ServiceDrift[] = [];
  const fixes: Array<{ phase: number; fix: (tx: Transaction) => void }> = [];
  const report = (service: string, kind: ServiceDrift['kind'], detail: string, phase: number, fix: (tx: Transaction) => void) => {
    drift.push({ service, kind, detail });
    fixes.push({ phase, fix });
  };
  const result: ServicesDiff = { drift, repair: (tx) => [...fixes].sort((a, b) => a.phase - b.phase).forEach((f) => f.fix(tx)) };
  const layout = await tableLayout(host);
  if (all.length === 0) {
    // No service: no table either (the last service's removal deleted it). A missing table is no drift.
    if (layout !== 'missing') leftover(await foreignObjectsIn(host), report);
    return result;
  }
  if (layout === 'missing') {
    report('', 'table-missing', `table ${TABLE.family} ${TABLE.table} is gone`, 0, (tx) => queueTable(tx, all));
    return result;
  }
  if (layout === 'older') {
    // An older nlkit's table (sets or chains per service port): rebuilt whole, in one transaction.
    report('', 'table-missing', `table ${TABLE.family} ${TABLE.table} has an older nlkit's layout (sets or chains per service)`, 0, (tx) => {
      queueTableRemoval(tx);
      queueTable(tx, all);
    });
    return result;
  }
  const rs = await host.nft.ruleset.get({ family: TABLE.family, table: TABLE.table });
  const w = wanted(all);
  const listedSets = rs.sets.filter((s) => !s.name.startsWith('__'));
  // Elements of the dispatch maps (anonymous sets are not ours to compare).
  const listedElements = new Map<string, { map: string; key: unknown; chain?: string }>();
  const listedMembers = new Map<string, ListedMember>();
  for (const s of listedSets) {
    if (s.name.startsWith('aff-')) continue; // affinity entries come and go with traffic
    for (const e of s.elements) {
      if (isSharedMap(s.name)) listedMembers.set(memberKey(s.name, listedMemberKey(e)), { set: s.name, key: e.key, value: e.value });
      else listedElements.set(elementKey(s.name, e.key), { map: s.name, key: e.key, chain: e.verdict?.chain });
    }
  }
  compareMembers(w, listedMembers, report);
  const wantedByListedKey = new Map<string, { el: MapElementLayout; service: string }>();
  for (const { el, service } of w.elements.values()) {
    // Keys as the kernel lists them: normalise by encoding both through the same path (strings and numbers as listed).
    wantedByListedKey.set(elementKey(el.map, el.key), { el, service });
  }
  for (const [k, l] of listedElements) {
    const want = wantedByListedKey.get(k);
    if (!want) {
      report('', 'element-unexpected', `${l.map} ${JSON.stringify(l.key)}`, 0, (tx) => tx.deleteElements({ ...TABLE, name: l.map }, [{ key: l.key as never }]));
    } else if (want.el.chain !== l.chain) {
      report(want.service, 'element-wrong', `${l.map} ${JSON.stringify(l.key)} goes to ${l.chain ?? '?'}, not ${want.el.chain}`, 0, (tx) => {
        tx.deleteElements({ ...TABLE, name: l.map }, [{ key: l.key as never }]);
        tx.addElements({ ...TABLE, name: l.map }, [{ key: want.el.key, verdict: { code: 'goto', chain: want.el.chain } }]);
      });
    }
  }
  for (const [k, { el, service }] of wantedByListedKey) {
    if (!listedElements.has(k)) {
      report(service, 'element-missing', `${el.map} ${el.key.join(' . ')}`, 4, (tx) =>
        tx.addElements({ ...TABLE, name: el.map }, [{ key: el.key, verdict: { code: 'goto', chain: el.chain } }]),
      );
    }
  }
  const listedChains = new Set(rs.chains.map((c) => c.name));
  for (const c of rs.chains) {
    if (w.chains.has(c.name)) continue;
    fixes.push({ phase: 0, fix: (tx) => tx.flushChain({ ...TABLE, name: c.name }) });
    report('', 'chain-unexpected', `chain ${c.name}`, 1, (tx) => tx.deleteChain({ ...TABLE, name: c.name }));
  }
  const listedSetNames = new Set(listedSets.map((s) => s.name));
  for (const s of listedSets) {
    if (!w.sets.has(s.name)) report('', 'set-unexpected', `set ${s.name}`, 2, (tx) => tx.deleteSet({ ...TABLE, name: s.name }));
  }
  for (const [name, { set, service }] of w.sets) {
    if (!listedSetNames.has(name)) report(service, 'set-missing', `set ${name}`, 3, (tx) => tx.addSet(set));
  }
  const sets = rs.sets;
  for (const [name, { chain, service }] of w.chains) {
    const listedRules = rs.rules.filter((r) => r.chain === name).map((r) => text(r.expressions, sets));
    const wantRules = chain.rules.map((r) => text(r.toExpressions('inet'), sets));
    const base = BASE_CHAINS.find((b) => b.name === name);
    if (!listedChains.has(name)) {
      // Every missing chain exists before any rule is written (a rule may go to one).
      fixes.push({ phase: 2.5, fix: (tx) => tx.addChain({ ...TABLE, ...(base ?? {}), name }) });
      report(service, 'chain-missing', `chain ${name}`, 3, (tx) => {
        for (const r of chain.rules) tx.addRule({ ...TABLE, chain: name, rule: r });
      });
    } else if (JSON.stringify(listedRules) !== JSON.stringify(wantRules)) {
      // Flushed before any chain is deleted (it may jump to one), rewritten once every chain exists.
      fixes.push({ phase: 0, fix: (tx) => tx.flushChain({ ...TABLE, name }) });
      report(service, 'rules-wrong', `chain ${name}: ${listedRules.join('; ') || 'empty'}`, 3, (tx) => {
        for (const r of chain.rules) tx.addRule({ ...TABLE, chain: name, rule: r });
      });
    }
  }
  return result;
}

const NOT_REMOVED = ': not removed';
/** The repair of a table that is not nlkit's alone: none. */
const keep = (): void => undefined;

/** The table left with no service recorded: removed whole when nlkit wrote all of it, else reported only. */
function leftover(foreign: string[], report: Report): void {
  const name = `table ${TABLE.family} ${TABLE.table}`;
  if (foreign.length === 0) report('', 'table-leftover', `${name} is left with no service recorded`, 0, queueTableRemoval);
  else
    report('', 'table-leftover', `${name} is left with no service recorded, and holds what nlkit did not write (${foreign.join(', ')})${NOT_REMOVED}`, 0, keep);
}

/** Whether reconcile() repairs a drift (a recorded special address, or a leftover table with others' objects, it does not). */
export const repairable = (d: ServiceDrift): boolean => d.kind !== 'address-special' && !(d.kind === 'table-leftover' && d.detail.endsWith(NOT_REMOVED));

type Report = (service: string, kind: ServiceDrift['kind'], detail: string, phase: number, fix: (tx: Transaction) => void) => void;

/** The endpoints and endpoint addresses of each service port in the shared maps. */
interface ListedMember {
  set: string;
  key: unknown;
  value?: unknown;
}

function compareMembers(w: Wanted, listed: Map<string, ListedMember>, report: Report): void {
  for (const [k, l] of listed) {
    const want = w.members.get(k);
    const del = (tx: Transaction) => tx.deleteElements({ ...TABLE, name: l.set }, [{ key: l.key as never }]);
    if (!want) report(ownerOf(w, l.set, l.key), 'element-unexpected', `${l.set} ${listedMemberKey(l)}`, 0, del);
    else if (JSON.stringify(want.m.value) !== JSON.stringify(l.value)) {
      report(
        want.service,
        'element-wrong',
        `${l.set} ${want.m.port} ${memberLabel(want.m)} maps to ${JSON.stringify(l.value)}, not ${JSON.stringify(want.m.value)}`,
        0,
        (tx) => {
          del(tx);
          tx.addElements({ ...TABLE, name: l.set }, [toMember(want.m)]);
        },
      );
    }
  }
  for (const [k, { m, service }] of w.members) {
    if (listed.has(k)) continue;
    report(service, 'element-missing', `${m.set} ${m.port} ${memberLabel(m)}`, 4, (tx) => tx.addElements({ ...TABLE, name: m.set }, [toMember(m)]));
  }
}
