/**
 * The tcmsg header and what qdisc and class messages share: kind, handle,
 * parent, options and statistics.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import type { Operation } from '../../netlink/operation';
import { Attributes, s32At, u32At, type NetlinkMessage } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';
import { resolveLinkNames, type LinkRef } from '../link';
import * as C from './constants';
import type { TcStats } from './types';

/** Writes a tcmsg (family AF_UNSPEC, as tc). */
export function tcmsg(w: NetlinkWriter, ifindex: number, handle: number, parent: number): void {
  const off = w.struct(C.TCMSG_LEN);
  w.view.writeInt32LE(ifindex, off + 4);
  w.view.writeUInt32LE(handle >>> 0, off + 8);
  w.view.writeUInt32LE(parent >>> 0, off + 12);
}

/** A qdisc or class message, before its options are typed. */
export interface TcMessage {
  link: number;
  handle: number;
  parent: number;
  /** tcm_info: a qdisc's reference count, a class's leaf qdisc handle. */
  info: number;
  kind: string;
  options?: Attributes;
  optionsRaw?: Buffer;
  stats?: TcStats;
}

function decodeStats(a: Attributes): TcStats | undefined {
  const s = Attributes.of(a.get(C.TCA_STATS2));
  if (!s) return undefined;
  const basic = s.get(C.TCA_STATS_BASIC);
  const queue = s.get(C.TCA_STATS_QUEUE);
  return {
    bytes: basic && basic.length >= 12 ? Number(basic.readBigUInt64LE(0)) : 0,
    packets: basic && basic.length >= 12 ? basic.readUInt32LE(8) : 0,
    qlen: queue && queue.length >= 20 ? queue.readUInt32LE(0) : 0,
    backlog: queue && queue.length >= 20 ? queue.readUInt32LE(4) : 0,
    drops: queue && queue.length >= 20 ? queue.readUInt32LE(8) : 0,
    requeues: queue && queue.length >= 20 ? queue.readUInt32LE(12) : 0,
    overlimits: queue && queue.length >= 20 ? queue.readUInt32LE(16) : 0,
  };
}

/** Decodes the parts of an RTM_NEWQDISC / RTM_NEWTCLASS every kind has. */
export function decodeTcMessage(m: NetlinkMessage): TcMessage {
  const p = m.payload;
  const a = new Attributes(p, C.TCMSG_LEN);
  const kind = a.get(C.TCA_KIND);
  const msg: TcMessage = {
    link: s32At(p, 4),
    handle: u32At(p, 8),
    parent: u32At(p, 12),
    info: u32At(p, 16),
    kind: kind ? kind.toString('latin1').replace(/\0.*$/s, '') : '',
  };
  const options = a.copy(C.TCA_OPTIONS);
  if (options) {
    msg.optionsRaw = options;
    msg.options = new Attributes(options);
  }
  const stats = decodeStats(a);
  if (stats) msg.stats = stats;
  return msg;
}

/** Fills `linkName` of listed qdiscs or classes (one link dump at most). */
export function* nameLinks<T extends { link: number; linkName?: string }>(objects: T[]): Operation<T[]> {
  const names = yield* resolveLinkNames(objects.map((o) => o.link));
  for (const o of objects) {
    const name = names.get(o.link);
    if (name !== undefined) o.linkName = name;
  }
  return objects;
}

/** A link as error messages show it. */
export function linkLabel(link: LinkRef): string {
  return typeof link === 'number' ? `#${link}` : link;
}

/** The link of options or keys: required, a name or an index. */
export function requireLink(o: { link?: unknown }): LinkRef {
  if (typeof o.link !== 'string' && typeof o.link !== 'number') throw new ValidationError('link', o.link, 'the link (name or index) is required');
  return o.link;
}
