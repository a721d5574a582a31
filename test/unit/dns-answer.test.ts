// The DNS responder's answering, without sockets: names per table, PTR,
// SRV, NXDOMAIN under the domain, truncation, and a fuzz of the message
// handler (it must never throw, whatever arrives).
import * as dnsPacket from 'dns-packet';
import type { Packet, RecordType } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { emptyStats, handleMessage, type HandlerContext } from '../../lib/dns/handler';
import { NameTable, reverseName } from '../../lib/dns/name-table';
import { validateDnsName, validateDnsNames } from '../../lib/validate/dns-names';

const table = new NameTable(
  [
    { names: ['web', 'www'], ipv4: '10.0.0.2', ipv6: 'fd00::2' },
    { names: ['pool'], ipv4: '10.0.0.3' },
    { names: ['pool'], ipv4: '10.0.0.4' },
    { names: ['shop'], ipv4: '10.0.0.200', ports: [{ service: 'http', protocol: 'tcp', port: 8080 }] },
    ...Array.from({ length: 60 }, (_, i) => ({ names: ['many'], ipv4: `10.0.1.${String(i + 1)}` })),
  ],
  'nlkit.internal',
);
const ctx = (): HandlerContext => ({
  stats: emptyStats(),
  ttl: 5,
  maxUdpReply: 1232,
  upstreams: undefined,
  table: () => Promise.resolve(table),
  ownsReverse: () => Promise.resolve(false),
});
const ask = async (name: string, type: RecordType = 'A', c = ctx(), viaTcp = false): Promise<Packet & { rcode?: string }> => {
  const out = await handleMessage(c, dnsPacket.encode({ type: 'query', id: 9, questions: [{ type, name, class: 'IN' }] }), viaTcp, true);
  return dnsPacket.decode(out as Buffer) as Packet & { rcode?: string };
};
const data = (p: Packet) => (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined));

describe('DNS answers from a name table', () => {
  it('A and AAAA, bare and with the domain, case-insensitive; all addresses of a shared name', async () => {
    expect(data(await ask('web'))).toEqual(['10.0.0.2']);
    expect(data(await ask('WWW.nlkit.internal.'))).toEqual(['10.0.0.2']);
    expect(data(await ask('web.nlkit.internal', 'AAAA'))).toEqual(['fd00::2']);
    expect(data(await ask('pool'))).toEqual(['10.0.0.3', '10.0.0.4']);
    expect(data(await ask('pool', 'AAAA'))).toEqual([]);
  });

  it('NXDOMAIN under the domain; REFUSED elsewhere without upstreams', async () => {
    expect((await ask('nope.nlkit.internal')).rcode).toBe('NXDOMAIN');
    expect((await ask('example.org')).rcode).toBe('REFUSED');
  });

  it('NODATA, not NXDOMAIN, for the domain itself and the names above a dotted one (RFC 8020: NXDOMAIN denies everything below)', async () => {
    const dotted = new NameTable([{ names: ['db.backend'], ipv4: '10.0.0.9' }], 'nlkit.internal');
    const c = { ...ctx(), table: () => Promise.resolve(dotted) };
    for (const name of ['nlkit.internal', 'backend.nlkit.internal', 'BACKEND.nlkit.internal.']) {
      const p = await ask(name, 'A', c);
      expect([name, p.rcode, p.answers]).toEqual([name, 'NOERROR', []]);
    }
    expect(data(await ask('db.backend.nlkit.internal', 'A', c))).toEqual(['10.0.0.9']);
    expect((await ask('other.nlkit.internal', 'A', c)).rcode).toBe('NXDOMAIN');
    expect((await ask('x.db.backend.nlkit.internal', 'A', c)).rcode).toBe('NXDOMAIN');
    expect((await ask('nlkit.internal', 'SOA')).rcode).toBe('NOERROR'); // the apex of any table
  });

  it('PTR for IPv4 and IPv6 (the first name); SRV with additionals', async () => {
    expect(reverseName('10.0.0.2')).toBe('2.0.0.10.in-addr.arpa');
    expect(data(await ask('2.0.0.10.in-addr.arpa', 'PTR'))).toEqual(['web.nlkit.internal']);
    expect(data(await ask(reverseName('fd00::2'), 'PTR'))).toEqual(['web.nlkit.internal']);
    const srv = await ask('_http._tcp.shop.nlkit.internal', 'SRV');
    expect(data(srv)).toEqual([{ priority: 0, weight: 1, port: 8080, target: 'shop.nlkit.internal' }]);
    expect(srv.additionals?.map((a) => ('data' in a ? a.data : undefined))).toEqual(['10.0.0.200']);
  });

  it('truncates a UDP answer over 512 bytes (TC, no records), not a TCP one', async () => {
    const c = ctx();
    const udp = await ask('many', 'A', c);
    expect([(udp.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE, udp.answers?.length]).toEqual([dnsPacket.TRUNCATED_RESPONSE, 0]);
    expect(c.stats.truncated).toBe(1);
    expect((await ask('many', 'A', c, true)).answers).toHaveLength(60);
  });

  it('compresses the owner names of local answers: 25 addresses of a name fit 512 bytes (over 900 written out)', async () => {
    const replicas = new NameTable(
      Array.from({ length: 25 }, (_, i) => ({ names: ['replicas'], ipv4: `10.0.3.${String(i + 1)}` })),
      'nlkit.internal',
    );
    const c: HandlerContext = { ...ctx(), table: () => Promise.resolve(replicas) };
    const q = dnsPacket.encode({ type: 'query', id: 5, questions: [{ type: 'A', name: 'replicas.nlkit.internal', class: 'IN' }] });
    const out = (await handleMessage(c, q, false, true)) as Buffer;
    const written = dnsPacket.encode(dnsPacket.decode(out)); // the same message with every name in full
    expect(written.length).toBeGreaterThan(900);
    expect(out.length).toBeLessThanOrEqual(512);
    const p = dnsPacket.decode(out);
    expect([(p.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE, p.answers?.length, c.stats.truncated]).toEqual([0, 25, 0]);
    expect(p.answers?.every((a) => a.name === 'replicas.nlkit.internal')).toBe(true);
    // SRV: the target's address records (additional) point into the question's name too
    const srv = (await handleMessage(
      ctx(),
      dnsPacket.encode({ type: 'query', id: 6, questions: [{ type: 'SRV', name: '_http._tcp.shop.nlkit.internal' }] }),
      true,
      true,
    )) as Buffer;
    expect(srv.length).toBeLessThan(dnsPacket.encode(dnsPacket.decode(srv)).length);
    expect(dnsPacket.decode(srv).additionals).toMatchObject([{ name: 'shop.nlkit.internal', data: '10.0.0.200' }]);
  });

  it('caps UDP answers at maxUdpReply (1232 by default) whatever EDNS buffer the client offers', async () => {
    const big = new NameTable(
      Array.from({ length: 100 }, (_, i) => ({ names: ['huge'], ipv4: `10.0.2.${String(i + 1)}` })),
      '',
    ); // about 1,650 bytes of answer
    const c: HandlerContext = { ...ctx(), table: () => Promise.resolve(big) };
    const edns = (size: number): Buffer =>
      dnsPacket.encode({
        type: 'query',
        id: 3,
        questions: [{ type: 'A', name: 'huge', class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: size, flags: 0, options: [] } as never],
      });
    const capped = dnsPacket.decode((await handleMessage(c, edns(4096), false, true)) as Buffer);
    expect([(capped.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE, capped.answers?.length]).toEqual([dnsPacket.TRUNCATED_RESPONSE, 0]);
    expect(c.stats.truncated).toBe(1);
    // a larger cap lets it through to a client offering 4096
    const wide = dnsPacket.decode((await handleMessage({ ...c, maxUdpReply: 4096 }, edns(4096), false, true)) as Buffer);
    expect(wide.answers).toHaveLength(100);
  });

  it('refuses a client from outside the network', async () => {
    const out = await handleMessage(ctx(), dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'web' }] }), false, false);
    expect((dnsPacket.decode(out as Buffer) as { rcode?: string }).rcode).toBe('REFUSED');
  });

  it('never throws on 10,000 random and mutated messages, and answers FORMERR or nothing', async () => {
    const c = ctx();
    const valid = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'SRV', name: '_http._tcp.shop.nlkit.internal' }] });
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let i = 0; i < 10_000; i++) {
      let m: Buffer;
      if (i % 2 === 0) m = Buffer.from(Array.from({ length: rand(100) }, () => rand(256)));
      else {
        m = Buffer.from(valid);
        for (let k = 0; k <= rand(4); k++) m[rand(m.length)] = rand(256);
        if (rand(3) === 0) m = m.subarray(0, rand(m.length));
      }
      const out = await handleMessage(c, m, i % 3 === 0, true);
      if (out !== undefined) expect(out.length).toBeGreaterThanOrEqual(12);
    }
    expect(c.stats.queries).toBe(10_000);
    expect(c.stats.malformed).toBeGreaterThan(500);
  });

  it('validates host names', () => {
    expect(validateDnsName('Web-1.backend', 'names[0]')).toBe('web-1.backend');
    for (const bad of ['', 'a_b', '-a', 'a-', 'a..b', 'x'.repeat(64), 5, undefined]) expect(() => validateDnsName(bad, 'names[0]')).toThrow(ValidationError);
    expect(validateDnsNames(['a', 'A', 'b'], 'names')).toEqual(['a', 'b']);
    expect(() => validateDnsNames('a', 'names')).toThrow(/names/);
  });
});
