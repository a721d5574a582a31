// A tick's requests of any kind handed to the I/O thread together
// (lib/netlink/send-tick.ts), without a socket: what each hand-off holds and
// when it goes, and that the token a hand-off is named by (a send error, the
// unsent requests at close or after a receive error) reaches every request it
// carried and only those.
import { describe, expect, it } from 'vitest';
import { AckGroup } from '../../lib/netlink/ack-group';
import { BULK_PART_BYTES } from '../../lib/netlink/bulk-send';
import { closedError, failReceive } from '../../lib/netlink/bulk-stop';
import { ClosedError, SystemError } from '../../lib/netlink/errors';
import { PendingRequest, RequestTracker } from '../../lib/netlink/request-tracker';
import { SendTick, type TickEntry } from '../../lib/netlink/send-tick';

/** A request message of `bytes` bytes numbered `seq` (its length need not be a multiple of 4). */
function message(seq: number, bytes = 20): Buffer {
  const b = Buffer.alloc(bytes, 0xee);
  b.writeUInt32LE(bytes, 0);
  b.writeUInt16LE(18, 4); // RTM_GETLINK
  b.writeUInt16LE(0, 6);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(0, 12);
  return b;
}

/** The sequence numbers in a datagram, in order (messages 4-aligned). */
function seqs(buf: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 16 <= buf.length; off += (buf.readUInt32LE(off) + 3) & ~3) out.push(buf.readUInt32LE(off + 8));
  return out;
}

interface HandedOff {
  bytes: Buffer;
  token: number;
  entries: TickEntry[];
}

function setup(before?: () => void): { tick: SendTick; handed: HandedOff[]; entry: (seq: number) => TickEntry } {
  const handed: HandedOff[] = [];
  const tick = new SendTick((bytes, token, entries) => handed.push({ bytes: Buffer.from(bytes), token, entries }), before);
  return { tick, handed, entry: (seq) => ({ firstSeq: seq, sentAs: seq }) };
}

describe('a tick of requests', () => {
  it('goes to the socket in one hand-off at the end of the tick, in the order made, named by its first request', async () => {
    const { tick, handed, entry } = setup();
    const entries = [entry(7), entry(8), entry(9)];
    tick.push(message(7, 21), entries[0]); // a length not a multiple of 4: padded as in any datagram
    tick.push(message(8), entries[1]);
    tick.push(message(9), entries[2]);
    expect(handed).toEqual([]); // nothing before the tick ends
    await Promise.resolve();
    expect(handed.length).toBe(1);
    expect(seqs(handed[0].bytes)).toEqual([7, 8, 9]);
    expect(handed[0].bytes.length).toBe(24 + 20 + 20);
    expect(handed[0].bytes.subarray(21, 24)).toEqual(Buffer.alloc(3)); // the padding is zeros, not the previous bytes
    expect(handed[0].token).toBe(7);
    expect(entries.map((e) => e.sentAs)).toEqual([7, 7, 7]);
    await Promise.resolve();
    expect(handed.length).toBe(1);
  });

  it('a single request goes as it is, under its own token', async () => {
    const { tick, handed, entry } = setup();
    const m = message(3);
    tick.push(m, entry(3));
    await Promise.resolve();
    expect(handed.length).toBe(1);
    expect(handed[0].token).toBe(3);
    expect(handed[0].entries[0].sentAs).toBe(3);
  });

  it('keeps each request as it was queued: a Buffer numbered again for a later call of the tick goes twice, once per number', async () => {
    const { tick, handed, entry } = setup();
    const m = message(5);
    tick.push(m, entry(5));
    m.writeUInt32LE(6, 8); // the connection stamps the next call's sequence number into the same Buffer
    tick.push(m, entry(6));
    await Promise.resolve();
    expect(handed.map((h) => seqs(h.bytes))).toEqual([[5, 6]]);
  });

  it('runs `before` first (the ack group of the tick joins the same hand-off)', async () => {
    const self: { tick?: SendTick } = {};
    const group = { firstSeq: 0, sentAs: 0 };
    const { tick, handed, entry } = setup(() => {
      if (group.firstSeq === 0) {
        group.firstSeq = group.sentAs = 20;
        self.tick?.push(message(20), group);
      }
    });
    self.tick = tick;
    tick.push(message(19), entry(19));
    await Promise.resolve();
    expect(handed.map((h) => seqs(h.bytes))).toEqual([[19, 20]]);
    expect(group.sentAs).toBe(19);
  });

  it('one microtask per tick: the ack group joining at the flush queues no second one', async () => {
    let queued = 0;
    const real = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => {
      queued++;
      real(fn);
    };
    try {
      const self: { tick?: SendTick } = {};
      const group = { firstSeq: 0, sentAs: 0 };
      const { tick, handed } = setup(() => {
        if (group.firstSeq !== 0) return;
        group.firstSeq = group.sentAs = 30; // as the connection's ack tick hands its group over
        self.tick?.push(message(30), group);
      });
      self.tick = tick;
      tick.schedule(); // a route add: the ack tick asks for the flush
      await new Promise((r) => setImmediate(r));
      expect(handed.map((h) => seqs(h.bytes))).toEqual([[30]]);
      expect(queued).toBe(1);
      // A request made after the flush still gets one of its own.
      tick.push(message(31), { firstSeq: 31, sentAs: 31 });
      await new Promise((r) => setImmediate(r));
      expect(handed.map((h) => seqs(h.bytes))).toEqual([[30], [31]]);
      expect(queued).toBe(2);
    } finally {
      globalThis.queueMicrotask = real;
    }
  });

  it('a request made while the hand-off runs (a failure settling a call that makes another) gets a flush of its own', async () => {
    const self: { tick?: SendTick } = {};
    const handed: number[][] = [];
    const tick = new SendTick((bytes) => {
      handed.push(seqs(Buffer.from(bytes)));
      if (handed.length === 1) self.tick?.push(message(41), { firstSeq: 41, sentAs: 41 });
    });
    self.tick = tick;
    tick.push(message(40), { firstSeq: 40, sentAs: 40 });
    await new Promise((r) => setImmediate(r));
    expect(handed).toEqual([[40], [41]]);
  });

  it('hands over at most 64 KiB at once; a request larger than that goes alone', async () => {
    const { tick, handed, entry } = setup();
    let seq = 1;
    for (let i = 0; i < 40; i++, seq++) tick.push(message(seq, 2000), entry(seq)); // 80,000 bytes
    expect(handed.length).toBe(1); // the first 32 went when the 33rd did not fit: the kernel starts on them
    const big = seq++;
    tick.push(message(big, BULK_PART_BYTES + 100), entry(big));
    for (let i = 0; i < 3; i++, seq++) tick.push(message(seq), entry(seq));
    await Promise.resolve();
    expect(handed.map((h) => seqs(h.bytes).length)).toEqual([32, 8, 1, 3]);
    expect(seqs(handed[2].bytes)).toEqual([big]);
    expect(handed[2].bytes.length).toBe(BULK_PART_BYTES + 100);
    expect(handed.filter((h) => h !== handed[2]).every((h) => h.bytes.length <= BULK_PART_BYTES)).toBe(true);
    expect(handed.flatMap((h) => seqs(h.bytes))).toEqual(Array.from({ length: seq - 1 }, (_, i) => i + 1));
    expect(handed.map((h) => h.token)).toEqual([1, 33, big, big + 1]);
  });

  it('dropped (the connection closes while it is corked): nothing is handed over', async () => {
    const { tick, handed, entry } = setup();
    tick.push(message(1), entry(1));
    tick.push(message(2), entry(2));
    expect(tick.tokens()).toEqual([1, 2]);
    expect(tick.drop().map((e) => e.firstSeq)).toEqual([1, 2]);
    await Promise.resolve();
    expect(handed).toEqual([]);
    expect(tick.size).toBe(0);
  });
});

describe('the token of a shared hand-off', () => {
  /** Requests 10, 11 and a group 12–13 that shared a hand-off (token 10), and request 14 sent on its own. */
  function shared() {
    const t = new RequestTracker();
    const outcomes = new Map<string, Error | 'ok'>();
    const add = (seq: number) => {
      const p = new PendingRequest('ack', `get ${seq}`, seq, seq, (e) => outcomes.set(`get ${seq}`, e ?? 'ok'));
      t.add(p);
      return p;
    };
    const a = add(10);
    const b = add(11);
    const g = new AckGroup(() => undefined);
    for (const seq of [12, 13]) g.add(message(0), `route ${seq}`, { complete: (e) => outcomes.set(`route ${seq}`, e ?? 'ok') });
    g.take();
    [g.firstSeq, g.lastSeq] = [12, 13];
    t.addGroup(g);
    const alone = add(14);
    // What SendTick.handOver does to the entries of one hand-off.
    for (const e of [a, b, g]) e.sentAs = 10;
    return { t, outcomes, alone };
  }

  it('reaches every request and group it carried, and no other (a send error)', () => {
    const { t, alone } = shared();
    expect(t.sentIn(10).map((x) => x.firstSeq)).toEqual([10, 11, 12]);
    expect(t.sentIn(14)).toEqual([alone]);
    expect(t.sentIn(11)).toEqual([]); // request 11 was not sent under its own token
  });

  it('says "never sent" for all of them when the hand-off is unsent at close, "sent" for the others', () => {
    const { t, outcomes } = shared();
    const unsent = new Set([10]);
    for (const p of t.pending()) t.fail(closedError(p, unsent), p);
    t.fail((op, token) => new ClosedError(op, !unsent.has(token)));
    for (const k of ['get 10', 'get 11', 'route 12', 'route 13']) expect(outcomes.get(k), k).toMatchObject({ sent: false });
    expect(outcomes.get('get 14')).toMatchObject({ sent: true });
    expect(t.size).toBe(0);
  });

  it('a receive error fails each as never sent when the hand-off was cancelled unsent', () => {
    const { t, outcomes } = shared();
    failReceive(t, 22, new Set([10]));
    for (const k of ['get 10', 'get 11', 'route 12', 'route 13']) {
      expect(outcomes.get(k), k).toBeInstanceOf(SystemError);
      expect(outcomes.get(k), k).toMatchObject({ sent: false });
    }
    expect(outcomes.get('get 14')).toMatchObject({ sent: true });
  });

  it('an overrun fails those sent and leaves the unsent hand-off to be answered', () => {
    const { t, outcomes } = shared();
    t.failSent((op) => new Error(`overrun: ${op}`), new Set([10]));
    expect(outcomes.get('get 14')).toBeInstanceOf(Error);
    for (const k of ['get 10', 'get 11', 'route 12', 'route 13']) expect(outcomes.has(k), k).toBe(false);
    expect(t.size).toBe(3);
  });
});
