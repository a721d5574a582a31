// DNS queries from a test namespace (dns-packet over nlkit's in-namespace
// sockets), and a tiny upstream server to forward to, in a test namespace.
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, OptAnswer, Packet, RecordType } from 'dns-packet';
import { bindUdp, connectTcp, listenTcp } from '../../lib';
import { frame, readFrames } from '../../lib/dns/tcp-frames';

let nextId = 1;

/** One query over UDP from `netns` to `server`; the decoded reply, or 'timeout'. */
export async function udpQuery(netns: string, server: string, name: string, type: RecordType = 'A', port = 53): Promise<Packet | 'timeout'> {
  const sock = await bindUdp({ netns, host: server.includes(':') ? '::' : '0.0.0.0' });
  try {
    const id = nextId++ & 0xffff;
    const reply = new Promise<Packet | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 3000);
      sock.on('message', (msg) => {
        clearTimeout(timer);
        resolve(dnsPacket.decode(msg));
      });
    });
    sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] }), port, server);
    return await reply;
  } finally {
    sock.close();
  }
}

/** Raw bytes over UDP; the reply's bytes or undefined after `waitMs`. */
export async function udpRaw(sock: dgram.Socket, server: string, bytes: Buffer, port = 53, waitMs = 0): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sock.off('message', on);
      resolve(undefined);
    }, waitMs);
    const on = (msg: Buffer): void => {
      clearTimeout(timer);
      resolve(msg);
    };
    sock.once('message', on);
    sock.send(bytes, port, server);
  });
}

/** One query over TCP. */
export async function tcpQuery(netns: string, server: string, name: string, type: RecordType = 'A', port = 53): Promise<Packet> {
  const sock = await connectTcp({ netns, host: server, port });
  try {
    const reply = new Promise<Packet>((resolve, reject) => {
      sock.on('error', reject);
      readFrames(sock, (m) => resolve(dnsPacket.decode(m)));
    });
    sock.write(frame(dnsPacket.encode({ type: 'query', id: nextId++ & 0xffff, questions: [{ type, name, class: 'IN' }] })));
    return await reply;
  } finally {
    sock.destroy();
  }
}

export const rcodeOf = (p: Packet | 'timeout'): string => (p === 'timeout' ? p : ((p as Packet & { rcode?: string }).rcode ?? '?'));
export const dataOf = (p: Packet | 'timeout'): unknown[] => (p === 'timeout' ? [] : (p.answers ?? []).map((a: Answer) => ('data' in a ? a.data : undefined)));
export const truncated = (p: Packet | 'timeout'): boolean => p !== 'timeout' && ((p.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) !== 0;

/** An OPT record as an upstream server might send it: its own UDP size and a server cookie (RFC 7873). */
export const upstreamOpt = (): OptAnswer => ({
  type: 'OPT',
  name: '.',
  udpPayloadSize: 4096,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: [{ code: 10, data: Buffer.alloc(24, 0xcc) } as never],
});

/**
 * A reply to `query` (one question) with `count` A records of owners "h<i>.<qname>", name-compressed as a real
 * server sends it: each owner is its label and a pointer to the question's name (RFC 1035 4.1.4). Each record is
 * an RRset of its own. `opt` (encoded) goes in the additional section.
 */
export function compressedReply(query: Packet, count: number, opt?: OptAnswer): Buffer {
  const q = query.questions?.[0];
  if (!q) throw new Error('no question');
  const head = Buffer.from(dnsPacket.encode({ id: query.id, type: 'response', flags: 0, questions: [q] }));
  const parts = [head];
  for (let i = 0; i < count; i++) {
    const label = Buffer.from(`h${String(i)}`);
    const rr = Buffer.alloc(1 + label.length + 2 + 10 + 4);
    rr[0] = label.length;
    label.copy(rr, 1);
    let o = 1 + label.length;
    o = rr.writeUInt16BE(0xc00c, o); // pointer to the question's name
    o = rr.writeUInt16BE(1, o); // A
    o = rr.writeUInt16BE(1, o); // IN
    o = rr.writeUInt32BE(60, o);
    o = rr.writeUInt16BE(4, o);
    Buffer.from([192, 0, 2, i & 0xff]).copy(rr, o);
    parts.push(rr);
  }
  const optBytes = opt ? Buffer.from(dnsPacket.encode({ type: 'response', questions: [], additionals: [opt] })).subarray(12) : Buffer.alloc(0);
  const out = Buffer.concat([...parts, optBytes]);
  out.writeUInt16BE(count, 6);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  return out;
}

/**
 * An upstream server in a namespace, UDP and TCP: "example.test" A 192.0.2.10,
 * "big.test" TXT too long for UDP (40 strings of 100 bytes, answered with TC
 * over UDP), 40 name-compressed A records (see {@link compressedReply}) for
 * names under "suffix.test", NXDOMAIN for the rest; with its own OPT (see
 * {@link upstreamOpt}) when the query has one. Counts what it was asked and keeps
 * the messages it received and sent.
 */
export async function fakeUpstream(netns: string, host: string): Promise<{ asked: string[]; received: Buffer[]; sent: Buffer[]; close(): void }> {
  const asked: string[] = [];
  const received: Buffer[] = [];
  const sent: Buffer[] = [];
  const answer = (msg: Buffer, viaTcp: boolean): Buffer => {
    received.push(Buffer.from(msg));
    const out = Buffer.from(reply(msg, viaTcp));
    sent.push(out);
    return out;
  };
  const reply = (msg: Buffer, viaTcp: boolean): Uint8Array => {
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    asked.push(`${viaTcp ? 'tcp' : 'udp'}:${question?.name ?? '?'}`);
    const edns = (q.additionals ?? []).some((a) => a.type === 'OPT');
    const base = { id: q.id, type: 'response' as const, questions: q.questions, additionals: edns ? [upstreamOpt()] : [] };
    if (question?.name.endsWith('.suffix.test')) return compressedReply(q, 40, edns ? upstreamOpt() : undefined);
    if (question?.name === 'example.test')
      return dnsPacket.encode({ ...base, flags: 0, answers: [{ type: 'A', name: 'example.test', ttl: 60, data: '192.0.2.10' }] });
    if (question?.name === 'big.test') {
      const txt = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(97)}`);
      if (!viaTcp) return dnsPacket.encode({ ...base, flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] });
      return dnsPacket.encode({ ...base, flags: 0, answers: [{ type: 'TXT', name: 'big.test', ttl: 60, data: txt }] });
    }
    return dnsPacket.encode({ ...base, flags: 3, answers: [] });
  };
  const udp = await bindUdp({ netns, host, port: 53 });
  udp.on('message', (msg, rinfo) => udp.send(answer(msg, false), rinfo.port, rinfo.address));
  const tcp: net.Server = await listenTcp({ netns, host, port: 53 }, (s) => readFrames(s, (m) => s.write(frame(answer(Buffer.from(m), true)))));
  return {
    asked,
    received,
    sent,
    close() {
      udp.close();
      tcp.close();
    },
  };
}

/** What a TCP connection to the responder does with one query: answers it, is closed without a reply, or stays open silent (after 3 s). */
export async function tcpFate(netns: string, server: string, port = 53): Promise<'reply' | 'closed' | 'open'> {
  const sock = await connectTcp({ netns, host: server, port });
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('open'), 3000);
      const done = (fate: 'reply' | 'closed'): void => {
        clearTimeout(timer);
        resolve(fate);
      };
      sock.on('error', () => done('closed'));
      sock.on('close', () => done('closed'));
      readFrames(sock, () => done('reply'));
      sock.write(frame(dnsPacket.encode({ type: 'query', id: nextId++ & 0xffff, questions: [{ type: 'A', name: 'x', class: 'IN' }] })));
    });
  } finally {
    sock.destroy();
  }
}

/** A whole message over UDP from `netns` (a packet to encode, or raw bytes); the reply decoded with its size in bytes, or 'timeout'. */
export async function udpExchange(
  netns: string,
  server: string,
  message: Packet | Buffer,
  port = 53,
): Promise<{ reply: Packet; size: number; raw: Buffer } | 'timeout'> {
  const sock = await bindUdp({ netns, host: server.includes(':') ? '::' : '0.0.0.0' });
  try {
    const bytes = Buffer.isBuffer(message) ? message : Buffer.from(dnsPacket.encode({ id: nextId++ & 0xffff, ...message }));
    const raw = await udpRaw(sock, server, bytes, port, 3000);
    return raw === undefined ? 'timeout' : { reply: dnsPacket.decode(raw), size: raw.length, raw };
  } finally {
    sock.close();
  }
}

/** The OPT records of a reply (EDNS, RFC 6891). */
export const optsOf = (p: Packet): OptAnswer[] => (p.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');

/** The full response code: the header's 4 bits and the OPT's upper 8 (16 is BADVERS). */
export const extendedRcodeOf = (p: Packet): number => {
  const opt = optsOf(p)[0] as OptAnswer | undefined;
  return ((opt?.extendedRcode ?? 0) << 4) | ((p.flags ?? 0) & 0xf);
};
