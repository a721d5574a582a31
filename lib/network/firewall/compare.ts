/**
 * Drift of nlkit's table, object by object: the table the state wants
 * (layout.ts) against the table as listed under one generation
 * (listing.ts). Chains and sets are compared by name, rules by their
 * expressions (canonical text, in chain order), map elements by key and
 * value. Each difference is one Drift entry, and the repair queues exactly
 * the commands that undo it (the user's chain is never looked at).
 * @module
 */
import { resolvePriority, type Chain, type Rule, type SetWithElements } from '../../nftables';
import type { Transaction } from '../../nftables/transaction';
import type { Drift } from '../reconcile';
import type { HostState } from '../state';
import { CHAINS, IFNAME_SETS, TABLE, USER_CHAIN, layout, setDefinitions, toSetElement, type Layout, type LayoutRule, type MapName } from './layout';
import { desiredText, listedText, type Listing } from './listing';

/** What differs, and how to repair it. */
export interface FirewallDiff {
  drift: Drift[];
  /** Queues the repairs of every drift found (nothing when there is none). */
  repair(tx: Transaction): void;
}

const NLKIT_SETS = setDefinitions();

/** Whether a listed table holds anything of nlkit's besides the user's chain. */
export function holdsNlkitObjects(ruleset: NonNullable<Listing['ruleset']>): boolean {
  return ruleset.chains.some((c) => CHAINS.some((d) => d.name === c.name)) || ruleset.sets.some((s) => NLKIT_SETS.some((d) => d.name === s.name));
}

/**
 * Queues the removal of nlkit's chains and sets from a listed table; the
 * table itself goes too unless the user's chain still holds rules.
 */
export function queueRemoval(tx: Transaction, ruleset: NonNullable<Listing['ruleset']>): void {
  const userRules = ruleset.rules.some((r) => r.chain === USER_CHAIN);
  const foreignChains = ruleset.chains.some((c) => c.name !== USER_CHAIN && !CHAINS.some((d) => d.name === c.name));
  if (!userRules && !foreignChains) tx.deleteTable({ family: TABLE.family, name: TABLE.table });
  else queueOwnedRemoval(tx, ruleset);
}

/** Queues the removal of nlkit's chains and sets (rules first, so nothing is still referenced), keeping the table. */
export function queueOwnedRemoval(tx: Transaction, ruleset: NonNullable<Listing['ruleset']>): void {
  const ours = ruleset.chains.filter((c) => CHAINS.some((d) => d.name === c.name));
  for (const c of ours) tx.flushChain({ ...TABLE, name: c.name });
  for (const c of ours) tx.deleteChain({ ...TABLE, name: c.name });
  for (const s of ruleset.sets) if (NLKIT_SETS.some((d) => d.name === s.name)) tx.deleteSet({ ...TABLE, name: s.name });
}

/** Who a listed rule belongs to, from its comment. */
function ownerOf(r: Rule, st: HostState): string {
  const c = r.comment ?? '';
  if (c.startsWith('net:') && c.slice(4) in st.networks) return c.slice(4);
  if (c.startsWith('pub:') && c.slice(4) in st.publications) return st.publications[c.slice(4)].network;
  return '';
}

/** Compares the table `st` wants with a listing. */
export function compareTable(st: HostState, listing: Listing): FirewallDiff {
  const drift: Drift[] = [];
  const fixes: Array<{ phase: number; fix: (tx: Transaction) => void }> = [];
  const report: Report = (network, kind, detail, fix) => {
    drift.push({ network, kind, detail });
    fixes.push({ phase: PHASE[kind], fix });
  };
  // Deletions first, then chains and sets, then what lives in them.
  const result: FirewallDiff = { drift, repair: (tx) => [...fixes].sort((a, b) => a.phase - b.phase).forEach((f) => f.fix(tx)) };
  const rs = listing.ruleset;
  if (Object.keys(st.networks).length === 0) {
    if (rs && holdsNlkitObjects(rs)) {
      report('', 'firewall-leftover', `table ${TABLE.family} ${TABLE.table} holds nlkit's rules but no network is recorded`, (tx) => queueRemoval(tx, rs));
    }
    return result;
  }
  const want = layout(st);
  if (!rs) {
    report('', 'firewall-missing', `table ${TABLE.family} ${TABLE.table} is gone`, (tx) => queueTable(tx, want));
    return result;
  }
  compareSets(st, want, rs.sets, report);
  compareChains(st, want, rs, report);
  return result;
}

type Report = (network: string, kind: FirewallDriftKind, detail: string, fix: (tx: Transaction) => void) => void;

type FirewallDriftKind =
  | 'firewall-missing'
  | 'firewall-chain-wrong'
  | 'firewall-leftover'
  | 'firewall-rule-missing'
  | 'firewall-rule-unexpected'
  | 'firewall-element-missing'
  | 'firewall-element-wrong'
  | 'firewall-element-unexpected';

/** The order in which repairs are queued, by the kind of drift they undo. */
const PHASE: Record<FirewallDriftKind, number> = {
  'firewall-leftover': 0,
  'firewall-rule-unexpected': 0,
  'firewall-element-unexpected': 0,
  'firewall-missing': 1,
  'firewall-chain-wrong': 1,
  'firewall-element-missing': 2,
  'firewall-element-wrong': 2,
  'firewall-rule-missing': 3,
};

/** Queues nlkit's whole table (none there). */
export function queueTable(tx: Transaction, want: Layout): void {
  tx.addTable({ family: TABLE.family, name: TABLE.table });
  for (const s of NLKIT_SETS) tx.addSet(s, desiredElements(want, s.name));
  tx.addChain({ ...TABLE, name: USER_CHAIN });
  for (const c of CHAINS) tx.addChain({ ...TABLE, ...c });
  for (const r of want.rules) tx.addRule({ ...TABLE, chain: r.chain, rule: r.rule });
}

function desiredElements(want: Layout, set: string): Array<ReturnType<typeof toSetElement>> {
  if ((IFNAME_SETS as readonly string[]).includes(set)) return want.ifnameSets[set as (typeof IFNAME_SETS)[number]].map((key) => ({ key }));
  return want.elements.filter((e) => e.map === set).map(toSetElement);
}

const elementKey = (key: unknown): string => JSON.stringify(key);

function compareSets(st: HostState, want: Layout, listed: SetWithElements[], report: Report): void {
  const bridgeOwner = new Map(Object.values(st.networks).map((n) => [n.bridge, n.name]));
  for (const def of NLKIT_SETS) {
    const ref = { ...TABLE, name: def.name };
    const have = listed.find((s) => s.name === def.name);
    if (!have) {
      report('', 'firewall-missing', `set ${def.name} is gone`, (tx) => tx.addSet(def, desiredElements(want, def.name)));
      continue;
    }
    if ((IFNAME_SETS as readonly string[]).includes(def.name)) {
      const wanted = new Set(want.ifnameSets[def.name as (typeof IFNAME_SETS)[number]]);
      const present = new Set(have.elements.map((e) => String(e.key)));
      for (const b of wanted)
        if (!present.has(b))
          report(bridgeOwner.get(b) ?? '', 'firewall-element-missing', `${b} is missing from set ${def.name}`, (tx) => tx.addElements(ref, [{ key: b }]));
      for (const b of present)
        if (!wanted.has(b))
          report(bridgeOwner.get(b) ?? '', 'firewall-element-unexpected', `${b} is in set ${def.name}`, (tx) => tx.deleteElements(ref, [{ key: b }]));
      continue;
    }
    const wanted = new Map(want.elements.filter((e) => e.map === (def.name as MapName)).map((e) => [elementKey(e.key), e]));
    const present = new Map(have.elements.map((e) => [elementKey(e.key), e]));
    for (const [k, e] of wanted) {
      const got = present.get(k);
      const what = `publication ${e.publication.key}`;
      if (!got)
        report(e.publication.network, 'firewall-element-missing', `${what} is missing from map ${def.name}`, (tx) => tx.addElements(ref, [toSetElement(e)]));
      else if (elementKey(got.value) !== elementKey(e.value)) {
        report(
          e.publication.network,
          'firewall-element-wrong',
          `${what} maps to ${elementKey(got.value)} instead of ${elementKey(e.value)} in ${def.name}`,
          (tx) => {
            tx.deleteElements(ref, [{ key: e.key }]);
            tx.addElements(ref, [toSetElement(e)]);
          },
        );
      }
    }
    for (const [k, e] of present) {
      if (!wanted.has(k))
        report('', 'firewall-element-unexpected', `map ${def.name} has ${k} that no publication owns`, (tx) => tx.deleteElements(ref, [{ key: e.key }]));
    }
  }
}

function compareChains(st: HostState, want: Layout, rs: NonNullable<Listing['ruleset']>, report: Report): void {
  const namedSets = rs.sets.filter((s) => NLKIT_SETS.some((d) => d.name === s.name)).map((s) => ({ ...s, elements: [] }));
  if (!rs.chains.some((c) => c.name === USER_CHAIN)) {
    report('', 'firewall-missing', `chain ${USER_CHAIN} is gone`, (tx) => tx.addChain({ ...TABLE, name: USER_CHAIN }));
  }
  for (const def of CHAINS) {
    const rules = want.rules.filter((r) => r.chain === def.name);
    if (!rs.chains.some((c) => c.name === def.name)) {
      report('', 'firewall-missing', `chain ${def.name} is gone`, (tx) => {
        tx.addChain({ ...TABLE, ...def });
        for (const r of rules) tx.addRule({ ...TABLE, chain: r.chain, rule: r.rule });
      });
      continue;
    }
    const listed = rs.chains.find((c) => c.name === def.name);
    if (listed && 'hook' in def && !sameBaseChain(listed, def)) {
      // A base chain's hook, type or priority cannot be changed in place: it is written again with its rules.
      report('', 'firewall-chain-wrong', `chain ${def.name} is not ${describeBaseChain(def)}, policy accept`, (tx) => {
        tx.flushChain({ ...TABLE, name: def.name });
        tx.deleteChain({ ...TABLE, name: def.name });
        tx.addChain({ ...TABLE, ...def });
        for (const r of rules) tx.addRule({ ...TABLE, chain: r.chain, rule: r.rule });
      });
      continue;
    }
    const chainRules = rs.rules.filter((r) => r.chain === def.name);
    compareRules(st, rules, chainRules, rs.sets, namedSets, report);
  }
}

type BaseChain = Extract<(typeof CHAINS)[number], { hook: string }>;

function describeBaseChain(def: BaseChain): string {
  return `type ${def.type} hook ${def.hook} priority ${def.priority}`;
}

/** Whether a listed base chain is hooked as nlkit writes it, with policy accept. */
function sameBaseChain(listed: Chain, def: BaseChain): boolean {
  return (
    listed.type === def.type &&
    listed.hook === def.hook &&
    listed.priority !== undefined &&
    resolvePriority(TABLE.family, listed.priority) === resolvePriority(TABLE.family, def.priority) &&
    (listed.policy ?? 'accept') === 'accept'
  );
}

/**
 * Matches wanted rules with listed ones by text, in order. A missing rule
 * goes back before the next wanted rule that is there (or at the end), so
 * the chain's order is kept; a listed rule nothing matches is deleted.
 */
function compareRules(st: HostState, wanted: LayoutRule[], listed: Rule[], sets: SetWithElements[], namedSets: SetWithElements[], report: Report): void {
  const texts = listed.map((r) => listedText(r, sets));
  const used = new Set<number>();
  const matched: Array<number | undefined> = wanted.map((w) => {
    const text = desiredText(w.rule, namedSets);
    const i = texts.findIndex((t, j) => !used.has(j) && t === text);
    if (i < 0) return undefined;
    used.add(i);
    return listed[i].handle;
  });
  wanted.forEach((w, i) => {
    if (matched[i] !== undefined) return;
    const before = matched.slice(i + 1).find((h) => h !== undefined);
    report(w.network ?? '', 'firewall-rule-missing', `${w.what} is missing from chain ${w.chain}`, (tx) => {
      if (before === undefined) tx.addRule({ ...TABLE, chain: w.chain, rule: w.rule });
      else tx.insertRule({ ...TABLE, chain: w.chain, rule: w.rule }, { before });
    });
  });
  listed.forEach((r, j) => {
    if (used.has(j) || r.handle === undefined) return;
    const handle = r.handle;
    report(ownerOf(r, st), 'firewall-rule-unexpected', `chain ${r.chain} has a rule nlkit did not write: ${texts[j]}`, (tx) =>
      tx.deleteRule({ ...TABLE, chain: r.chain, handle }),
    );
  });
}
