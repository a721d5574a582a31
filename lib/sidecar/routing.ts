/**
 * The policy routing of TPROXY mode: packets carrying the interception
 * mark are looked up in a table whose only route makes every destination
 * local (`ip rule add fwmark M lookup N`, `ip route add local default dev lo
 * table N`, the same for IPv6), so diverted packets are delivered to the
 * transparent listener instead of being forwarded. REDIRECT mode needs none.
 * @module
 */
import type { Handle } from '../handle';
import { NetlinkError } from '../netlink/errors';
import type { Route } from '../rtnetlink/route-types';
import type { IpFamily } from '../validate/ip';
import type { RoutingSpec } from './layout';

/** One difference in the routing an interception needs. */
export interface RoutingDrift {
  kind: 'policy-rule-missing' | 'route-missing' | 'route-unexpected';
  family: IpFamily;
  detail: string;
}

/** The routes of the table; none when the kernel has no such table (yet). */
async function tableRoutes(h: Handle, family: IpFamily, table: number): Promise<Route[]> {
  try {
    return await h.routes.list({ family, table });
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENOENT') return [];
    throw e;
  }
}

export function routingFamilies(spec: RoutingSpec): IpFamily[] {
  if (spec.mode !== 'tproxy') return [];
  return spec.ipv6 ? [4, 6] : [4];
}

const ruleOf = (spec: RoutingSpec, family: IpFamily) => ({ family, priority: spec.rulePriority, fwmark: spec.mark, table: spec.table });
const routeOf = (spec: RoutingSpec, family: IpFamily) => ({ family, dst: 'default', type: 'local', link: 'lo', table: spec.table });
/** The one route nlkit writes in the interception's table: others there are someone else's. */
const isOurs = (r: Route) => r.dstLength === 0 && r.type === 'local' && r.linkName === 'lo';
const isEexist = (e: unknown) => e instanceof NetlinkError && e.code === 'EEXIST';

/** What is missing (or foreign in the interception's table), per family. */
export async function checkRouting(h: Handle, spec: RoutingSpec): Promise<RoutingDrift[]> {
  const drift: RoutingDrift[] = [];
  for (const family of routingFamilies(spec)) {
    const rules = await h.rules.list({ family, priority: spec.rulePriority });
    if (!rules.some((r) => r.fwmark === spec.mark && r.tableId === spec.table && r.action === 'to_tbl' && !r.invert)) {
      drift.push({
        kind: 'policy-rule-missing',
        family,
        detail: `IPv${family} rule "pref ${spec.rulePriority} fwmark ${spec.mark} lookup ${spec.table}" is gone`,
      });
    }
    const routes = await tableRoutes(h, family, spec.table);
    if (!routes.some(isOurs)) drift.push({ kind: 'route-missing', family, detail: `IPv${family} route "local default dev lo table ${spec.table}" is gone` });
    for (const r of routes) {
      if (!isOurs(r) && r.type !== 'broadcast' && !(family === 6 && r.dst.startsWith('ff'))) {
        drift.push({ kind: 'route-unexpected', family, detail: `table ${spec.table} has a route nlkit did not write: ${r.type} ${r.dst}` });
      }
    }
  }
  return drift;
}

/**
 * Adds what check finds missing. Foreign routes in the table stay (reported
 * by check, never deleted: the table may be shared). Another writer adding
 * the same rule or route at the same moment (EEXIST) is not a failure.
 */
export async function repairRouting(h: Handle, spec: RoutingSpec): Promise<void> {
  for (const family of routingFamilies(spec)) {
    const missing = await checkRouting(h, spec);
    // The route before the rule that leads to it.
    if (missing.some((m) => m.family === family && m.kind === 'route-missing')) {
      try {
        await h.routes.add(routeOf(spec, family));
      } catch (e) {
        if (!isEexist(e) || !(await tableRoutes(h, family, spec.table)).some(isOurs)) throw e;
      }
    }
    if (missing.some((m) => m.family === family && m.kind === 'policy-rule-missing')) {
      try {
        await h.rules.add(ruleOf(spec, family));
      } catch (e) {
        if (!isEexist(e)) throw e;
      }
    }
  }
}

/** Removes the policy rules and the route nlkit wrote (whatever is still there; other routes in the table stay). */
export async function removeRouting(h: Handle, spec: RoutingSpec): Promise<void> {
  for (const family of routingFamilies(spec)) {
    await h.rules.delete(ruleOf(spec, family), { missingOk: true });
    for (const r of await tableRoutes(h, family, spec.table)) if (isOurs(r)) await h.routes.delete(r, { missingOk: true });
  }
}
