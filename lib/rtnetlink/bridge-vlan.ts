/**
 * Bridge port VLANs — RTM_SETLINK/RTM_DELLINK with AF_BRIDGE and
 * IFLA_AF_SPEC/IFLA_BRIDGE_VLAN_INFO, listed by an AF_BRIDGE RTM_GETLINK dump
 * with RTEXT_FILTER_BRVLAN: what `bridge vlan` shows and changes. They take
 * effect on a bridge with VLAN filtering on (`links.set(br, { vlanFiltering:
 * true })`); kernels built without it refuse them (EOPNOTSUPP). The requests
 * are byte for byte the ones `bridge vlan` sends. Types in bridge-vlan-types.ts.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_DUMP } from '../netlink/constants';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, s32At, u8At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { isObject, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { resolveLinkIndex, resolveLinkNames } from './link';
import { deleting, notFoundOn, type MissingCodes } from './not-found';
import {
  BRIDGE_VLAN_FILTER_KEYS,
  BRIDGE_VLAN_KEY_KEYS,
  BRIDGE_VLAN_OPTION_KEYS,
  type BridgeVlan,
  type BridgeVlanFilter,
  type BridgeVlanKey,
  type BridgeVlanOptions,
} from './bridge-vlan-types';

export type { BridgeVlan, BridgeVlanFilter, BridgeVlanKey, BridgeVlanOptions } from './bridge-vlan-types';

const IFLA_BRIDGE_FLAGS = 0;
const IFLA_BRIDGE_VLAN_INFO = 2;
const BRIDGE_FLAGS_MASTER = 1;
const BRIDGE_FLAGS_SELF = 2;
const BRIDGE_VLAN_INFO_PVID = 1 << 1;
const BRIDGE_VLAN_INFO_UNTAGGED = 1 << 2;
const BRIDGE_VLAN_INFO_RANGE_BEGIN = 1 << 3;
const BRIDGE_VLAN_INFO_RANGE_END = 1 << 4;
const RTEXT_FILTER_BRVLAN = 1 << 1;

/** The kernel's "no such VLAN" (ENOENT) and "no such link" (ENODEV). */
const VLAN_MISSING: MissingCodes = { ENOENT: 'bridge vlan', ENODEV: 'link' };

function checkVid(v: unknown, field: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 4094) throw new ValidationError(field, v, 'must be an integer 1-4094');
  return v as number;
}

function checkFlag(v: unknown, field: string): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw new ValidationError(field, v, 'must be a boolean');
  return v === true;
}

/** A checked key or options. */
interface ParsedVlan {
  vid: number;
  vidEnd?: number;
  bridgeFlags: number;
  infoFlags: number;
}

function parse(o: BridgeVlanOptions, adding: boolean): ParsedVlan {
  const what = adding ? 'bridge vlan options' : 'bridge vlan key';
  if (!isObject(o)) throw new ValidationError(what, o, 'must be an object with link and vid');
  rejectUnknownKeys(o, adding ? BRIDGE_VLAN_OPTION_KEYS : BRIDGE_VLAN_KEY_KEYS, what);
  const given: Partial<BridgeVlanOptions> = o; // plain JavaScript callers may leave it out
  if (given.link === undefined) throw new ValidationError('link', given.link, 'is required');
  const vid = checkVid(o.vid, 'vid');
  const vidEnd = o.vidEnd !== undefined ? checkVid(o.vidEnd, 'vidEnd') : undefined;
  if (vidEnd !== undefined && vidEnd < vid) throw new ValidationError('vidEnd', vidEnd, `must not be below vid (${vid})`);
  const pvid = checkFlag(o.pvid, 'pvid');
  const untagged = checkFlag(o.untagged, 'untagged');
  let bridgeFlags = 0;
  if (checkFlag(o.self, 'self')) bridgeFlags |= BRIDGE_FLAGS_SELF;
  if (checkFlag(o.master, 'master')) bridgeFlags |= BRIDGE_FLAGS_MASTER;
  let infoFlags = 0;
  // Written only when adding: a listed entry passed to delete must not change what is deleted.
  if (adding && pvid) {
    if (vidEnd !== undefined && vidEnd !== vid) throw new ValidationError('pvid', o.pvid, 'a range cannot be the pvid (as `bridge vlan` refuses it)');
    infoFlags |= BRIDGE_VLAN_INFO_PVID;
  }
  if (adding && untagged) infoFlags |= BRIDGE_VLAN_INFO_UNTAGGED;
  return { vid, vidEnd: vidEnd !== undefined && vidEnd !== vid ? vidEnd : undefined, bridgeFlags, infoFlags };
}

function vlanInfo(flags: number, vid: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(flags, 0);
  b.writeUInt16LE(vid, 2);
  return b;
}

/** RTM_SETLINK (add) or RTM_DELLINK (delete), as `bridge vlan` writes it. */
function request(type: number, index: number, v: ParsedVlan): Buffer {
  const w = new NetlinkWriter().begin(type, 0);
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeUInt8(C.AF_BRIDGE, off);
  w.view.writeInt32LE(index, off + 4);
  const spec = w.nest(C.IFLA_AF_SPEC, true);
  if (v.bridgeFlags) w.u16(IFLA_BRIDGE_FLAGS, v.bridgeFlags);
  if (v.vidEnd === undefined) w.attr(IFLA_BRIDGE_VLAN_INFO, vlanInfo(v.infoFlags, v.vid));
  else {
    w.attr(IFLA_BRIDGE_VLAN_INFO, vlanInfo(v.infoFlags | BRIDGE_VLAN_INFO_RANGE_BEGIN, v.vid));
    w.attr(IFLA_BRIDGE_VLAN_INFO, vlanInfo(v.infoFlags | BRIDGE_VLAN_INFO_RANGE_END, v.vidEnd));
  }
  w.endNest(spec);
  return w.end().finish();
}

/** The VLANs of one AF_BRIDGE RTM_NEWLINK (a range, where the kernel compressed one, stays one entry). */
export function decodeBridgeVlans(m: NetlinkMessage): BridgeVlan[] {
  if (m.type !== C.RTM_NEWLINK || u8At(m.payload, 0) !== C.AF_BRIDGE) return [];
  const link = s32At(m.payload, 4);
  const spec = new Attributes(m.payload, C.IFINFOMSG_LEN).nested(C.IFLA_AF_SPEC);
  const out: BridgeVlan[] = [];
  let begin: BridgeVlan | undefined;
  for (const info of spec?.all(IFLA_BRIDGE_VLAN_INFO) ?? []) {
    if (info.length < 4) continue;
    const flags = info.readUInt16LE(0);
    const vid = info.readUInt16LE(2);
    if (flags & BRIDGE_VLAN_INFO_RANGE_END && begin) {
      if (vid !== begin.vid) begin.vidEnd = vid;
      begin = undefined;
      continue;
    }
    const v: BridgeVlan = { link, vid, pvid: (flags & BRIDGE_VLAN_INFO_PVID) !== 0, untagged: (flags & BRIDGE_VLAN_INFO_UNTAGGED) !== 0 };
    out.push(v);
    if (flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) begin = v;
  }
  return out;
}

function describe(link: BridgeVlanKey['link'], v: ParsedVlan): string {
  return `bridge vlan ${v.vid}${v.vidEnd !== undefined ? `-${v.vidEnd}` : ''} on ${typeof link === 'number' ? `#${link}` : link}`;
}

/** The operations on bridge port VLANs; bound to a handle as `handle.bridgeVlans`. */
export const bridgeVlanOps = {
  /**
   * Lists the VLANs of bridge ports and bridges (`bridge vlan show`), with
   * the names of their links.
   * @example
   * const pvid = (await h.bridgeVlans.list({ link: 'veth1' })).find((v) => v.pvid)?.vid;
   */
  *list(filter: BridgeVlanFilter = {}): Operation<BridgeVlan[]> {
    rejectUnknownKeys(filter, BRIDGE_VLAN_FILTER_KEYS, 'bridge vlan filter');
    const index = filter.link !== undefined ? yield* resolveLinkIndex(filter.link) : undefined;
    const vid = filter.vid !== undefined ? checkVid(filter.vid, 'vid') : undefined;
    const w = new NetlinkWriter().begin(C.RTM_GETLINK, NLM_F_DUMP);
    w.view.writeUInt8(C.AF_BRIDGE, w.struct(C.IFINFOMSG_LEN));
    w.u32(C.IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
    const vlans = (yield* dump(w.end().finish(), 'list bridge vlans'))
      .flatMap(decodeBridgeVlans)
      .filter((v) => (index === undefined || v.link === index) && (vid === undefined || (v.vid <= vid && vid <= (v.vidEnd ?? v.vid))));
    const names = yield* resolveLinkNames(vlans.map((v) => v.link));
    for (const v of vlans) {
      const name = names.get(v.link);
      if (name !== undefined) v.linkName = name;
    }
    return vlans;
  },

  /**
   * The entry holding a VLAN id on a link; {@link NotFoundError} if the link does not carry it.
   * @example
   * const { pvid, untagged } = await h.bridgeVlans.get({ link: 'veth1', vid: 10 });
   */
  *get(key: BridgeVlanKey): Operation<BridgeVlan> {
    const found = yield* bridgeVlanOps.find(key);
    if (!found) throw new NotFoundError('bridge vlan', { errno: osConstants.errno.ENOENT, operation: `get ${describe(key.link, parse(key, false))}` });
    return found;
  },

  /**
   * The entry holding a VLAN id on a link, or undefined (also when the link does not exist).
   * @example
   * if (!(await h.bridgeVlans.find({ link: 'veth1', vid: 10 }))) await h.bridgeVlans.add({ link: 'veth1', vid: 10 });
   */
  *find(key: BridgeVlanKey): Operation<BridgeVlan | undefined> {
    const v = parse(key, false);
    try {
      const link = yield* resolveLinkIndex(key.link);
      return (yield* bridgeVlanOps.list({ link, vid: v.vid })).find((x) => x.link === link);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * Adds VLANs to a port (`bridge vlan add dev P vid V [pvid] [untagged]
   * [self|master]`), or changes the pvid/untagged flags of one it has; a
   * range with `vidEnd`. Needs a bridge with VLAN filtering.
   * @example
   * await h.bridgeVlans.add({ link: 'veth1', vid: 10, pvid: true, untagged: true });
   * await h.bridgeVlans.add({ link: 'veth1', vid: 20, vidEnd: 25 });
   * await h.bridgeVlans.add({ link: 'br0', vid: 10, self: true }); // the bridge's own port
   */
  *add(opts: BridgeVlanOptions): Operation<void> {
    const v = parse(opts, true);
    const index = yield* resolveLinkIndex(opts.link);
    yield* notFoundOn(VLAN_MISSING, call(request(C.RTM_SETLINK, index, v), `add ${describe(opts.link, v)}`));
  },

  /**
   * Removes VLANs from a port (a listed entry can be passed as it is).
   * Resolves to `true`; a VLAN the port does not carry is a
   * {@link NotFoundError}, or `false` with `{ missingOk: true }`.
   * @example
   * await h.bridgeVlans.delete({ link: 'veth1', vid: 10 });
   * for (const v of await h.bridgeVlans.list({ link: 'veth1' })) await h.bridgeVlans.delete(v);
   */
  *delete(key: BridgeVlanKey, opts?: DeleteOptions): Operation<boolean> {
    const missingOk = checkDeleteOptions(opts);
    const v = parse(key, false);
    function* remove(): Operation<void> {
      const index = yield* resolveLinkIndex(key.link);
      yield* call(request(C.RTM_DELLINK, index, v), `delete ${describe(key.link, v)}`);
    }
    return yield* deleting(VLAN_MISSING, remove(), missingOk);
  },
};
