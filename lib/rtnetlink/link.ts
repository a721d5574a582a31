/**
 * Links (network interfaces): list, get, find, add, set, delete — RTM_*LINK.
 * The `Link` type and the options are in link-types.ts, decoding in
 * link-decode.ts, each link kind in link-kinds/, link references (checked,
 * written, resolved to an index) in link-ref.ts.
 * @module
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_ECHO, NLM_F_EXCL } from '../netlink/constants';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../netlink/errors';
import { call, dumpCollected, type Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { NetnsFdScope } from '../netns/fd-scope';
import { checkNetnsRef, NetworkNamespace, type NetnsRef } from '../netns/namespace';
import { parseMac } from '../validate/ip';
import { validateInterfaceName } from '../validate/names';
import { BRIDGE_PORT_SETTINGS_KEYS, encodeBridgePort, hasBridgePortSettings, type BridgePortSettings } from './bridge-port';
import * as C from './constants';
import { addedOf, type LinkAdded } from './link-added';
import { changeAltNames, checkAltNames } from './link-altnames';
import { checkLaterSteps } from './link-set-steps';
import { LINK_KINDS, writeKindChanges } from './link-kinds';
import { decodeLink } from './link-decode';
import { resolveLinkNames } from './link-names';
import { LINK_MISSING, checkRef, describeRef, getLinkMessage, ifinfomsg, resolveLinkIndex, targetLink } from './link-ref';
import type { Link, LinkAddOptions, LinkCommonOptions, LinkFilter, LinkRef, LinkSetOptions } from './link-types';
import { deleting, notFoundOn } from './not-found';
import { isObject, rejectUnknownKeys } from '../validate/options';
import { LINK_COMMON_KEYS, LINK_FILTER_KEYS, LINK_SET_KEYS } from './link-types';

export type {
  BridgeLink,
  KindLink,
  KindLinkKind,
  KindLinks,
  Link,
  LinkAddOptions,
  LinkBase,
  LinkCommonOptions,
  LinkFilter,
  LinkRef,
  LinkSetOptions,
  LinkStats,
  MacvlanLink,
  OperState,
  OtherLink,
  TunLink,
  UnknownKindInfo,
  VethLink,
  VxlanLink,
} from './link-types';
export type { LinkAdded } from './link-added';
export { decodeLink } from './link-decode';
export { resolveLinkNames } from './link-names';
export { checkRef, resolveLinkIndex } from './link-ref';

// --- requests -------------------------------------------------------------

/** Each kind's known add() options, listed once per process (not spread into a new array per call). */
const ADD_KEYS = new Map<object, readonly string[]>();
function addOptionKeys(codec: { readonly optionKeys: readonly string[] }): readonly string[] {
  let keys = ADD_KEYS.get(codec);
  if (!keys) ADD_KEYS.set(codec, (keys = [...LINK_COMMON_KEYS, ...codec.optionKeys]));
  return keys;
}

function checkMtu(mtu: unknown): number {
  if (!Number.isInteger(mtu) || (mtu as number) < 68 || (mtu as number) > 65535 * 4) {
    throw new ValidationError('mtu', mtu, 'must be an integer between 68 and 262140');
  }
  return mtu as number;
}

/** One link by name or index, as the kernel reports it (names of master and parent not resolved). */
export function* getLink(ref: LinkRef): Operation<Link> {
  return decodeLink(yield* getLinkMessage(ref));
}

/** Fills masterName and parentName (a parent in another namespace has none here). */
function* nameLinks(links: Link[], known?: ReadonlyMap<number, string>): Operation<Link[]> {
  const local = (l: Link) => (l.linkNetnsId === undefined ? l.parentIndex : undefined);
  const names = yield* resolveLinkNames(
    links.flatMap((l) => [l.master, local(l)]),
    known,
  );
  for (const l of links) {
    const master = l.master !== undefined ? names.get(l.master) : undefined;
    if (master !== undefined) l.masterName = master;
    const parentIndex = local(l);
    const parent = parentIndex !== undefined ? names.get(parentIndex) : undefined;
    if (parent !== undefined) l.parentName = parent;
  }
  return links;
}

/** The operations on links; bound to a handle as `handle.links`. */
export const linkOps = {
  /**
   * Lists links, optionally filtered (kind and master are filtered by the kernel).
   * @example
   * const bridges = await h.links.list({ kind: 'bridge' });
   */
  *list(filter: LinkFilter = {}): Operation<Link[]> {
    rejectUnknownKeys(filter, LINK_FILTER_KEYS, 'link filter');
    const master = filter.master !== undefined ? yield* resolveLinkIndex(checkRef(filter.master, 'master')) : undefined;
    const w = new NetlinkWriter().begin(C.RTM_GETLINK, NLM_F_DUMP);
    ifinfomsg(w);
    if (master !== undefined) w.u32(C.IFLA_MASTER, master);
    if (filter.kind !== undefined) {
      const li = w.nest(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, filter.kind);
      w.endNest(li);
    }
    // Decoded as the messages arrive (routes.list() explains why).
    let links = yield* dumpCollected(w.end().finish(), 'list links', (m) => (m.type === C.RTM_NEWLINK ? decodeLink(m) : undefined));
    // Names of masters and parents come from the same dump when it has them.
    const known = new Map(links.map((l) => [l.index, l.name]));
    if (filter.name !== undefined) links = links.filter((l) => l.name === filter.name);
    if (filter.up !== undefined) links = links.filter((l) => l.up === filter.up);
    if (filter.kind !== undefined) links = links.filter((l) => l.kind === filter.kind);
    if (filter.group !== undefined) links = links.filter((l) => l.group === filter.group);
    if (master !== undefined) links = links.filter((l) => l.master === master);
    return yield* nameLinks(links, known);
  },

  /**
   * Gets one link by name or index; {@link NotFoundError} (code ENODEV) if there is none.
   * @example
   * const lo = await h.links.get('lo');
   * const br = await h.links.get('br0');
   * if (br.kind === 'bridge') console.log(br.info.stp);
   */
  *get(ref: LinkRef): Operation<Link> {
    const [link] = yield* nameLinks([yield* getLink(ref)]);
    return link;
  },

  /**
   * Gets a link, or undefined when it does not exist.
   * @example
   * if (!(await h.links.find('br0'))) await h.links.add({ name: 'br0', kind: 'bridge' });
   */
  *find(ref: LinkRef): Operation<Link | undefined> {
    try {
      return yield* linkOps.get(ref);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * Creates a link. Fails with EEXIST if the name is taken. Resolves to the
   * indexes the kernel gave it ({@link LinkAdded}: the link's, and a veth's
   * peer's in the peer's namespace), read from the kernel's echo of the
   * create (Linux ≥ 6.3; older kernels: one read-back by name), so that
   * requests that follow can name the link by index without a lookup.
   * @example
   * await h.links.add({ name: 'veth0', kind: 'veth', peer: { name: 'eth0', netns: 'c1' } });
   * const { index } = await h.links.add({ name: 'br2', kind: 'bridge' });
   * await h.links.set(index!, { up: true });
   * await h.links.add({ name: 'br0', kind: 'bridge', up: true });
   * await h.links.add({ name: 'eth0.100', kind: 'vlan', parent: 'eth0', id: 100 });
   * await h.links.add({ name: 'vrf-blue', kind: 'vrf', table: 100 });
   * await h.links.add({ name: 'br1', kind: 'bridge', altNames: ['bridge-of-tenant-blue'] });
   */
  *add(opts: LinkAddOptions): Operation<LinkAdded> {
    validateInterfaceName(opts.name);
    const codec = LINK_KINDS[opts.kind] as (typeof LINK_KINDS)[string] | undefined;
    if (!codec) throw new ValidationError('kind', opts.kind, `unsupported; nlkit creates ${Object.keys(LINK_KINDS).join(', ')}`);
    rejectUnknownKeys(opts, addOptionKeys(codec), 'link options');
    validateCommon(opts);
    if (opts.alias && opts.netns !== undefined) {
      throw new ValidationError(
        'alias',
        opts.alias,
        'the kernel ignores an alias when it creates a link: set it in the target namespace after moving the link',
      );
    }
    if (codec.create) return yield* addCreated(opts, codec.create(opts.name, opts));
    // A dry run of the kind's encoder validates its options before any request is sent.
    codec.encode(new NetlinkWriter(), opts, { netnsFd: (r) => (checkNetnsRef(r, 'peer.netns'), -1), indexOf: () => 0 });
    const master = opts.master !== undefined ? yield* resolveLinkIndex(checkRef(opts.master, 'master')) : undefined;
    // Links the kind's options name (a vxlan's dev, a macvlan's parent) are resolved first.
    const indexes = new Map<string | number, number>();
    for (const ref of codec.references?.(opts) ?? []) indexes.set(ref, yield* resolveLinkIndex(checkRef(ref, 'link')));
    const parentRef = codec.parent?.(opts);
    const parent = parentRef !== undefined ? indexes.get(parentRef) : undefined;
    if (parentRef !== undefined && parent === undefined) throw new Error(`link kind ${opts.kind}: parent is not among its references`); // a codec bug
    // The echo goes to the namespace the link is made in (a socket of the same port id there, if any): asked only for this one.
    const echo = opts.netns === undefined;
    let replies: NetlinkMessage[];
    const fds = new NetnsFdScope();
    try {
      const w = new NetlinkWriter().begin(C.RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | (echo ? NLM_F_ECHO : 0));
      ifinfomsg(w, 0, opts.up ? C.IFF_UP : 0, opts.up ? C.IFF_UP : 0);
      w.string(C.IFLA_IFNAME, opts.name);
      writeCommon(w, opts, fds);
      if (master !== undefined) w.u32(C.IFLA_MASTER, master);
      if (parent !== undefined) w.u32(C.IFLA_LINK, parent);
      const li = w.nest(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, codec.kind);
      const data = w.nest(C.IFLA_INFO_DATA);
      codec.encode(w, opts, { netnsFd: (r) => fds.fd(r), indexOf: (r) => indexes.get(r) ?? 0 });
      w.endNest(data);
      w.endNest(li);
      replies = yield* call(w.end().finish(), `add ${opts.kind} link ${opts.name}`);
    } finally {
      fds.close();
    }
    // The echo (RTM_NEWLINK, Linux ≥ 6.3), else the link read back by name (an older kernel acks only).
    let added: LinkAdded = {};
    if (echo) added = addedOf(replies.find((r) => r.type === C.RTM_NEWLINK) ?? (yield* getLinkMessage(opts.name)), codec.kind);
    // The kernel ignores IFLA_IFALIAS in a creating request (`ip link add ... alias` loses it too): a second one sets it.
    if (typeof opts.alias === 'string' && opts.alias !== '') yield* setAliasOrUndo(opts.name, opts.alias);
    if (opts.altNames?.length) yield* addAltNames(opts.name, opts.altNames);
    return added;
  },

  /**
   * Changes a link: up/down, mtu, mac, name, master, namespace, alias...
   * Everything is sent in one request, which the kernel applies on its own;
   * `altNames` and `port` follow in requests of their own. What would make
   * those fail (a name another link holds, port options for a link that is
   * no bridge port and gets no bridge as master here) is a
   * {@link ValidationError} before anything is sent.
   * {@link NotFoundError} (code ENODEV) if the link (or the master) does not exist.
   * @example
   * await h.links.set('veth0', { up: true, master: 'br0' });
   * await h.links.set('veth1', { netns: 'c1' });
   * await h.links.set('br0', { bridge: { stp: true, forwardDelay: 4 } });
   * await h.links.set('br0', { altNames: ['uplink-bridge'] }); // exactly these alternative names from now on
   */
  *set(ref: LinkRef, changes: LinkSetOptions): Operation<void> {
    yield* notFoundOn(LINK_MISSING, setLink(ref, changes));
  },

  /**
   * Deletes every link of a group in one request (RTM_DELLINK by IFLA_GROUP),
   * like `ip link delete group N`. Fails with EOPNOTSUPP, deleting nothing,
   * if a member cannot be deleted (a physical NIC or lo). An empty group is
   * a {@link NotFoundError} (code ENODEV), or `false` with `{ missingOk: true }`.
   * @example
   * await h.links.add({ name: 'br9', kind: 'bridge', group: 9 });
   * await h.links.deleteGroup(9);
   * await h.links.deleteGroup(9, { missingOk: true }); // false: nothing left
   */
  *deleteGroup(group: number, opts?: DeleteOptions): Operation<boolean> {
    if (!Number.isInteger(group) || group < 1 || group > 0xffffffff) {
      throw new ValidationError('group', group, 'must be 1-4294967295 (group 0 holds every link)');
    }
    const missingOk = checkDeleteOptions(opts);
    const w = new NetlinkWriter().begin(C.RTM_DELLINK, 0);
    ifinfomsg(w);
    w.u32(C.IFLA_GROUP, group);
    return yield* deleting(LINK_MISSING, call(w.end().finish(), `delete link group ${group}`), missingOk);
  },

  /**
   * Deletes a link (deleting one end of a veth pair deletes both). Resolves
   * to `true`; a missing link is a {@link NotFoundError} (code ENODEV), or
   * `false` with `{ missingOk: true }`.
   * @example
   * await h.links.delete('veth0');
   * await h.links.delete('veth0', { missingOk: true }); // false: already gone
   */
  *delete(ref: LinkRef, opts?: DeleteOptions): Operation<boolean> {
    checkRef(ref);
    const missingOk = checkDeleteOptions(opts);
    const w = new NetlinkWriter().begin(C.RTM_DELLINK, 0);
    targetLink(w, ref);
    return yield* deleting(LINK_MISSING, call(w.end().finish(), `delete link ${describeRef(ref)}`), missingOk);
  },
};

/** Body of {@link linkOps.set}, apart so that set can turn ENODEV into NotFoundError. */
function* setLink(ref: LinkRef, changes: LinkSetOptions): Operation<void> {
  checkRef(ref);
  validateCommon(changes);
  rejectUnknownKeys(changes, LINK_SET_KEYS, 'link changes');
  rejectUnknownKeys(changes.port, BRIDGE_PORT_SETTINGS_KEYS, 'port');
  if (changes.name !== undefined) validateInterfaceName(changes.name, 'new name');
  const port = hasBridgePortSettings(changes.port) ? changes.port : undefined;
  if (port) encodeBridgePort(new NetlinkWriter(), port); // validate before anything is sent
  writeKindChanges(new NetlinkWriter(), changes); // the same
  const onlyPort = Object.entries(changes).every(([k, v]) => k === 'port' || v === undefined);
  // altNames and port go in requests after the main one: read the link first (its
  // names before a rename), and refuse what they would be refused for, while nothing is applied.
  const before = changes.altNames !== undefined || (port && !onlyPort) ? yield* getLink(ref) : undefined;
  if (before) yield* checkLaterSteps(before, { ...changes, port }, changes.master);
  let master: number | undefined;
  if (changes.master === null) master = 0;
  else if (changes.master !== undefined) master = yield* resolveLinkIndex(checkRef(changes.master, 'master'));
  let flags = 0;
  let change = 0;
  const flag = (bit: number, on: boolean | undefined) => {
    if (on === undefined) return;
    change |= bit;
    if (on) flags |= bit;
  };
  flag(C.IFF_UP, changes.up);
  flag(C.IFF_PROMISC, changes.promisc);
  flag(C.IFF_ALLMULTI, changes.allmulticast);
  const fds = new NetnsFdScope();
  try {
    if (onlyPort) return yield* setBridgePort(ref, port);
    const w = new NetlinkWriter().begin(C.RTM_NEWLINK, 0);
    if (changes.name !== undefined) {
      // Renaming: the target must be named by index.
      const index = yield* resolveLinkIndex(ref);
      ifinfomsg(w, index, flags, change);
      w.string(C.IFLA_IFNAME, validateInterfaceName(changes.name, 'new name'));
    } else {
      targetLink(w, ref, flags, change);
    }
    writeCommon(w, changes, fds);
    if (master !== undefined) w.u32(C.IFLA_MASTER, master);
    if (changes.alias === null || changes.alias === '') w.attr(C.IFLA_IFALIAS, new Uint8Array(0));
    if (changes.carrier !== undefined) w.u8(C.IFLA_CARRIER, changes.carrier ? 1 : 0);
    writeKindChanges(w, changes);
    yield* call(w.end().finish(), `set link ${describeRef(ref)}`);
    if (changes.altNames !== undefined && before) yield* changeAltNames(before, changes.altNames);
    if (port) yield* setBridgePort(changes.name ?? ref, port);
  } finally {
    fds.close();
  }
}

/** Adds alternative names to a link just made; if the kernel refuses them, the link is deleted again. */
function* addAltNames(name: string, altNames: string[]): Operation<void> {
  try {
    yield* changeAltNames(yield* getLink(name), altNames);
  } catch (e) {
    yield* linkOps.delete(name, { missingOk: true });
    throw e;
  }
}

/** Checks the common options up front, so nothing is sent when one is wrong. */
function validateCommon(o: Omit<LinkCommonOptions, 'name'> | LinkSetOptions): void {
  if (!isObject(o)) throw new ValidationError('options', o, 'must be an object');
  if (o.master !== undefined && o.master !== null) checkRef(o.master, 'master');
  if (o.netns !== undefined) checkNetnsRef(o.netns, 'netns');
  if (o.altNames !== undefined) checkAltNames(o.altNames);
  if (o.altNames !== undefined && o.netns !== undefined) throw new ValidationError('altNames', o.altNames, 'cannot be given with netns (the link moves away)');
  writeCommon(new NetlinkWriter(), o); // a dry run of the encoders (netns is checked above, opened only when sent)
}

function checkU32(field: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) throw new ValidationError(field, v, 'must be an integer 0-4294967295');
  return v as number;
}

/** Writes the common attributes; the namespace only with `fds` (a dry run passes none). */
function writeCommon(w: NetlinkWriter, o: Omit<LinkCommonOptions, 'name'> | LinkSetOptions, fds?: NetnsFdScope): void {
  if (o.mtu !== undefined) w.u32(C.IFLA_MTU, checkMtu(o.mtu));
  if (o.mac !== undefined) w.attr(C.IFLA_ADDRESS, parseMac(o.mac, 'mac'));
  if (o.txQueueLength !== undefined) w.u32(C.IFLA_TXQLEN, checkU32('txQueueLength', o.txQueueLength));
  if (o.group !== undefined) w.u32(C.IFLA_GROUP, checkU32('group', o.group));
  if (typeof o.alias === 'string' && o.alias !== '') {
    if (Buffer.byteLength(o.alias) > 255) throw new ValidationError('alias', o.alias, 'longer than 255 bytes');
    // ip prints the alias as is: a control character would forge output lines.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    if (/[\x00-\x1f\x7f]/.test(o.alias)) throw new ValidationError('alias', o.alias, 'must not contain control characters');
    // Without the NUL, as ip sends it: the kernel caps the attribute at 255
    // bytes, so a NUL-terminated 255-byte alias would be refused.
    w.attr(C.IFLA_IFALIAS, Buffer.from(o.alias, 'utf8'));
  }
  if (o.netns !== undefined && fds) writeNetns(w, o.netns, fds);
}

/** A namespace target: a pid goes as IFLA_NET_NS_PID (no fd needed), anything else as an fd. */
function writeNetns(w: NetlinkWriter, ref: NetnsRef, fds: NetnsFdScope): void {
  checkNetnsRef(ref, 'netns');
  if (typeof ref === 'object' && !(ref instanceof NetworkNamespace) && 'pid' in ref) {
    if (!Number.isInteger(ref.pid) || ref.pid <= 0) throw new ValidationError('pid', ref.pid, 'must be a positive integer');
    w.u32(C.IFLA_NET_NS_PID, ref.pid);
  } else {
    w.u32(C.IFLA_NET_NS_FD, fds.fd(ref));
  }
}

/** Bridge port options go to the bridge: AF_BRIDGE RTM_SETLINK with a nested IFLA_PROTINFO. */
function* setBridgePort(ref: LinkRef, port: BridgePortSettings | undefined): Operation<void> {
  if (!port) return;
  const index = yield* resolveLinkIndex(ref);
  const w = new NetlinkWriter().begin(C.RTM_SETLINK, 0);
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeUInt8(C.AF_BRIDGE, off);
  w.view.writeInt32LE(index, off + 4);
  const nest = w.nest(C.IFLA_PROTINFO);
  encodeBridgePort(w, port);
  w.endNest(nest);
  yield* call(w.end().finish(), `set bridge port ${describeRef(ref)}`);
}

/** Sets a new link's alias; if that fails, deletes the link again (all or nothing). */
function* setAliasOrUndo(name: string, alias: string): Operation<void> {
  try {
    yield* linkOps.set(name, { alias });
  } catch (e) {
    try {
      yield* linkOps.delete(name);
    } catch {
      // the original error is the one worth reporting
    }
    throw e;
  }
}

/**
 * Kinds made outside rtnetlink (tun): create the device, then apply the
 * common options as one set; if that fails, delete the device again.
 */
function* addCreated(opts: LinkAddOptions, create: Operation<void>): Operation<LinkAdded> {
  const { name, mtu, mac, up, master, txQueueLength, group, alias, altNames, netns } = opts;
  const rest: LinkSetOptions = { mtu, mac, up, master, txQueueLength, group, alias, altNames, netns };
  yield* create;
  // Made outside rtnetlink (no echo): its index read back, unless it moves to another namespace below.
  const added: LinkAdded = netns === undefined ? { index: yield* resolveLinkIndex(name) } : {};
  if (Object.values(rest).every((v) => v === undefined)) return added;
  try {
    yield* linkOps.set(name, rest);
  } catch (e) {
    try {
      yield* linkOps.delete(name);
    } catch {
      // the original error is the one worth reporting
    }
    throw e;
  }
  return added;
}
