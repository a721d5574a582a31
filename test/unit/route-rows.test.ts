/**
 * Routes built from the native index of a dump (route-rows.ts, through the
 * tracker's collectRows) are the objects decodeRouteAt makes: same values,
 * same properties in the same order, for every shape the rows build
 * themselves and for the ones they hand to decodeRouteAt; and the native index
 * stops where the tracker's own walk would (truncated messages, other
 * requests, control messages, malformed attributes).
 */
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/binding';
import { NLMSG_DONE, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST } from '../../lib/netlink/constants';
import { NetlinkError } from '../../lib/netlink/errors';
import { ROW_UNKNOWN_ATTRIBUTE, runSync, type NetlinkCall } from '../../lib/netlink/operation';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { PendingRequest, RequestTracker } from '../../lib/netlink/request-tracker';
import { NetlinkWriter } from '../../lib/netlink/writer';
import * as C from '../../lib/rtnetlink/constants';
import { decodeRouteAt, isClonedRouteAt } from '../../lib/rtnetlink/route-decode';
import { protocolName, routeTypeName } from '../../lib/rtnetlink/names';
import { routeOps } from '../../lib/rtnetlink/route';
import { routeRows, type RowFilter } from '../../lib/rtnetlink/route-rows';
import type { Route } from '../../lib/rtnetlink/route-types';

const SEQ = 41;

/** A seeded generator (mulberry32): the same routes every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One RTM_NEWROUTE of a random shape: every attribute the rows read, short ones, repeats, and ones they leave to decodeRouteAt. */
function writeRoute(w: NetlinkWriter, rnd: () => number): void {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const v6 = rnd() < 0.3;
  const addr = () => Buffer.from(Array.from({ length: v6 ? 16 : 4 }, () => pick([0, 0, 1, 10, 64, 254, 255, Math.floor(rnd() * 256)])));
  w.begin(C.RTM_NEWROUTE, NLM_F_MULTI);
  const off = w.struct(C.RTMSG_LEN);
  w.view.writeUInt8(v6 ? 10 : 2, off);
  w.view.writeUInt8(pick([0, 8, 24, 32, 64, 128]), off + 1);
  w.view.writeUInt8(pick([0, 0, 0, 16]), off + 2);
  w.view.writeUInt8(pick([C.RT_TABLE_MAIN, C.RT_TABLE_LOCAL, 0, 100]), off + 4);
  w.view.writeUInt8(pick([2, 3, 4, 186, 77]), off + 5);
  w.view.writeUInt8(pick([0, 253, 254, 200]), off + 6);
  w.view.writeUInt8(pick([1, 2, 3, 6, 7]), off + 7);
  w.view.writeUInt32LE(pick([0, 0, C.RTNH_F_ONLINK, C.RTNH_F_DEAD | C.RTNH_F_LINKDOWN, C.RTM_F_CLONED, 0x10000]), off + 8);
  const attrs: Array<() => void> = [];
  if (rnd() < 0.9) attrs.push(() => w.attr(C.RTA_DST, rnd() < 0.05 ? Buffer.from([10, 1, 2]) : addr()));
  if (rnd() < 0.8) attrs.push(() => (rnd() < 0.05 ? w.u16(C.RTA_OIF, 3) : w.u32(C.RTA_OIF, pick([1, 2, 7, 0x80000000]))));
  if (rnd() < 0.3) attrs.push(() => w.attr(C.RTA_GATEWAY, addr()));
  if (rnd() < 0.3) attrs.push(() => (rnd() < 0.1 ? w.u16(C.RTA_PRIORITY, 5) : w.u32(C.RTA_PRIORITY, pick([0, 100, 1024, 0xfffffff0]))));
  if (rnd() < 0.2) attrs.push(() => w.attr(C.RTA_PREFSRC, addr()));
  if (rnd() < 0.7) attrs.push(() => (rnd() < 0.05 ? w.u16(C.RTA_TABLE, 254) : w.u32(C.RTA_TABLE, pick([254, 255, 1000, 0xffffffff]))));
  if (rnd() < 0.2) attrs.push(() => (rnd() < 0.1 ? w.attr(C.RTA_PREF, Buffer.alloc(0)) : w.u8(C.RTA_PREF, pick([0, 1, 3, 2]))));
  if (rnd() < 0.3) attrs.push(() => w.attr(C.RTA_CACHEINFO, Buffer.alloc(32)));
  // A route that expires (rta_expires, at offset 8, not 0; negative once past): left to decodeRouteAt. A short one too.
  if (rnd() < 0.1) {
    attrs.push(() => {
      const ci = Buffer.alloc(pick([32, 32, 8]));
      if (ci.length >= 12) ci.writeInt32LE(pick([29_987, 50, -120, 1]), 8);
      w.attr(C.RTA_CACHEINFO, ci);
    });
  }
  if (rnd() < 0.1) attrs.push(() => w.attr(C.RTA_DST, addr())); // a repeat: the first counts
  // What the rows leave to decodeRouteAt.
  if (rnd() < 0.05) attrs.push(() => w.attr(C.RTA_SRC, addr()));
  if (rnd() < 0.05) attrs.push(() => w.u32(C.RTA_NH_ID, 5));
  if (rnd() < 0.05) attrs.push(() => w.u32(23 /* RTA_EXPIRES */, 77));
  if (rnd() < 0.05) attrs.push(() => w.u32(40, 1)); // beyond the column table
  if (rnd() < 0.03) {
    attrs.push(() => {
      const m = w.nest(C.RTA_METRICS);
      if (rnd() < 0.5) w.u32(C.RTAX_LOCK, pick([1 << C.RTAX_MTU, 1 << 3, 0]));
      w.u32(C.RTAX_MTU, 1400);
      w.endNest(m);
    });
  }
  for (let i = attrs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [attrs[i], attrs[j]] = [attrs[j], attrs[i]];
  }
  for (const a of attrs) a();
  w.end();
}

/** A dump's answer: `n` random routes, then NLMSG_DONE, every message numbered SEQ. */
function dumpAnswer(n: number, seed: number): Buffer {
  const rnd = random(seed);
  const w = new NetlinkWriter();
  for (let i = 0; i < n; i++) writeRoute(w, rnd);
  w.begin(NLMSG_DONE, NLM_F_MULTI);
  w.struct(4);
  w.end();
  const b = w.finish();
  for (let off = 0; off < b.length; off += (b.readUInt32LE(off) + 3) & ~3) b.writeUInt32LE(SEQ, off + 8);
  return b;
}

/** What decodeRouteAt makes of the dump, message by message (the path the rows replace). */
function decodedOneByOne(b: Buffer): Route[] {
  const out: Route[] = [];
  for (let off = 0; off + 16 <= b.length; off += (b.readUInt32LE(off) + 3) & ~3) {
    const end = off + b.readUInt32LE(off);
    if (b.readUInt16LE(off + 4) === C.RTM_NEWROUTE && !isClonedRouteAt(b, off + 16, end)) out.push(decodeRouteAt(b, off + 16, end));
  }
  return out;
}

const ANY: RowFilter = { table: -1, link: -1, protocol: -1, type: -1 };

/** What routes.list() keeps of a decoded route for `f` (its `wanted`, by names and multipath links as there). */
function wanted(f: RowFilter): (r: Route) => Route | undefined {
  return (r) =>
    (f.table < 0 || r.tableId === f.table) &&
    (f.link < 0 || r.link === f.link || (r.multipath ?? []).some((n) => n.link === f.link)) &&
    (f.protocol < 0 || r.protocol === protocolName(f.protocol)) &&
    (f.type < 0 || r.type === routeTypeName(f.type))
      ? r
      : undefined;
}

/** The routes without the linkName slot route-rows leaves (nameRoutes fills or removes it). */
function withoutSlot(routes: Route[]): Route[] {
  for (const r of routes) {
    expect(r.linkName).toBeUndefined();
    if ('linkName' in r) {
      expect(Object.keys(r).at(-1)).toBe('linkName');
      delete r.linkName;
    }
  }
  return routes;
}

/** The dump through a tracker whose request has the route rows (as routes.list() sends it). */
function collectedByRows(b: Buffer, f = ANY): { routes: Route[]; interrupted: boolean } {
  let outcome: { err?: Error; replies: unknown[]; interrupted: boolean } | undefined;
  const tracker = new RequestTracker();
  const p = new PendingRequest(
    'dump',
    'list routes',
    SEQ,
    SEQ,
    (err, replies, interrupted) => (outcome = { err, replies, interrupted }),
    undefined,
    () => {
      throw new Error('collect called: a message object was made');
    },
  );
  p.collectAt = () => {
    throw new Error('collectAt called: the rows were not used');
  };
  p.collectRows = routeRows(wanted(f), f);
  tracker.add(p);
  tracker.feedReceived(b);
  if (!outcome) throw new Error('not settled');
  if (outcome.err) throw outcome.err;
  return { routes: withoutSlot(outcome.replies as Route[]), interrupted: outcome.interrupted };
}

describe('routes from the native index (route-rows.ts)', () => {
  it('are the objects decodeRouteAt makes, properties in the same order, for 20,000 routes of random shapes', () => {
    // More rows than one native call holds: the tracker indexes the run in several.
    const b = dumpAnswer(20000, 7);
    const expected = decodedOneByOne(b);
    const { routes, interrupted } = collectedByRows(b);
    expect(interrupted).toBe(false);
    expect(routes.length).toBe(expected.length);
    expect(routes.length).toBeGreaterThan(15000);
    expect(JSON.stringify(routes)).toBe(JSON.stringify(expected));
    // JSON leaves Buffers and undefined out: compare each object as well.
    for (let i = 0; i < routes.length; i++) {
      expect(Object.keys(routes[i])).toEqual(Object.keys(expected[i]));
      expect(routes[i]).toStrictEqual(expected[i]);
    }
    // The shapes the rows build themselves are all there, and so are decodeRouteAt's.
    expect(routes.some((r) => r.gateway !== undefined && r.pref !== undefined && r.metric !== undefined && r.prefsrc !== undefined)).toBe(true);
    expect(routes.some((r) => r.unknownAttributes.length > 0)).toBe(true);
    expect(routes.some((r) => r.flags.length > 0)).toBe(true);
    expect(routes.some((r) => r.tableId > 255)).toBe(true);
  });

  it('are the routes a list keeps for its filter (table, link, protocol, type), as decoded and filtered one by one', () => {
    const b = dumpAnswer(4000, 11);
    const all = decodedOneByOne(b);
    const filters: RowFilter[] = [
      { ...ANY, table: C.RT_TABLE_MAIN },
      { ...ANY, table: 1000 },
      { ...ANY, link: 7 },
      { ...ANY, protocol: 186 },
      { ...ANY, type: 1 },
      { table: C.RT_TABLE_MAIN, link: 2, protocol: 4, type: 1 },
    ];
    for (const f of filters) {
      const expected = all.filter((r) => wanted(f)(r) !== undefined);
      expect(expected.length).toBeGreaterThan(0);
      expect(JSON.stringify(collectedByRows(b, f).routes)).toBe(JSON.stringify(expected));
    }
  });

  it('are the same from a buffer at any byte offset and from messages that do not start 4-aligned (the 16- and 32-bit views)', () => {
    const b = dumpAnswer(3000, 13);
    const expected = JSON.stringify(decodedOneByOne(b));
    // The buffer at an odd offset of its memory: the rows copy it (a Uint32Array view needs 4-aligned memory).
    for (const shift of [1, 2, 3]) {
      const backing = Buffer.alloc(b.length + 8);
      b.copy(backing, shift);
      const shifted = backing.subarray(shift, shift + b.length);
      expect(shifted.byteOffset % 4).not.toBe(0);
      expect(JSON.stringify(collectedByRows(shifted).routes), `shift ${shift}`).toBe(expected);
    }
    // The messages 2 bytes into an aligned buffer: their attributes are not 4-aligned in it, so decodeRouteAt reads them.
    const moved = Buffer.alloc(b.length + 2);
    b.copy(moved, 2);
    const rows = routeRows(wanted(ANY), ANY);
    const index = new Int32Array(16384);
    const out: Route[] = [];
    for (let off = 2; ;) {
      const count = native().netlinkIndex(moved, off, SEQ, rows.headerLength, rows.columns, index, rows.stride) >>> 1;
      if (count === 0) break;
      rows.collect(moved, index, count, out);
      // NLMSG_ALIGN from the messages' start, 2 bytes in
      off = 2 + ((index[(count - 1) * rows.stride + 1] - 2 + 3) & ~3);
    }
    expect(out.length).toBe(JSON.parse(expected).length);
    expect(JSON.stringify(withoutSlot(out))).toBe(expected);
  });

  it('are flagged interrupted when a message carries NLM_F_DUMP_INTR', () => {
    const b = dumpAnswer(50, 3);
    const third = [0, 0, 0].reduce((off) => off + ((b.readUInt32LE(off) + 3) & ~3), 0);
    b.writeUInt16LE(b.readUInt16LE(third + 6) | NLM_F_DUMP_INTR, third + 6);
    expect(collectedByRows(b).interrupted).toBe(true);
  });
});

describe('routes.list() over the rows', () => {
  /** A dump of two routes over links 2 and 9 (the shape the rows build with a linkName slot). */
  function twoRoutes(): Buffer {
    const w = new NetlinkWriter();
    for (const link of [2, 9]) {
      w.begin(C.RTM_NEWROUTE, NLM_F_MULTI);
      const off = w.struct(C.RTMSG_LEN);
      w.view.set([2, 32, 0, 0, C.RT_TABLE_MAIN, 3, 253, 1], off);
      w.u32(C.RTA_TABLE, C.RT_TABLE_MAIN);
      w.attr(C.RTA_DST, Buffer.from([10, 0, 0, link]));
      w.u32(C.RTA_OIF, link);
      w.end();
    }
    w.begin(NLMSG_DONE, NLM_F_MULTI).struct(4);
    w.end();
    const b = w.finish();
    for (let off = 0; off < b.length; off += b.readUInt32LE(off)) b.writeUInt32LE(SEQ, off + 8);
    return b;
  }

  it('names each route: the slot filled where the link has a name, removed where it is gone (the key order of decodeRouteAt + naming)', () => {
    const dump = twoRoutes();
    const calls: string[] = [];
    const executor = {
      executeSync(c: NetlinkCall): NetlinkMessage[] {
        calls.push(c.operation);
        if (c.kind === 'dump') {
          expect(c.collectRows).toBeDefined();
          let replies: NetlinkMessage[] = [];
          const tracker = new RequestTracker();
          const p = new PendingRequest('dump', c.operation, SEQ, SEQ, (_e, r) => (replies = r), undefined, c.collect);
          [p.collectAt, p.collectRows] = [c.collectAt, c.collectRows];
          tracker.add(p);
          tracker.feedReceived(dump);
          return replies;
        }
        // RTM_GETLINK: link 2 is "eth0", link 9 is gone.
        const index = c.message.readInt32LE(16 + 4);
        if (index === 9) throw new NetlinkError({ errno: 19, operation: c.operation });
        const w = new NetlinkWriter().begin(C.RTM_NEWLINK, 0);
        w.view.writeInt32LE(index, w.struct(C.IFINFOMSG_LEN) + 4);
        w.attr(C.IFLA_IFNAME, Buffer.from('eth0\0'));
        return parseMessages(w.end().finish());
      },
    };
    const routes = runSync(executor, routeOps.list());
    expect(calls).toEqual(['list routes', 'get link 2', 'get link 9']);
    const decoded = decodedOneByOne(dump);
    decoded[0].linkName = 'eth0';
    expect(routes).toStrictEqual(decoded);
    expect(routes.map((r) => Object.keys(r))).toEqual(decoded.map((r) => Object.keys(r)));
    expect('linkName' in routes[1]).toBe(false);
    expect(JSON.stringify(routes)).toBe(JSON.stringify(decoded));
  });
});

describe('native netlinkIndex', () => {
  const columns = new Uint8Array(32);
  columns[C.RTA_DST] = 1;
  columns[C.RTA_OIF] = 2;
  columns[C.RTA_CACHEINFO] = 255;
  const stride = 6;
  const index = (b: Buffer, start: number, rows = new Int32Array(stride * 16)) => {
    const r = native().netlinkIndex(b, start, SEQ, C.RTMSG_LEN, columns, rows, stride);
    return { count: r >>> 1, interrupted: (r & 1) === 1, rows: Array.from(rows.subarray(0, (r >>> 1) * stride)) };
  };
  /** Two routes (the second with an unknown attribute and a malformed one), an ack of another request, a route. */
  function received(): { b: Buffer; at: number[] } {
    const w = new NetlinkWriter();
    w.begin(C.RTM_NEWROUTE, NLM_F_MULTI).struct(C.RTMSG_LEN);
    w.attr(C.RTA_DST, Buffer.from([10, 0, 0, 1]));
    w.attr(C.RTA_CACHEINFO, Buffer.alloc(8));
    w.u32(C.RTA_OIF, 3);
    w.u32(C.RTA_OIF, 4);
    w.end();
    w.begin(C.RTM_NEWROUTE, NLM_F_MULTI).struct(C.RTMSG_LEN);
    w.u32(C.RTA_PRIORITY, 1);
    w.u32(C.RTA_OIF, 5);
    w.end();
    w.begin(C.RTM_NEWROUTE, NLM_F_MULTI).struct(C.RTMSG_LEN);
    w.end();
    w.begin(C.RTM_NEWROUTE, NLM_F_MULTI).struct(C.RTMSG_LEN);
    w.end();
    const b = Buffer.from(w.finish());
    const at: number[] = [];
    for (let off = 0; off < b.length; off += b.readUInt32LE(off)) {
      at.push(off);
      b.writeUInt32LE(SEQ, off + 8);
    }
    // The third message belongs to another request.
    b.writeUInt32LE(SEQ + 1, at[2] + 8);
    // The second's OIF attribute claims more bytes than its message has: the walk ends there.
    b.writeUInt16LE(200, at[1] + 16 + 12 + 8);
    return { b, at };
  }

  it('indexes a run of one request: first attribute of each column, unknown ones flagged, a malformed one ends the walk', () => {
    const { b, at } = received();
    const { count, interrupted, rows } = index(b, 0);
    expect(count).toBe(2); // stops at the other request's message
    expect(interrupted).toBe(false);
    const m0 = at[0] + 16;
    expect(rows.slice(0, stride)).toEqual([m0, at[1], C.RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_MULTI, m0 + 12 + 4, m0 + 12 + 8 + 12 + 4]);
    const m1 = at[1] + 16;
    expect(rows.slice(stride)).toEqual([m1, at[2], C.RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_MULTI | ROW_UNKNOWN_ATTRIBUTE, -1, -1]);
  });

  it('stops at control messages, truncated messages, a full row array; never reads past the buffer', () => {
    const { b, at } = received();
    expect(index(b, at[3]).count).toBe(1);
    const done = new NetlinkWriter().begin(NLMSG_DONE, NLM_F_MULTI);
    done.struct(4);
    const withDone = Buffer.concat([b.subarray(0, at[2]), done.end().finish()]);
    withDone.writeUInt32LE(SEQ, at[2] + 8);
    expect(index(withDone, 0).count).toBe(2);
    // The last message cut short: not indexed.
    expect(index(b.subarray(0, b.length - 1), at[3]).count).toBe(0);
    // A header claiming more than the buffer holds, and one claiming less than a header.
    const long = Buffer.from(b);
    long.writeUInt32LE(b.length, at[3]);
    expect(index(long, at[3]).count).toBe(0);
    long.writeUInt32LE(8, at[3]);
    expect(index(long, at[3]).count).toBe(0);
    // A short rtmsg is flagged (decodeRouteAt pads it), its attributes not walked.
    const short = new NetlinkWriter().begin(C.RTM_NEWROUTE, 0);
    short.struct(4);
    const s = short.end().finish();
    s.writeUInt32LE(SEQ, 8);
    expect(index(s, 0).rows).toEqual([16, 20, C.RTM_NEWROUTE, NLM_F_REQUEST | ROW_UNKNOWN_ATTRIBUTE, -1, -1]);
    // Room for one row: one row.
    expect(index(b, 0, new Int32Array(stride + 1)).count).toBe(1);
    const intr = Buffer.from(b);
    intr.writeUInt16LE(NLM_F_MULTI | NLM_F_DUMP_INTR, at[1] + 6);
    expect(index(intr, 0).interrupted).toBe(true);
  });

  it('rejects arguments of the wrong type or out of range', () => {
    const { b } = received();
    const rows = new Int32Array(64);
    const call = native().netlinkIndex as (...args: unknown[]) => number;
    expect(() => call(b, 0, SEQ, 12, columns, new Uint32Array(64), stride)).toThrow(TypeError);
    expect(() => call('x', 0, SEQ, 12, columns, rows, stride)).toThrow(TypeError);
    expect(() => call(b, b.length + 1, SEQ, 12, columns, rows, stride)).toThrow(RangeError);
    expect(() => call(b, 0, SEQ, 12, columns, rows, 3)).toThrow(RangeError);
    expect(() => call(b, -1, SEQ, 12, columns, rows, stride)).toThrow(RangeError);
  });
});

describe('native netlinkIndex on malformed input (fuzz)', () => {
  /** What netlinkIndex documents, in JavaScript: the rows and the return value it must give. */
  function reference(b: Uint8Array, start: number, seq: number, hl: number, cols: Uint8Array, rowsLength: number, stride: number) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const rows: number[] = [];
    let off = start;
    let count = 0;
    let interrupted = false;
    while (count < Math.floor(rowsLength / stride) && off + 16 <= b.length) {
      const len = v.getUint32(off, true);
      if (len < 16 || len > b.length - off) break;
      const type = v.getUint16(off + 4, true);
      const flags = v.getUint16(off + 6, true);
      if (type < 16 || v.getUint32(off + 8, true) !== seq) break;
      const row = [off + 16, off + len, type, flags, ...new Array<number>(stride - 4).fill(-1)];
      if (len - 16 < hl) row[3] |= ROW_UNKNOWN_ATTRIBUTE;
      else {
        for (let a = off + 16 + ((hl + 3) & ~3); a + 4 <= off + len;) {
          const alen = v.getUint16(a, true);
          if (alen < 4 || alen > off + len - a) break;
          const atype = v.getUint16(a + 2, true) & 0x3fff;
          const column = atype < cols.length ? cols[atype] : 0;
          if (column === 0 || (column !== 255 && column > stride - 4)) row[3] |= ROW_UNKNOWN_ATTRIBUTE;
          else if (column !== 255 && row[3 + column] < 0) row[3 + column] = a + 4;
          a += (alen + 3) & ~3;
        }
      }
      if (flags & NLM_F_DUMP_INTR) interrupted = true;
      rows.push(...row);
      count++;
      off += (len + 3) & ~3;
    }
    return { result: count * 2 + (interrupted ? 1 : 0), rows };
  }

  it('never writes outside its rows nor reads outside its buffer view, and gives exactly the documented rows, for 5,000 malformed inputs', () => {
    const rnd = random(1234);
    const int = (n: number) => Math.floor(rnd() * n);
    const valid = dumpAnswer(40, 5);
    for (let i = 0; i < 5000; i++) {
      // A dump with bytes changed (lengths, types, attribute headers), or bytes at random.
      let bytes: Buffer;
      if (i % 4 === 3) bytes = Buffer.from(Array.from({ length: int(300) }, () => int(256)));
      else {
        bytes = Buffer.from(valid.subarray(0, int(valid.length + 1)));
        for (let k = int(12); k > 0 && bytes.length; k--) {
          const at = int(bytes.length);
          bytes[at] = rnd() < 0.5 ? int(256) : [0, 1, 3, 4, 15, 16, 0xff][int(7)];
        }
      }
      // The buffer a view into a larger one (guard bytes either side), the rows a view between guard int32s.
      const backing = Buffer.alloc(bytes.length + 64, 0x5a);
      bytes.copy(backing, 32);
      const b = backing.subarray(32, 32 + bytes.length);
      const stride = 4 + int(61);
      const rowsLength = int(stride * 6 + 3);
      const rowsBacking = new Int32Array(rowsLength + 16).fill(0x7eadbeef);
      const rows = rowsBacking.subarray(8, 8 + rowsLength);
      const cols = Uint8Array.from({ length: int(40) }, () => [0, 1, 2, 3, 255, int(256)][int(6)]);
      const hl = [0, 4, 12, 13, int(64), 4096][int(6)];
      const start = rnd() < 0.7 ? 0 : int(b.length + 1);
      const seq = rnd() < 0.8 ? SEQ : int(2 ** 32);
      const r = native().netlinkIndex(b, start, seq, hl, cols, rows, stride);
      const want = reference(b, start, seq, hl, cols, rowsLength, stride);
      expect(r).toBe(want.result);
      expect(Array.from(rows.subarray(0, want.rows.length))).toEqual(want.rows);
      expect(Array.from(rowsBacking.subarray(0, 8)).every((x) => x === 0x7eadbeef)).toBe(true);
      expect(Array.from(rowsBacking.subarray(8 + rowsLength)).every((x) => x === 0x7eadbeef)).toBe(true);
      // Every offset it gives lies in the view: a reader of the rows stays inside it too.
      for (let k = 0; k < want.rows.length; k += stride) {
        expect(rows[k] >= 16 && rows[k] <= rows[k + 1] && rows[k + 1] <= b.length).toBe(true);
        for (let c = 4; c < stride; c++) expect(rows[k + c] === -1 || (rows[k + c] >= rows[k] + 4 && rows[k + c] <= rows[k + 1])).toBe(true);
      }
    }
  });

  it('refuses huge and non-finite arguments instead of reading or writing with them', () => {
    const b = dumpAnswer(3, 1);
    const rows = new Int32Array(64);
    const cols = new Uint8Array(32);
    const call = native().netlinkIndex as (...args: unknown[]) => number;
    for (const start of [Number.NaN, Infinity, -Infinity, 2 ** 53, b.length + 0.5]) expect(() => call(b, start, SEQ, 12, cols, rows, 11)).toThrow(RangeError);
    for (const stride of [Number.NaN, Infinity, 65, 2 ** 40, -1]) expect(() => call(b, 0, SEQ, 12, cols, rows, stride)).toThrow(RangeError);
    for (const hl of [-1, 4097]) expect(() => call(b, 0, SEQ, hl, cols, rows, 11)).toThrow(RangeError);
    // Empty buffer, empty rows, empty columns: nothing indexed.
    expect(call(Buffer.alloc(0), 0, SEQ, 12, cols, rows, 11)).toBe(0);
    expect(call(b, 0, SEQ, 12, cols, new Int32Array(0), 11)).toBe(0);
    expect(call(b, 0, SEQ, 12, new Uint8Array(0), rows, 11) >>> 1).toBe(3);
  });
});
