// The embedded DNS responder with real packets: containers on two networks
// ask their gateways (UDP and TCP) for each other's names; an upstream in a
// test namespace answers the rest. Cross-checked with dig where installed.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, deleteNetns, dnsResponder, networkNames, ValidationError, type DnsResponder } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import * as dnsPacket from 'dns-packet';
import type { Answer, OptAnswer, Packet, RecordType } from 'dns-packet';
import { dataOf, extendedRcodeOf, fakeUpstream, optsOf, rcodeOf, tcpFate, tcpQuery, truncated, udpExchange, udpQuery } from '../helpers/dns';
import { ip, uniqueNetnsName, useNetns } from '../helpers/netns';
import { compressNames } from '../../lib/dns/wire';

const execFileAsync = promisify(execFile);
/** An EDNS OPT record offering `udpPayloadSize` (RFC 6891). */
const opt = (udpPayloadSize: number, ednsVersion = 0, flags = 0): OptAnswer => ({
  type: 'OPT',
  name: '.',
  udpPayloadSize,
  extendedRcode: 0,
  ednsVersion,
  flags,
  flag_do: false,
  options: [],
});
/** A recursive query for `name` with the given additional records. */
const query = (name: string, type: RecordType = 'A', additionals: Answer[] = []): Packet => ({
  type: 'query',
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type, name, class: 'IN' }],
  additionals,
});
/** The reply of a UDP exchange (failing the test on a timeout). */
const replyOf = (r: Awaited<ReturnType<typeof udpExchange>>): Packet => {
  if (r === 'timeout') throw new Error('no reply');
  return r.reply;
};
const hasDig = (() => {
  try {
    execFileSync('dig', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('dnsResponder: names per network, forwarding, refusing', () => {
  const box = useNetns('host', 'up');
  const c = { c1: uniqueNetnsName('c1'), c2: uniqueNetnsName('c2'), c3: uniqueNetnsName('c3') };
  let nets: NetworkManager;
  let stateDir: string;
  let responder: DnsResponder;
  let refusing: DnsResponder;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  const v4 = { c1: '', c2: '', c3: '' };
  let c1v6 = '';

  beforeAll(async () => {
    // The upstream: a namespace behind a veth of the (test) host namespace.
    ip(box.ns('host'), 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', box.ns('up'));
    ip(box.ns('host'), 'addr', 'add', '10.251.0.1/30', 'dev', 'up0');
    ip(box.ns('host'), 'link', 'set', 'up0', 'up');
    ip(box.ns('up'), 'addr', 'add', '10.251.0.2/30', 'dev', 'eth0');
    ip(box.ns('up'), 'link', 'set', 'eth0', 'up');
    upstream = await fakeUpstream(box.ns('up'), '10.251.0.2');

    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-dns-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'a', subnet: '10.97.0.0/24', subnet6: 'fd97::/64' });
    await nets.create({ name: 'b', subnet: '10.98.0.0/24' });
    const a1 = await nets.attach('a', { sandbox: c.c1, create: true, names: ['web', 'API'] });
    const a2 = await nets.attach('a', { sandbox: c.c2, create: true });
    const a3 = await nets.attach('b', { sandbox: c.c3, create: true, names: ['db'] });
    [v4.c1, v4.c2, v4.c3] = [a1, a2, a3].map((x) => x.ipv4?.split('/')[0] ?? '');
    c1v6 = a1.ipv6?.split('/')[0] ?? '';
    expect(a1.names).toEqual(['web', 'api']);
    expect(a2.names).toEqual([c.c2]);

    // A second source: a service name with a port (what services() will provide), on network a only.
    // "many": 40 A records, an answer of ~680 bytes name-compressed (over 512, under 1232). "vip": an address outside the networks' subnets.
    const many = Array.from({ length: 40 }, (_, i) => ({ names: ['many'], ipv4: `10.97.0.${String(100 + i)}` }));
    const services = {
      records: (n: string) =>
        n === 'a'
          ? [
              { names: ['shop'], ipv4: '10.97.0.200', ports: [{ service: 'http', protocol: 'tcp' as const, port: 8080 }] },
              { names: ['vip'], ipv4: '10.250.0.5', ipv6: 'fd99::5' },
              ...many,
            ]
          : [],
    };
    const common = { manager: nets, host: box.ns('host'), networks: ['a', 'b'], domain: 'nlkit.internal', cacheMs: 0 };
    responder = await dnsResponder({ ...common, upstreams: ['10.251.0.2'], sources: [networkNames(nets), services] });
    refusing = await dnsResponder({ ...common, port: 5353 });
  });
  afterAll(async () => {
    await responder?.close();
    await refusing?.close();
    upstream?.close();
    for (const n of ['a', 'b']) await nets?.delete(n, { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('resolves names and aliases on the own network: A, AAAA, with and without the domain, by id by default', async () => {
    expect(dataOf(await udpQuery(c.c2, '10.97.0.1', 'web.nlkit.internal'))).toEqual([v4.c1]);
    expect(dataOf(await udpQuery(c.c2, '10.97.0.1', 'api'))).toEqual([v4.c1]);
    expect(dataOf(await udpQuery(c.c1, '10.97.0.1', `${c.c2}.nlkit.internal`))).toEqual([v4.c2]);
    expect(dataOf(await udpQuery(c.c2, '10.97.0.1', 'web.nlkit.internal', 'AAAA'))).toEqual([c1v6]);
    // over IPv6, to the IPv6 gateway
    expect(dataOf(await udpQuery(c.c2, 'fd97::1', 'web.nlkit.internal', 'AAAA'))).toEqual([c1v6]);
    const ok = await udpQuery(c.c2, '10.97.0.1', 'web.nlkit.internal');
    expect(ok !== 'timeout' && (ok.flags ?? 0) & 0x0400).toBeTruthy(); // authoritative
  });

  it('does not show another network its names: NXDOMAIN under the domain, REFUSED to a client from another network', async () => {
    expect(rcodeOf(await udpQuery(c.c3, '10.98.0.1', 'web.nlkit.internal'))).toBe('NXDOMAIN');
    expect(dataOf(await udpQuery(c.c3, '10.98.0.1', 'db.nlkit.internal'))).toEqual([v4.c3]);
    expect(rcodeOf(await udpQuery(c.c1, '10.97.0.1', 'db.nlkit.internal'))).toBe('NXDOMAIN');
    expect(rcodeOf(await udpQuery(c.c1, '10.97.0.1', 'shop.nlkit.internal'))).toBe('NOERROR');
    expect(rcodeOf(await udpQuery(c.c3, '10.98.0.1', 'shop.nlkit.internal'))).toBe('NXDOMAIN');
    // c1 reaches network b's gateway through the host, but is not on b: no answer about b's names.
    expect(rcodeOf(await udpQuery(c.c1, '10.98.0.1', 'db.nlkit.internal'))).toBe('REFUSED');
    expect(await tcpFate(c.c1, '10.98.0.1')).toBe('closed'); // over TCP the connection is closed at once (see dns-limits.test.ts)
  });

  it("answers PTR for its network's addresses (the first name), IPv4 and IPv6", async () => {
    const rev4 = `${v4.c1.split('.').reverse().join('.')}.in-addr.arpa`;
    expect(dataOf(await udpQuery(c.c2, '10.97.0.1', rev4, 'PTR'))).toEqual(['web.nlkit.internal']);
    const hex = Buffer.from(
      execFileSync('python3', ['-c', `import ipaddress;print(ipaddress.ip_address('${c1v6}').reverse_pointer)`], { encoding: 'utf8' }).trim(),
    );
    expect(dataOf(await udpQuery(c.c2, '10.97.0.1', hex.toString(), 'PTR'))).toEqual(['web.nlkit.internal']);
    // c1's address is not network b's: NXDOMAIN from the responder itself (see the reverse-lookup test below), not its name
    expect(rcodeOf(await udpQuery(c.c3, '10.98.0.1', rev4, 'PTR'))).toBe('NXDOMAIN');
  });

  it("answers SRV for named ports of a source, with the target's address", async () => {
    const r = await udpQuery(c.c1, '10.97.0.1', '_http._tcp.shop.nlkit.internal', 'SRV');
    expect(dataOf(r)).toEqual([{ priority: 0, weight: 1, port: 8080, target: 'shop.nlkit.internal' }]);
    expect(r !== 'timeout' && r.additionals?.map((a) => ('data' in a ? a.data : undefined))).toEqual(['10.97.0.200']);
  });

  it('forwards other names to the upstream, and retries a truncated answer over TCP', async () => {
    const before = responder.stats().forwarded;
    expect(dataOf(await udpQuery(c.c1, '10.97.0.1', 'example.test'))).toEqual(['192.0.2.10']);
    expect(upstream.asked).toContain('udp:example.test');
    // big.test: the upstream truncates over UDP; the responder fetches it over TCP and, too long for the client's UDP, truncates in turn
    const overUdp = await udpQuery(c.c1, '10.97.0.1', 'big.test', 'TXT');
    expect(truncated(overUdp)).toBe(true);
    expect(upstream.asked).toContain('tcp:big.test');
    const overTcp = await tcpQuery(c.c1, '10.97.0.1', 'big.test', 'TXT');
    expect((dataOf(overTcp)[0] as Buffer[]).length).toBe(40);
    expect(responder.stats().forwarded - before).toBe(3);
  });

  it('asks the next upstream when one does not answer in time, and answers SERVFAIL when none does', async () => {
    const common = { manager: nets, host: box.ns('host'), networks: ['a'], timeoutMs: 300 };
    const silent = { host: '10.251.0.2', port: 5399 }; // nothing listens there
    const failover = await dnsResponder({ ...common, port: 5454, upstreams: [silent, '10.251.0.2'] });
    try {
      expect(dataOf(await udpQuery(c.c1, '10.97.0.1', 'example.test', 'A', 5454))).toEqual(['192.0.2.10']);
    } finally {
      await failover.close();
    }
    const dead = await dnsResponder({ ...common, port: 5455, upstreams: [silent] });
    try {
      expect(rcodeOf(await udpQuery(c.c1, '10.97.0.1', 'example.test', 'A', 5455))).toBe('SERVFAIL');
      expect(dead.stats()).toMatchObject({ forwarded: 1, upstreamFailures: 1 });
    } finally {
      await dead.close();
    }
  });

  it('answers over TCP as over UDP', async () => {
    expect(dataOf(await tcpQuery(c.c2, '10.97.0.1', 'web.nlkit.internal'))).toEqual([v4.c1]);
    expect(dataOf(await tcpQuery(c.c2, 'fd97::1', 'api.nlkit.internal', 'AAAA'))).toEqual([c1v6]);
  });

  it('answers REFUSED for names not its own without upstreams, and still answers its own', async () => {
    expect(rcodeOf(await udpQuery(c.c1, '10.97.0.1', 'example.test', 'A', 5353))).toBe('REFUSED');
    expect(dataOf(await udpQuery(c.c1, '10.97.0.1', 'web.nlkit.internal', 'A', 5353))).toEqual([v4.c1]);
    expect(refusing.stats().refused).toBeGreaterThanOrEqual(1);
  });

  it('follows attach and detach (cacheMs 0)', async () => {
    const c4 = uniqueNetnsName('c4');
    const a4 = await nets.attach('b', { sandbox: c4, create: true, names: ['cache'] });
    try {
      expect(dataOf(await udpQuery(c.c3, '10.98.0.1', 'cache.nlkit.internal'))).toEqual([a4.ipv4?.split('/')[0]]);
    } finally {
      await nets.detach('b', c4);
    }
    expect(rcodeOf(await udpQuery(c.c3, '10.98.0.1', 'cache.nlkit.internal'))).toBe('NXDOMAIN');
  });

  it('EDNS: an OPT query gets an OPT advertising maxUdpReply (DO copied), BADVERS for version 1, FORMERR for two OPTs', async () => {
    // local answer, local NXDOMAIN, forwarded answer, REFUSED: each with one OPT of version 0 offering 1232 bytes
    for (const [r, rcode] of [
      [replyOf(await udpExchange(c.c2, '10.97.0.1', query('web.nlkit.internal', 'A', [opt(4096)]))), 'NOERROR'],
      [replyOf(await udpExchange(c.c2, '10.97.0.1', query('nope.nlkit.internal', 'A', [opt(4096)]))), 'NXDOMAIN'],
      [replyOf(await udpExchange(c.c2, '10.97.0.1', query('example.test', 'A', [opt(4096)]))), 'NOERROR'],
      [replyOf(await udpExchange(c.c2, '10.97.0.1', query('example.test', 'A', [opt(4096)]), 5353)), 'REFUSED'],
    ] as const) {
      expect(rcodeOf(r)).toBe(rcode);
      expect(optsOf(r)).toMatchObject([{ name: '.', udpPayloadSize: 1232, ednsVersion: 0, extendedRcode: 0 }]);
    }
    expect(dataOf(replyOf(await udpExchange(c.c2, '10.97.0.1', query('example.test', 'A', [opt(4096)]))))).toEqual(['192.0.2.10']);
    // DNSSEC OK is echoed (RFC 3225); a query without OPT gets none
    expect(optsOf(replyOf(await udpExchange(c.c2, '10.97.0.1', query('web.nlkit.internal', 'A', [opt(1232, 0, dnsPacket.DNSSEC_OK)]))))[0]?.flag_do).toBe(true);
    expect(optsOf(replyOf(await udpExchange(c.c2, '10.97.0.1', query('web.nlkit.internal'))))).toEqual([]);

    // EDNS version 1: BADVERS (16: 1 in the OPT's upper bits, 0 in the header) with an OPT of version 0, no answer, not forwarded
    const asked = upstream.asked.length;
    for (const name of ['web.nlkit.internal', 'example.test']) {
      const bad = replyOf(await udpExchange(c.c2, '10.97.0.1', query(name, 'A', [opt(4096, 1)])));
      expect(extendedRcodeOf(bad)).toBe(16);
      expect(bad.answers).toEqual([]);
      expect(optsOf(bad)).toMatchObject([{ ednsVersion: 0, extendedRcode: 1, udpPayloadSize: 1232 }]);
    }
    expect(upstream.asked.length).toBe(asked);
    // two OPT records: FORMERR (RFC 6891 6.1.1)
    const two = replyOf(await udpExchange(c.c2, '10.97.0.1', query('web.nlkit.internal', 'A', [opt(4096), opt(4096)])));
    expect(rcodeOf(two)).toBe('FORMERR');
    expect(two.answers).toEqual([]);
  });

  it("truncates UDP answers to the client's size: 512 without EDNS, its EDNS size (at least 512, at most maxUdpReply), TC with the OPT kept", async () => {
    const ask = async (additionals: Answer[]) => {
      const r = await udpExchange(c.c2, '10.97.0.1', query('many.nlkit.internal', 'A', additionals));
      if (r === 'timeout') throw new Error('no reply');
      return r;
    };
    const plain = await ask([]); // ~680 bytes do not fit 512
    expect(plain.size).toBeLessThanOrEqual(512);
    expect(truncated(plain.reply)).toBe(true);
    expect(optsOf(plain.reply)).toEqual([]);
    const big = await ask([opt(4096)]); // fits 1232: whole
    expect(truncated(big.reply)).toBe(false);
    expect(big.reply.answers).toHaveLength(40);
    expect(big.size).toBeGreaterThan(512);
    expect(big.size).toBeLessThan(dnsPacket.encode(big.reply).length / 2); // owner names compressed: ~1,480 bytes in full
    expect(optsOf(big.reply)).toMatchObject([{ udpPayloadSize: 1232 }]);
    for (const size of [600, 100]) {
      const cut = await ask([opt(size)]); // 600: over it; 100: taken as 512
      expect(cut.size).toBeLessThanOrEqual(Math.max(size, 512));
      expect(truncated(cut.reply)).toBe(true);
      expect(rcodeOf(cut.reply)).toBe('NOERROR');
      expect(optsOf(cut.reply)).toMatchObject([{ udpPayloadSize: 1232, ednsVersion: 0 }]); // the OPT stays in a truncated reply (RFC 6891 7)
    }
    expect((await tcpQuery(c.c2, '10.97.0.1', 'many.nlkit.internal')).answers).toHaveLength(40);
  });

  it("forwards with its own OPT, never the client's (no client cookie or subnet upstream), and answers with its own", async () => {
    const clientOpt: OptAnswer = {
      ...opt(4096, 0, dnsPacket.DNSSEC_OK),
      flag_do: true,
      options: [
        { code: 10, data: Buffer.alloc(8, 0xab) } as never, // a client cookie (RFC 7873)
        { code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '10.97.0.0' } as never, // the client's subnet (RFC 7871)
      ],
    };
    const before = upstream.received.length;
    const r = replyOf(await udpExchange(c.c2, '10.97.0.1', query('example.test', 'A', [clientOpt])));
    expect(dataOf(r)).toEqual(['192.0.2.10']);
    // what the upstream received: one OPT, the responder's: its UDP size, DNSSEC OK as asked, no options
    const received = upstream.received.slice(before).map((m) => dnsPacket.decode(m));
    expect(received).toHaveLength(1);
    expect(optsOf(received[0])).toMatchObject([{ name: '.', udpPayloadSize: 1232, ednsVersion: 0, extendedRcode: 0, flag_do: true }]);
    expect(optsOf(received[0])[0].options).toEqual([]);
    // the client's reply: the responder's OPT, not the upstream's (4096 bytes and a server cookie, about the hop between them)
    expect(optsOf(upstream.sent[upstream.sent.length - 1] && dnsPacket.decode(upstream.sent[upstream.sent.length - 1]))[0].options).toHaveLength(1);
    expect(optsOf(r)).toMatchObject([{ udpPayloadSize: 1232, flag_do: true }]);
    expect(optsOf(r)[0].options).toEqual([]);
    // a client without EDNS: the responder speaks EDNS upstream all the same; the client's reply has no OPT
    const plain = replyOf(await udpExchange(c.c2, '10.97.0.1', query('example.test')));
    expect(optsOf(dnsPacket.decode(upstream.received[upstream.received.length - 1]))).toMatchObject([{ udpPayloadSize: 1232, flag_do: false, options: [] }]);
    expect([dataOf(plain), optsOf(plain)]).toEqual([['192.0.2.10'], []]);
  });

  it("forwards a name-compressed reply as it came: not longer than the upstream's, whole when it fits the client's size", async () => {
    const before = upstream.sent.length;
    const r = await udpExchange(c.c2, '10.97.0.1', query('records.with.a.fairly.long.shared.suffix.test', 'A', [opt(1232)]));
    if (r === 'timeout') throw new Error('no reply');
    const theirs = upstream.sent.slice(before);
    expect(theirs).toHaveLength(1); // over UDP, not retried over TCP
    expect(theirs[0].length).toBeLessThan(1232); // ~900 bytes; over 2,600 with every name written out
    expect(r.size).toBeLessThanOrEqual(theirs[0].length);
    expect(truncated(r.reply)).toBe(false);
    expect(r.reply.answers).toHaveLength(40);
    expect(dataOf(r.reply)[39]).toBe('192.0.2.39');
  });

  it('truncates a forwarded UDP reply to the whole RRsets that fit, with TC, the OPT kept; whole over TCP', async () => {
    const name = 'partial.suffix.test';
    for (const [additionals, limit] of [
      [[], 512],
      [[opt(700)], 700],
    ] as const) {
      const r = await udpExchange(c.c2, '10.97.0.1', query(name, 'A', [...additionals]));
      if (r === 'timeout') throw new Error('no reply');
      expect(truncated(r.reply)).toBe(true);
      expect(r.size).toBeLessThanOrEqual(limit);
      expect(r.size + 20).toBeGreaterThan(limit); // as many as fit: one more record (20 bytes, its owner compressed) would not
      expect(r.reply.answers?.length).toBeGreaterThan(20);
      expect(r.reply.answers?.length).toBeLessThan(40);
      expect(optsOf(r.reply)).toHaveLength(additionals.length);
    }
    expect((await tcpQuery(c.c2, '10.97.0.1', name)).answers).toHaveLength(40);
  });

  it('answers FORMERR to a query without exactly one question (0 or 2), answering and forwarding neither', async () => {
    const asked = upstream.asked.length;
    const none = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]); // QDCOUNT 0
    const r0 = replyOf(await udpExchange(c.c2, '10.97.0.1', none));
    expect([r0.id, rcodeOf(r0), r0.answers]).toEqual([0x1234, 'FORMERR', []]);
    for (const names of [
      ['web.nlkit.internal', 'api.nlkit.internal'],
      ['example.test', 'web.nlkit.internal'],
    ]) {
      const two: Packet = {
        type: 'query',
        flags: dnsPacket.RECURSION_DESIRED,
        questions: names.map((name) => ({ type: 'A' as const, name, class: 'IN' as const })),
      };
      const r = replyOf(await udpExchange(c.c2, '10.97.0.1', two));
      expect(rcodeOf(r)).toBe('FORMERR');
      expect(r.answers).toEqual([]);
      expect((await tcpQuery(c.c2, '10.97.0.1', 'web.nlkit.internal')).answers).toHaveLength(1); // and it goes on answering
    }
    // with EDNS the FORMERR carries the OPT
    const withOpt = replyOf(await udpExchange(c.c2, '10.97.0.1', { type: 'query', flags: 0, questions: [], additionals: [opt(4096)] }));
    expect(rcodeOf(withOpt)).toBe('FORMERR');
    expect(optsOf(withOpt)).toHaveLength(1);
    expect(upstream.asked.length).toBe(asked);
  });

  it('answers reverse lookups of its networks and services itself (PTR or NXDOMAIN), never asking the upstream', async () => {
    const rev = (a: string) => `${a.split('.').reverse().join('.')}.in-addr.arpa`;
    const rev6 = (a: string) =>
      execFileSync('python3', ['-c', `import ipaddress;print(ipaddress.ip_address('${a}').reverse_pointer)`], { encoding: 'utf8' }).trim();
    const asked = upstream.asked.length;
    const local = async (ns: string, gw: string, name: string, type: RecordType = 'PTR', port = 53) => {
      const r = await udpQuery(ns, gw, name, type, port);
      expect(r !== 'timeout' && ((r.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) !== 0).toBe(true);
      return r;
    };
    // a service's address outside the subnets: its name on its network, NXDOMAIN on another
    expect(dataOf(await local(c.c1, '10.97.0.1', rev('10.250.0.5')))).toEqual(['vip.nlkit.internal']);
    expect(dataOf(await local(c.c1, '10.97.0.1', rev6('fd99::5')))).toEqual(['vip.nlkit.internal']);
    expect(rcodeOf(await local(c.c3, '10.98.0.1', rev('10.250.0.5')))).toBe('NXDOMAIN');
    // an address of network a asked from network b; unused addresses of the subnets (IPv4, IPv6); the gateway
    expect(rcodeOf(await local(c.c3, '10.98.0.1', rev(v4.c1)))).toBe('NXDOMAIN');
    expect(rcodeOf(await local(c.c1, '10.97.0.1', rev('10.97.0.99')))).toBe('NXDOMAIN');
    expect(rcodeOf(await local(c.c3, '10.98.0.1', rev('10.98.0.250')))).toBe('NXDOMAIN');
    expect(rcodeOf(await local(c.c1, '10.97.0.1', rev6('fd97::99')))).toBe('NXDOMAIN');
    expect(rcodeOf(await local(c.c1, 'fd97::1', rev6('fd97::1')))).toBe('NXDOMAIN');
    // another type for a known address, and the subnet's own reverse zone: they exist, without records (NODATA)
    const nodata = await local(c.c1, '10.97.0.1', rev(v4.c2), 'TXT');
    expect([rcodeOf(nodata), dataOf(nodata)]).toEqual(['NOERROR', []]);
    expect(rcodeOf(await local(c.c1, '10.97.0.1', '0.97.10.in-addr.arpa', 'SOA'))).toBe('NOERROR');
    // without upstreams: NXDOMAIN too, not REFUSED
    expect(rcodeOf(await local(c.c1, '10.97.0.1', rev('10.97.0.99'), 'PTR', 5353))).toBe('NXDOMAIN');
    // names below an address of the subnets, or not an address at all, are inside their reverse zones too (RFC 6303):
    // DNS-SD browsing (RFC 6763 11), a label with a leading zero, a name below a container's or a service's address
    for (const [ns, gw, name, type] of [
      [c.c1, '10.97.0.1', 'b._dns-sd._udp.0.0.97.10.in-addr.arpa', 'PTR'],
      [c.c1, '10.97.0.1', 'lb._dns-sd._udp.0.0.97.10.in-addr.arpa', 'PTR'],
      [c.c3, '10.98.0.1', 'db._dns-sd._udp.0.0.98.10.in-addr.arpa', 'PTR'],
      [c.c1, '10.97.0.1', '099.0.97.10.in-addr.arpa', 'PTR'],
      [c.c1, '10.97.0.1', `x.${rev(v4.c1)}`, 'TXT'],
      [c.c1, '10.97.0.1', `x.${rev6('fd97::99')}`, 'PTR'],
      [c.c1, '10.97.0.1', `_x._tcp.${rev('10.250.0.5')}`, 'SRV'],
    ] as const)
      expect([name, rcodeOf(await local(ns, gw, name, type))]).toEqual([name, 'NXDOMAIN']);
    expect(upstream.asked.slice(asked)).toEqual([]);
    // wider than a network's subnet (its /16, a name under that /16 but outside the subnet): not the responder's, forwarded
    expect(rcodeOf(await udpQuery(c.c1, '10.97.0.1', '97.10.in-addr.arpa', 'SOA'))).toBe('NXDOMAIN');
    expect(rcodeOf(await udpQuery(c.c1, '10.97.0.1', 'b._dns-sd._udp.0.5.97.10.in-addr.arpa', 'PTR'))).toBe('NXDOMAIN');
    // an address that is not the networks': forwarded as before
    expect(rcodeOf(await udpQuery(c.c1, '10.97.0.1', rev('192.0.2.77'), 'PTR'))).toBe('NXDOMAIN');
    expect(upstream.asked.slice(asked)).toEqual(['udp:97.10.in-addr.arpa', 'udp:b._dns-sd._udp.0.5.97.10.in-addr.arpa', `udp:${rev('192.0.2.77')}`]);
  });

  it('refuses CH and HS queries for any name (version.bind, hostname.bind), never asking the upstream', async () => {
    const asked = upstream.asked.length;
    const refused = responder.stats().refused;
    for (const [name, klass] of [
      ['version.bind', 'CH'],
      ['hostname.bind', 'CH'],
      ['example.test', 'HS'],
    ] as const) {
      const r = replyOf(await udpExchange(c.c1, '10.97.0.1', { type: 'query', questions: [{ type: 'TXT', name, class: klass }] }));
      expect([name, rcodeOf(r), r.answers]).toEqual([name, 'REFUSED', []]);
    }
    expect(upstream.asked.slice(asked)).toEqual([]);
    expect(responder.stats().refused - refused).toBe(3);
  });

  it.runIf(hasDig)('agrees with dig on EDNS, truncation and local reverse lookups', async () => {
    const dig = async (ns: string, ...args: string[]) =>
      (await execFileAsync('ip', ['netns', 'exec', ns, 'dig', '+time=2', '+tries=1', ...args], { encoding: 'utf8' })).stdout;
    const asked = upstream.asked.length;
    const edns = await dig(c.c2, '@10.97.0.1', 'web.nlkit.internal');
    expect(edns).toMatch(/status: NOERROR/);
    expect(edns).toMatch(/; EDNS: version: 0, flags:; udp: 1232/);
    expect(await dig(c.c2, '@10.97.0.1', '+edns=1', '+noednsneg', 'web.nlkit.internal')).toMatch(/status: BADVERS[\s\S]*; EDNS: version: 0, flags:; udp: 1232/);
    const cut = await dig(c.c2, '@10.97.0.1', '+bufsize=600', '+ignore', 'many.nlkit.internal');
    expect(cut).toMatch(/flags: qr aa tc rd ra;/);
    expect(cut).toMatch(/; EDNS: version: 0, flags:; udp: 1232/);
    expect(await dig(c.c2, '@10.97.0.1', '+noedns', '+ignore', 'many.nlkit.internal')).toMatch(/flags: qr aa tc rd ra;/);
    expect(await dig(c.c2, '@10.97.0.1', '+bufsize=1232', 'many.nlkit.internal')).toMatch(/flags: qr aa rd ra; QUERY: 1, ANSWER: 40,/);
    expect(await dig(c.c1, '@10.97.0.1', '-x', '10.97.0.99')).toMatch(/status: NXDOMAIN/);
    expect(await dig(c.c3, '@10.98.0.1', '-x', v4.c1)).toMatch(/status: NXDOMAIN/);
    expect(await dig(c.c1, '@10.97.0.1', '+short', '-x', '10.250.0.5')).toBe('vip.nlkit.internal.\n');
    // the network's names in another class: CH refused, ANY answered as IN; neither goes upstream
    expect(await dig(c.c2, '@10.97.0.1', '-c', 'CH', 'web.nlkit.internal')).toMatch(/status: REFUSED/);
    expect(await dig(c.c2, '@10.97.0.1', '-c', 'CH', '-x', '10.97.0.99')).toMatch(/status: REFUSED/);
    expect(await dig(c.c2, '@10.97.0.1', '+short', '-c', 'ANY', 'web.nlkit.internal')).toBe(`${v4.c1}\n`);
    expect(upstream.asked.slice(asked)).toEqual([]);
  });

  it.runIf(hasDig)('dig reads the names compressed in record data (NS, MX, SOA, CNAME, PTR) and SRV targets in full', async () => {
    // a server on the gateway (another port) answering every query with such records, compressed as the responder writes them
    const sock = await bindUdp({ netns: box.ns('host'), host: '10.97.0.1', port: 5460 });
    const sizes: [number, number][] = [];
    sock.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const records: Answer[] = [
        { type: 'NS', name: 'nlkit.internal', ttl: 5, data: 'ns.nlkit.internal' },
        { type: 'MX', name: 'nlkit.internal', ttl: 5, data: { preference: 10, exchange: 'mail.nlkit.internal' } },
        { type: 'SOA', name: 'nlkit.internal', ttl: 5, data: { mname: 'ns.nlkit.internal', rname: 'hostmaster.nlkit.internal', serial: 7 } },
        { type: 'CNAME', name: 'www.nlkit.internal', ttl: 5, data: 'web.nlkit.internal' },
        { type: 'PTR', name: '2.0.97.10.in-addr.arpa', ttl: 5, data: 'web.nlkit.internal' },
        { type: 'SRV', name: '_http._tcp.web.nlkit.internal', ttl: 5, data: { priority: 0, weight: 1, port: 80, target: 'web.nlkit.internal' } },
      ];
      const full = Buffer.from(dnsPacket.encode({ type: 'response', id: q.id, flags: 0, questions: q.questions, answers: records }));
      const out = compressNames(full);
      sizes.push([full.length, out.length]);
      sock.send(out, rinfo.port, rinfo.address);
    });
    try {
      const out = (
        await execFileAsync('ip', ['netns', 'exec', c.c1, 'dig', '+time=2', '+tries=1', '+noedns', '@10.97.0.1', '-p', '5460', 'nlkit.internal', 'NS'], {
          encoding: 'utf8',
        })
      ).stdout;
      // every owner and data name but the PTR's owner and the SRV target ends in an earlier name (dig sends ANY over TCP: NS asked)
      expect(sizes.map(([full, compressed]) => full - compressed)).toEqual([
        /* owners: NS, MX, SOA, CNAME, SRV (web.nlkit.internal seen) */ 14 +
          14 +
          14 +
          14 +
          18 +
          /* data: NS, MX, SOA x2 (ns.nlkit.internal seen), CNAME, PTR (seen) */ 14 +
          14 +
          17 +
          14 +
          14 +
          18,
      ]);
      expect(out).not.toMatch(/malformed|Warning/i);
      expect(out).toMatch(/ANSWER: 6,/);
      for (const line of [
        /nlkit\.internal\.\s+5\s+IN\s+NS\s+ns\.nlkit\.internal\./,
        /nlkit\.internal\.\s+5\s+IN\s+MX\s+10 mail\.nlkit\.internal\./,
        /nlkit\.internal\.\s+5\s+IN\s+SOA\s+ns\.nlkit\.internal\. hostmaster\.nlkit\.internal\. 7 /,
        /www\.nlkit\.internal\.\s+5\s+IN\s+CNAME\s+web\.nlkit\.internal\./,
        /2\.0\.97\.10\.in-addr\.arpa\.\s+5\s+IN\s+PTR\s+web\.nlkit\.internal\./,
        /_http\._tcp\.web\.nlkit\.internal\.\s+5\s+IN\s+SRV\s+0 1 80 web\.nlkit\.internal\./,
      ])
        expect(out).toMatch(line);
    } finally {
      sock.close();
    }
  });

  it.runIf(hasDig)('agrees with dig, run in the container namespace', async () => {
    // async: the responder answers from this very process, which a synchronous spawn would block
    const dig = async (...args: string[]) =>
      (await execFileAsync('ip', ['netns', 'exec', c.c2, 'dig', '+short', '+time=2', '+tries=1', ...args], { encoding: 'utf8' })).stdout.trim();
    expect(await dig('@10.97.0.1', 'web.nlkit.internal')).toBe(v4.c1);
    expect(await dig('@10.97.0.1', '+tcp', 'api.nlkit.internal', 'AAAA')).toBe(c1v6);
    expect(await dig('@10.97.0.1', '-x', v4.c1)).toBe('web.nlkit.internal.');
    expect(await dig('@10.97.0.1', 'example.test')).toBe('192.0.2.10');
    expect((await dig('@10.97.0.1', 'big.test', 'TXT')).match(/"[^"]*"/g)?.length).toBe(40); // one TXT record of 40 strings: dig retried over TCP itself
  });

  it('survives thousands of random and mutated packets, and answers afterwards', async () => {
    const sock = await bindUdp({ netns: c.c2 });
    const valid = Buffer.from(
      (await import('dns-packet')).encode({ type: 'query', id: 7, flags: 0x100, questions: [{ type: 'A', name: 'web.nlkit.internal', class: 'IN' }] }),
    );
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 3000; i++) {
      let pkt: Buffer;
      if (i % 2 === 0) {
        pkt = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
      } else {
        pkt = Buffer.from(valid);
        for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) pkt[Math.floor(rand() * pkt.length)] = Math.floor(rand() * 256);
        if (rand() < 0.3) pkt = pkt.subarray(0, Math.floor(rand() * pkt.length));
      }
      sock.send(pkt, 53, '10.97.0.1');
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20)); // let the responder keep up (UDP drops are not the point)
    }
    sock.close();
    // TCP garbage, a short frame and a frame longer than what follows
    const { connectTcp } = await import('../../lib');
    const t = await connectTcp({ netns: c.c2, host: '10.97.0.1', port: 53 });
    t.write(Buffer.from([0, 3, 1, 2, 3, 0xff, 0xff, 9]));
    t.destroy();
    expect(responder.stats().malformed).toBeGreaterThan(100);
    expect(dataOf(await udpQuery(c.c2, '10.97.0.1', 'web.nlkit.internal'))).toEqual([v4.c1]);
  });

  it('refuses bad options before opening anything', async () => {
    const base = { manager: nets, host: box.ns('host'), networks: ['a'] };
    await expect(dnsResponder({ ...base, domian: 'x' } as never)).rejects.toThrow(ValidationError);
    await expect(dnsResponder({ ...base, domain: 'bad_domain' })).rejects.toThrow(/domain/);
    await expect(dnsResponder({ ...base, upstreams: ['not-an-ip'] })).rejects.toThrow(/upstreams\[0\]/);
    await expect(dnsResponder({ ...base, networks: [] })).rejects.toThrow(/networks/);
    await expect(nets.attach('a', { sandbox: uniqueNetnsName('x'), create: true, names: ['no_underscores'] })).rejects.toThrow(/names\[0\]/);
    expect(responder.resolvConf(await nets.get('a').then((n) => n.attachments[0]))).toEqual({
      nameservers: ['10.97.0.1', 'fd97::1'],
      search: ['nlkit.internal'],
    });
  });
});
