/**
 * Traffic control classes (`tc class`), RTM_*TCLASS: the branches of a
 * classful qdisc such as HTB, each with its own rates.
 * @module
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from '../../netlink/constants';
import { ENOENT } from '../../netlink/errno';
import { NotFoundError, ValidationError, checkDeleteOptions, type DeleteOptions } from '../../netlink/errors';
import { call, dump, type Operation } from '../../netlink/operation';
import type { NetlinkMessage } from '../../netlink/parser';
import { NetlinkWriter } from '../../netlink/writer';
import { isObject, keysOf, rejectUnknownKeys } from '../../validate/options';
import { resolveLinkIndex } from '../link';
import { deleting, type MissingCodes } from '../not-found';
import * as C from './constants';
import { formatHandle, parseClassId, parseQdiscHandle } from './handles';
import { CLASS_KINDS } from './kinds';
import { decodeTcMessage, linkLabel, nameLinks, requireLink, tcmsg } from './tcmsg';
import type { OtherClass, TcClass, TcClassFilter, TcClassKey, TcClassOptions } from './types';

/** The kernel's "no such class" (or qdisc; and "no such link"). */
const CLASS_MISSING: MissingCodes = { ENOENT: 'class', ENODEV: 'link' };

/** The fields of a listed class: keys and writes accept them (those only the kernel reports are ignored). */
const CLASS_READ_KEYS = keysOf<OtherClass>()(['link', 'linkName', 'classid', 'parent', 'leaf', 'stats', 'kind', 'options', 'optionsRaw']);
const CLASS_FILTER_KEYS = keysOf<TcClassFilter>()(['link', 'kind', 'qdisc']);

/** Decodes one RTM_NEWTCLASS (or RTM_DELTCLASS) message. */
export function decodeTcClass(m: NetlinkMessage): TcClass {
  const t = decodeTcMessage(m);
  const codec = CLASS_KINDS[t.kind] as (typeof CLASS_KINDS)[string] | undefined;
  const c = {
    link: t.link,
    classid: formatHandle(t.handle),
    parent: formatHandle(t.parent),
    kind: t.kind,
    options: codec && t.options ? codec.decode(t.options) : {},
  } as TcClass;
  if (t.info) c.leaf = formatHandle(t.info);
  if (!codec && t.optionsRaw) (c as OtherClass).optionsRaw = t.optionsRaw;
  if (t.stats) c.stats = t.stats;
  return c;
}

/** A class id: a major (its qdisc) and a minor, both given. */
function parseClassKeyId(value: unknown): number {
  const id = parseClassId(value, 'classid');
  if (id === C.TC_H_ROOT || id >>> 16 === 0 || (id & C.TC_H_MIN_MASK) === 0) {
    throw new ValidationError('classid', value, 'a class id is major:minor with both set, such as "1:10"');
  }
  return id;
}

function* writeClass(flags: number, o: TcClassOptions, verb: string): Operation<void> {
  if (!isObject(o)) throw new ValidationError('class', o, 'must be an object with link, classid and kind');
  rejectUnknownKeys(o, CLASS_READ_KEYS, 'class');
  const link = requireLink(o);
  const classid = parseClassKeyId(o.classid);
  const codec = CLASS_KINDS[o.kind] as (typeof CLASS_KINDS)[string] | undefined;
  if (!codec) throw new ValidationError('kind', o.kind, `must be one of ${Object.keys(CLASS_KINDS).join(', ')}`);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (codec.optionsRequired && o.options === undefined) throw new ValidationError('options', o.options, `a ${o.kind} class needs options`);
  rejectUnknownKeys(o.options, [...codec.optionKeys, ...(codec.readOnlyKeys ?? [])], `${o.kind} class options`);
  const writeOptions = codec.prepare(o.options as never);
  // A listed top class says "root"; to the kernel that is its qdisc (major:0), as tc's default.
  const given = o.parent !== undefined ? parseClassId(o.parent, 'parent') : C.TC_H_ROOT;
  const parent = given === C.TC_H_ROOT ? (classid & C.TC_H_MAJ_MASK) >>> 0 : given;
  if ((parent & C.TC_H_MAJ_MASK) >>> 0 !== (classid & C.TC_H_MAJ_MASK) >>> 0) {
    throw new ValidationError('parent', o.parent, `the parent must be of the class's own qdisc (${formatHandle((classid & C.TC_H_MAJ_MASK) >>> 0)})`);
  }
  const index = yield* resolveLinkIndex(link);
  const w = new NetlinkWriter().begin(C.RTM_NEWTCLASS, flags);
  tcmsg(w, index, classid, parent);
  w.string(C.TCA_KIND, o.kind);
  const nest = w.nest(C.TCA_OPTIONS, true);
  writeOptions(w);
  w.endNest(nest);
  yield* call(w.end().finish(), `${verb} ${o.kind} class ${formatHandle(classid)} on ${linkLabel(link)}`);
}

function keyOf(key: TcClassKey): { link: string | number; classid: number } {
  if (!isObject(key)) throw new ValidationError('class', key, 'must be an object with link and classid');
  rejectUnknownKeys(key, CLASS_READ_KEYS, 'class key');
  return { link: requireLink(key), classid: parseClassKeyId(key.classid) };
}

function* dumpClasses(index: number, qdisc = 0): Operation<TcClass[]> {
  const w = new NetlinkWriter().begin(C.RTM_GETTCLASS, NLM_F_DUMP);
  // The kernel dumps the classes of one link, of the qdisc given as parent (0: every qdisc).
  tcmsg(w, index, 0, qdisc);
  const replies = yield* dump(w.end().finish(), 'list classes');
  return replies.filter((m) => m.type === C.RTM_NEWTCLASS).map(decodeTcClass);
}

/** The links that have a qdisc other than a device default: only they can have classes. */
function* linksWithQdiscs(): Operation<number[]> {
  const w = new NetlinkWriter().begin(C.RTM_GETQDISC, NLM_F_DUMP);
  tcmsg(w, 0, 0, 0);
  const replies = yield* dump(w.end().finish(), 'list qdiscs');
  const links = new Set<number>();
  for (const m of replies) {
    const t = decodeTcMessage(m);
    if (m.type === C.RTM_NEWQDISC && t.handle !== 0) links.add(t.link);
  }
  return [...links].sort((a, b) => a - b);
}

/** The operations on traffic control classes; bound to a handle as `handle.classes`. */
export const tcClassOps = {
  /**
   * Adds a class to a classful qdisc (`tc class add`); EEXIST if the class id is taken.
   * @example
   * await h.classes.add({ link: 'eth0', classid: '1:10', kind: 'htb', options: { rate: '5mbit', ceil: '10mbit' } });
   */
  *add(cls: TcClassOptions): Operation<void> {
    yield* writeClass(NLM_F_CREATE | NLM_F_EXCL, cls, 'add');
  },

  /**
   * Adds the class or changes the one with its class id (`tc class replace`).
   * @example
   * await h.classes.replace({ link: 'eth0', classid: '1:10', kind: 'htb', options: { rate: '2mbit' } });
   */
  *replace(cls: TcClassOptions): Operation<void> {
    // As tc: the kernel changes an existing class unless NLM_F_EXCL says not to.
    yield* writeClass(NLM_F_CREATE, cls, 'replace');
  },

  /**
   * Deletes a class (`tc class del`); a listed class can be passed as it is.
   * Resolves to `true`; none (or no such qdisc) is a {@link NotFoundError},
   * or `false` with `{ missingOk: true }`. A class with child classes is
   * refused by the kernel (EBUSY).
   * @example
   * await h.classes.delete({ link: 'eth0', classid: '1:10' });
   */
  *delete(key: TcClassKey, opts?: DeleteOptions): Operation<boolean> {
    const missingOk = checkDeleteOptions(opts);
    const k = keyOf(key);
    function* send(): Operation<void> {
      const index = yield* resolveLinkIndex(k.link);
      const w = new NetlinkWriter().begin(C.RTM_DELTCLASS, 0);
      tcmsg(w, index, k.classid, 0);
      yield* call(w.end().finish(), `delete class ${formatHandle(k.classid)} on ${linkLabel(k.link)}`);
    }
    // A missing link is "missing" too: false with missingOk.
    return yield* deleting(CLASS_MISSING, send(), missingOk);
  },

  /**
   * Gets a class by its id; {@link NotFoundError} if there is none.
   * @example
   * const c = await h.classes.get({ link: 'eth0', classid: '1:10' });
   * if (c.kind === 'htb') console.log(c.options.rate, c.options.ceil); // bits per second
   */
  *get(key: TcClassKey): Operation<TcClass> {
    const k = keyOf(key);
    const found = yield* tcClassOps.find(key);
    if (!found) throw new NotFoundError('class', { errno: ENOENT, operation: `get class ${formatHandle(k.classid)} on ${linkLabel(k.link)}` });
    return found;
  },

  /**
   * Like {@link tcClassOps.get}, but undefined when there is none.
   * @example
   * const c = await h.classes.find({ link: 'eth0', classid: '1:99' });
   */
  *find(key: TcClassKey): Operation<TcClass | undefined> {
    const k = keyOf(key);
    const index = yield* resolveLinkIndex(k.link);
    const found = (yield* dumpClasses(index, (k.classid & C.TC_H_MAJ_MASK) >>> 0)).find((c) => parseClassId(c.classid, 'classid') === k.classid);
    return found ? (yield* nameLinks([found]))[0] : undefined;
  },

  /**
   * Lists classes (`tc class show`): of one link, of one qdisc, or of every
   * link with an added qdisc (one dump per such link; a device's default
   * qdisc, handle 0:, has no classes to list, except multiqueue `mq`'s
   * per-queue classes, which need the link given).
   * @example
   * const classes = await h.classes.list({ link: 'eth0', qdisc: '1:' });
   */
  *list(filter: TcClassFilter = {}): Operation<TcClass[]> {
    rejectUnknownKeys(filter, CLASS_FILTER_KEYS, 'class filter');
    if (filter.kind !== undefined && typeof filter.kind !== 'string') throw new ValidationError('kind', filter.kind, 'must be a class kind such as "htb"');
    const qdisc = filter.qdisc !== undefined ? parseQdiscHandle(filter.qdisc, 'qdisc') : 0;
    const links = filter.link !== undefined ? [yield* resolveLinkIndex(filter.link)] : yield* linksWithQdiscs();
    const out: TcClass[] = [];
    for (const index of links) {
      for (const c of yield* dumpClasses(index, qdisc)) {
        if (c.link !== index || (filter.kind !== undefined && c.kind !== filter.kind)) continue;
        if (qdisc !== 0 && (parseClassId(c.classid, 'classid') & C.TC_H_MAJ_MASK) >>> 0 !== qdisc) continue;
        out.push(c);
      }
    }
    return yield* nameLinks(out);
  },
};
