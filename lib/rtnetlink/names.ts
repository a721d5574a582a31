/**
 * Names for rtnetlink numbers as iproute2 prints them (scopes, protocols,
 * tables, route types) and the reverse, so API values compare equal to
 * `ip -j` output.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { ROUTE_PROTOCOLS, ROUTE_TYPES, RTNH_F_DEAD, RTNH_F_LINKDOWN, RTNH_F_ONLINK, RTNH_F_PERVASIVE, SCOPES } from './constants';

function reverse(map: Record<number, string>): Map<string, number> {
  return new Map(Object.entries(map).map(([k, v]) => [v, Number(k)]));
}

const scopeByName = reverse(SCOPES);
scopeByName.set('universe', 0);
const protoByName = reverse(ROUTE_PROTOCOLS);
const TABLES: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };
const tableByName = reverse(TABLES);

export function scopeName(n: number): string {
  return SCOPES[n] ?? String(n);
}
export function parseScope(s: string | number): number {
  return parseNamed(s, scopeByName, 'scope', 255);
}
export function protocolName(n: number): string {
  return ROUTE_PROTOCOLS[n] ?? String(n);
}
export function parseProtocol(s: string | number): number {
  return parseNamed(s, protoByName, 'protocol', 255);
}
export function tableName(n: number): string {
  return TABLES[n] ?? String(n);
}
export function parseTable(s: string | number): number {
  return parseNamed(s, tableByName, 'table', 0xffffffff);
}
export function routeTypeName(n: number): string {
  return ROUTE_TYPES[n] ?? String(n);
}
export function parseRouteType(s: string): number {
  const i = (ROUTE_TYPES as readonly string[]).indexOf(s);
  if (i < 0) throw new ValidationError('route type', s, `one of ${ROUTE_TYPES.join(', ')}`);
  return i;
}

function parseNamed(s: string | number, names: Map<string, number>, field: string, max: number): number {
  if (typeof s === 'number') {
    if (!Number.isInteger(s) || s < 0 || s > max) throw new ValidationError(field, s, `must be 0-${max}`);
    return s;
  }
  const n = names.get(s);
  if (n !== undefined) return n;
  if (/^\d+$/.test(s)) return parseNamed(Number(s), names, field, max);
  throw new ValidationError(field, s, `one of ${[...names.keys()].join(', ')} or a number`);
}

/** RTNH_F_* flags of a nexthop (in a multipath route or a nexthop object), by the names `ip` prints. */
export function nexthopFlagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & RTNH_F_DEAD) out.push('dead');
  if (flags & RTNH_F_PERVASIVE) out.push('pervasive');
  if (flags & RTNH_F_ONLINK) out.push('onlink');
  if (flags & RTNH_F_LINKDOWN) out.push('linkdown');
  return out;
}
