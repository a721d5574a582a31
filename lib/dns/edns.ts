/**
 * EDNS (RFC 6891) for the responder: the client's OPT record read and
 * checked (one at most, version 0), and the OPT of each reply to a client
 * that sent one, advertising the responder's own UDP payload size.
 * @module
 */
import * as dnsPacket from 'dns-packet';
import type { OptAnswer, Packet } from 'dns-packet';

/** BADVERS (16): the client's EDNS version is not 0; its upper 8 bits go in the OPT, the lower 4 in the header. */
export const BADVERS = 16;

/** What a query says about EDNS. */
export interface Edns {
  /** The client's OPT record; undefined: no EDNS (replies of at most 512 bytes, no OPT). */
  opt?: OptAnswer;
  /** The query cannot be answered as asked: FORMERR (more than one OPT) or BADVERS (a version other than 0). */
  error?: 'formerr' | 'badvers';
}

/** The EDNS of a query (RFC 6891 6.1.1: more than one OPT is FORMERR; 6.1.3: a version other than 0 is BADVERS). */
export function ednsOf(query: Packet): Edns {
  const opts = (query.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
  const opt = opts[0] as OptAnswer | undefined;
  if (opts.length > 1) return { opt, error: 'formerr' };
  if (opt && opt.ednsVersion !== 0) return { opt, error: 'badvers' };
  return { opt };
}

/**
 * The OPT of a reply to a client that sent `client`: version 0, our UDP
 * payload size, the upper bits of the reply's code, DNSSEC OK echoed (RFC 3225).
 */
export function replyOpt(client: OptAnswer, udpPayloadSize: number, rcode = 0): OptAnswer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize,
    extendedRcode: rcode >> 4,
    ednsVersion: 0,
    flags: client.flags & dnsPacket.DNSSEC_OK,
    flag_do: (client.flags & dnsPacket.DNSSEC_OK) !== 0,
    options: [],
  };
}

/** The UDP payload size the client accepts: its OPT's, at least 512 (RFC 6891 6.2.5), at most `max` (large UDP replies fragment and amplify); 512 without EDNS. */
export function udpLimit(edns: Edns, max: number): number {
  return Math.min(Math.max(edns.opt?.udpPayloadSize ?? 512, 512), max);
}

/**
 * An upstream's reply as ours for a client that sent an OPT: the upstream's
 * OPT (about the hop between us, RFC 6891 6.1.1) replaced by ours, its
 * extended code kept. The reply as it came when it does not re-encode.
 */
export function withOurOpt(reply: Buffer, client: OptAnswer, udpPayloadSize: number): { reply: Buffer; opt: OptAnswer } {
  try {
    const p = dnsPacket.decode(reply);
    const theirs = (p.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
    const opt = replyOpt(client, udpPayloadSize, ((theirs?.extendedRcode ?? 0) << 4) | ((p.flags ?? 0) & 0xf));
    const additionals = [...(p.additionals ?? []).filter((a) => a.type !== 'OPT'), opt];
    return { reply: Buffer.from(dnsPacket.encode({ ...p, additionals })), opt };
  } catch {
    return { reply, opt: replyOpt(client, udpPayloadSize) };
  }
}
