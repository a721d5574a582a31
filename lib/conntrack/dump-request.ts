/**
 * The ctnetlink dump requests for a filter, with as much of it as the kernel
 * can apply itself (CTA_FILTER, CTA_MARK, CTA_STATUS, CTA_ZONE), so entries that cannot
 * match never cross into userspace: flushing 10,000 of 100,000 entries then
 * sends 10,000 entries, not 100,000. The kernel's filter is only ever a
 * superset of the filter asked for; every dumped entry is checked again
 * (message-filter.ts), which stays the authority.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlType } from '../netlink/nfnetlink';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET, AF_INET6, parseCidr, type IpFamily } from '../validate/ip';
import * as C from './constants';
import { protoNumber } from './entry';
import type { ConntrackFilter } from './message-filter';

type TupleFilter = NonNullable<ConntrackFilter['original']>;

const TCP = 6;
const UDP = 17;

/**
 * Entries of the namespace from which two dumps cost less than one: a dump
 * walks the kernel's whole table (262,144 buckets, ~3.5 ms here), about what
 * sending and reading 2,000 entries costs.
 */
const TWO_WALKS_FROM = 2000;

/**
 * The dumps to run for a validated filter, given how many entries the
 * namespace has (undefined: unknown). A tuple filter (CTA_FILTER) needs a
 * family: without one in the filter, the kernel filters each family's dump
 * when there are enough entries to pay for the second walk of its table.
 */
export function dumpRequests(f: ConntrackFilter, entries: number | undefined): Buffer[] {
  const family = f.family ?? impliedFamily(f);
  if (family !== undefined || f.protocol === undefined) return [dumpRequest(f, family, true)];
  if (entries !== undefined && entries < TWO_WALKS_FROM) return [dumpRequest(f, undefined, true)];
  return [dumpRequest(f, 4, true), dumpRequest(f, 6, true)];
}

/** The dump without CTA_FILTER and the other filtering attributes, for kernels that refuse them. */
export function plainDumpRequest(f: ConntrackFilter): Buffer {
  return dumpRequest(f, f.family, false);
}

/** An address in the filter decides the family: entries of the other never match. */
function impliedFamily(f: ConntrackFilter): IpFamily | undefined {
  for (const a of [f.original?.src, f.original?.dst, f.reply?.src, f.reply?.dst]) {
    if (a !== undefined) return parseCidr(a, 'address', { defaultFull: true }).family;
  }
  return undefined;
}

function dumpRequest(f: ConntrackFilter, family: IpFamily | undefined, kernelFilter: boolean): Buffer {
  const w = new NetlinkWriter();
  beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_GET), NLM_F_DUMP, family === undefined ? 0 : family === 4 ? AF_INET : AF_INET6);
  if (!kernelFilter) return w.end().finish();
  if (f.mark !== undefined) {
    // The kernel compares (mark & mask) with the value as sent: send it masked.
    const mask = f.markMask ?? 0xffffffff;
    w.be32(C.CTA_MARK, (f.mark & mask) >>> 0);
    w.be32(C.CTA_MARK_MASK, mask);
  }
  // The kernel's zone filter compares the entry's zone whatever its direction,
  // as here; kernels without it ignore the attribute (some took 0 for no
  // filter): a superset either way.
  const zone = kernelZone(f);
  if (zone !== undefined) w.be16(C.CTA_ZONE, zone);
  const statusBits = statusMask(f.status);
  if (statusBits !== 0) {
    w.be32(C.CTA_STATUS, statusBits);
    w.be32(C.CTA_STATUS_MASK, statusBits);
  }
  if (family === undefined || f.protocol === undefined) return w.end().finish();
  const proto = protoNumber(f.protocol);
  const orig = tupleFlags(f.original, proto, family);
  // The protocol is the same both ways: the reply tuple only adds its ports and addresses.
  const reply = tupleFlags(f.reply, proto, family);
  const replyFlags = reply === C.CTA_FILTER_F_PROTO_NUM ? 0 : reply;
  const filter = w.nest(C.CTA_FILTER);
  w.u32(C.CTA_FILTER_ORIG_FLAGS, orig);
  w.u32(C.CTA_FILTER_REPLY_FLAGS, replyFlags);
  w.endNest(filter);
  writeTupleFilter(w, C.CTA_TUPLE_ORIG, f.original, proto, orig);
  if (replyFlags !== 0) writeTupleFilter(w, C.CTA_TUPLE_REPLY, f.reply, proto, replyFlags);
  return w.end().finish();
}

/**
 * The zone to ask the kernel for: the filter's, or a zone other than 0 of
 * one direction (an entry in original zone 3 is in zone 3, whichever
 * directions it applies to). Zone 0 of one direction is not one: an entry
 * whose zone applies only to the other direction is in it too.
 */
function kernelZone(f: ConntrackFilter): number | undefined {
  if (f.zone !== undefined) return f.zone;
  if (f.original?.zone) return f.original.zone;
  if (f.reply?.zone) return f.reply.zone;
  return undefined;
}

/** The status bits every matching entry has; 0 when a name is unknown (nothing matches: the check here says so). */
function statusMask(names: string[] | undefined): number {
  let bits = 0;
  for (const n of names ?? []) {
    const bit = C.STATUS_BITS.find(([name]) => name === n)?.[1];
    if (bit === undefined) return 0;
    bits |= bit;
  }
  return bits >>> 0;
}

/**
 * What the kernel can match of one tuple: the protocol, TCP and UDP ports
 * (other protocols' ports it does not compare), IPv4 addresses given in full
 * (it compares addresses whole, and IPv6 ones not reliably on every kernel).
 */
function tupleFlags(t: TupleFilter | undefined, proto: number, family: IpFamily): number {
  let flags = C.CTA_FILTER_F_PROTO_NUM;
  if (proto === TCP || proto === UDP) {
    if (t?.sport !== undefined) flags |= C.CTA_FILTER_F_PROTO_SRC_PORT;
    if (t?.dport !== undefined) flags |= C.CTA_FILTER_F_PROTO_DST_PORT;
  }
  if (family === 4 && fullAddress(t?.src)) flags |= C.CTA_FILTER_F_IP_SRC;
  if (family === 4 && fullAddress(t?.dst)) flags |= C.CTA_FILTER_F_IP_DST;
  return flags;
}

/** An IPv4 address, not a shorter prefix. */
function fullAddress(a: string | undefined): boolean {
  if (a === undefined) return false;
  const c = parseCidr(a, 'address', { defaultFull: true });
  return c.family === 4 && c.prefixLength === 32;
}

function writeTupleFilter(w: NetlinkWriter, type: number, t: TupleFilter | undefined, proto: number, flags: number): void {
  const tuple = w.nest(type);
  if (flags & (C.CTA_FILTER_F_IP_SRC | C.CTA_FILTER_F_IP_DST)) {
    const ip = w.nest(C.CTA_TUPLE_IP);
    if (t?.src !== undefined && flags & C.CTA_FILTER_F_IP_SRC) w.attr(C.CTA_IP_V4_SRC, parseCidr(t.src, 'src', { defaultFull: true }).bytes);
    if (t?.dst !== undefined && flags & C.CTA_FILTER_F_IP_DST) w.attr(C.CTA_IP_V4_DST, parseCidr(t.dst, 'dst', { defaultFull: true }).bytes);
    w.endNest(ip);
  }
  const p = w.nest(C.CTA_TUPLE_PROTO);
  w.u8(C.CTA_PROTO_NUM, proto);
  if (t?.sport !== undefined && flags & C.CTA_FILTER_F_PROTO_SRC_PORT) w.be16(C.CTA_PROTO_SRC_PORT, t.sport);
  if (t?.dport !== undefined && flags & C.CTA_FILTER_F_PROTO_DST_PORT) w.be16(C.CTA_PROTO_DST_PORT, t.dport);
  w.endNest(p);
  w.endNest(tuple);
}
