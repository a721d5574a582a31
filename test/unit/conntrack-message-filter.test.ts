// The flush's in-place filter of dumped messages must agree with decoding
// each entry and testing it (entryMatches), for every filter field, IPv4 and
// IPv6, prefixes of any length, and fail the same way on a malformed entry.
import { describe, expect, it } from 'vitest';
import * as C from '../../lib/conntrack/constants';
import { entryMatches, type ConntrackFilter } from '../../lib/conntrack/conntrack';
import { decodeEntry, writeTuple, type ConntrackTuple } from '../../lib/conntrack/entry';
import { encodeLabels } from '../../lib/conntrack/labels';
import { messageFilter } from '../../lib/conntrack/message-filter';
import { DecodeError } from '../../lib/netlink/errors';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlType } from '../../lib/netlink/nfnetlink';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';

interface Sample {
  family: 4 | 6;
  proto: number;
  original: ConntrackTuple;
  reply: ConntrackTuple;
  zone?: number;
  mark?: number;
  status?: number;
  labels?: number[];
}

function message(s: Sample): NetlinkMessage {
  const w = new NetlinkWriter();
  beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW), 0, s.family === 4 ? 2 : 10);
  writeTuple(w, C.CTA_TUPLE_ORIG, s.family, s.proto, s.original);
  writeTuple(w, C.CTA_TUPLE_REPLY, s.family, s.proto, s.reply);
  if (s.status !== undefined) w.be32(C.CTA_STATUS, s.status);
  if (s.mark !== undefined) w.be32(C.CTA_MARK, s.mark);
  if (s.zone !== undefined) w.be16(C.CTA_ZONE, s.zone);
  if (s.labels !== undefined) w.attr(C.CTA_LABELS, encodeLabels(s.labels));
  return parseMessages(w.end().finish())[0];
}

const samples: Sample[] = [
  {
    family: 4,
    proto: 17,
    original: { src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 9 },
    reply: { src: '10.0.0.2', dst: '10.0.0.1', sport: 9, dport: 1000 },
  },
  {
    family: 4,
    proto: 6,
    original: { src: '192.168.50.2', dst: '192.168.50.1', sport: 40000, dport: 8080 },
    reply: { src: '10.0.1.2', dst: '192.168.50.2', sport: 80, dport: 40000 },
    mark: 0x42,
    status: 0x2a, // seen-reply, confirmed, dnat
    zone: 7,
    labels: [5, 7],
  },
  {
    family: 4,
    proto: 1,
    original: { src: '10.0.0.129', dst: '10.0.0.2', icmpId: 5, icmpType: 8, icmpCode: 0 },
    reply: { src: '10.0.0.2', dst: '10.0.0.129', icmpId: 5, icmpType: 0, icmpCode: 0 },
  },
  {
    family: 6,
    proto: 17,
    original: { src: 'fd00::1', dst: 'fd00::2', sport: 53, dport: 9 },
    reply: { src: 'fd00::2', dst: 'fd00::1', sport: 9, dport: 53 },
    mark: 5,
    labels: [7, 127],
  },
  {
    family: 6,
    proto: 132,
    original: { src: 'fd00:1::80', dst: 'fd00::2', sport: 7, dport: 9 },
    reply: { src: 'fd00::2', dst: 'fd00:1::80', sport: 9, dport: 7 },
    zone: 0,
  },
  // Zones of one direction (`ct original zone set 7`, `ct reply zone set 7`): the entry is in zone 7 all the same.
  {
    family: 4,
    proto: 17,
    original: { src: '10.0.0.1', dst: '10.0.0.2', sport: 1001, dport: 9, zone: 7 },
    reply: { src: '10.0.0.2', dst: '10.0.0.1', sport: 9, dport: 1001 },
  },
  {
    family: 4,
    proto: 17,
    original: { src: '10.0.0.1', dst: '10.0.0.2', sport: 1002, dport: 9 },
    reply: { src: '10.0.0.2', dst: '10.0.0.1', sport: 9, dport: 1002, zone: 7 },
  },
];

const filters: ConntrackFilter[] = [
  {},
  { family: 4 },
  { family: 6 },
  { protocol: 'udp' },
  { protocol: 6 },
  { protocol: 'icmp' },
  { original: { dport: 9 } },
  { protocol: 'udp', original: { dport: 9 } },
  { original: { sport: 1000, dport: 9 } },
  { original: { src: '10.0.0.1' } },
  { original: { src: '10.0.0.0/24' } },
  { original: { src: '10.0.0.128/25' } },
  { original: { src: '10.0.0.0/31' } },
  { original: { dst: '192.168.50.0/23' } },
  { original: { src: 'fd00::/16' } },
  { original: { src: 'fd00:1::/33' } },
  { original: { src: 'fd00::1' } },
  { reply: { src: '10.0.1.0/24', sport: 80 } },
  { reply: { dst: 'fd00::1', dport: 53 } },
  { zone: 7 },
  { zone: 0 },
  { original: { zone: 7 } },
  { original: { zone: 0 } },
  { reply: { zone: 7 } },
  { reply: { zone: 0, dport: 1001 } },
  { zone: 7, original: { zone: 0 } },
  { mark: 0x42 },
  { mark: 0x40, markMask: 0xf0 },
  { mark: 0x142, markMask: 0xff },
  { mark: 0 },
  { status: ['dnat'] },
  { status: ['dnat', 'assured'] },
  { status: ['confirmed'] },
  { labels: [7] },
  { labels: [5, 7] },
  { labels: [127] },
  { labels: [] },
];

describe('conntrack message filter', () => {
  it('agrees with decoding and entryMatches for every filter field', () => {
    let matched = 0;
    for (const f of filters) {
      const test = messageFilter(f);
      for (const s of samples) {
        const m = message(s);
        const expected = entryMatches(decodeEntry(m), f);
        expect({ f, s, got: test(m) }).toEqual({ f, s, got: expected });
        if (expected) matched++;
      }
    }
    // Not vacuous: some filters match some samples, others none.
    expect(matched).toBeGreaterThan(30);
    expect(matched).toBeLessThan(filters.length * samples.length);
  });

  it('puts an entry whose zone applies to one direction in that zone, as the kernel filter does', () => {
    const zone = (f: ConntrackFilter) => samples.filter((s) => messageFilter(f)(message(s))).map((s) => s.original.sport);
    expect(zone({ zone: 7 })).toEqual([40000, 1001, 1002]);
    expect(zone({ zone: 0 })).toEqual([1000, undefined, 53, 7]);
  });

  it('puts each direction in the zone of both directions or of that one, else in zone 0 (nf_ct_zone_id)', () => {
    const zone = (f: ConntrackFilter) => samples.filter((s) => messageFilter(f)(message(s))).map((s) => s.original.sport);
    expect(zone({ original: { zone: 7 } })).toEqual([40000, 1001]);
    expect(zone({ reply: { zone: 7 } })).toEqual([40000, 1002]);
    expect(zone({ original: { zone: 0 } })).toEqual([1000, undefined, 53, 7, 1002]);
    expect(zone({ reply: { zone: 0 } })).toEqual([1000, undefined, 53, 7, 1001]);
    expect(zone({ original: { zone: 7 }, reply: { zone: 0 } })).toEqual([1001]);
  });

  it('selects entries by label: those with every label given', () => {
    const sports = (f: ConntrackFilter) => samples.filter((s) => messageFilter(f)(message(s))).map((s) => s.original.sport);
    expect(sports({ labels: [7] })).toEqual([40000, 53]);
    expect(sports({ labels: [5, 7] })).toEqual([40000]);
    expect(sports({ labels: [6] })).toEqual([]);
  });

  it('fails like decoding on an entry without a reply tuple', () => {
    const w = new NetlinkWriter();
    beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW), 0, 2);
    writeTuple(w, C.CTA_TUPLE_ORIG, 4, 17, samples[0].original);
    const m = parseMessages(w.end().finish())[0];
    expect(() => decodeEntry(m)).toThrow(DecodeError);
    expect(() => messageFilter({})(m)).toThrow(/no reply tuple/);
  });
});
