/**
 * One DNS message in, one reply out (or none): decode, check (one question,
 * EDNS version 0), answer from the network's names, forward or refuse, add
 * our OPT for an EDNS client, and truncate what does not fit its UDP size.
 * Never throws: a malformed message is FORMERR or dropped.
 * @module
 */
import * as dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';
import { answerLocally, otherClass, RCODE, response } from './answer';
import { BADVERS, ednsOf, forwardOpt, replyOpt, udpLimit, type Edns } from './edns';
import type { NameTable } from './name-table';
import type { Upstreams } from './upstream';
import { compressNames, fitMessage, type ReadMessage } from './wire';

/** What the responder has done since it started. */
export interface DnsStats {
  /** Messages received (UDP datagrams and TCP messages). */
  queries: number;
  /** Answered from the network's names (including NXDOMAIN for unknown names under the domain). */
  answered: number;
  /** Of those, NXDOMAIN. */
  nxdomain: number;
  /** Sent on to an upstream server. */
  forwarded: number;
  /** Of those, no upstream answered in time, or its reply did not read as a DNS message (SERVFAIL). */
  upstreamFailures: number;
  /** Answered REFUSED: a name not the network's and no upstreams, any query in a class other than IN or ANY (CH `version.bind`, HS, ...: never forwarded), or a UDP client from outside the network (TCP ones are closed: `tcpRejected`). */
  refused: number;
  /** Not a DNS query, or not exactly one question, or two OPT records: answered FORMERR (or dropped when not even its header was readable, or it was a response). */
  malformed: number;
  /** UDP replies truncated (TC set) because their answer or authority records did not fit the client's size: the client asks again over TCP. Not those that lost only additional records: `additionalsOmitted`. */
  truncated: number;
  /** UDP replies sent without some of their additional records (an SRV target's addresses, ...), which did not fit the client's size; the rest is whole, TC is not set and the client does not ask again. Not counted in `truncated`. */
  additionalsOmitted: number;
  /** Queries that came over TCP. */
  tcp: number;
  /** TCP connections open now. */
  tcpConnections: number;
  /** TCP connections closed right after accept: a client from outside the network, or over `tcp.maxConnections` / `tcp.maxConnectionsPerClient`. */
  tcpRejected: number;
  /** TCP queries being answered now (at most `tcp.maxQueriesInFlight` per connection). */
  tcpInFlight: number;
  /** Errors of the listening sockets (an accept failing with EMFILE, ...), also passed to `onError`. */
  socketErrors: number;
  /** UDP queries dropped because their client was over `udpRateLimit`. */
  rateLimited: number;
  /** Upstream replies dropped because their question was not the one asked (spoofed or stray). */
  upstreamMismatches: number;
}

export function emptyStats(): DnsStats {
  return {
    queries: 0,
    answered: 0,
    nxdomain: 0,
    forwarded: 0,
    upstreamFailures: 0,
    refused: 0,
    malformed: 0,
    truncated: 0,
    additionalsOmitted: 0,
    tcp: 0,
    tcpConnections: 0,
    tcpRejected: 0,
    tcpInFlight: 0,
    socketErrors: 0,
    rateLimited: 0,
    upstreamMismatches: 0,
  };
}

export interface HandlerContext {
  stats: DnsStats;
  ttl: number;
  /** The longest UDP reply sent, whatever buffer size the client offers (EDNS0); longer ones are truncated. Advertised in our OPT. */
  maxUdpReply: number;
  upstreams: Upstreams | undefined;
  /** The names of the network the query arrived on (undefined: the sources failed). */
  table: () => Promise<NameTable | undefined>;
  /** The name is a reverse name of a served network's subnet or of an address a source lists: answered here, never forwarded. */
  ownsReverse: (name: string) => Promise<boolean>;
}

const QR = 0x8000;

/** A bare header with `rcode` for a message that did not decode, or undefined for one that is no query. */
function headerOnly(msg: Buffer, rcode: number): Buffer | undefined {
  if (msg.length < 12 || (msg.readUInt16BE(2) & QR) !== 0) return undefined;
  const out = Buffer.alloc(12);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  out.writeUInt16BE(QR | (msg.readUInt16BE(2) & 0x7900) | rcode, 2); // opcode and RD kept
  return out;
}

/** The reply as bytes, names compressed (see wire.compressNames): with our OPT when the client sent one (RFC 6891 7), cut to fit a UDP reply. */
function send(ctx: HandlerContext, edns: Edns, reply: Packet, viaTcp: boolean, rcode = (reply.flags ?? 0) & 0xf): Buffer | undefined {
  return deliver(ctx, edns, compressNames(Buffer.from(dnsPacket.encode(reply))), viaTcp, rcode);
}

/**
 * A reply's bytes as sent: any OPT in them replaced by ours when the client
 * sent one (none otherwise), and over UDP cut to the whole RRsets that fit
 * the client's limit (512 bytes without EDNS, its EDNS size, at least 512,
 * with, never more than `maxUdpReply`) with TC set (see wire), counted as
 * `truncated`, or as `additionalsOmitted` when only additional records went. Undefined
 * when the bytes do not read as a message.
 */
function deliver(ctx: HandlerContext, edns: Edns, reply: Buffer | ReadMessage, viaTcp: boolean, rcode: number): Buffer | undefined {
  const opt = edns.opt && replyOpt(edns.opt, ctx.maxUdpReply, rcode);
  const out = fitMessage(reply, opt, viaTcp ? 0xffff : udpLimit(edns, ctx.maxUdpReply));
  if (out?.truncated) ctx.stats.truncated++;
  else if (out?.omitted) ctx.stats.additionalsOmitted++;
  return out?.message;
}

/**
 * A query forwarded, and the upstream's reply as sent to the client, or
 * undefined when no upstream answered or its reply does not read. Our OPT
 * goes in place of the client's (EDNS is hop by hop); a server that fails
 * a query with it is asked without (see upstream). The reply keeps its own
 * bytes, compression and all, and is read once (by upstream).
 */
async function forward(ctx: HandlerContext, msg: Buffer, edns: Edns, viaTcp: boolean): Promise<Buffer | undefined> {
  const opt = forwardOpt(edns.opt, ctx.maxUdpReply);
  const got = await ctx.upstreams?.forward((withOpt) => fitMessage(msg, withOpt ? opt : undefined, 0xffff)?.message, viaTcp);
  return got && deliver(ctx, edns, got, viaTcp, got.rcode);
}

async function reply(ctx: HandlerContext, msg: Buffer, viaTcp: boolean): Promise<Buffer | undefined> {
  let query: Packet;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    ctx.stats.malformed++;
    return headerOnly(msg, RCODE.FORMERR);
  }
  if (query.type === 'response') {
    ctx.stats.malformed++;
    return undefined;
  }
  if ((msg.readUInt16BE(2) & 0x7800) !== 0) return headerOnly(msg, RCODE.NOTIMP); // an opcode other than QUERY
  const recursion = (ctx.upstreams?.size ?? 0) > 0;
  const edns = ednsOf(query);
  // Two OPTs, or not exactly one question (RFC 1035 4.1.2 allows more, but no server answers several): FORMERR, nothing answered or forwarded.
  if (edns.error === 'formerr' || query.questions?.length !== 1) {
    ctx.stats.malformed++;
    return send(ctx, edns, response(query, RCODE.FORMERR, [], { recursion, questions: [] }), viaTcp);
  }
  // An EDNS version other than 0: BADVERS, its upper bits in our OPT (RFC 6891 6.1.3).
  if (edns.error === 'badvers') return send(ctx, edns, response(query, BADVERS & 0xf, [], { recursion }), viaTcp, BADVERS);
  // CH, HS, ...: REFUSED whatever the name, before the names are even read (see answer.otherClass).
  if (otherClass(query.questions[0])) {
    ctx.stats.refused++;
    return send(ctx, edns, response(query, RCODE.REFUSED, [], { recursion }), viaTcp);
  }
  const table = await ctx.table();
  if (!table) return send(ctx, edns, response(query, RCODE.SERVFAIL, [], { recursion }), viaTcp);
  const local = answerLocally(query, table, ctx.ttl, recursion, await ctx.ownsReverse(query.questions[0].name));
  if (local && ((local.flags ?? 0) & 0xf) === RCODE.REFUSED) {
    ctx.stats.refused++;
    return send(ctx, edns, local, viaTcp);
  }
  if (local) {
    ctx.stats.answered++;
    if (((local.flags ?? 0) & 0xf) === RCODE.NXDOMAIN) ctx.stats.nxdomain++;
    return send(ctx, edns, local, viaTcp);
  }
  if (!ctx.upstreams || !recursion) {
    ctx.stats.refused++;
    return send(ctx, edns, response(query, RCODE.REFUSED), viaTcp);
  }
  ctx.stats.forwarded++;
  const out = await forward(ctx, msg, edns, viaTcp);
  if (!out) {
    ctx.stats.upstreamFailures++;
    return send(ctx, edns, response(query, RCODE.SERVFAIL, [], { recursion }), viaTcp);
  }
  return out;
}

/**
 * The reply to one message, or undefined to send nothing; never throws.
 * @param member the client's address is on the network (else REFUSED: another network's names are not its business)
 */
export async function handleMessage(ctx: HandlerContext, msg: Buffer, viaTcp: boolean, member: boolean): Promise<Buffer | undefined> {
  ctx.stats.queries++;
  if (viaTcp) ctx.stats.tcp++;
  if (!member) {
    ctx.stats.refused++;
    return headerOnly(msg, RCODE.REFUSED);
  }
  try {
    return await reply(ctx, msg, viaTcp);
  } catch {
    // A message dns-packet decodes but cannot encode an answer to (odd question types): FORMERR, not a crash.
    ctx.stats.malformed++;
    return headerOnly(msg, RCODE.FORMERR);
  }
}
