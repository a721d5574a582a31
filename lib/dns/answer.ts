/**
 * Answering one query from a network's names: A, AAAA, PTR and SRV for what
 * the table knows, NXDOMAIN for unknown names under the domain and for
 * reverse names of the responder's networks without a name here (NODATA for
 * the domain itself and the names between it and a known one), and
 * "not ours" (undefined) for everything else, which the responder forwards.
 * @module
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';
import type { NameRecord } from './name-source';
import type { NameTable } from './name-table';

/** DNS response codes used here (RFC 1035 4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** A response to `query` with the given code and records; AA when answered from local names, RA when there are upstreams. */
export function response(
  query: Packet,
  rcode: number,
  answers: Answer[] = [],
  extra: { authoritative?: boolean; recursion?: boolean; additionals?: Answer[]; questions?: Packet['questions'] } = {},
): Packet {
  let flags = rcode;
  if (extra.authoritative) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0) flags |= dnsPacket.RECURSION_DESIRED;
  if (extra.recursion) flags |= dnsPacket.RECURSION_AVAILABLE;
  return {
    id: query.id ?? 0,
    type: 'response',
    flags,
    questions: extra.questions ?? query.questions ?? [],
    answers,
    authorities: [],
    additionals: extra.additionals ?? [],
  };
}

function addresses(name: string, type: string, records: readonly NameRecord[], ttl: number): Answer[] {
  const out: Answer[] = [];
  for (const r of records) {
    if ((type === 'A' || type === 'ANY') && r.ipv4 !== undefined) out.push({ type: 'A', name, ttl, data: r.ipv4 });
    if ((type === 'AAAA' || type === 'ANY') && r.ipv6 !== undefined) out.push({ type: 'AAAA', name, ttl, data: r.ipv6 });
  }
  return out;
}

/** SRV for "_service._protocol.<name>": one record per matching port, the target's addresses as additionals. */
function srv(q: Question, name: string, table: NameTable, ttl: number): Packet['answers'] | undefined {
  const m = /^_([a-z0-9-]+)\._(tcp|udp)\.(.+)$/.exec(name);
  const records = m ? table.lookup(m[3]) : undefined;
  if (!m || !records) return undefined;
  const target = table.owns(m[3]) || table.domain === '' ? m[3] : `${m[3]}.${table.domain}`;
  const answers: Answer[] = [];
  for (const r of records)
    for (const p of r.ports ?? [])
      if (p.service.toLowerCase() === m[1] && p.protocol === m[2])
        answers.push({ type: 'SRV', name: q.name, ttl, data: { priority: 0, weight: 1, port: p.port, target } });
  return answers;
}

/**
 * The question is in a class other than IN or ANY (CH, HS, NONE, ...):
 * REFUSED here whoever's the name, never forwarded. The network's names
 * would leak upstream, and for other names (CH `version.bind`,
 * `hostname.bind`) a sandbox would fingerprint the host's resolver through
 * the responder; nothing in a sandbox needs those answers.
 */
export function otherClass(q: Question): boolean {
  return q.class !== 'IN' && q.class !== 'ANY' && q.class !== undefined;
}

/**
 * The local answer to a query, or undefined when the name is not this
 * network's (to be forwarded, or refused). In class ANY as in IN; REFUSED
 * in another class (CH, HS), whatever the name (see {@link otherClass}).
 * @param ownReverse the name is a reverse name of the responder's networks or of an address its sources list: answered here whatever this network knows of it
 */
export function answerLocally(query: Packet, table: NameTable, ttl: number, recursion: boolean, ownReverse = false): Packet | undefined {
  const q = query.questions?.[0];
  if (!q) return response(query, RCODE.FORMERR);
  const name = q.name.toLowerCase().replace(/\.$/, '');
  // QCLASS ANY is answered from the IN records, the only ones there are; another class (CH, HS) has none: REFUSED.
  if (otherClass(q)) return response(query, RCODE.REFUSED, [], { recursion });
  const local = { authoritative: true, recursion };
  if (q.type === 'PTR') {
    const target = table.reverse(name);
    if (target !== undefined) return response(query, RCODE.NOERROR, [{ type: 'PTR', name: q.name, ttl, data: target }], local);
  }
  // Another network's address, one without a name, a type other than PTR: still ours, never forwarded (it tells the upstream about the networks).
  if (ownReverse) return response(query, table.reverseExists(name) ? RCODE.NOERROR : RCODE.NXDOMAIN, [], local);
  if (q.type === 'SRV') {
    const answers = srv(q, name, table, ttl);
    if (answers) {
      const targets = new Set(answers.map((a) => (a.type === 'SRV' ? a.data.target : '')));
      const additionals = [...targets].flatMap((t) => addresses(t, 'ANY', table.lookup(t) ?? [], ttl));
      return response(query, RCODE.NOERROR, answers, { ...local, additionals });
    }
  }
  const records = table.lookup(name);
  if (records) return response(query, RCODE.NOERROR, addresses(q.name, q.type, records, ttl), local);
  if (table.owns(name)) return response(query, table.isInterior(name) ? RCODE.NOERROR : RCODE.NXDOMAIN, [], local);
  return undefined;
}
