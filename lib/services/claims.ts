/**
 * What a service holds alone: each address, protocol and port it answers on
 * (virtual and external IPs) and each NodePort. Two services holding one of
 * these would share a dispatch element of the table: the second one's add
 * changed nothing (or failed with the kernel's EEXIST when its endpoints
 * differed), and deleting either took the element, and so the service, from
 * the other. A change that would share one is refused before the kernel.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { ServiceRecord } from './spec';

/** One claim: its key, and how to name it in an error. */
interface Claim {
  key: string;
  field: string;
  text: string;
}

function claimsOf(rec: ServiceRecord): Claim[] {
  const out: Claim[] = [];
  for (const p of rec.ports) {
    for (const [field, list] of [
      ['vips', rec.vips],
      ['externalIps', rec.externalIps],
    ] as const) {
      for (const a of list) out.push({ key: `${a} ${p.protocol} ${String(p.port)}`, field, text: `${a} ${p.protocol} port ${String(p.port)}` });
    }
    if (p.nodePort !== undefined)
      out.push({ key: `nodePort ${p.protocol} ${String(p.nodePort)}`, field: 'nodePort', text: `${p.protocol} NodePort ${String(p.nodePort)}` });
  }
  return out;
}

/** Whether `after` holds something `before` did not (only then can it collide with another service). */
export function claimsMore(before: ServiceRecord | undefined, after: ServiceRecord): boolean {
  const had = new Set(before ? claimsOf(before).map((c) => c.key) : []);
  return claimsOf(after).some((c) => !had.has(c.key));
}

/**
 * Throws a ValidationError when two of `changed` hold one claim, or one of
 * them holds one of another recorded service (`recorded`, read only when
 * needed: every record is a file).
 */
export function refuseSharedClaims(changed: readonly ServiceRecord[], recorded: () => Iterable<ServiceRecord>): void {
  if (changed.length === 0) return;
  const holder = new Map<string, string>();
  const changing = new Set(changed.map((r) => r.name));
  for (const r of recorded()) if (!changing.has(r.name)) for (const c of claimsOf(r)) holder.set(c.key, r.name);
  for (const r of changed) {
    for (const c of claimsOf(r)) {
      const other = holder.get(c.key);
      if (other !== undefined && other !== r.name) throw new ValidationError(c.field, c.text, `is service "${other}"'s already (service "${r.name}")`);
      holder.set(c.key, r.name);
    }
  }
}
