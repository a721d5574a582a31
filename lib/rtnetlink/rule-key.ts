/**
 * Which ip rule a key names, for `rules.get` and `find`: as for the kernel's
 * delete, the first rule (in priority order) of the key's family that
 * matches every field the key gives — `priority` alone is enough, a listed
 * {@link Rule} matches itself. The family is the key's, or its prefixes',
 * else IPv4 (as for add and delete).
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatIp, parseCidr, type IpFamily } from '../validate/ip';
import { validateInterfaceName } from '../validate/names';
import { parseProtocol, parseTable, protocolName } from './names';
import type { Range, Rule, RuleOptions } from './rule-types';

/** IP protocol numbers by the names `ip rule` uses for `ipproto` (as rule.ts). */
const IP_PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, sctp: 132 };

/** A key checked: its family, and a test of each field it gives. */
export interface ParsedRuleKey {
  family: IpFamily;
  matches(r: Rule): boolean;
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

/** A tunnel id: a bigint or a safe integer, 0 to 2^64-1. */
export function checkTunId(v: unknown): bigint {
  const n = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof n !== 'bigint' || n < 0n || n > 0xffffffffffffffffn) throw new ValidationError('tunId', v, 'must be an integer 0 to 2^64-1 (a bigint above 2^53)');
  return n;
}

function range(field: string, v: unknown, max: number): Range {
  const r = typeof v === 'number' ? { start: v, end: v } : v;
  if (typeof r !== 'object' || r === null) throw new ValidationError(field, v, 'a number or { start, end }');
  const { start, end } = r as Partial<Range>;
  const s = checkInt(`${field}.start`, start, 0, max);
  return { start: s, end: checkInt(`${field}.end`, end, s, max) };
}

function samePrefix(text: string | undefined, field: string, family: IpFamily): (r?: string) => boolean {
  if (text === undefined) return () => true;
  const c = parseCidr(text, field, { family, defaultFull: true });
  const want = `${formatIp(c.bytes)}/${c.prefixLength}`;
  return (r) => r === want;
}

/** Checks a key (a ValidationError naming the field otherwise). */
export function parseRuleKey(key: RuleOptions): ParsedRuleKey {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (typeof key !== 'object' || key === null) throw new ValidationError('rule', key, 'must be an object (a listed rule is one)');
  const prefixFamily = (s: string | undefined) => (s !== undefined ? parseCidr(s, 'prefix', { defaultFull: true }).family : undefined);
  const family = key.family ?? prefixFamily(key.src) ?? prefixFamily(key.dst) ?? 4;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (family !== 4 && family !== 6) throw new ValidationError('family', family, 'must be 4 or 6');
  const tests: Array<(r: Rule) => boolean> = [];
  const src = samePrefix(key.src, 'src', family);
  const dst = samePrefix(key.dst, 'dst', family);
  tests.push(
    (r) => src(r.src),
    (r) => dst(r.dst),
  );
  const u32 = (field: keyof RuleOptions & keyof Rule) => {
    const v = key[field];
    if (v === undefined) return;
    const n = checkInt(field, v, 0, 0xffffffff);
    tests.push((r) => r[field] === n);
  };
  u32('priority');
  u32('fwmark');
  u32('fwmask');
  u32('goto');
  u32('suppressPrefixLength');
  u32('suppressIfgroup');
  u32('flow');
  if (key.tunId !== undefined) {
    const tunId = checkTunId(key.tunId);
    tests.push((r) => r.tunId === tunId);
  }
  if (key.iif !== undefined) {
    const iif = validateInterfaceName(key.iif, 'iif');
    tests.push((r) => r.iif === iif);
  }
  if (key.oif !== undefined) {
    const oif = validateInterfaceName(key.oif, 'oif');
    tests.push((r) => r.oif === oif);
  }
  if (key.table !== undefined) {
    const table = parseTable(key.table);
    tests.push((r) => r.tableId === table);
  }
  if (key.action !== undefined) {
    const action = key.action;
    if (typeof action !== 'string') throw new ValidationError('action', action, 'an action name, or an action number in a string');
    tests.push((r) => r.action === action);
  }
  if (key.tos !== undefined) {
    const tos = checkInt('tos', key.tos, 0, 255);
    tests.push((r) => r.tos === tos);
  }
  if (key.invert !== undefined) {
    const invert = key.invert;
    tests.push((r) => r.invert === invert);
  }
  if (key.protocol !== undefined) {
    const protocol = protocolName(parseProtocol(key.protocol));
    tests.push((r) => r.protocol === protocol);
  }
  if (key.ipProto !== undefined) {
    const p = typeof key.ipProto === 'string' ? (Object.hasOwn(IP_PROTOCOLS, key.ipProto) ? IP_PROTOCOLS[key.ipProto] : undefined) : key.ipProto;
    if (p === undefined) throw new ValidationError('ipProto', key.ipProto, `one of ${Object.keys(IP_PROTOCOLS).join(', ')} or a number`);
    const n = checkInt('ipProto', p, 0, 255);
    tests.push((r) => r.ipProto === n);
  }
  for (const field of ['sport', 'dport', 'uidRange'] as const) {
    const v = key[field];
    if (v === undefined) continue;
    const want = range(field, v, field === 'uidRange' ? 0xfffffffe : 65535);
    tests.push((r) => {
      const have = r[field];
      return have?.start === want.start && have.end === want.end;
    });
  }
  if (key.l3mdev !== undefined) {
    const l3mdev = key.l3mdev;
    tests.push((r) => (r.l3mdev ?? false) === l3mdev);
  }
  return { family, matches: (r) => tests.every((t) => t(r)) };
}
