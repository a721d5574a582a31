// Name compression of the messages the responder writes (lib/dns/wire.ts):
// owner names, and the names in the data of the RFC 1035 types, never in
// SRV's (RFC 2782) or any other type's (RFC 3597 4).
import * as dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { compressNames } from '../../lib/dns/wire';

/** A name as written in full ("\x03web\x05nlkit\x08internal\x00"). */
const wireName = (name: string): Buffer => Buffer.concat([...name.split('.').map((l) => Buffer.from([l.length, ...Buffer.from(l)])), Buffer.from([0])]);
/** A reply to "nlkit.internal" with one record of the apex, written in full, and as compressed. */
const reply = (answer: Answer): { full: Buffer; out: Buffer } => {
  const full = Buffer.from(
    dnsPacket.encode({ type: 'response', id: 1, flags: 0, questions: [{ type: answer.type, name: 'nlkit.internal', class: 'IN' }], answers: [answer] }),
  );
  return { full, out: compressNames(full) };
};
/** "nlkit.internal" as a 2-byte pointer in place of its 16 bytes. */
const SAVED = wireName('nlkit.internal').length - 2;

describe('DNS name compression', () => {
  it('compresses the names in NS, CNAME, PTR, MX and SOA data (RFC 1035 types), the data length following; reads back the same', () => {
    const soa = { mname: 'ns.nlkit.internal', rname: 'hostmaster.nlkit.internal', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 };
    const cases: [Answer, number][] = [
      [{ type: 'NS', name: 'nlkit.internal', ttl: 5, data: 'ns.nlkit.internal' }, 1],
      [{ type: 'CNAME', name: 'nlkit.internal', ttl: 5, data: 'web.nlkit.internal' }, 1],
      [{ type: 'PTR', name: 'nlkit.internal', ttl: 5, data: 'web.nlkit.internal' }, 1],
      [{ type: 'MX', name: 'nlkit.internal', ttl: 5, data: { preference: 10, exchange: 'mail.nlkit.internal' } }, 1],
      [{ type: 'SOA', name: 'nlkit.internal', ttl: 5, data: soa }, 2],
      // not these: SRV's target (RFC 2782), and the data of any other type (RFC 3597 4)
      [{ type: 'SRV', name: 'nlkit.internal', ttl: 5, data: { priority: 0, weight: 1, port: 80, target: 'web.nlkit.internal' } }, 0],
      [{ type: 'TXT', name: 'nlkit.internal', ttl: 5, data: ['web.nlkit.internal'] }, 0],
    ];
    for (const [answer, names] of cases) {
      const { full, out } = reply(answer);
      // the owner name and each data name: "nlkit.internal" a pointer
      expect([answer.type, full.length - out.length]).toEqual([answer.type, SAVED * (1 + names)]);
      expect(dnsPacket.decode(out)).toEqual(dnsPacket.decode(full));
    }
    // the SRV target stays in full, at the end of the message
    const { out } = reply(cases[5][0]);
    expect(out.subarray(-wireName('web.nlkit.internal').length)).toEqual(wireName('web.nlkit.internal'));
  });

  it('points a later data name at an earlier one, whole (a second PTR to the same name is 2 bytes of data)', () => {
    const ptr = (name: string): Answer => ({ type: 'PTR', name, ttl: 5, data: 'web.nlkit.internal' });
    const full = Buffer.from(
      dnsPacket.encode({ type: 'response', id: 2, questions: [{ type: 'PTR', name: 'a.test', class: 'IN' }], answers: [ptr('a.test'), ptr('b.test')] }),
    );
    const out = compressNames(full);
    expect(dnsPacket.decode(out)).toEqual(dnsPacket.decode(full));
    // the second record's data is a pointer (2 bytes in place of 20); its owner "b.test" is "b" and a pointer to "test" (4 bytes in place of 8); the first owner is a pointer to the question's name (2 in place of 8)
    expect(full.length - out.length).toBe(18 + 4 + 6);
    expect(out.readUInt16BE(out.length - 4)).toBe(2); // the last record's data length
  });
});

describe('DNS name compression of malformed messages', () => {
  /** A deterministic random source (xorshift), so a failure repeats. */
  const random = (seed: number): (() => number) => {
    let x = seed;
    return () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 0x100000000;
    };
  };
  /** A reply with random records of the types compressNames looks into and others, written in full (as dns-packet writes it). */
  const randomReply = (rnd: () => number): Buffer => {
    const names = ['nlkit.internal', 'web.nlkit.internal', 'a.b.c.test', 'test', 'MiXeD.NlKit.internal'];
    const name = (): string => names[Math.floor(rnd() * names.length)];
    const record = (): Answer => {
      const r = [
        (): Answer => ({ type: 'A', name: name(), ttl: 5, data: '10.0.0.1' }),
        (): Answer => ({ type: 'NS', name: name(), ttl: 5, data: name() }),
        (): Answer => ({ type: 'CNAME', name: name(), ttl: 5, data: name() }),
        (): Answer => ({ type: 'PTR', name: name(), ttl: 5, data: name() }),
        (): Answer => ({ type: 'MX', name: name(), ttl: 5, data: { preference: 1, exchange: name() } }),
        (): Answer => ({
          type: 'SOA',
          name: name(),
          ttl: 5,
          data: { mname: name(), rname: name(), serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 },
        }),
        (): Answer => ({ type: 'SRV', name: name(), ttl: 5, data: { priority: 0, weight: 1, port: 80, target: name() } }),
        (): Answer => ({ type: 'TXT', name: name(), ttl: 5, data: [name()] }),
      ];
      return r[Math.floor(rnd() * r.length)]();
    };
    const some = (): Answer[] => Array.from({ length: Math.floor(rnd() * 4) }, record);
    return Buffer.from(
      dnsPacket.encode({
        type: 'response',
        id: 1,
        questions: [{ type: 'A', name: name(), class: 'IN' }],
        answers: some(),
        authorities: some(),
        additionals: some(),
      }),
    );
  };
  /**
   * compressNames of `msg`, which must not throw nor write to it: the message itself or one no longer; one that
   * dns-packet reads the same when `msg` is a message as dns-packet writes it (what the responder compresses:
   * re-encoding it gives its bytes back). Other messages dns-packet may read past a record's data length.
   */
  const check = (msg: Buffer): void => {
    const copy = Buffer.from(msg);
    let out: Buffer;
    try {
      out = compressNames(msg);
    } catch (e) {
      throw new Error(`${String(e)} on ${msg.toString('hex')}`);
    }
    expect(msg).toEqual(copy);
    if (out === msg) return;
    expect(out.length).toBeLessThanOrEqual(msg.length);
    let ref: dnsPacket.Packet;
    try {
      ref = dnsPacket.decode(msg);
      if (!Buffer.from(dnsPacket.encode(ref)).equals(msg)) return;
    } catch {
      return;
    }
    expect(dnsPacket.decode(out), msg.toString('hex')).toEqual(ref);
  };

  it('returns every truncated, mutated or random message as it is, or compressed to one that reads the same', () => {
    const rnd = random(0x5eed);
    for (let i = 0; i < 100; i++) {
      const full = randomReply(rnd);
      check(full);
      // cut at every length, and the counts left as they were
      for (let cut = i % 5; cut < full.length; cut += 5) check(full.subarray(0, cut));
      // bytes changed at random: label lengths, pointers, counts, data lengths
      for (let j = 0; j < 20; j++) {
        const m = Buffer.from(full);
        for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
        check(m);
      }
    }
    for (let i = 0; i < 3000; i++) {
      const m = Buffer.alloc(Math.floor(rnd() * 80));
      for (let j = 0; j < m.length; j++) m[j] = Math.floor(rnd() * 256);
      if (m.length >= 12) m.writeUInt16BE(1 + Math.floor(rnd() * 2), 4); // mostly one question, as replies have
      check(m);
    }
  });

  it('reads only the bytes of the message it is given (a view into a larger buffer), never past them', () => {
    const rnd = random(7);
    for (let i = 0; i < 50; i++) {
      const full = randomReply(rnd);
      for (let cut = 12; cut < full.length; cut++) {
        // the bytes after the view are the rest of the message: reading them would make a cut message read whole
        const view = Buffer.from(full).subarray(0, cut);
        expect(compressNames(view)).toBe(view);
      }
    }
  });

  it('returns a message with bytes after its last record as it is (a decoder reading a record past its data length reads them)', () => {
    // found by the test above: an SRV record whose data length (3) is short of its fields; dns-packet reads them on, from the bytes after it
    const msg = Buffer.from(
      '000180000001000100010000056e6c6b697408696e7465726e616c0000010001054d69586544054e6c4b697408696e7465726e616c000002000100000005000c01610162016304746573740004746573740000210001000000050003000000010050016101620163047465737400',
      'hex',
    );
    expect(compressNames(msg)).toBe(msg);
    const { full } = reply({ type: 'PTR', name: 'nlkit.internal', ttl: 5, data: 'web.nlkit.internal' });
    const extra = Buffer.concat([full, Buffer.from([0, 0])]);
    expect(compressNames(extra)).toBe(extra);
    expect(compressNames(full).length).toBeLessThan(full.length);
  });
});
