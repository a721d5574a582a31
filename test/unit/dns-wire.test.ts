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
