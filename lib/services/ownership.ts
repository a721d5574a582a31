/**
 * Whether the services table is nlkit's to remove. nlkit finds its table by
 * name (`inet nlkit-svc`, layout.ts); before removing the whole table (the
 * last service gone, or a leftover with no service recorded) its listing is
 * also checked: every chain and set in it must be one nlkit writes (the base
 * chains and maps, a port's own `svc-` chain and `aff-` map, an older nlkit's
 * `eps-` maps). A table holding anything else is left in place and reported.
 * @module
 */
import type { Handle } from '../handle';
import { BASE_CHAINS, BASE_MAPS, TABLE } from './layout';

const BASE_NAMES = new Set([...BASE_CHAINS.map((c) => c.name), ...BASE_MAPS.map((m) => m.name)]);

/** The chains and sets of a listed services table nlkit did not write ("chain foo"), none when the table is nlkit's. */
export function foreignObjects(rs: { chains: ReadonlyArray<{ name: string }>; sets: ReadonlyArray<{ name: string }> }): string[] {
  const out: string[] = [];
  for (const c of rs.chains) if (!BASE_NAMES.has(c.name) && !c.name.startsWith('svc-')) out.push(`chain ${c.name}`);
  // Anonymous sets (`__set0`) belong to rules, and go with them.
  for (const s of rs.sets)
    if (!s.name.startsWith('__') && !BASE_NAMES.has(s.name) && !s.name.startsWith('aff-') && !s.name.startsWith('eps-')) out.push(`set ${s.name}`);
  return out;
}

/** Lists the services table: what in it nlkit did not write (none: nlkit's to remove). */
export async function foreignObjectsIn(host: Handle): Promise<string[]> {
  return foreignObjects(await host.nft.ruleset.get({ family: TABLE.family, table: TABLE.table }));
}
