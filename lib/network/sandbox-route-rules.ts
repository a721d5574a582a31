/**
 * Policy routing rules of a sandbox that take its traffic before the main
 * table, where the network's default route is, is looked up:
 * `sandbox-rule-shadowed`. The kernel tries the rules in order (the dump's);
 * the main table's is `from all lookup main`, 32766. A rule before it takes
 * the sandbox's traffic when it matches what the sandbox sends and
 * - rejects it (`blackhole`, `unreachable`, `prohibit`), or
 * - looks up another table with a default route or a route wider than /8
 *   (sandbox-default-route.ts) that does not go where the network's goes
 *   (`ip rule add from all lookup 100`, wg-quick's
 *   `not fwmark 0xca6c lookup 51820`).
 * "Matches what the sandbox sends": from a socket of the sandbox, unmarked,
 * not bound to a device, any protocol, port, uid and TOS, from its own
 * address (the kernel looks routes up again with the source it picked). So
 * `from all` or a prefix holding the attachment's address, `to` absent or
 * wider than /8, `iif` absent or `lo` (locally made packets come "from lo");
 * no `oif`, mark, TOS, protocol, port or uid selector. An inverted rule
 * (`not ...`) matches it when its selector cannot: a non-zero mark, an
 * `oif`, an `iif` other than `lo`, or a `from` not holding the address.
 * `goto`, `nop` and VRF (`l3mdev`) rules are not followed. With no main-table
 * rule at all, every rule counts.
 * @module
 */
import type { Route } from '../rtnetlink/route-types';
import type { Rule } from '../rtnetlink/rule-types';
import { cidrContains, parseCidr } from '../validate/ip';
import { catchesBeforeMain, defaultRouteDrift, describeRoute, gateways, MAIN_TABLE, ourDefaultRoute } from './sandbox-default-route';
import type { AttachmentRecord, NetworkRecord } from './state';

const LOCAL_TABLE = 255;
const REJECTS = new Set<string>(['blackhole', 'unreachable', 'prohibit']);

/** Whether prefix `prefix` ("10.0.0.0/8", or an address) holds address `addr`. */
function holds(prefix: string, addr: string | undefined): boolean {
  if (addr === undefined) return false;
  try {
    return cidrContains(parseCidr(prefix, 'prefix', { defaultFull: true }), parseCidr(addr, 'address', { defaultFull: true }));
  } catch {
    return false; // not a prefix of this family
  }
}

/** A `to` prefix that holds a piece of the default route's space at least as wide as sandbox-default-route.ts's. */
function wideDst(dst: string): boolean {
  const len = Number(dst.split('/')[1] ?? 128);
  return len < 8;
}

/** The rule's selector matches every packet the sandbox sends (own address `addr`) to where its default route goes. */
function matchesAll(r: Rule, addr: string | undefined): boolean {
  return (
    (r.src === undefined || holds(r.src, addr)) &&
    (r.dst === undefined || wideDst(r.dst)) &&
    (r.iif === undefined || r.iif === 'lo') &&
    r.oif === undefined &&
    (r.fwmark === undefined || (r.fwmark & (r.fwmask ?? 0xffffffff)) === 0) &&
    r.tos === 0 &&
    r.ipProto === undefined &&
    r.sport === undefined &&
    r.dport === undefined &&
    r.uidRange === undefined
  );
}

/** The rule's selector matches none of the packets the sandbox sends (so `not` it matches them all). */
function matchesNone(r: Rule, addr: string | undefined): boolean {
  return (
    (r.src !== undefined && !holds(r.src, addr)) ||
    (r.iif !== undefined && r.iif !== 'lo') ||
    r.oif !== undefined ||
    (r.fwmark !== undefined && (r.fwmark & (r.fwmask ?? 0xffffffff)) !== 0)
  );
}

function matchesOwnTraffic(r: Rule, addr: string | undefined): boolean {
  if (r.l3mdev) return false;
  return r.invert ? matchesNone(r, addr) : matchesAll(r, addr);
}

/** The main table's rule: it hands the sandbox's traffic to the main table (without suppressing its default route). */
function isMainRule(r: Rule, addr: string | undefined): boolean {
  return (
    r.action === 'to_tbl' && r.tableId === MAIN_TABLE && r.suppressPrefixLength === undefined && r.suppressIfgroup === undefined && matchesOwnTraffic(r, addr)
  );
}

/** A rule that takes the traffic, and what in its table does it (none for a rejecting rule). */
export interface RivalRule {
  rule: Rule;
  routes: Route[];
}

/**
 * The rules of `family` before the main table's that take the traffic of the attachment's network's default route
 * `ours`, read from one dump of the sandbox's rules and one of its routes of every table.
 */
export function rivalRules(rules: Rule[], allRoutes: Route[], ours: Route, addr: string | undefined): RivalRule[] {
  const out: RivalRule[] = [];
  for (const r of rules) {
    if (r.family !== ours.family) continue;
    if (isMainRule(r, addr)) break;
    if (!matchesOwnTraffic(r, addr)) continue;
    if (REJECTS.has(r.action)) out.push({ rule: r, routes: [] });
    else if (r.action === 'to_tbl' && r.tableId !== undefined && r.tableId !== MAIN_TABLE && r.tableId !== LOCAL_TABLE) {
      const routes = allRoutes.filter((x) => x.tableId === r.tableId && catchesBeforeMain(x, ours, r.suppressPrefixLength));
      if (routes.length) out.push({ rule: r, routes });
    }
  }
  return out;
}

/** A rule as `ip rule` would name it, for drift details. */
export function describeRule(x: RivalRule): string {
  const r = x.rule;
  const sel = [
    r.invert ? 'not' : '',
    r.src ? `from ${r.src}` : 'from all',
    r.dst ? `to ${r.dst}` : '',
    r.iif ? `iif ${r.iif}` : '',
    r.fwmark !== undefined ? `fwmark ${r.fwmark}` : '',
  ].filter(Boolean);
  const what = r.action === 'to_tbl' ? `lookup ${r.table ?? r.tableId ?? '?'} (${x.routes.map(describeRoute).join(', ')})` : r.action;
  return `${r.priority}: ${sel.join(' ')} ${what}`;
}

/** The rules that take the traffic of an attachment carrying the default routes, per family. */
export function ruleDrift(
  rules: Rule[],
  allRoutes: Route[],
  rec: NetworkRecord,
  att: AttachmentRecord,
): Array<{ kind: 'sandbox-rule-shadowed'; detail: string }> {
  const out: Array<{ kind: 'sandbox-rule-shadowed'; detail: string }> = [];
  const main = allRoutes.filter((r) => r.tableId === MAIN_TABLE);
  for (const [family, gateway] of gateways(rec, att)) {
    const ours = ourDefaultRoute(main, family, gateway);
    if (!ours) continue; // sandbox-route-missing: the attachment is re-made, and looked at again
    const rivals = rivalRules(rules, allRoutes, ours, family === 6 ? att.ipv6 : att.ipv4);
    if (rivals.length) {
      const v = family === 6 ? 'IPv6 ' : '';
      out.push({
        kind: 'sandbox-rule-shadowed',
        detail: `${v}default route via ${gateway} is not reached: rule ${rivals.map(describeRule).join(', rule ')} comes first`,
      });
    }
  }
  return out;
}

/**
 * Everything wrong with the default routes of an attachment carrying them (sandbox-default-route.ts and the rules
 * above), from one dump of the sandbox's routes of every table and one of its rules.
 */
export function sandboxRouteDrift(
  allRoutes: Route[],
  rules: Rule[],
  rec: NetworkRecord,
  att: AttachmentRecord,
): Array<{ kind: 'sandbox-route-missing' | 'sandbox-route-shadowed' | 'sandbox-rule-shadowed'; detail: string }> {
  const main = allRoutes.filter((r) => r.tableId === MAIN_TABLE);
  return [...defaultRouteDrift(main, rec, att), ...ruleDrift(rules, allRoutes, rec, att)];
}
