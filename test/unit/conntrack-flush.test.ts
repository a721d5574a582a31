// flush(filter) against a stand-in kernel: the deletes carry the dumped
// tuple, zone and id unchanged and go as one bulk call (only the last asks
// for an ack), many to a datagram; an
// entry that vanished between the dump and its delete (ENOENT) is not
// counted; any other refusal fails the flush with an error naming the entry.
// A real kernel cannot be made to lose an entry at that exact moment, hence
// the stand-in.
import { describe, expect, it } from 'vitest';
import * as C from '../../lib/conntrack/constants';
import { conntrackOps, type ConntrackFilter } from '../../lib/conntrack/conntrack';
import { writeTuple } from '../../lib/conntrack/entry';
import { NLMSG_ERROR, NLM_F_ACK } from '../../lib/netlink/constants';
import { NetlinkError, NetlinkOverrunError, ValidationError } from '../../lib/netlink/errors';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlAttributes, nfnlType } from '../../lib/netlink/nfnetlink';
import { runAsync, runSync, type AsyncExecutor, type NetlinkCall, type SyncExecutor } from '../../lib/netlink/operation';
import { Attributes, parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';

const ctType = (msg: number) => nfnlType(NFNL_SUBSYS_CTNETLINK, msg);
const AF_INET = 2;
const AF_INET6 = 10;
const EOPNOTSUPP = 95;
const ENOENT = 2;
const EPERM = 1;

interface Flow {
  id: number;
  dport: number;
  zone?: number;
}

/** The IPCTNL_MSG_CT_NEW message the kernel would dump for a UDP flow 10.0.0.1:1000+id -> 10.0.0.2:dport. */
function dumped(f: Flow): NetlinkMessage {
  const w = new NetlinkWriter();
  beginNfnl(w, ctType(C.IPCTNL_MSG_CT_NEW), 0, AF_INET);
  writeTuple(w, C.CTA_TUPLE_ORIG, 4, 17, { src: '10.0.0.1', dst: '10.0.0.2', sport: 1000 + f.id, dport: f.dport });
  writeTuple(w, C.CTA_TUPLE_REPLY, 4, 17, { src: '10.0.0.2', dst: '10.0.0.1', sport: f.dport, dport: 1000 + f.id });
  if (f.zone !== undefined) w.be16(C.CTA_ZONE, f.zone);
  w.be32(C.CTA_ID, f.id);
  return parseMessages(w.end().finish())[0];
}

/** The NLMSG_ERROR reply the kernel sends for a failed request. */
function errorReply(seq: number, errno: number): NetlinkMessage {
  const payload = Buffer.alloc(20);
  payload.writeInt32LE(-errno, 0);
  return { type: NLMSG_ERROR, flags: 0, seq, pid: 0, payload };
}

/**
 * A stand-in kernel holding `flows`; deletes of the ids in `refuse` fail with
 * that errno. Deletes arrive as the connection sends them: several to a
 * datagram, numbered on the way out, answered only when they fail.
 */
function kernel(flows: Flow[], refuse: Map<number, number>, opts: { refuseFilter?: boolean; count?: number } = {}) {
  const deleted: Array<{ id?: number; zone?: number; tuple?: Buffer }> = [];
  const datagrams: number[] = [];
  const dumps: NetlinkMessage[] = [];
  let seq = 0;
  const answer = (c: NetlinkCall): NetlinkMessage[] => {
    if (c.kind === 'bulk') return deletes(c);
    const [m] = parseMessages(c.message);
    if (m.type === ctType(C.IPCTNL_MSG_CT_GET_STATS)) {
      const w = new NetlinkWriter();
      beginNfnl(w, m.type, 0, 0);
      w.be32(C.CTA_STATS_GLOBAL_ENTRIES, opts.count ?? flows.length);
      return parseMessages(w.end().finish());
    }
    if (c.kind === 'dump') {
      dumps.push(m);
      // Like a kernel before CTA_FILTER's flags it does not know, or without it.
      if (opts.refuseFilter && nfnlAttributes(m).get(C.CTA_FILTER)) throw new NetlinkError({ errno: EOPNOTSUPP, operation: c.operation });
      // The dump's family selects entries (all of these flows are IPv4); the rest of the filter is the caller's to check.
      return m.payload[0] === AF_INET6 ? [] : flows.map(dumped);
    }
    throw new Error(`unexpected ${c.kind} call`);
  };
  const deletes = (c: NetlinkCall): NetlinkMessage[] => {
    // Part by part, as the async connection sends them (each part is a datagram).
    const parts: Buffer[] = [];
    for (let part = c.nextPart?.(); part; part = c.nextPart?.()) parts.push(part);
    for (const part of parts) datagrams.push(part.length);
    const replies: NetlinkMessage[] = [];
    const requests = parts.flatMap((part) => {
      const offsets: Array<[Buffer, number]> = [];
      for (let off = 0; off < part.length; off += part.readUInt32LE(off)) offsets.push([part, off]);
      return offsets;
    });
    for (const [k, [part, off]] of requests.entries()) {
      part.writeUInt32LE(++seq, off + 8); // as the connection stamps it
      const [d] = parseMessages(part.subarray(off));
      expect(d.type).toBe(ctType(C.IPCTNL_MSG_CT_DELETE));
      expect(d.flags & NLM_F_ACK).toBe(k === requests.length - 1 ? NLM_F_ACK : 0); // only the last asks for the ack
      const a = nfnlAttributes(d);
      const id = a.be32(C.CTA_ID);
      const errno = id === undefined ? undefined : refuse.get(id);
      if (errno !== undefined) replies.push(errorReply(d.seq, errno));
      else deleted.push({ id, zone: a.be16(C.CTA_ZONE), tuple: a.get(C.CTA_TUPLE_ORIG) });
    }
    return replies;
  };
  const ex: AsyncExecutor & SyncExecutor = {
    execute: (c) => {
      try {
        return Promise.resolve(answer(c));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    },
    executeSync: answer,
  };
  return { ex, deleted, datagrams, dumps };
}

const flows: Flow[] = [
  { id: 1, dport: 9 },
  { id: 2, dport: 9 }, // vanishes before its delete
  { id: 3, dport: 9, zone: 7 },
  { id: 4, dport: 53 },
];

describe('conntrack flush', () => {
  it('deletes by the dumped tuple, zone and id; an entry gone meanwhile is not counted (async and sync)', async () => {
    for (const run of ['async', 'sync'] as const) {
      const k = kernel(flows, new Map([[2, ENOENT]]));
      const op = conntrackOps.flush({ protocol: 'udp', original: { dport: 9 } });
      const n = run === 'async' ? await runAsync(k.ex, op) : runSync(k.ex, op);
      expect(n).toBe(2);
      expect(k.deleted.map((d) => [d.id, d.zone])).toEqual([
        [1, undefined],
        [3, 7],
      ]);
      // Byte for byte the tuple the kernel dumped.
      expect(k.deleted[1].tuple).toEqual(nfnlAttributes(dumped(flows[2])).get(C.CTA_TUPLE_ORIG));
    }
  });

  it('filters by zone before deleting', async () => {
    const k = kernel(flows, new Map());
    expect(await runAsync(k.ex, conntrackOps.flush({ zone: 7 }))).toBe(1);
    expect(k.deleted.map((d) => d.id)).toEqual([3]);
  });

  it('fails on any other refusal, naming the entry', async () => {
    const k = kernel(flows, new Map([[3, EPERM]]));
    const err = await runAsync(k.ex, conntrackOps.flush({ protocol: 'udp' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EPERM', operation: 'delete conntrack entry udp 10.0.0.1:1003 -> 10.0.0.2:9' });
  });

  it('packs thousands of deletes into datagrams of at most 64 KiB and counts them exactly', async () => {
    const many = Array.from({ length: 3000 }, (_, i): Flow => ({ id: i + 1, dport: 9 }));
    for (const run of ['async', 'sync'] as const) {
      const k = kernel(many, new Map([[1500, ENOENT]]));
      const op = conntrackOps.flush({ original: { dport: 9 } });
      expect(run === 'async' ? await runAsync(k.ex, op) : runSync(k.ex, op)).toBe(2999);
      expect(k.deleted.map((d) => d.id)).toEqual(many.map((f) => f.id).filter((id) => id !== 1500));
      expect(k.datagrams.length).toBeGreaterThan(1);
      expect(Math.max(...k.datagrams)).toBeLessThanOrEqual(64 * 1024);
    }
  });

  it('fails when error replies were lost (the count would be unknown)', async () => {
    const k = kernel(flows, new Map());
    const ex: AsyncExecutor = {
      execute: (c) => (c.kind === 'bulk' ? Promise.reject(new NetlinkOverrunError('flush conntrack entries')) : k.ex.execute(c)),
    };
    await expect(runAsync(ex, conntrackOps.flush({ protocol: 'udp' }))).rejects.toBeInstanceOf(NetlinkOverrunError);
  });

  it('lets the kernel filter by protocol and port, one dump per family, and re-checks every entry', async () => {
    const k = kernel(flows, new Map(), { count: 5000 }); // enough entries to pay for walking the table twice
    expect(await runAsync(k.ex, conntrackOps.flush({ protocol: 'udp', original: { dport: 53 } }))).toBe(1);
    expect(k.deleted.map((d) => d.id)).toEqual([4]); // the stand-in dumps everything: the check here picked the one
    expect(k.dumps.map((d) => d.payload[0])).toEqual([AF_INET, AF_INET6]);
    const a = nfnlAttributes(k.dumps[0]);
    const filter = new Attributes(a.get(C.CTA_FILTER)!);
    expect(filter.u32(C.CTA_FILTER_ORIG_FLAGS)).toBe(C.CTA_FILTER_F_PROTO_NUM | C.CTA_FILTER_F_PROTO_DST_PORT);
    expect(filter.u32(C.CTA_FILTER_REPLY_FLAGS)).toBe(0);
    const proto = new Attributes(a.get(C.CTA_TUPLE_ORIG)!).nested(C.CTA_TUPLE_PROTO)!;
    expect([proto.u8(C.CTA_PROTO_NUM), proto.be16(C.CTA_PROTO_DST_PORT), proto.be16(C.CTA_PROTO_SRC_PORT)]).toEqual([17, 53, undefined]);
  });

  it('asks for everything when the kernel refuses the filter, with the same result (async and sync)', async () => {
    for (const run of ['async', 'sync'] as const) {
      const k = kernel(flows, new Map(), { refuseFilter: true, count: 5000 });
      const op = conntrackOps.flush({ protocol: 'udp', original: { dport: 9 } });
      expect(run === 'async' ? await runAsync(k.ex, op) : runSync(k.ex, op)).toBe(3);
      expect(k.deleted.map((d) => d.id)).toEqual([1, 2, 3]);
      const last = k.dumps[k.dumps.length - 1];
      expect([last.payload[0], nfnlAttributes(last).get(C.CTA_FILTER)]).toEqual([0, undefined]);
    }
  });

  it('walks the table once when the namespace has few entries (no family: no tuple filter)', async () => {
    const k = kernel(flows, new Map(), { count: 1999 });
    expect(await runAsync(k.ex, conntrackOps.flush({ protocol: 'udp', original: { dport: 53 } }))).toBe(1);
    expect(k.dumps.map((d) => [d.payload[0], nfnlAttributes(d).get(C.CTA_FILTER)])).toEqual([[0, undefined]]);
    // With a family the kernel filters in one walk, however few entries.
    const v4 = kernel(flows, new Map(), { count: 4 });
    await runAsync(v4.ex, conntrackOps.flush({ family: 4, protocol: 'udp', original: { dport: 53 } }));
    expect(v4.dumps.map((d) => [d.payload[0], nfnlAttributes(d).get(C.CTA_FILTER) !== undefined])).toEqual([[AF_INET, true]]);
  });

  it('sends the mark masked (the kernel compares the masked entry mark with the value as sent)', async () => {
    const k = kernel(flows, new Map());
    await runAsync(k.ex, conntrackOps.list({ mark: 0x105, markMask: 0xff }));
    const a = nfnlAttributes(k.dumps[0]);
    expect([a.be32(C.CTA_MARK), a.be32(C.CTA_MARK_MASK)]).toEqual([0x05, 0xff]);
  });

  it('refuses a filter it cannot mean before sending anything (a misspelt key would widen it to every entry)', async () => {
    const bad: Array<[unknown, string]> = [
      [{ protcol: 'udp' }, 'conntrack filter'],
      [{ original: { dprt: 9 } }, 'original'],
      [{ reply: { source: '10.0.0.1' } }, 'reply'],
      [{ family: 5 }, 'family'],
      [{ zone: 70000 }, 'zone'],
      [{ mark: -1 }, 'mark'],
      [{ mark: 1, markMask: 2 ** 32 }, 'markMask'],
      [{ status: ['dnatt'] }, 'status'],
      [{ status: 'dnat' }, 'status'],
    ];
    for (const [filter, field] of bad) {
      const k = kernel(flows, new Map());
      const err = await runAsync(k.ex, conntrackOps.flush(filter as ConntrackFilter)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ field });
      expect([k.dumps.length, k.deleted.length]).toEqual([0, 0]);
      expect(() => conntrackOps.list(filter as ConntrackFilter).next()).toThrow(ValidationError);
    }
  });
});
