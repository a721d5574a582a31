/**
 * The interception's nftables table against the kernel's: listed under one
 * generation, compared chain by chain and rule by rule (as canonical text,
 * the way nlkit's own firewall is compared), and written as a whole in one
 * transaction that replaces whatever is there, so a repair never leaves a
 * half-intercepted pod.
 * @module
 */
import type { Handle } from '../handle';
import { desiredText, listedText } from '../network/firewall/listing';
import { GenerationMismatchError, resolvePriority, type Ruleset, type Table } from '../nftables';
import { NetlinkError } from '../netlink/errors';
import { SIDECAR_TABLE, TABLE, routingOfComment, sidecarLayout, tableComment, type RoutingSpec, type SidecarChain } from './layout';
import type { InterceptSpec } from './options';

/** One difference between the table the spec wants and the kernel's. */
export interface TableDrift {
  kind: 'table-missing' | 'table-replaced' | 'chain-missing' | 'chain-wrong' | 'chain-unexpected' | 'rule-missing' | 'rule-unexpected';
  detail: string;
}

interface Listing {
  generation: number;
  ruleset?: Ruleset;
}

const ATTEMPTS = 8;

/** The table as listed between two equal generations (or the last attempt's). */
async function listTable(h: Handle): Promise<Listing> {
  for (let attempt = 1; ; attempt++) {
    const generation = (await h.nft.generation.get()).id;
    let ruleset: Ruleset | undefined;
    try {
      if (await h.nft.tables.find({ family: TABLE.family, name: SIDECAR_TABLE }))
        ruleset = await h.nft.ruleset.get({ family: TABLE.family, table: SIDECAR_TABLE });
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'ENOENT') || attempt >= ATTEMPTS) throw e;
      continue;
    }
    if ((await h.nft.generation.get()).id === generation || attempt >= ATTEMPTS) return { generation, ruleset };
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt));
  }
}

function sameBaseChain(listed: Ruleset['chains'][number], want: SidecarChain): boolean {
  return (
    listed.type === want.type &&
    listed.hook === want.hook &&
    listed.priority !== undefined &&
    resolvePriority(TABLE.family, listed.priority) === resolvePriority(TABLE.family, want.priority) &&
    (listed.policy ?? 'accept') === 'accept'
  );
}

function compare(spec: InterceptSpec, rs: Ruleset | undefined): TableDrift[] {
  if (!rs) return [{ kind: 'table-missing', detail: `table inet ${SIDECAR_TABLE} is gone` }];
  const drift: TableDrift[] = [];
  const want = sidecarLayout(spec);
  for (const c of rs.chains)
    if (!want.some((w) => w.name === c.name)) drift.push({ kind: 'chain-unexpected', detail: `chain ${c.name} was not written by nlkit` });
  for (const w of want) {
    const listed = rs.chains.find((c) => c.name === w.name);
    if (!listed) {
      drift.push({ kind: 'chain-missing', detail: `chain ${w.name} is gone` });
      continue;
    }
    if (!sameBaseChain(listed, w))
      drift.push({ kind: 'chain-wrong', detail: `chain ${w.name} is not type ${w.type} hook ${w.hook} priority ${w.priority}, policy accept` });
    const have = rs.rules.filter((r) => r.chain === w.name).map((r) => listedText(r, rs.sets, SIDECAR_TABLE));
    const wanted = w.rules.map((r) => ({ text: desiredText(r.rule, [], SIDECAR_TABLE), what: r.what }));
    const unused = [...have];
    // Order is worth reporting only for a chain whose rules are otherwise all there (each chain on its own).
    let chainRuleDrift = 0;
    for (const r of wanted) {
      const i = unused.indexOf(r.text);
      if (i < 0) {
        drift.push({ kind: 'rule-missing', detail: `${r.what} is missing from chain ${w.name}` });
        chainRuleDrift++;
      } else unused.splice(i, 1);
    }
    for (const t of unused) drift.push({ kind: 'rule-unexpected', detail: `chain ${w.name} has a rule nlkit did not write: ${t}` });
    chainRuleDrift += unused.length;
    if (chainRuleDrift === 0 && have.join('\n') !== wanted.map((r) => r.text).join('\n')) {
      drift.push({ kind: 'rule-missing', detail: `the rules of chain ${w.name} are out of order` });
    }
  }
  return drift;
}

/** Every difference between the table `spec` wants and the kernel's. */
export async function checkTable(h: Handle, spec: InterceptSpec): Promise<TableDrift[]> {
  return compare(spec, (await listTable(h)).ruleset);
}

/**
 * Writes the table as `spec` wants it, replacing any version of it in the
 * same transaction (committed only if nobody changed the ruleset since it
 * was listed; listed again otherwise). With `onlyIfDrift`, nothing is
 * written when it matches already. Resolves to the handle of the table in
 * place afterwards: an interception is that table, and a later intercept()
 * writes a new one (see {@link tableInPlace}).
 */
export async function writeTable(h: Handle, spec: InterceptSpec, onlyIfDrift = false): Promise<number | undefined> {
  for (let attempt = 1; ; attempt++) {
    const listing = await listTable(h);
    if (onlyIfDrift && compare(spec, listing.ruleset).length === 0) return listing.ruleset?.tables[0]?.handle;
    const tx = h.nft.transaction();
    if (listing.ruleset) tx.deleteTable({ family: TABLE.family, name: SIDECAR_TABLE });
    const added = tx.addTable({ family: TABLE.family, name: SIDECAR_TABLE, comment: tableComment(spec) });
    for (const c of sidecarLayout(spec)) {
      tx.addChain({ ...TABLE, name: c.name, type: c.type, hook: c.hook, priority: c.priority, policy: 'accept' });
      for (const r of c.rules) tx.addRule({ ...TABLE, chain: c.name, rule: r.rule });
    }
    try {
      const { results } = await tx.commit({ expectGeneration: listing.generation });
      return results[added]?.handle ?? (await tableInPlace(h))?.handle;
    } catch (e) {
      if (!(e instanceof GenerationMismatchError) || attempt >= ATTEMPTS) throw e;
    }
  }
}

/** The interception table in place, if there is one: its handle (the kernel gives each table made a new one) and its comment (the routing it recorded). */
export async function tableInPlace(h: Handle): Promise<Table | undefined> {
  return h.nft.tables.find({ family: TABLE.family, name: SIDECAR_TABLE });
}

/** The routing recorded by the interception table in place, if any (what a replacement must undo). */
export async function recordedRouting(h: Handle): Promise<RoutingSpec | undefined> {
  const t = await h.nft.tables.find({ family: TABLE.family, name: SIDECAR_TABLE });
  return routingOfComment(t?.comment);
}

/** Deletes the table if it is there. */
export async function removeTable(h: Handle): Promise<void> {
  const tx = h.nft.transaction();
  tx.deleteTable({ family: TABLE.family, name: SIDECAR_TABLE }, { missingOk: true });
  await tx.commit({ echo: 'none' });
}
