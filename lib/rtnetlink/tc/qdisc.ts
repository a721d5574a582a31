/**
 * Qdiscs: the queueing disciplines of a link (`tc qdisc`), RTM_*QDISC.
 * Typed TBF and HTB, ingress and clsact; other kinds read back with their
 * options raw.
 * @module
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../../netlink/constants';
import { ENOENT } from '../../netlink/errno';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../../netlink/errors';
import { call, dump, type Operation } from '../../netlink/operation';
import type { NetlinkMessage } from '../../netlink/parser';
import { NetlinkWriter } from '../../netlink/writer';
import { isObject, keysOf, rejectUnknownKeys } from '../../validate/options';
import { resolveLinkIndex, type LinkRef } from '../link';
import { deleting, type MissingCodes } from '../not-found';
import * as C from './constants';
import { formatHandle, parseClassId, parseQdiscHandle } from './handles';
import { INGRESS_KINDS, INGRESS_PLACE, QDISC_KINDS } from './kinds';
import { decodeTcMessage, linkLabel, nameLinks, requireLink, tcmsg } from './tcmsg';
import type { OtherQdisc, Qdisc, QdiscFilter, QdiscKey, QdiscOptions } from './types';

/** The kernel's "no such qdisc" (and "no such link"). */
const QDISC_MISSING: MissingCodes = { ENOENT: 'qdisc', ENODEV: 'link' };

/** The fields of a listed qdisc: keys and writes accept them (those only the kernel reports are ignored). */
const QDISC_READ_KEYS = keysOf<OtherQdisc>()(['link', 'linkName', 'handle', 'parent', 'stats', 'kind', 'options', 'optionsRaw']);
const QDISC_FILTER_KEYS = keysOf<QdiscFilter>()(['link', 'kind']);

/** A qdisc handle as tc prints it: always "major:" ("0:" for a device's default). */
function formatQdiscHandle(h: number): string {
  return `${(h >>> 16).toString(16)}:`;
}

/** Decodes one RTM_NEWQDISC (or RTM_DELQDISC) message. */
export function decodeQdisc(m: NetlinkMessage): Qdisc {
  const t = decodeTcMessage(m);
  const codec = QDISC_KINDS[t.kind] as (typeof QDISC_KINDS)[string] | undefined;
  const q = {
    link: t.link,
    handle: formatQdiscHandle(t.handle),
    parent: formatHandle(t.parent),
    kind: t.kind,
    options: codec && t.options ? codec.decode(t.options) : {},
  } as Qdisc;
  if (!codec && t.optionsRaw) (q as OtherQdisc).optionsRaw = t.optionsRaw;
  if (t.stats) q.stats = t.stats;
  return q;
}

/** Where a qdisc of `kind` goes: its parent and handle, checked. */
function placeOf(kind: string, o: { parent?: unknown; handle?: unknown }): { parent: number; handle: number } {
  if (INGRESS_KINDS.has(kind)) {
    if (o.parent !== undefined && parseClassId(o.parent, 'parent') !== INGRESS_PLACE.parent) {
      throw new ValidationError('parent', o.parent, `a ${kind} qdisc sits at the ingress parent (ffff:fff1): leave parent out`);
    }
    if (o.handle !== undefined && parseQdiscHandle(o.handle, 'handle') !== INGRESS_PLACE.handle) {
      throw new ValidationError('handle', o.handle, `a ${kind} qdisc has handle ffff:: leave handle out`);
    }
    return INGRESS_PLACE;
  }
  return {
    parent: o.parent !== undefined ? parseClassId(o.parent, 'parent') : C.TC_H_ROOT,
    handle: o.handle !== undefined ? parseQdiscHandle(o.handle, 'handle') : 0,
  };
}

function* writeQdisc(flags: number, o: QdiscOptions, verb: string): Operation<void> {
  if (!isObject(o)) throw new ValidationError('qdisc', o, 'must be an object with link and kind');
  rejectUnknownKeys(o, QDISC_READ_KEYS, 'qdisc');
  const link = requireLink(o);
  const codec = QDISC_KINDS[o.kind] as (typeof QDISC_KINDS)[string] | undefined;
  if (!codec) throw new ValidationError('kind', o.kind, `must be one of ${Object.keys(QDISC_KINDS).join(', ')}`);
  if (codec.optionsRequired && o.options === undefined) throw new ValidationError('options', o.options, `a ${o.kind} qdisc needs options`);
  rejectUnknownKeys(o.options, [...codec.optionKeys, ...(codec.readOnlyKeys ?? [])], `${o.kind} options`);
  const writeOptions = codec.prepare((o.options ?? {}) as never);
  const place = placeOf(o.kind, o);
  const index = yield* resolveLinkIndex(link);
  const w = new NetlinkWriter().begin(C.RTM_NEWQDISC, flags);
  tcmsg(w, index, place.handle, place.parent);
  w.string(C.TCA_KIND, o.kind);
  if (!INGRESS_KINDS.has(o.kind)) {
    // tc writes TCA_OPTIONS as a plain (not NLA_F_NESTED) attribute.
    const nest = w.nest(C.TCA_OPTIONS, true);
    writeOptions(w);
    w.endNest(nest);
  }
  yield* call(w.end().finish(), `${verb} ${o.kind} qdisc on ${linkLabel(link)}`);
}

/** Checks a key and returns its link, parent and handle (0 where not given). */
function keyOf(key: QdiscKey): { link: LinkRef; parent: number; handle: number } {
  if (!isObject(key)) throw new ValidationError('qdisc', key, 'must be an object with link, and parent or handle');
  rejectUnknownKeys(key, QDISC_READ_KEYS, 'qdisc key');
  const link = requireLink(key);
  const parent = key.parent !== undefined ? parseClassId(key.parent, 'parent') : 0;
  const handle = key.handle !== undefined ? parseQdiscHandle(key.handle, 'handle') : 0;
  if (parent === 0 && handle === 0) throw new ValidationError('parent', key.parent, 'a qdisc key needs a parent ("root") or a handle ("1:")');
  return { link, parent, handle };
}

function describeKey(k: { link: LinkRef; parent: number; handle: number }): string {
  const what = k.handle ? `qdisc ${formatQdiscHandle(k.handle)}` : `${formatHandle(k.parent)} qdisc`;
  return `${what} on ${linkLabel(k.link)}`;
}

function* dumpQdiscs(index?: number): Operation<Qdisc[]> {
  const w = new NetlinkWriter().begin(C.RTM_GETQDISC, NLM_F_DUMP);
  tcmsg(w, index ?? 0, 0, 0);
  const replies = yield* dump(w.end().finish(), 'list qdiscs');
  return replies.filter((m) => m.type === C.RTM_NEWQDISC).map(decodeQdisc);
}

/** The operations on qdiscs; bound to a handle as `handle.qdiscs`. */
export const qdiscOps = {
  /**
   * Adds a qdisc (`tc qdisc add`); EEXIST if its place is taken by one that is not the device's default.
   * @example
   * await h.qdiscs.add({ link: 'eth0', kind: 'tbf', options: { rate: '8mbit', burst: '32kb', latency: '50ms' } });
   * await h.qdiscs.add({ link: 'eth0', kind: 'ingress' });
   */
  *add(qdisc: QdiscOptions): Operation<void> {
    yield* writeQdisc(NLM_F_CREATE | NLM_F_EXCL, qdisc, 'add');
  },

  /**
   * Adds the qdisc or replaces the one at its place (`tc qdisc replace`).
   * @example
   * await h.qdiscs.replace({ link: 'eth0', kind: 'htb', handle: '1:', options: { default: 0x10 } });
   */
  *replace(qdisc: QdiscOptions): Operation<void> {
    yield* writeQdisc(NLM_F_CREATE | NLM_F_REPLACE, qdisc, 'replace');
  },

  /**
   * Deletes a qdisc by its parent ("root", or "ingress" for ingress and
   * clsact) or its handle; a listed qdisc can be passed as it is. Resolves
   * to `true`; none there is a {@link NotFoundError}, or `false` with
   * `{ missingOk: true }`. The device's default qdisc (handle "0:") cannot
   * be deleted: it is what a device has when none was added.
   * @example
   * await h.qdiscs.delete({ link: 'eth0', parent: 'root' });
   * await h.qdiscs.delete({ link: 'eth0', parent: 'ingress' }, { missingOk: true }); // false: none
   */
  *delete(key: QdiscKey, opts?: DeleteOptions): Operation<boolean> {
    const missingOk = checkDeleteOptions(opts);
    const k = keyOf(key);
    function* send(): Operation<void> {
      const index = yield* resolveLinkIndex(k.link);
      let parent = k.parent;
      if (parent === 0) {
        // The kernel deletes by parent: find the qdisc of this handle.
        const found = (yield* dumpQdiscs(index)).find((q) => q.link === index && parseQdiscHandle(q.handle, 'handle') === k.handle);
        if (!found) throw new NotFoundError('qdisc', { errno: ENOENT, operation: `delete ${describeKey(k)}` });
        parent = parseClassId(found.parent, 'parent');
      }
      const w = new NetlinkWriter().begin(C.RTM_DELQDISC, 0);
      tcmsg(w, index, k.handle, parent);
      yield* call(w.end().finish(), `delete ${describeKey(k)}`);
    }
    // A missing link is "missing" too: false with missingOk.
    return yield* deleting(QDISC_MISSING, send(), missingOk);
  },

  /**
   * Gets the qdisc at a parent or with a handle; {@link NotFoundError} if there is none.
   * @example
   * const q = await h.qdiscs.get({ link: 'eth0', parent: 'root' });
   * if (q.kind === 'tbf') console.log(q.options.rate); // bits per second
   */
  *get(key: QdiscKey): Operation<Qdisc> {
    const k = keyOf(key);
    const found = yield* qdiscOps.find(key);
    if (!found) throw new NotFoundError('qdisc', { errno: ENOENT, operation: `get ${describeKey(k)}` });
    return found;
  },

  /**
   * Like {@link qdiscOps.get}, but undefined when there is none.
   * @example
   * const ingress = await h.qdiscs.find({ link: 'eth0', parent: 'ingress' });
   */
  *find(key: QdiscKey): Operation<Qdisc | undefined> {
    const k = keyOf(key);
    const index = yield* resolveLinkIndex(k.link);
    const found = (yield* dumpQdiscs(index)).find(
      (q) =>
        q.link === index &&
        (k.parent === 0 || parseClassId(q.parent, 'parent') === k.parent) &&
        (k.handle === 0 || parseQdiscHandle(q.handle, 'handle') === k.handle),
    );
    return found ? (yield* nameLinks([found]))[0] : undefined;
  },

  /**
   * Lists qdiscs (`tc qdisc show`), each with its link's name.
   * @example
   * const shaped = await h.qdiscs.list({ kind: 'tbf' });
   */
  *list(filter: QdiscFilter = {}): Operation<Qdisc[]> {
    rejectUnknownKeys(filter, QDISC_FILTER_KEYS, 'qdisc filter');
    if (filter.kind !== undefined && typeof filter.kind !== 'string') throw new ValidationError('kind', filter.kind, 'must be a qdisc kind such as "tbf"');
    const index = filter.link !== undefined ? yield* resolveLinkIndex(filter.link) : undefined;
    const all = yield* dumpQdiscs(index);
    return yield* nameLinks(all.filter((q) => (index === undefined || q.link === index) && (filter.kind === undefined || q.kind === filter.kind)));
  },
};
