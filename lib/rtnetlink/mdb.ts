/**
 * The bridge multicast database — RTM_*MDB, what `bridge mdb` shows and
 * changes: which ports of a bridge a multicast group (IPv4, IPv6, or a MAC
 * for layer 2 entries) is forwarded to, learned by IGMP/MLD snooping or
 * added by hand. Types in mdb-types.ts.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from '../netlink/constants';
import { NetlinkError, NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, u32At, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { formatIpAt, formatMac, parseIp, parseMac } from '../validate/ip';
import { isObject, rejectUnknownKeys } from '../validate/options';
import { AF_BRIDGE } from './constants';
import { resolveLinkIndex, resolveLinkNames } from './link';
import type { LinkRef } from './link-types';
import { notFoundOn, type MissingCodes } from './not-found';
import { MDB_FILTER_KEYS, MDB_KEY_KEYS, MDB_OPTION_KEYS, type MdbEntry, type MdbFilter, type MdbKey, type MdbOptions, type MdbState } from './mdb-types';

export type { MdbEntry, MdbFilter, MdbKey, MdbOptions, MdbState } from './mdb-types';

const RTM_NEWMDB = 84;
const RTM_DELMDB = 85;
const RTM_GETMDB = 86;
/** struct br_port_msg: family, padding, the bridge's ifindex. */
const BR_PORT_MSG_LEN = 8;
/** struct br_mdb_entry: port ifindex, state, flags, vid, address (16 bytes), protocol, padding. */
const BR_MDB_ENTRY_LEN = 28;
const MDBA_MDB = 1;
const MDBA_MDB_ENTRY = 1;
const MDBA_MDB_ENTRY_INFO = 1;
const MDBA_SET_ENTRY = 1;
const MDBA_MDB_EATTR_TIMER = 1;
const MDBA_MDB_EATTR_RTPROT = 5;
const MDB_PERMANENT = 1;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

/** MDB_FLAGS_* by the names `bridge -j mdb` prints. */
const FLAG_NAMES: Array<[number, string]> = [
  [1, 'offload'],
  [2, 'fast_leave'],
  [4, 'added_by_star_ex'],
  [8, 'blocked'],
];

/** The kernel's "no such link"; a missing entry is EINVAL (or ENOENT), checked by listing. */
const MDB_MISSING: MissingCodes = { ENODEV: 'link' };

/** A group as br_mdb_entry's address and protocol (0 for a MAC). */
function parseGroup(group: unknown): { bytes: Buffer; proto: number } {
  if (typeof group === 'string' && /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(group)) {
    const mac = parseMac(group, 'group');
    if (!(mac[0] & 1)) throw new ValidationError('group', group, 'must be a multicast MAC address (lowest bit of the first byte set)');
    return { bytes: mac, proto: 0 };
  }
  const ip = parseIp(group, 'group');
  const multicast = ip.family === 4 ? ip.bytes[0] >= 224 && ip.bytes[0] <= 239 : ip.bytes[0] === 0xff;
  if (!multicast) throw new ValidationError('group', group, 'must be a multicast address (224.0.0.0/4, ff00::/8) or a multicast MAC');
  return { bytes: Buffer.from(ip.bytes), proto: ip.family === 4 ? ETH_P_IP : ETH_P_IPV6 };
}

function checkVid(v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 4094) throw new ValidationError('vid', v, 'must be an integer 1-4094');
  return v as number;
}

const STATES: readonly MdbState[] = ['permanent', 'temp'];

/** A checked key, the links still to resolve. */
interface ParsedKey {
  bridge: LinkRef;
  port: LinkRef;
  group: { bytes: Buffer; proto: number };
  groupText: string;
  vid: number;
  state: MdbState;
}

function parseKey(o: MdbOptions, what: 'options' | 'key'): ParsedKey {
  if (!isObject(o)) throw new ValidationError(what, o, 'must be an object with bridge, port and group');
  rejectUnknownKeys(o, what === 'options' ? MDB_OPTION_KEYS : MDB_KEY_KEYS, `mdb entry ${what}`);
  const given: Partial<MdbOptions> = o; // plain JavaScript callers may leave them out
  if (given.bridge === undefined) throw new ValidationError('bridge', given.bridge, 'is required');
  if (given.port === undefined) throw new ValidationError('port', given.port, 'is required');
  const state = o.state ?? 'temp';
  if (!STATES.includes(state)) throw new ValidationError('state', o.state, 'must be "permanent" or "temp"');
  const group = parseGroup(o.group);
  return { bridge: o.bridge, port: o.port, group, groupText: formatGroup(group.bytes, group.proto), vid: o.vid !== undefined ? checkVid(o.vid) : 0, state };
}

function formatGroup(addr: Buffer, proto: number): string {
  if (proto === ETH_P_IP) return formatIpAt(addr, 0, 4);
  if (proto === ETH_P_IPV6) return formatIpAt(addr, 0, 16);
  return formatMac(addr.subarray(0, 6));
}

function request(type: number, flags: number, bridge: number, port: number, k: ParsedKey): Buffer {
  const w = new NetlinkWriter().begin(type, flags);
  const off = w.struct(BR_PORT_MSG_LEN);
  w.view.writeUInt8(AF_BRIDGE, off);
  w.view.writeUInt32LE(bridge, off + 4);
  const e = Buffer.alloc(BR_MDB_ENTRY_LEN);
  e.writeUInt32LE(port, 0);
  e.writeUInt8(k.state === 'permanent' ? MDB_PERMANENT : 0, 4);
  e.writeUInt16LE(k.vid, 6);
  k.group.bytes.copy(e, 8);
  e.writeUInt16BE(k.group.proto, 24);
  w.attr(MDBA_SET_ENTRY, e);
  return w.end().finish();
}

/** The entries of one RTM_NEWMDB message (one bridge). */
function decode(m: NetlinkMessage): MdbEntry[] {
  const bridge = u32At(m.payload, 4);
  const mdb = new Attributes(m.payload, BR_PORT_MSG_LEN).nested(MDBA_MDB);
  if (!mdb) return [];
  return mdb.allNested(MDBA_MDB_ENTRY).flatMap((entry) =>
    entry.all(MDBA_MDB_ENTRY_INFO).flatMap((info) => {
      if (info.length < BR_MDB_ENTRY_LEN) return [];
      const flags = info.readUInt8(5);
      const e: MdbEntry = {
        bridge,
        port: info.readUInt32LE(0),
        group: formatGroup(info.subarray(8, 24), info.readUInt16BE(24)),
        state: info.readUInt8(4) === MDB_PERMANENT ? 'permanent' : 'temp',
        flags: FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n),
      };
      const vid = info.readUInt16LE(6);
      if (vid) e.vid = vid;
      const extra = new Attributes(info, BR_MDB_ENTRY_LEN);
      const protocol = extra.u8(MDBA_MDB_EATTR_RTPROT);
      if (protocol !== undefined) e.protocol = protocol;
      const timer = extra.u32(MDBA_MDB_EATTR_TIMER);
      if (timer !== undefined) e.timer = timer;
      return [e];
    }),
  );
}

function describe(k: ParsedKey): string {
  return `mdb entry ${k.groupText}${k.vid ? ` vid ${k.vid}` : ''} on ${String(k.bridge)} port ${String(k.port)}`;
}

function matches(e: MdbEntry, bridge: number, port: number, k: ParsedKey): boolean {
  return e.bridge === bridge && e.port === port && e.group === k.groupText && (e.vid ?? 0) === k.vid;
}

/** The operations on the bridge multicast database; bound to a handle as `handle.mdb`. */
export const mdbOps = {
  /**
   * Lists multicast database entries (of every bridge, or as filtered), with
   * the names of their bridge and port.
   * @example
   * const groups = (await h.mdb.list({ bridge: 'br0' })).map((e) => `${e.group} -> ${e.portName}`);
   */
  *list(filter: MdbFilter = {}): Operation<MdbEntry[]> {
    rejectUnknownKeys(filter, MDB_FILTER_KEYS, 'mdb filter');
    const bridge = filter.bridge !== undefined ? yield* resolveLinkIndex(filter.bridge) : undefined;
    const port = filter.port !== undefined ? yield* resolveLinkIndex(filter.port) : undefined;
    const vid = filter.vid !== undefined ? checkVid(filter.vid) : undefined;
    const w = new NetlinkWriter().begin(RTM_GETMDB, NLM_F_DUMP);
    w.view.writeUInt8(AF_BRIDGE, w.struct(BR_PORT_MSG_LEN));
    const entries = (yield* dump(w.end().finish(), 'list mdb entries'))
      .filter((m) => m.type === RTM_GETMDB || m.type === RTM_NEWMDB) // dump replies carry RTM_GETMDB
      .flatMap(decode)
      .filter((e) => (bridge === undefined || e.bridge === bridge) && (port === undefined || e.port === port) && (vid === undefined || e.vid === vid));
    const names = yield* resolveLinkNames(entries.flatMap((e) => [e.bridge, e.port]));
    for (const e of entries) {
      const b = names.get(e.bridge);
      if (b !== undefined) e.bridgeName = b;
      const p = names.get(e.port);
      if (p !== undefined) e.portName = p;
    }
    return entries;
  },

  /**
   * The entry of a group on a bridge port (and VLAN); {@link NotFoundError} if there is none.
   * @example
   * const { state } = await h.mdb.get({ bridge: 'br0', port: 'veth1', group: '239.1.1.1' });
   */
  *get(key: MdbKey): Operation<MdbEntry> {
    const found = yield* mdbOps.find(key);
    if (!found) throw new NotFoundError('mdb entry', { errno: osConstants.errno.ENOENT, operation: `get ${describe(parseKey(key, 'key'))}` });
    return found;
  },

  /**
   * The entry of a group on a bridge port (and VLAN), or undefined (also when a link does not exist).
   * @example
   * if (!(await h.mdb.find({ bridge: 'br0', port: 'veth1', group: '239.1.1.1' }))) console.log('not forwarded there');
   */
  *find(key: MdbKey): Operation<MdbEntry | undefined> {
    const k = parseKey(key, 'key');
    try {
      const bridge = yield* resolveLinkIndex(k.bridge);
      const port = yield* resolveLinkIndex(k.port);
      return (yield* mdbOps.list({ bridge })).find((e) => matches(e, bridge, port, k));
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * Forwards a multicast group to a bridge port (`bridge mdb add dev BR port P
   * grp G [permanent|temp] [vid V]`); `EEXIST` if the port has it already.
   * @example
   * await h.mdb.add({ bridge: 'br0', port: 'veth1', group: '239.1.1.1', state: 'permanent' });
   * await h.mdb.add({ bridge: 'br0', port: 'veth1', group: 'ff0e::1', vid: 10 });
   */
  *add(entry: MdbOptions): Operation<void> {
    const k = parseKey(entry, 'options');
    const bridge = yield* resolveLinkIndex(k.bridge);
    const port = yield* resolveLinkIndex(k.port);
    yield* notFoundOn(MDB_MISSING, call(request(RTM_NEWMDB, NLM_F_CREATE | NLM_F_EXCL, bridge, port, k), `add ${describe(k)}`));
  },

  /**
   * Deletes an entry (a listed one can be passed as it is). Resolves to
   * `true`; no such entry is a {@link NotFoundError}, or `false` with
   * `{ missingOk: true }`.
   * @example
   * await h.mdb.delete({ bridge: 'br0', port: 'veth1', group: '239.1.1.1' });
   * for (const e of await h.mdb.list({ port: 'veth1' })) await h.mdb.delete(e);
   */
  *delete(key: MdbKey, opts?: DeleteOptions): Operation<boolean> {
    const missingOk = checkDeleteOptions(opts);
    const k = parseKey(key, 'key');
    const operation = `delete ${describe(k)}`;
    let bridge: number;
    let port: number;
    try {
      bridge = yield* resolveLinkIndex(k.bridge);
      port = yield* resolveLinkIndex(k.port);
      yield* notFoundOn(MDB_MISSING, call(request(RTM_DELMDB, 0, bridge, port, k), operation));
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) {
        if (missingOk) return false;
        throw e;
      }
      // The kernel says EINVAL (older ones ENOENT) for an entry it does not have: tell that apart from a real refusal.
      if (!(e instanceof NetlinkError) || (e.code !== 'EINVAL' && e.code !== 'ENOENT')) throw e;
      if ((yield* mdbOps.list({ bridge: k.bridge })).some((x) => matches(x, bridge, port, k))) throw e;
      if (missingOk) return false;
      throw NotFoundError.from('mdb entry', e);
    }
  },
};
