/**
 * The default routes of a sandbox whose attachment carries them, as check()
 * and reconcile() see them: the network's (via its gateway, IPv4 and, on a
 * dual-stack network, IPv6) must be there and must win. Routes of the
 * sandbox's main table that take its traffic elsewhere while the network's
 * route is still listed are `sandbox-route-shadowed`:
 * - another default route of the same family with a lower metric (an admin's
 *   `ip -6 route add default via ... metric 1`). nlkit's IPv4 default route
 *   has metric 0, which nothing undercuts; its IPv6 one the kernel's, 1024.
 * - a route of prefix length 1 to 7, whatever its metric (the longest prefix
 *   wins), unless it goes where the network's default route goes (same
 *   gateway, same interface). Why that length: a VPN takes the whole space
 *   with `0.0.0.0/1` + `128.0.0.0/1` (`::/1` + `8000::/1`) and leaves the
 *   default route listed. Shorter than /8 is wider than any one network:
 *   IPv4's widest private range is 10/8 and IANA allocates /8 at most; IPv6's
 *   prefixes that short are all of global unicast (`2000::/3`) or all of
 *   ULA (`fc00::/7`, every other site's private addresses), traffic the
 *   default route carries. Each such route is reported, not only a pair:
 *   one /1 already takes half of the addresses. A /8 or longer (a route to
 *   10/8 through a VPN, split tunnelling) is a route to a network, not drift.
 * Source-specific (IPv6 `from`) routes take only their source's traffic and
 * are left out. Policy rules that take the traffic before the main table is
 * looked up are sandbox-route-rules.ts.
 * @module
 */
import type { Route } from '../rtnetlink/route-types';
import type { AttachmentRecord, NetworkRecord } from './state';

/** The table `ip route` lists by default, where attach puts the default routes. */
export const MAIN_TABLE = 254;

/** The gateways the attachment's default routes go through, by family (IPv6 follows IPv4: multi-network.ts). */
export function gateways(rec: NetworkRecord, att: AttachmentRecord): Array<[4 | 6, string]> {
  const out: Array<[4 | 6, string]> = [[4, rec.gateway]];
  if (att.ipv6 && rec.gateway6) out.push([6, rec.gateway6]);
  return out;
}

/** The network's default route of a family among the main table's routes. */
export function ourDefaultRoute(mainRoutes: Route[], family: 4 | 6, gateway: string): Route | undefined {
  return mainRoutes.find((r) => r.family === family && r.dst === 'default' && r.gateway === gateway);
}

/** Wider than any one network (see the module comment): a piece of the default route's space. */
export function isWide(r: Route): boolean {
  return r.dstLength > 0 && r.dstLength < 8;
}

/** Sends where the network's default route sends: the same gateway on the same interface. */
function goesOurWay(r: Route, ours: Route): boolean {
  return r.type === 'unicast' && !r.multipath && r.gateway === ours.gateway && r.link === ours.link;
}

/**
 * A route of another table, looked up by a rule before the main table, that takes traffic `ours` would carry:
 * a default or wide route (not `throw`, which goes on to the next rule) that does not go our way, longer than
 * the rule's `suppress_prefixlength`.
 */
export function catchesBeforeMain(r: Route, ours: Route, suppressPrefixLength = -1): boolean {
  return (
    r.family === ours.family &&
    r.src === undefined &&
    r.type !== 'throw' &&
    (r.dstLength === 0 || isWide(r)) &&
    r.dstLength > suppressPrefixLength &&
    !goesOurWay(r, ours)
  );
}

/**
 * A route of the sandbox's main table that wins over `ours`: a default route with a lower metric, or a wide route
 * that does not go our way; not a source-specific one (IPv6 `from`), which takes only its source's traffic.
 */
function shadows(r: Route, ours: Route): boolean {
  if (r === ours || r.family !== ours.family || r.src !== undefined || r.tableId !== ours.tableId) return false;
  if (r.dst === 'default') return (r.metric ?? 0) < (ours.metric ?? 0);
  return isWide(r) && !goesOurWay(r, ours);
}

/** The routes of the main table (`mainRoutes`) that win over the network's default route `ours`. */
export function rivalRoutes(mainRoutes: Route[], ours: Route): Route[] {
  return mainRoutes.filter((r) => shadows(r, ours));
}

/** A route as `ip route` would name it, for drift details. */
export function describeRoute(r: Route): string {
  const via = r.gateway ? `via ${r.gateway}` : r.multipath ? 'multipath' : r.type;
  return `${r.dst} ${via} dev ${r.linkName ?? r.link ?? '?'} metric ${r.metric ?? 0}`;
}

/** What is wrong with the default routes of an attachment carrying them, read from one dump of the sandbox's main table. */
export function defaultRouteDrift(
  mainRoutes: Route[],
  rec: NetworkRecord,
  att: AttachmentRecord,
): Array<{ kind: 'sandbox-route-missing' | 'sandbox-route-shadowed'; detail: string }> {
  const out: Array<{ kind: 'sandbox-route-missing' | 'sandbox-route-shadowed'; detail: string }> = [];
  for (const [family, gateway] of gateways(rec, att)) {
    const v = family === 6 ? 'IPv6 ' : '';
    const ours = ourDefaultRoute(mainRoutes, family, gateway);
    if (!ours) {
      out.push({ kind: 'sandbox-route-missing', detail: `no ${v}default route via ${gateway}` });
      continue;
    }
    const rivals = rivalRoutes(mainRoutes, ours);
    if (rivals.length) {
      const what = rivals.map(describeRoute);
      out.push({ kind: 'sandbox-route-shadowed', detail: `${v}default route via ${gateway} (metric ${ours.metric ?? 0}) loses to ${what.join(', ')}` });
    }
  }
  return out;
}
