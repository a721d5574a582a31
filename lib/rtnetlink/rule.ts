/**
 * Policy routing rules — RTM_*RULE, what `ip rule` shows and changes: which
 * routing table (or verdict) a packet gets, by source, destination,
 * interface, firewall mark...
 * @module
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from '../netlink/constants';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, u32At, u8At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET, AF_INET6, afOf, formatIp, parseCidr, type Cidr, type IpFamily } from '../validate/ip';
import { validateInterfaceName } from '../validate/names';
import * as C from './constants';
import { parseProtocol, parseTable, protocolName, tableName } from './names';
import { deleting, type MissingCodes } from './not-found';
import { checkTunId, parseRuleKey } from './rule-key';
import type { Range, Rule, RuleFilter, RuleOptions } from './rule-types';
import { checkBoolean, isObject, rejectUnknownKeys } from '../validate/options';
import { RULE_FILTER_KEYS, RULE_WRITE_KEYS } from './rule-types';

/** FR_ACT_* by name. */
const ACTIONS: Record<string, number> = {
  to_tbl: C.FR_ACT_TO_TBL,
  goto: C.FR_ACT_GOTO,
  nop: C.FR_ACT_NOP,
  blackhole: C.FR_ACT_BLACKHOLE,
  unreachable: C.FR_ACT_UNREACHABLE,
  prohibit: C.FR_ACT_PROHIBIT,
};

export type { Range, Rule, RuleAction, RuleActionNumber, RuleFilter, RuleOptions } from './rule-types';

/** IP protocol numbers by the names `ip rule` uses for `ipproto`. */
const IP_PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, sctp: 132 };

const KNOWN = new Set([
  C.FRA_DST,
  C.FRA_SRC,
  C.FRA_IIFNAME,
  C.FRA_GOTO,
  C.FRA_PRIORITY,
  C.FRA_FWMARK,
  C.FRA_FLOW,
  C.FRA_TUN_ID,
  C.FRA_SUPPRESS_IFGROUP,
  C.FRA_SUPPRESS_PREFIXLEN,
  C.FRA_TABLE,
  C.FRA_FWMASK,
  C.FRA_OIFNAME,
  C.FRA_L3MDEV,
  C.FRA_UID_RANGE,
  C.FRA_PROTOCOL,
  C.FRA_IP_PROTO,
  C.FRA_SPORT_RANGE,
  C.FRA_DPORT_RANGE,
]);

function range16(b: Buffer | undefined): Range | undefined {
  return b && b.length >= 4 ? { start: b.readUInt16LE(0), end: b.readUInt16LE(2) } : undefined;
}

/** Decodes one RTM_NEWRULE (or RTM_DELRULE) message. */
export function decodeRule(m: NetlinkMessage): Rule {
  const p = m.payload;
  const family: IpFamily = u8At(p, 0) === AF_INET6 ? 6 : 4;
  const flags = u32At(p, 8);
  const actionNum = u8At(p, 7);
  const a = new Attributes(p, C.FIB_RULE_HDR_LEN);
  const r: Rule = {
    family,
    priority: a.u32(C.FRA_PRIORITY) ?? 0,
    action: (Object.keys(ACTIONS).find((k) => ACTIONS[k] === actionNum) ?? String(actionNum)) as Rule['action'],
    invert: (flags & C.FIB_RULE_INVERT) !== 0,
    tos: u8At(p, 3),
    protocol: protocolName(a.u8(C.FRA_PROTOCOL) ?? 0),
    unknownAttributes: a.list.filter((x) => !KNOWN.has(x.type)),
  };
  const src = a.get(C.FRA_SRC);
  if (src) r.src = `${formatIp(src)}/${u8At(p, 2)}`;
  const dst = a.get(C.FRA_DST);
  if (dst) r.dst = `${formatIp(dst)}/${u8At(p, 1)}`;
  const iif = a.string(C.FRA_IIFNAME);
  if (iif) {
    r.iif = iif;
    if (flags & C.FIB_RULE_IIF_DETACHED) r.iifDetached = true;
  }
  const oif = a.string(C.FRA_OIFNAME);
  if (oif) {
    r.oif = oif;
    if (flags & C.FIB_RULE_OIF_DETACHED) r.oifDetached = true;
  }
  const mark = a.u32(C.FRA_FWMARK);
  const mask = a.u32(C.FRA_FWMASK);
  // The kernel leaves out a mark of 0 and sends its mask alone (`fwmark 0/0xff`: packets without those mark bits).
  if (mark !== undefined || mask !== undefined) r.fwmark = mark ?? 0;
  if (mask !== undefined) r.fwmask = mask;
  const l3mdev = (a.u8(C.FRA_L3MDEV) ?? 0) !== 0;
  // An l3mdev rule has no table of its own (the kernel reports 0; ip prints "lookup [l3mdev-table]").
  if (actionNum === C.FR_ACT_TO_TBL && !l3mdev) {
    r.tableId = a.u32(C.FRA_TABLE) ?? u8At(p, 4);
    r.table = tableName(r.tableId);
  }
  const gotoTarget = a.u32(C.FRA_GOTO);
  if (gotoTarget !== undefined) r.goto = gotoTarget;
  if (flags & C.FIB_RULE_UNRESOLVED) r.unresolved = true;
  const spl = a.u32(C.FRA_SUPPRESS_PREFIXLEN);
  // The kernel reports "not set" as -1.
  if (spl !== undefined && spl !== 0xffffffff) r.suppressPrefixLength = spl;
  const sig = a.u32(C.FRA_SUPPRESS_IFGROUP);
  if (sig !== undefined && sig !== 0xffffffff) r.suppressIfgroup = sig;
  const ipProto = a.u8(C.FRA_IP_PROTO);
  if (ipProto !== undefined) r.ipProto = ipProto;
  const sport = range16(a.get(C.FRA_SPORT_RANGE));
  if (sport) r.sport = sport;
  const dport = range16(a.get(C.FRA_DPORT_RANGE));
  if (dport) r.dport = dport;
  const uid = a.get(C.FRA_UID_RANGE);
  if (uid && uid.length >= 8) r.uidRange = { start: uid.readUInt32LE(0), end: uid.readUInt32LE(4) };
  if (l3mdev) r.l3mdev = true;
  const flow = a.u32(C.FRA_FLOW);
  if (flow !== undefined) r.flow = flow;
  const tun = a.be64(C.FRA_TUN_ID);
  if (tun !== undefined) r.tunId = tun;
  return r;
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

function portRange(field: string, v: number | Range): Buffer {
  const r = typeof v === 'number' ? { start: v, end: v } : v;
  if (!isObject(r)) throw new ValidationError(field, v, 'a port or { start, end }');
  // The kernel refuses ports 0 and 65535 in a rule's range ("Invalid sport range").
  const b = Buffer.alloc(4);
  b.writeUInt16LE(checkInt(`${field}.start`, r.start, 1, 65534), 0);
  b.writeUInt16LE(checkInt(`${field}.end`, r.end, r.start, 65534), 2);
  return b;
}

function uidRange(v: Range): Buffer {
  if (!isObject(v)) throw new ValidationError('uidRange', v, 'must be { start, end }');
  const b = Buffer.alloc(8);
  b.writeUInt32LE(checkInt('uidRange.start', v.start, 0, 0xfffffffe), 0);
  b.writeUInt32LE(checkInt('uidRange.end', v.end, v.start, 0xfffffffe), 4);
  return b;
}

function ruleFamily(o: RuleOptions): IpFamily {
  const fromPrefix = (s: string | undefined) => (s !== undefined ? parseCidr(s, 'prefix', { defaultFull: true }).family : undefined);
  const f = o.family ?? fromPrefix(o.src) ?? fromPrefix(o.dst) ?? 4;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (f !== 4 && f !== 6) throw new ValidationError('family', f, 'must be 4 or 6');
  return f;
}

function prefix(s: string, field: string, family: IpFamily): Cidr {
  return parseCidr(s, field, { family, defaultFull: true });
}

function* writeRule(type: number, flags: number, o: RuleOptions, verb: string): Operation<void> {
  if (!isObject(o)) throw new ValidationError('rule', o, 'must be an object');
  rejectUnknownKeys(o, RULE_WRITE_KEYS, 'rule');
  checkBoolean(o.invert, 'invert');
  checkBoolean(o.l3mdev, 'l3mdev');
  const adding = type === C.RTM_NEWRULE;
  const family = ruleFamily(o);
  const src = o.src !== undefined ? prefix(o.src, 'src', family) : undefined;
  const dst = o.dst !== undefined ? prefix(o.dst, 'dst', family) : undefined;
  let action = 0;
  if (o.action !== undefined) {
    if (Object.hasOwn(ACTIONS, o.action)) action = ACTIONS[o.action];
    else if (/^\d{1,3}$/.test(o.action) && Number(o.action) <= 255) action = Number(o.action);
    else throw new ValidationError('action', o.action, `one of ${Object.keys(ACTIONS).join(', ')}, or an action number`);
  } else if (o.goto !== undefined) action = C.FR_ACT_GOTO;
  else if (adding || o.table !== undefined) action = C.FR_ACT_TO_TBL;
  if (o.table !== undefined && action !== C.FR_ACT_TO_TBL) throw new ValidationError('table', o.table, `a ${o.action} rule has no table`);
  if (o.goto !== undefined && action !== C.FR_ACT_GOTO) throw new ValidationError('goto', o.goto, 'only for action "goto"');
  // An l3mdev rule looks up the table of the packet's VRF: the kernel refuses a table with it ("l3mdev and table are mutually exclusive").
  if (o.l3mdev && o.table !== undefined) throw new ValidationError('table', o.table, "an l3mdev rule looks up the VRF's table; give no table");
  if (adding && action === C.FR_ACT_GOTO && o.goto === undefined) throw new ValidationError('goto', o.goto, 'a goto rule needs the target priority');
  let table = o.table !== undefined ? parseTable(o.table) : undefined;
  if (adding && action === C.FR_ACT_TO_TBL && table === undefined && !o.l3mdev) table = C.RT_TABLE_MAIN;
  // Table 0 (RT_TABLE_UNSPEC) makes the kernel pick an unused table for the rule (ip rule add ... table 0 does):
  // a table add() would not report, so the rule's routes could not be added to it. Refused, nothing sent.
  if (adding && table === 0) {
    throw new ValidationError(
      'table',
      o.table,
      'table 0 (unspec) makes the kernel choose an unused table, which add() cannot report; give the table: 1-4294967295 or a name',
    );
  }

  const w = new NetlinkWriter().begin(type, flags);
  const off = w.struct(C.FIB_RULE_HDR_LEN);
  const v = w.view;
  v.writeUInt8(family === 4 ? AF_INET : AF_INET6, off);
  v.writeUInt8(dst?.prefixLength ?? 0, off + 1);
  v.writeUInt8(src?.prefixLength ?? 0, off + 2);
  v.writeUInt8(o.tos !== undefined ? checkInt('tos', o.tos, 0, 255) : 0, off + 3);
  v.writeUInt8(table !== undefined && table < 256 ? table : 0, off + 4);
  v.writeUInt8(action, off + 7);
  v.writeUInt32LE(o.invert ? C.FIB_RULE_INVERT : 0, off + 8);
  if (src) w.attr(C.FRA_SRC, src.bytes);
  if (dst) w.attr(C.FRA_DST, dst.bytes);
  if (o.priority !== undefined) w.u32(C.FRA_PRIORITY, checkInt('priority', o.priority, 0, 0xffffffff));
  if (table !== undefined) w.u32(C.FRA_TABLE, table);
  if (o.goto !== undefined) w.u32(C.FRA_GOTO, checkInt('goto', o.goto, 0, 0xffffffff));
  if (o.iif !== undefined) w.string(C.FRA_IIFNAME, validateInterfaceName(o.iif, 'iif'));
  if (o.oif !== undefined) w.string(C.FRA_OIFNAME, validateInterfaceName(o.oif, 'oif'));
  if (o.fwmark !== undefined) w.u32(C.FRA_FWMARK, checkInt('fwmark', o.fwmark, 0, 0xffffffff));
  if (o.fwmask !== undefined) w.u32(C.FRA_FWMASK, checkInt('fwmask', o.fwmask, 0, 0xffffffff));
  if (o.protocol !== undefined) w.u8(C.FRA_PROTOCOL, parseProtocol(o.protocol));
  if (o.suppressPrefixLength !== undefined)
    w.u32(C.FRA_SUPPRESS_PREFIXLEN, checkInt('suppressPrefixLength', o.suppressPrefixLength, 0, family === 4 ? 32 : 128));
  if (o.suppressIfgroup !== undefined) w.u32(C.FRA_SUPPRESS_IFGROUP, checkInt('suppressIfgroup', o.suppressIfgroup, 0, 0xfffffffe));
  if (o.ipProto !== undefined) {
    const n = typeof o.ipProto === 'string' ? (Object.hasOwn(IP_PROTOCOLS, o.ipProto) ? IP_PROTOCOLS[o.ipProto] : undefined) : o.ipProto;
    if (n === undefined) throw new ValidationError('ipProto', o.ipProto, `one of ${Object.keys(IP_PROTOCOLS).join(', ')} or a number`);
    w.u8(C.FRA_IP_PROTO, checkInt('ipProto', n, 0, 255));
  }
  if (o.sport !== undefined) w.attr(C.FRA_SPORT_RANGE, portRange('sport', o.sport));
  if (o.dport !== undefined) w.attr(C.FRA_DPORT_RANGE, portRange('dport', o.dport));
  if (o.uidRange !== undefined) w.attr(C.FRA_UID_RANGE, uidRange(o.uidRange));
  if (o.l3mdev) w.u8(C.FRA_L3MDEV, 1);
  // Realms are IPv4's (the IPv6 rules ignore FRA_FLOW): refused rather than dropped.
  if (o.flow !== undefined) {
    if (family !== 4) throw new ValidationError('flow', o.flow, 'realms are matched by IPv4 rules only');
    w.u32(C.FRA_FLOW, checkInt('flow', o.flow, 0, 0xffffffff));
  }
  if (o.tunId !== undefined) w.be64(C.FRA_TUN_ID, checkTunId(o.tunId));
  const what = [o.priority !== undefined ? `pref ${o.priority}` : '', o.src ? `from ${o.src}` : '', o.dst ? `to ${o.dst}` : ''].filter(Boolean).join(' ');
  yield* call(w.end().finish(), `${verb} rule${what ? ' ' + what : ''}`);
}

/** The kernel's "no such rule". */
const RULE_MISSING: MissingCodes = { ENOENT: 'ip rule' };

/** The operations on policy routing rules; bound to a handle as `handle.rules`. */
export const ruleOps = {
  /**
   * Adds a rule; EEXIST if an identical one exists.
   * @example
   * await h.rules.add({ priority: 100, src: '10.1.0.0/16', table: 100 });
   * await h.rules.add({ priority: 200, fwmark: 0x10, fwmask: 0xff, action: 'blackhole' });
   */
  *add(rule: RuleOptions): Operation<void> {
    yield* writeRule(C.RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, rule, 'add');
  },

  /**
   * Deletes the first rule matching every field given (priority alone is
   * enough; a listed rule can be passed as it is). Resolves to `true`; no
   * such rule is a {@link NotFoundError} (code ENOENT), or `false` with
   * `{ missingOk: true }`.
   * @example
   * await h.rules.delete({ priority: 100 });
   * for (const r of await h.rules.list({ table: 100 })) await h.rules.delete(r);
   * await h.rules.delete({ priority: 100 }, { missingOk: true }); // false: gone already
   */
  *delete(rule: RuleOptions, opts?: DeleteOptions): Operation<boolean> {
    const missingOk = checkDeleteOptions(opts);
    return yield* deleting(RULE_MISSING, writeRule(C.RTM_DELRULE, 0, rule, 'delete'), missingOk);
  },

  /**
   * Gets the rule a key names: as for {@link ruleOps.delete}, the first rule
   * (in priority order) of the key's family (given, or its prefixes', else
   * IPv4) matching every field the key gives; `priority` alone is enough, a
   * listed rule names itself. {@link NotFoundError} (code ENOENT) when there
   * is none. The kernel has no "get one rule" request and filters rule dumps
   * by family only: costs one dump of the family's rules, matched here.
   * @example
   * const r = await h.rules.get({ priority: 100 }); // r.src, r.table
   * const v6 = await h.rules.get({ family: 6, priority: 100, table: 100 });
   */
  *get(key: RuleOptions): Operation<Rule> {
    const found = yield* ruleOps.find(key);
    if (!found) {
      const what = [key.priority !== undefined ? `pref ${String(key.priority)}` : '', key.src ? `from ${key.src}` : '', key.dst ? `to ${key.dst}` : '']
        .filter(Boolean)
        .join(' ');
      throw new NotFoundError('ip rule', { errno: osConstants.errno.ENOENT, operation: `get rule${what ? ' ' + what : ''}` });
    }
    return found;
  },

  /**
   * Like {@link ruleOps.get}, but undefined when there is no such rule.
   * @example
   * if (!(await h.rules.find({ priority: 100, table: 100 }))) await h.rules.add({ priority: 100, src: '10.1.0.0/16', table: 100 });
   */
  *find(key: RuleOptions): Operation<Rule | undefined> {
    rejectUnknownKeys(key, RULE_WRITE_KEYS, 'rule key');
    const k = parseRuleKey(key);
    return (yield* ruleOps.list({ family: k.family })).find((r) => k.matches(r));
  },

  /**
   * Lists rules of both families (or one), in priority order per family.
   * @example
   * const v4 = await h.rules.list({ family: 4 });
   */
  *list(filter: RuleFilter = {}): Operation<Rule[]> {
    rejectUnknownKeys(filter, RULE_FILTER_KEYS, 'rule filter');
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (filter.family !== undefined && filter.family !== 4 && filter.family !== 6) {
      throw new ValidationError('family', filter.family, 'must be 4 or 6');
    }
    const table = filter.table !== undefined ? parseTable(filter.table) : undefined;
    if (filter.priority !== undefined) checkInt('priority', filter.priority, 0, 0xffffffff);
    const w = new NetlinkWriter().begin(C.RTM_GETRULE, NLM_F_DUMP);
    // Rule dumps take no filters (strict checking refuses them): filter here.
    const off = w.struct(C.FIB_RULE_HDR_LEN);
    w.view.writeUInt8(filter.family ? afOf(filter.family) : C.AF_UNSPEC, off);
    const replies = yield* dump(w.end().finish(), 'list rules');
    return (
      replies
        // AF_UNSPEC also returns multicast-routing rules (RTNL_FAMILY_IPMR...): keep IP ones.
        .filter((m) => m.type === C.RTM_NEWRULE && (u8At(m.payload, 0) === AF_INET || u8At(m.payload, 0) === AF_INET6))
        .map(decodeRule)
        .filter(
          (r) =>
            (!filter.family || r.family === filter.family) &&
            (table === undefined || r.tableId === table) &&
            (filter.priority === undefined || r.priority === filter.priority),
        )
    );
  },
};
