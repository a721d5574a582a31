// Upstreams that fail queries with an EDNS OPT record: some middleboxes drop
// them silently, old servers answer FORMERR. The responder's forwarding
// (handleMessage with a real Upstreams) to a fake upstream on the loopback
// of a test namespace, over real UDP: the query asked again without the OPT,
// the server then asked without for a while, and with an OPT again after.
import type * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import type { OptAnswer, Packet } from 'dns-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bindUdp } from '../../lib';
import { emptyStats, handleMessage, type HandlerContext } from '../../lib/dns/handler';
import { NameTable } from '../../lib/dns/name-table';
import { PLAIN_MS, Upstreams } from '../../lib/dns/upstream';
import { compressedReply, optsOf } from '../helpers/dns';
import { useNetns } from '../helpers/netns';

/** What the fake upstream does with a query that has an OPT: answers it, drops it (a middlebox), FORMERR without an OPT (no EDNS), FORMERR with one (EDNS, a bad query); or answers with a record dns-packet cannot read (see {@link oddData}). */
type Mode = 'answer' | 'drop' | 'formerr' | 'formerr-edns' | 'odd-data';
const clientOpt: OptAnswer = { type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
const query = (edns: boolean): Buffer =>
  Buffer.from(
    dnsPacket.encode({
      type: 'query',
      id: 0x4242,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'www.example.test', class: 'IN' }],
      additionals: edns ? [clientOpt] : [],
    }),
  );

/** The reply with a TXT record after its answers whose string (5 bytes) is longer than its data (2): dns-packet does not read it, a client may. */
const oddData = (reply: Buffer): Buffer => {
  const txt = Buffer.from([0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 5, 0x61]);
  const out = Buffer.concat([reply, txt]);
  out.writeUInt16BE(out.readUInt16BE(6) + 1, 6);
  return out;
};

describe('DNS forwarding to upstreams that fail queries with an OPT', () => {
  const box = useNetns('up');
  let sock: dgram.Socket;
  let mode: Mode = 'answer';
  /** What the upstream received: "opt" or "plain" per query, whether it answered or not. */
  let log: string[] = [];

  beforeAll(async () => {
    sock = await bindUdp({ netns: box.ns('up'), host: '127.0.0.1', port: 53 });
    sock.on('message', (msg, from) => {
      const q = dnsPacket.decode(msg);
      const opt = optsOf(q).length > 0;
      log.push(opt ? 'opt' : 'plain');
      if (opt && mode === 'drop') return;
      const formerr = opt && (mode === 'formerr' || mode === 'formerr-edns');
      const reply = formerr
        ? Buffer.from(
            dnsPacket.encode({ id: q.id, type: 'response', flags: 1, questions: q.questions, additionals: mode === 'formerr-edns' ? [clientOpt] : [] }),
          )
        : compressedReply(q, 3);
      sock.send(mode === 'odd-data' ? oddData(reply) : reply, from.port, from.address);
    });
  });
  afterAll(() => sock?.close());
  afterEach(() => vi.restoreAllMocks());

  /** A handler context forwarding to the fake upstream (or `servers`), 300 ms per server. */
  const forwarding = (servers = [{ host: '127.0.0.1', port: 53 }]): { ctx: HandlerContext; upstreams: Upstreams } => {
    const stats = emptyStats();
    const upstreams = new Upstreams(servers, box.ns('up'), 300, () => stats.upstreamMismatches++);
    const ctx: HandlerContext = {
      stats,
      ttl: 5,
      maxUdpReply: 1232,
      upstreams,
      table: () => Promise.resolve(new NameTable([], '')),
      ownsReverse: () => Promise.resolve(false),
    };
    return { ctx, upstreams };
  };
  const ask = async (ctx: HandlerContext, edns = true): Promise<Packet & { rcode?: string }> =>
    dnsPacket.decode((await handleMessage(ctx, query(edns), false, true)) as Buffer) as Packet & { rcode?: string };
  const start = (m: Mode): void => {
    mode = m;
    log = [];
  };

  it('asks again without the OPT when a query with one goes unanswered, then asks that server without for a while', async () => {
    const { ctx, upstreams } = forwarding();
    try {
      start('drop');
      const first = await ask(ctx);
      expect([first.rcode, first.id, first.answers?.length]).toEqual(['NOERROR', 0x4242, 3]);
      expect(optsOf(first)).toMatchObject([{ udpPayloadSize: 1232 }]); // the client still gets the responder's OPT
      expect(log).toEqual(['opt', 'plain']);
      expect(upstreams.plainServers).toEqual([{ host: '127.0.0.1', port: 53 }]);
      // remembered: no more waiting for a timeout, for EDNS clients and others
      log = [];
      expect((await ask(ctx)).answers).toHaveLength(3);
      expect((await ask(ctx, false)).answers).toHaveLength(3);
      expect(log).toEqual(['plain', 'plain']);
      expect(ctx.stats).toMatchObject({ forwarded: 3, upstreamFailures: 0 });
    } finally {
      upstreams.close();
    }
  });

  it('asks with an OPT again after a while: the path fixed, it stays so; still dropping, plain again', async () => {
    const { ctx, upstreams } = forwarding();
    try {
      start('drop');
      await ask(ctx);
      expect(log).toEqual(['opt', 'plain']);
      const now = Date.now();
      vi.spyOn(Date, 'now').mockImplementation(() => now + PLAIN_MS + 1);
      // still dropping: one probe with an OPT, then plain, and remembered again
      log = [];
      expect((await ask(ctx)).answers).toHaveLength(3);
      expect(log).toEqual(['opt', 'plain']);
      expect(upstreams.plainServers).toHaveLength(1);
      // fixed: the probe is answered and the server is asked with an OPT from then on
      vi.spyOn(Date, 'now').mockImplementation(() => now + 2 * PLAIN_MS + 2);
      start('answer');
      await ask(ctx);
      await ask(ctx);
      expect(log).toEqual(['opt', 'opt']);
      expect(upstreams.plainServers).toEqual([]);
    } finally {
      upstreams.close();
    }
  });

  it('asks again without an OPT on FORMERR without one (no EDNS, RFC 6891 7), not on FORMERR with one (a bad query)', async () => {
    const old = forwarding();
    try {
      start('formerr');
      expect((await ask(old.ctx)).answers).toHaveLength(3);
      expect((await ask(old.ctx)).answers).toHaveLength(3);
      expect(log).toEqual(['opt', 'plain', 'plain']);
      expect(old.upstreams.plainServers).toHaveLength(1);
    } finally {
      old.upstreams.close();
    }
    const strict = forwarding();
    try {
      start('formerr-edns');
      expect((await ask(strict.ctx)).rcode).toBe('FORMERR');
      expect(log).toEqual(['opt']);
      expect(strict.upstreams.plainServers).toEqual([]);
    } finally {
      strict.upstreams.close();
    }
  });

  it('does not take a server that answers nothing for one that needs plain queries: SERVFAIL, the next server, nothing remembered', async () => {
    // nothing listens on port 54: no answer with or without an OPT
    const { ctx, upstreams } = forwarding([
      { host: '127.0.0.1', port: 54 },
      { host: '127.0.0.1', port: 53 },
    ]);
    try {
      start('answer');
      expect((await ask(ctx)).answers).toHaveLength(3); // from the second server, asked with an OPT
      expect(log).toEqual(['opt']);
      expect(upstreams.plainServers).toEqual([]);
    } finally {
      upstreams.close();
    }
    const dead = forwarding([{ host: '127.0.0.1', port: 54 }]);
    try {
      expect((await ask(dead.ctx)).rcode).toBe('SERVFAIL');
      expect(dead.upstreams.plainServers).toEqual([]);
      expect(dead.ctx.stats).toMatchObject({ upstreamFailures: 1 });
    } finally {
      dead.upstreams.close();
    }
  });

  it('reads a forwarded reply once, for what it needs (question, code, size): a record dns-packet cannot read goes on as the upstream sent it', async () => {
    const { ctx, upstreams } = forwarding();
    try {
      start('odd-data');
      const raw = (await handleMessage(ctx, query(false), false, true)) as Buffer;
      expect(() => dnsPacket.decode(raw)).toThrow(); // not a reply of the responder's making: the upstream's bytes
      expect([raw.readUInt16BE(0), raw.readUInt16BE(2) & 0xf, raw.readUInt16BE(6)]).toEqual([0x4242, 0, 4]);
      expect(ctx.stats).toMatchObject({ forwarded: 1, upstreamFailures: 0, upstreamMismatches: 0 });
      expect(log).toEqual(['opt']);
    } finally {
      upstreams.close();
    }
  });
});
