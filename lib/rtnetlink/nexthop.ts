/**
 * Nexthop objects — RTM_*NEXTHOP, what `ip nexthop` shows and changes: a
 * next hop (gateway and/or link, or a blackhole) or a group of them, kept
 * by id, that routes use with `nhid` (what FRR and other routing daemons
 * program). Types in nexthop-types.ts, the wire format in nexthop-decode.ts.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { NetlinkWriter } from '../netlink/writer';
import { afOf, parseIp, type IpBytes, type IpFamily } from '../validate/ip';
import { isObject, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { resolveLinkIndex, resolveLinkNames } from './link';
import { parseProtocol } from './names';
import * as N from './nexthop-decode';
import { deleting, notFoundOn, type MissingCodes } from './not-found';
import type { NexthopGroupMember, NexthopObject, NexthopObjectFilter, NexthopObjectKey, NexthopObjectOptions } from './nexthop-types';
import { GROUP_MEMBER_KEYS, NEXTHOP_OBJECT_FILTER_KEYS, NEXTHOP_OBJECT_KEY_KEYS, NEXTHOP_OBJECT_WRITE_KEYS, RESILIENT_KEYS } from './nexthop-types';

export type {
  NexthopGroupMember,
  NexthopGroupType,
  NexthopObject,
  NexthopObjectFilter,
  NexthopObjectKey,
  NexthopObjectOptions,
  ResilientGroupInfo,
  ResilientGroupSettings,
} from './nexthop-types';
export { decodeNexthopObject } from './nexthop-decode';

/** The kernel's "no such nexthop" (ENOENT) and "no such link" (ENODEV). */
const NEXTHOP_MISSING: MissingCodes = { ENOENT: 'nexthop', ENODEV: 'link' };

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

function checkId(field: string, v: unknown): number {
  return checkInt(field, v, 1, 0xffffffff);
}

function checkFamily(v: unknown): IpFamily {
  if (v !== 4 && v !== 6) throw new ValidationError('family', v, 'must be 4 or 6');
  return v;
}

/** The group's members as struct nexthop_grp entries. */
function encodeGroup(members: unknown): Buffer {
  if (!Array.isArray(members) || members.length === 0) throw new ValidationError('group', members, 'must be a non-empty array of { id, weight? }');
  const b = Buffer.alloc(members.length * N.NEXTHOP_GRP_LEN);
  const seen = new Set<number>();
  (members as NexthopGroupMember[]).forEach((m, i) => {
    if (!isObject(m)) throw new ValidationError(`group[${i}]`, m, 'must be { id, weight? }');
    rejectUnknownKeys(m, GROUP_MEMBER_KEYS, `group[${i}]`);
    const id = checkId(`group[${i}].id`, m.id);
    if (seen.has(id)) throw new ValidationError(`group[${i}].id`, id, 'is in the group twice');
    seen.add(id);
    b.writeUInt32LE(id, i * N.NEXTHOP_GRP_LEN);
    b.writeUInt8(checkInt(`group[${i}].weight`, m.weight ?? 1, 1, 256) - 1, i * N.NEXTHOP_GRP_LEN + 4);
  });
  return b;
}

/** What a nexthop is: checked before anything is sent (the link is resolved after). */
interface Parsed {
  id: number;
  family: number;
  gateway?: IpBytes;
  group?: Buffer;
}

function parseOptions(o: NexthopObjectOptions): Parsed {
  if (!isObject(o)) throw new ValidationError('nexthop', o, 'must be an object with at least id');
  rejectUnknownKeys(o, NEXTHOP_OBJECT_WRITE_KEYS, 'nexthop');
  const id = checkId('id', o.id);
  const isGroup = o.group !== undefined;
  const kinds = [isGroup, !!o.blackhole, o.gateway !== undefined || o.link !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw new ValidationError('nexthop', id, 'give exactly one of: gateway and/or link, blackhole: true, or a group');
  if (!isGroup && o.groupType !== undefined) throw new ValidationError('groupType', o.groupType, 'only for a group');
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (o.groupType !== undefined && o.groupType !== 'mpath' && o.groupType !== 'resilient') {
    throw new ValidationError('groupType', o.groupType, 'one of mpath, resilient');
  }
  if (o.resilient !== undefined) {
    if (o.groupType !== 'resilient') throw new ValidationError('resilient', o.resilient, 'only for groupType "resilient"');
    rejectUnknownKeys(o.resilient, RESILIENT_KEYS, 'resilient');
  }
  if (o.fdb && o.link !== undefined) throw new ValidationError('link', o.link, 'an fdb nexthop has a gateway only (the VXLAN device picks the way out)');
  if (o.fdb && o.blackhole) throw new ValidationError('fdb', o.fdb, 'an fdb nexthop cannot be a blackhole');
  if (o.onlink && (o.gateway === undefined || o.link === undefined)) throw new ValidationError('onlink', o.onlink, 'needs a gateway and a link');
  if (o.protocol !== undefined) parseProtocol(o.protocol);
  if (isGroup) {
    // A group takes its family from its members; a listed group has none.
    if (o.family !== undefined) throw new ValidationError('family', o.family, 'a group has no family of its own');
    return { id, family: C.AF_UNSPEC, group: encodeGroup(o.group) };
  }
  const family = o.family !== undefined ? checkFamily(o.family) : undefined;
  const gateway = o.gateway !== undefined ? parseIp(o.gateway, 'gateway', family) : undefined;
  return { id, family: afOf(gateway?.family ?? family ?? 4), gateway };
}

function writeResilient(w: NetlinkWriter, o: NexthopObjectOptions): void {
  const r = o.resilient ?? {};
  const ticks = (field: string, s: number | undefined) =>
    s === undefined ? undefined : checkInt(field, Math.round(checkInt(field, s, 0, Number.MAX_SAFE_INTEGER) * N.TICKS_PER_SECOND), 0, 0xffffffff);
  const idle = ticks('resilient.idleTimer', r.idleTimer);
  const unbalanced = ticks('resilient.unbalancedTimer', r.unbalancedTimer);
  const nest = w.nest(N.NHA_RES_GROUP);
  if (r.buckets !== undefined) w.u16(N.NHA_RES_GROUP_BUCKETS, checkInt('resilient.buckets', r.buckets, 1, 0xffff));
  if (idle !== undefined) w.u32(N.NHA_RES_GROUP_IDLE_TIMER, idle);
  if (unbalanced !== undefined) w.u32(N.NHA_RES_GROUP_UNBALANCED_TIMER, unbalanced);
  w.endNest(nest);
}

/** The request of add and replace, in the attribute order of `ip nexthop add`. */
export function encodeNexthopObject(flags: number, o: NexthopObjectOptions, p: Parsed, linkIndex: number | undefined): Buffer {
  const w = new NetlinkWriter(64).begin(N.RTM_NEWNEXTHOP, flags);
  const off = w.struct(N.NHMSG_LEN);
  w.view.writeUInt8(p.family, off);
  w.view.writeUInt8(o.protocol !== undefined ? parseProtocol(o.protocol) : 0, off + 2);
  w.view.writeUInt32LE(o.onlink ? C.RTNH_F_ONLINK : 0, off + 4);
  w.u32(N.NHA_ID, p.id);
  if (p.group) {
    w.attr(N.NHA_GROUP, p.group);
    if (o.groupType === 'resilient') {
      writeResilient(w, o);
      w.u16(N.NHA_GROUP_TYPE, N.NEXTHOP_GRP_TYPE_RES);
    }
  }
  if (o.blackhole) w.flag(N.NHA_BLACKHOLE);
  if (o.fdb) w.flag(N.NHA_FDB);
  if (p.gateway) w.attr(N.NHA_GATEWAY, p.gateway.bytes);
  if (linkIndex !== undefined) w.u32(N.NHA_OIF, linkIndex);
  return w.end().finish();
}

function* writeNexthop(flags: number, o: NexthopObjectOptions, verb: string): Operation<void> {
  const p = parseOptions(o);
  const linkIndex = o.link !== undefined ? yield* resolveLinkIndex(o.link) : undefined;
  yield* call(encodeNexthopObject(flags, o, p, linkIndex), `${verb} nexthop ${p.id}`);
}

function keyId(key: NexthopObjectKey): number {
  if (!isObject(key)) throw new ValidationError('nexthop key', key, 'must be { id } (or a listed nexthop)');
  rejectUnknownKeys(key, NEXTHOP_OBJECT_KEY_KEYS, 'nexthop key');
  return checkId('id', key.id);
}

/** A request naming one nexthop by id (get, delete). */
function byId(type: number, id: number): Buffer {
  const w = new NetlinkWriter(32).begin(type, 0);
  w.struct(N.NHMSG_LEN);
  w.u32(N.NHA_ID, id);
  return w.end().finish();
}

/** Fills linkName (one link dump at most). */
function* nameNexthops(list: NexthopObject[]): Operation<NexthopObject[]> {
  const names = yield* resolveLinkNames(list.map((n) => n.link));
  for (const n of list) {
    const name = n.link !== undefined ? names.get(n.link) : undefined;
    if (name !== undefined) n.linkName = name;
  }
  return list;
}

function* getNexthop(id: number): Operation<NexthopObject> {
  const replies = yield* notFoundOn(NEXTHOP_MISSING, call(byId(N.RTM_GETNEXTHOP, id), `get nexthop ${id}`));
  const m = replies.find((x) => x.type === N.RTM_NEWNEXTHOP);
  if (!m) throw new NotFoundError('nexthop', { errno: osConstants.errno.ENOENT, operation: `get nexthop ${id}` });
  const [nh] = yield* nameNexthops([N.decodeNexthopObject(m)]);
  return nh;
}

/** The operations on nexthop objects; bound to a handle as `handle.nexthops`. */
export const nexthopOps = {
  /**
   * Adds a nexthop object; EEXIST if one with the id exists. A nexthop is a
   * gateway and/or link, a blackhole, or a group of other nexthops; routes
   * use it with `routes.add({ dst, nhid })`.
   * @example
   * await h.nexthops.add({ id: 1, gateway: '10.0.0.1', link: 'eth0' });
   * await h.nexthops.add({ id: 2, gateway: '10.0.1.1', link: 'eth1' });
   * await h.nexthops.add({ id: 10, group: [{ id: 1 }, { id: 2, weight: 3 }] });
   * await h.nexthops.add({ id: 11, group: [{ id: 1 }, { id: 2 }], groupType: 'resilient', resilient: { buckets: 64 } });
   * await h.nexthops.add({ id: 99, blackhole: true });
   * await h.routes.add({ dst: '10.20.0.0/16', nhid: 10 });
   */
  *add(nexthop: NexthopObjectOptions): Operation<void> {
    yield* writeNexthop(NLM_F_CREATE | NLM_F_EXCL, nexthop, 'add');
  },

  /**
   * Adds the nexthop, or replaces the one with its id in place (routes using
   * it follow; a group stays a group, a single nexthop a single one).
   * @example
   * await h.nexthops.replace({ id: 1, gateway: '10.0.0.254', link: 'eth0' });
   * await h.nexthops.replace({ id: 10, group: [{ id: 1 }] }); // drop member 2
   */
  *replace(nexthop: NexthopObjectOptions): Operation<void> {
    yield* writeNexthop(NLM_F_CREATE | NLM_F_REPLACE, nexthop, 'replace');
  },

  /**
   * Deletes the nexthop with an id (a listed nexthop can be passed as it is);
   * the kernel removes the routes using it and drops it from groups.
   * Resolves to `true`; no such nexthop is a {@link NotFoundError} (code
   * ENOENT), or `false` with `{ missingOk: true }`.
   * @example
   * await h.nexthops.delete({ id: 10 });
   * for (const n of await h.nexthops.list({ groups: true })) await h.nexthops.delete(n);
   * await h.nexthops.delete({ id: 10 }, { missingOk: true }); // false: gone already
   */
  *delete(key: NexthopObjectKey, opts?: DeleteOptions): Operation<boolean> {
    const missingOk = checkDeleteOptions(opts);
    const id = keyId(key);
    return yield* deleting(NEXTHOP_MISSING, call(byId(N.RTM_DELNEXTHOP, id), `delete nexthop ${id}`), missingOk);
  },

  /**
   * Gets the nexthop with an id (one RTM_GETNEXTHOP); {@link NotFoundError}
   * (code ENOENT) when there is none.
   * @example
   * const nh = await h.nexthops.get({ id: 1 }); // nh.gateway, nh.linkName
   * const g = await h.nexthops.get({ id: 10 }); // g.group: [{ id: 1, weight: 1 }, { id: 2, weight: 3 }]
   */
  *get(key: NexthopObjectKey): Operation<NexthopObject> {
    return yield* getNexthop(keyId(key));
  },

  /**
   * Like {@link nexthopOps.get}, but undefined when there is no such nexthop.
   * @example
   * if (!(await h.nexthops.find({ id: 1 }))) await h.nexthops.add({ id: 1, gateway: '10.0.0.1', link: 'eth0' });
   */
  *find(key: NexthopObjectKey): Operation<NexthopObject | undefined> {
    const id = keyId(key);
    try {
      return yield* getNexthop(id);
    } catch (e) {
      if (e instanceof NotFoundError && e.what === 'nexthop') return undefined;
      throw e;
    }
  },

  /**
   * Lists nexthop objects (all, or those a filter selects; the kernel
   * filters the dump), in id order, each with its link's name.
   * @example
   * const all = await h.nexthops.list();
   * const groups = await h.nexthops.list({ groups: true });
   * const viaEth0 = await h.nexthops.list({ link: 'eth0' });
   */
  *list(filter: NexthopObjectFilter = {}): Operation<NexthopObject[]> {
    rejectUnknownKeys(filter, NEXTHOP_OBJECT_FILTER_KEYS, 'nexthop filter');
    const family = filter.family !== undefined ? afOf(checkFamily(filter.family)) : C.AF_UNSPEC;
    const link = filter.link !== undefined ? yield* resolveLinkIndex(filter.link) : undefined;
    const master = filter.master !== undefined ? yield* resolveLinkIndex(filter.master) : undefined;
    const w = new NetlinkWriter(48).begin(N.RTM_GETNEXTHOP, NLM_F_DUMP);
    const off = w.struct(N.NHMSG_LEN);
    w.view.writeUInt8(family, off);
    if (link !== undefined) w.u32(N.NHA_OIF, link);
    if (master !== undefined) w.u32(N.NHA_MASTER, master);
    if (filter.groups) w.flag(N.NHA_GROUPS);
    if (filter.fdb) w.flag(N.NHA_FDB);
    const replies = yield* dump(w.end().finish(), 'list nexthops');
    const list = replies.filter((m) => m.type === N.RTM_NEWNEXTHOP).map(N.decodeNexthopObject);
    // A family filter leaves groups out in the kernel too; keep the answer the same on kernels that do not.
    return yield* nameNexthops(family === C.AF_UNSPEC ? list : list.filter((n) => n.family !== undefined && afOf(n.family) === family));
  },
};
