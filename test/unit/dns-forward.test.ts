// Forwarding through the DNS responder's message handler, without sockets: a
// fake upstream keeps what it is sent and answers a prepared reply. What goes
// upstream (the responder's own OPT, never the client's), what comes back to
// the client (the upstream's bytes, compression kept, the responder's OPT),
// and truncation to the whole RRsets that fit the client's UDP size.
import * as dnsPacket from 'dns-packet';
import type { Answer, OptAnswer, Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { emptyStats, handleMessage, type HandlerContext } from '../../lib/dns/handler';
import { NameTable } from '../../lib/dns/name-table';
import type { UpstreamQuery } from '../../lib/dns/upstream';
import { readMessage } from '../../lib/dns/wire';
import { compressedReply, upstreamOpt } from '../helpers/dns';

const NAME = 'records.with.a.fairly.long.shared.suffix.test';
/** The client's OPT: its buffer size, DNSSEC OK, a client cookie (RFC 7873) and a client subnet (RFC 7871). */
const clientOpt = (udpPayloadSize: number): OptAnswer => ({
  type: 'OPT',
  name: '.',
  udpPayloadSize,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: dnsPacket.DNSSEC_OK,
  flag_do: true,
  options: [{ code: 10, data: Buffer.alloc(8, 0xab) } as never, { code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '10.97.0.0' } as never],
});
const queryBytes = (additionals: Answer[] = []): Buffer =>
  Buffer.from(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: NAME, class: 'IN' }], additionals }));

/** A handler context forwarding to a fake upstream that answers `reply(query)` and keeps what it was sent (the query with the responder's OPT; asking again without one is Upstreams', see test/integration/dns-edns-fallback.test.ts). */
function forwarding(reply: (query: Packet) => Buffer, maxUdpReply = 4096): { ctx: HandlerContext; received: Packet[] } {
  const received: Packet[] = [];
  const upstreams = {
    size: 1,
    forward: (query: UpstreamQuery) => {
      const q = dnsPacket.decode(query(true) ?? Buffer.alloc(0));
      received.push(q);
      return Promise.resolve(readMessage(reply(q)));
    },
  } as unknown as HandlerContext['upstreams'];
  const ctx: HandlerContext = {
    stats: emptyStats(),
    ttl: 5,
    maxUdpReply,
    upstreams,
    table: () => Promise.resolve(new NameTable([], '')),
    ownsReverse: () => Promise.resolve(false),
  };
  return { ctx, received };
}
const optsOf = (p: Packet): OptAnswer[] => (p.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
const data = (p: Packet): unknown[] => (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined));
const tc = (p: Packet): boolean => ((p.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) !== 0;

describe('DNS forwarding', () => {
  it("sends the upstream its own OPT (its UDP size, DNSSEC OK as asked, no cookie, no client subnet), never the client's", async () => {
    const { ctx, received } = forwarding((q) => compressedReply(q, 3, upstreamOpt()), 1232);
    const out = dnsPacket.decode((await handleMessage(ctx, queryBytes([clientOpt(4096)]), false, true)) as Buffer);
    expect(received).toHaveLength(1);
    const up = optsOf(received[0]);
    expect(up).toHaveLength(1);
    expect(up[0]).toMatchObject({ name: '.', udpPayloadSize: 1232, ednsVersion: 0, extendedRcode: 0, flag_do: true });
    expect(up[0].options).toEqual([]);
    // the client gets the responder's OPT, not the upstream's (its 4096 bytes and server cookie are about the hop between them)
    const back = optsOf(out);
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ udpPayloadSize: 1232, ednsVersion: 0, flag_do: true });
    expect(back[0].options).toEqual([]);
    expect(out.answers).toHaveLength(3);

    // a client without EDNS: the upstream still gets the responder's OPT (DO clear); the client's reply has none
    const plain = dnsPacket.decode((await handleMessage(ctx, queryBytes(), false, true)) as Buffer);
    expect(optsOf(received[1])).toMatchObject([{ udpPayloadSize: 1232, flag_do: false, options: [] }]);
    expect(optsOf(plain)).toEqual([]);
    expect(plain.answers).toHaveLength(3);
    // over TCP alike
    const overTcp = dnsPacket.decode((await handleMessage(ctx, queryBytes([clientOpt(4096)]), true, true)) as Buffer);
    expect(optsOf(received[2])[0].options).toEqual([]);
    expect(optsOf(overTcp)[0].options).toEqual([]);
  });

  it('keeps the name compression of a forwarded reply: never longer than the upstream sent it, whole when it fits', async () => {
    let sent = Buffer.alloc(0);
    const { ctx } = forwarding((q) => (sent = compressedReply(q, 40, upstreamOpt())), 1232);
    const out = (await handleMessage(ctx, queryBytes([clientOpt(1232)]), false, true)) as Buffer;
    expect(sent.length).toBeLessThan(1232); // ~900 bytes compressed; over 2,600 written out
    expect(out.length).toBeLessThanOrEqual(sent.length);
    const p = dnsPacket.decode(out);
    expect(tc(p)).toBe(false);
    expect(p.answers).toHaveLength(40);
    expect(p.answers?.[39]).toMatchObject({ name: `h39.${NAME}`, type: 'A', data: '192.0.2.39' });
    expect(ctx.stats.truncated).toBe(0);
  });

  it("truncates to the whole RRsets that fit the client's size, exactly at the boundary, TC set and the OPT kept", async () => {
    const { ctx } = forwarding((q) => compressedReply(q, 40, upstreamOpt()));
    // The sizes: the reply without the upstream's OPT, each record's length, and the responder's OPT (11 bytes, no options).
    const bare = compressedReply(dnsPacket.decode(queryBytes()), 40);
    const head = 12 + NAME.length + 2 + 4;
    const record = (i: number): number => 1 + `h${String(i)}`.length + 2 + 10 + 4;
    const upTo = (k: number): number => head + Array.from({ length: k }, (_, i) => record(i)).reduce((a, b) => a + b, 0);
    expect(upTo(40)).toBe(bare.length);
    for (const k of [25, 26, 39, 40]) {
      for (const size of [upTo(k) + 11, upTo(k) + 11 + record(k) - 1]) {
        if (k === 40 && size > upTo(40) + 11) continue;
        const out = (await handleMessage(ctx, queryBytes([clientOpt(size)]), false, true)) as Buffer;
        const p = dnsPacket.decode(out);
        expect([size, p.answers?.length, tc(p), out.length]).toEqual([size, k, k < 40, upTo(k) + 11]);
        expect(optsOf(p)).toMatchObject([{ udpPayloadSize: 4096 }]);
      }
    }
    // one byte short of all 40: 39 and TC
    const short = dnsPacket.decode((await handleMessage(ctx, queryBytes([clientOpt(upTo(40) + 10)]), false, true)) as Buffer);
    expect([short.answers?.length, tc(short)]).toEqual([39, true]);
    // without EDNS: 512 bytes, no OPT
    const plain = (await handleMessage(ctx, queryBytes(), false, true)) as Buffer;
    const k512 =
      Array.from({ length: 41 }, (_, k) => k)
        .filter((k) => upTo(k) <= 512)
        .pop() ?? 0;
    expect([dnsPacket.decode(plain).answers?.length, tc(dnsPacket.decode(plain)), plain.length]).toEqual([k512, true, upTo(k512)]);
    expect(optsOf(dnsPacket.decode(plain))).toEqual([]);
  });

  it('keeps an RRset whole: all of its records or none, and its additional records only when they fit (no TC for them)', async () => {
    // one RRset of 30 A records for the name, then an RRset of 2 TXT, then an additional A
    const rrset = (q: Packet): Buffer =>
      Buffer.from(
        dnsPacket.encode({
          id: q.id,
          type: 'response',
          flags: 0,
          questions: q.questions,
          answers: [
            ...Array.from({ length: 30 }, (_, i): Answer => ({ type: 'A', name: NAME, ttl: 60, data: `192.0.2.${String(i)}` })),
            { type: 'TXT', name: NAME, ttl: 60, data: ['a'] },
            { type: 'TXT', name: NAME, ttl: 60, data: ['b'] },
          ],
          additionals: [{ type: 'A', name: 'extra.test', ttl: 60, data: '192.0.2.99' }, upstreamOpt()],
        }),
      );
    const { ctx } = forwarding(rrset);
    const whole = (await handleMessage(ctx, queryBytes([clientOpt(4096)]), true, true)) as Buffer;
    const extra = 1 + 'extra.test'.length + 1 + 10 + 4;
    const txt = 2 * (NAME.length + 2 + 10 + 2);
    const ask = async (size: number): Promise<Packet> => dnsPacket.decode((await handleMessage(ctx, queryBytes([clientOpt(size)]), false, true)) as Buffer);
    // all but the additional record: whole answer, no TC; counted as additionalsOmitted, not truncated (the client does not ask again)
    const noExtra = await ask(whole.length - 1);
    expect([noExtra.answers?.length, tc(noExtra), noExtra.additionals?.length]).toEqual([32, false, 1]);
    expect(ctx.stats).toMatchObject({ truncated: 0, additionalsOmitted: 1 });
    expect(await ask(whole.length)).toMatchObject({ answers: { length: 32 }, additionals: { length: 2 } });
    expect(ctx.stats).toMatchObject({ truncated: 0, additionalsOmitted: 1 });
    // the TXT RRset does not fit whole: neither of its records, TC
    const noTxt = await ask(whole.length - extra - 1);
    expect([noTxt.answers?.length, tc(noTxt)]).toEqual([30, true]);
    expect(await ask(whole.length - extra - txt)).toMatchObject({ answers: { length: 30 } });
    // the A RRset does not fit whole: no records at all
    const none = await ask(whole.length - extra - txt - 1);
    expect([none.answers?.length, tc(none), optsOf(none).length]).toEqual([0, true, 1]);
    // TC replies are truncated, whatever else they lost; each reply counts once
    expect(ctx.stats).toMatchObject({ truncated: 3, additionalsOmitted: 1 });
  });
});

describe('DNS classes other than IN', () => {
  const names = new NameTable([{ names: ['web'], ipv4: '10.97.0.2', ports: [{ service: 'http', protocol: 'tcp', port: 80 }] }], 'nlkit.internal');
  /** A context whose fake upstream answers anything (and records it was asked), with the network's names and 10.97.0.0/24's reverse names. */
  const local = (): { ctx: HandlerContext; received: Packet[] } => {
    const f = forwarding((q) => compressedReply(q, 1));
    f.ctx.table = () => Promise.resolve(names);
    f.ctx.ownsReverse = (name) => Promise.resolve(/(^|\.)0\.97\.10\.in-addr\.arpa\.?$/i.test(name));
    return f;
  };
  const askClass = async (
    ctx: HandlerContext,
    name: string,
    type: 'A' | 'PTR' | 'SRV' | 'TXT',
    klass: 'CH' | 'ANY' | 'HS',
  ): Promise<Packet & { rcode?: string }> =>
    dnsPacket.decode(
      (await handleMessage(ctx, Buffer.from(dnsPacket.encode({ type: 'query', id: 4, questions: [{ type, name, class: klass }] })), false, true)) as Buffer,
    ) as Packet & { rcode?: string };

  it('never forwards a name of the network or a served reverse name, whatever its class: CH and others REFUSED, ANY answered as IN', async () => {
    const { ctx, received } = local();
    for (const [name, type] of [
      ['web.nlkit.internal', 'A'],
      ['web', 'A'],
      ['nope.nlkit.internal', 'TXT'],
      ['nlkit.internal', 'TXT'],
      ['_http._tcp.web.nlkit.internal', 'SRV'],
      ['2.0.97.10.in-addr.arpa', 'PTR'],
      ['99.0.97.10.in-addr.arpa', 'PTR'],
    ] as const)
      for (const klass of ['CH', 'HS'] as const) {
        const p = await askClass(ctx, name, type, klass);
        expect([name, klass, p.rcode, p.answers]).toEqual([name, klass, 'REFUSED', []]);
      }
    expect(data(await askClass(ctx, 'web.nlkit.internal', 'A', 'ANY'))).toEqual(['10.97.0.2']);
    expect(data(await askClass(ctx, '2.0.97.10.in-addr.arpa', 'PTR', 'ANY'))).toEqual(['web.nlkit.internal']);
    expect((await askClass(ctx, '99.0.97.10.in-addr.arpa', 'PTR', 'ANY')).rcode).toBe('NXDOMAIN');
    expect((await askClass(ctx, 'nope.nlkit.internal', 'A', 'ANY')).rcode).toBe('NXDOMAIN');
    const any = await askClass(ctx, 'web.nlkit.internal', 'A', 'ANY');
    expect([any.questions?.[0].class, any.answers?.[0].class, (any.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER]).toEqual([
      'ANY',
      'IN',
      dnsPacket.AUTHORITATIVE_ANSWER,
    ]);
    expect(received).toEqual([]);
    expect(ctx.stats).toMatchObject({ forwarded: 0, refused: 14, answered: 5 });
  });

  it('refuses every name in another class (CH version.bind, hostname.bind, HS): the host resolver is not fingerprinted through it; ANY still forwarded', async () => {
    const { ctx, received } = local();
    const failing = local(); // sources down: CH is refused before the names are read, not SERVFAIL
    failing.ctx.table = () => Promise.resolve(undefined);
    for (const [name, klass] of [
      ['version.bind', 'CH'],
      ['hostname.bind', 'CH'],
      ['id.server', 'CH'],
      ['example.org', 'HS'],
    ] as const) {
      const p = await askClass(ctx, name, 'TXT', klass);
      expect([name, p.rcode, p.answers, p.questions?.[0].class]).toEqual([name, 'REFUSED', [], klass]);
      expect((await askClass(failing.ctx, name, 'TXT', klass)).rcode).toBe('REFUSED');
    }
    await askClass(ctx, 'example.org', 'A', 'ANY');
    expect(received.map((q) => q.questions?.[0].class)).toEqual(['ANY']);
    expect(ctx.stats).toMatchObject({ refused: 4, forwarded: 1 });
  });
});
