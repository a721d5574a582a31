/**
 * EDNS (RFC 6891) for the responder: the client's OPT record read and
 * checked (one at most, version 0), the OPT of each reply to a client
 * that sent one, advertising the responder's own UDP payload size, and the
 * responder's own OPT on what it forwards.
 * @module
 */
import * as dnsPacket from 'dns-packet';
import type { OptAnswer, Packet } from 'dns-packet';
import { optRecord } from './wire';

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
 * payload size, the upper bits of the reply's code, DNSSEC OK echoed (RFC 3225), no options.
 */
export function replyOpt(client: OptAnswer, udpPayloadSize: number, rcode = 0): Buffer {
  return optRecord({ udpPayloadSize, extendedRcode: rcode >> 4, dnssecOk: (client.flags & dnsPacket.DNSSEC_OK) !== 0 });
}

/** The UDP payload size the client accepts: its OPT's, at least 512 (RFC 6891 6.2.5), at most `max` (large UDP replies fragment and amplify); 512 without EDNS. */
export function udpLimit(edns: Edns, max: number): number {
  return Math.min(Math.max(edns.opt?.udpPayloadSize ?? 512, 512), max);
}

/**
 * The OPT of a forwarded query (RFC 6891 is hop by hop): the responder's
 * own, whatever the client sent: version 0, `udpPayloadSize` (the largest
 * UDP reply it takes), DNSSEC OK as the client asked, no options: a client's
 * cookie is for its server only (RFC 7873), its subnet (RFC 7871) is not
 * the upstream's business. Sent for clients without EDNS too (larger UDP
 * answers; their reply goes without an OPT).
 */
export function forwardOpt(client: OptAnswer | undefined, udpPayloadSize: number): Buffer {
  return optRecord({ udpPayloadSize, extendedRcode: 0, dnssecOk: ((client?.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0 });
}
