/**
 * Namespace ids — RTM_GETNSID and RTM_NEWNSID, what `ip netns list-id` and
 * `ip netns set NAME ID` show and change: the id the handle's namespace has
 * for another namespace (named by an fd on it). The kernel has no request to
 * remove one: an id lasts as long as the namespace it names.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { ENOENT } from '../netlink/errno';
import { NotFoundError, ValidationError } from '../netlink/errors';
import { call, dump, type Operation } from '../netlink/operation';
import { Attributes, type NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { NetnsFdScope } from '../netns/fd-scope';
import { checkNetnsRef, listNetnsSync, NetworkNamespace, type NetnsRef } from '../netns/namespace';
import { isObject, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { NETNS_ID_OPTION_KEYS, type NetnsId, type NetnsIdOptions } from './nsid-types';

export type { NetnsId, NetnsIdOptions } from './nsid-types';

/** struct rtgenmsg, padded to 4 bytes. */
const RTGENMSG_LEN = 4;
/** NETNSA_NSID_NOT_ASSIGNED */
const NOT_ASSIGNED = -1;

function describeNetns(ref: NetnsRef): string {
  if (typeof ref === 'string') return ref;
  if (ref instanceof NetworkNamespace) return ref.name ?? ref.path ?? `fd ${ref.fd}`;
  return JSON.stringify(ref);
}

/** The name of a reference that is a name, to report back on the read object. */
function nameOf(ref: NetnsRef): string | undefined {
  if (typeof ref === 'string') return ref;
  if (ref instanceof NetworkNamespace) return ref.name;
  return 'name' in ref ? ref.name : undefined;
}

function nsidMessage(type: number, flags: number, attrs?: (w: NetlinkWriter) => void): Buffer {
  const w = new NetlinkWriter().begin(type, flags);
  w.struct(RTGENMSG_LEN); // rtgen_family AF_UNSPEC
  attrs?.(w);
  return w.end().finish();
}

function idOf(m: NetlinkMessage): number | undefined {
  if (m.type !== C.RTM_NEWNSID) return undefined;
  const id = new Attributes(m.payload, RTGENMSG_LEN).s32(C.NETNSA_NSID);
  return id === undefined || id === NOT_ASSIGNED ? undefined : id;
}

/** The id of the namespace behind `fd`, or undefined when it has none. */
function* idOfFd(fd: number, operation: string): Operation<number | undefined> {
  const replies = yield* call(
    nsidMessage(C.RTM_GETNSID, 0, (w) => w.u32(C.NETNSA_FD, fd)),
    operation,
  );
  for (const m of replies) {
    const id = idOf(m);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** The operations on namespace ids; bound to a handle as `handle.nsids`. */
export const nsidOps = {
  /**
   * The id the handle's namespace has for `netns` (`ip netns list-id`);
   * {@link NotFoundError} if it has none.
   * @example
   * const { id } = await h.nsids.get('c1');
   */
  *get(netns: NetnsRef): Operation<NetnsId> {
    checkNetnsRef(netns);
    const operation = `get nsid of ${describeNetns(netns)}`;
    const fds = new NetnsFdScope();
    let id: number | undefined;
    try {
      id = yield* idOfFd(fds.fd(netns), operation);
    } finally {
      fds.close();
    }
    if (id === undefined) throw new NotFoundError('namespace id', { errno: ENOENT, operation });
    const name = nameOf(netns);
    return name !== undefined ? { id, name } : { id };
  },

  /**
   * The id of a namespace, or undefined when it has none.
   * @example
   * if (!(await h.nsids.find('c1'))) await h.nsids.add({ netns: 'c1' });
   */
  *find(netns: NetnsRef): Operation<NetnsId | undefined> {
    try {
      return yield* nsidOps.get(netns);
    } catch (e) {
      if (e instanceof NotFoundError && e.what === 'namespace id') return undefined;
      throw e;
    }
  },

  /**
   * Every id the handle's namespace has assigned (one RTM_GETNSID dump), with
   * the name of the namespace under /run/netns it stands for, where one has it.
   * @example
   * for (const { id, name } of await h.nsids.list()) console.log(id, name ?? '(unnamed)');
   */
  *list(filter?: Record<string, never>): Operation<NetnsId[]> {
    // No filters (the dump takes none): a filter given is refused rather than ignored, as by every other list.
    rejectUnknownKeys(filter, [], 'nsid filter');
    const ids = (yield* dump(nsidMessage(C.RTM_GETNSID, NLM_F_DUMP), 'list nsids')).map(idOf).filter((id) => id !== undefined);
    if (ids.length === 0) return [];
    // The dump says ids only: the names come from asking for each named namespace's id, as `ip netns list-id` does.
    const names = new Map<number, string>();
    for (const name of listNetnsSync()) {
      const fds = new NetnsFdScope();
      try {
        const id = yield* idOfFd(fds.fd(name), `get nsid of ${name}`);
        if (id !== undefined && !names.has(id)) names.set(id, name);
      } catch {
        // gone meanwhile, or a file that is no namespace: it names no id
      } finally {
        fds.close();
      }
    }
    return ids.sort((a, b) => a - b).map((id) => (names.has(id) ? { id, name: names.get(id) } : { id }));
  },

  /**
   * Gives `netns` an id in the handle's namespace (`ip netns set NAME ID`),
   * the one given or the lowest free one. Fails with `EEXIST` if the id is
   * taken or the namespace already has one.
   * @example
   * await h.nsids.add({ netns: 'c1', id: 7 });
   * await h.nsids.add({ netns: 'c2' }); // the kernel picks; h.nsids.get('c2') tells which
   */
  *add(opts: NetnsIdOptions): Operation<void> {
    if (!isObject(opts)) throw new ValidationError('options', opts, 'must be { netns, id? }');
    rejectUnknownKeys(opts, NETNS_ID_OPTION_KEYS, 'nsid options');
    const netns = checkNetnsRef(opts.netns);
    const id = opts.id ?? NOT_ASSIGNED;
    if (opts.id !== undefined && (!Number.isInteger(opts.id) || opts.id < 0 || opts.id > 0x7fffffff)) {
      throw new ValidationError('id', opts.id, 'must be an integer 0-2147483647');
    }
    const fds = new NetnsFdScope();
    try {
      const fd = fds.fd(netns);
      const message = nsidMessage(C.RTM_NEWNSID, 0, (w) => w.s32(C.NETNSA_NSID, id).u32(C.NETNSA_FD, fd));
      yield* call(message, `add nsid ${opts.id ?? '(any)'} for ${describeNetns(netns)}`);
    } finally {
      fds.close();
    }
  },
};
