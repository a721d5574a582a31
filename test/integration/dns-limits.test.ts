// The DNS responder under a hostile client, with real sockets in test
// namespaces: TCP connection caps, strangers closed at accept, a client
// pipelining queries without reading its replies, idle and lifetime limits,
// and forwarding that ignores spoofed upstream replies.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, connectTcp, deleteNetns, dnsResponder, networkNames, ValidationError, type DnsResponder, type DnsStats } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { frame } from '../../lib/dns/tcp-frames';
import { USES } from '../../lib/dns/udp-leases';
import { dataOf, tcpFate, udpQuery } from '../helpers/dns';
import { ip, uniqueNetnsName, useNetns } from '../helpers/netns';

/** Polls until `read` gives the same value 4 times in a row (the responder has stopped moving), at most ~30 s. */
async function settled<T>(read: () => T): Promise<T> {
  let last = read();
  for (let same = 0, i = 0; same < 4 && i < 120; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = read();
    same = JSON.stringify(now) === JSON.stringify(last) ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Resolves when the socket closes, or with 'open' after 5 s. */
const closes = (sock: import('node:net').Socket): Promise<'closed' | 'open'> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), 5000);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });

const query = (name: string, id = 1): Buffer => frame(Buffer.from(dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name, class: 'IN' }] })));

describe('dnsResponder limits: TCP clients and upstream replies', () => {
  const box = useNetns('host', 'up');
  const c = { c1: uniqueNetnsName('c1'), c2: uniqueNetnsName('c2'), c3: uniqueNetnsName('c3') };
  let nets: NetworkManager;
  let stateDir: string;
  const running: DnsResponder[] = [];
  const start = async (extra: Partial<Parameters<typeof dnsResponder>[0]>): Promise<DnsResponder> => {
    const many = { records: () => Array.from({ length: 100 }, (_, i) => ({ names: ['many'], ipv4: `10.93.1.${String(i + 1)}` })) };
    const r = await dnsResponder({ manager: nets, host: box.ns('host'), networks: ['a', 'b'], sources: [networkNames(nets), many], ...extra });
    running.push(r);
    return r;
  };

  beforeAll(async () => {
    ip(box.ns('host'), 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', box.ns('up'));
    ip(box.ns('host'), 'addr', 'add', '10.250.0.1/30', 'dev', 'up0');
    ip(box.ns('host'), 'link', 'set', 'up0', 'up');
    ip(box.ns('up'), 'addr', 'add', '10.250.0.2/30', 'dev', 'eth0');
    ip(box.ns('up'), 'link', 'set', 'eth0', 'up');
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-dns-limits-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'a', subnet: '10.93.0.0/24' });
    await nets.create({ name: 'b', subnet: '10.94.0.0/24' });
    await nets.attach('a', { sandbox: c.c1, create: true });
    await nets.attach('a', { sandbox: c.c2, create: true });
    await nets.attach('b', { sandbox: c.c3, create: true });
  });
  afterAll(async () => {
    for (const r of running) await r.close();
    for (const n of ['a', 'b']) await nets?.delete(n, { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('closes a TCP connection from outside the network right after accept, without reading it', async () => {
    const r = await start({ port: 5400 });
    expect(await tcpFate(c.c1, '10.94.0.1', 5400)).toBe('closed'); // c1 is on a, not b
    expect(await tcpFate(c.c3, '10.94.0.1', 5400)).toBe('reply');
    expect(r.stats()).toMatchObject({ tcpRejected: 1, tcp: 1, queries: 1 });
  });

  it('closes the connections over maxConnectionsPerClient and maxConnections; frees the slot when one closes', async () => {
    const r = await start({ port: 5401, tcp: { maxConnections: 3, maxConnectionsPerClient: 2 } });
    const held = [];
    for (const ns of [c.c1, c.c1, c.c2]) {
      const s = await connectTcp({ netns: ns, host: '10.93.0.1', port: 5401 });
      held.push(s);
      await new Promise((resolve) => {
        s.once('data', resolve); // answered: the responder has taken it
        s.write(query('many'));
      });
    }
    expect(r.stats().tcpConnections).toBe(3);
    expect(await tcpFate(c.c1, '10.93.0.1', 5401)).toBe('closed'); // c1's third
    expect(await tcpFate(c.c2, '10.93.0.1', 5401)).toBe('closed'); // the fourth in all
    expect(r.stats().tcpRejected).toBe(2);
    const gone = closes(held[0]);
    held[0].destroy();
    await gone;
    await settled(() => r.stats().tcpConnections);
    expect(await tcpFate(c.c2, '10.93.0.1', 5401)).toBe('reply');
    for (const s of held) s.destroy();
  });

  it('reads no further from a client that pipelines queries without reading the replies', async () => {
    const r = await start({ port: 5402, tcp: { maxQueriesInFlight: 4 } });
    const sent = 20_000; // each answer is ~1,650 bytes (100 addresses): ~33 MB if all were answered
    const s = await connectTcp({ netns: c.c1, host: '10.93.0.1', port: 5402 });
    s.pause(); // never read
    s.write(Buffer.concat(Array.from({ length: sent }, (_, i) => query('many', i & 0xffff))));
    let peak = 0;
    const stats = await settled(() => {
      const now = r.stats();
      peak = Math.max(peak, now.tcpInFlight);
      return now.queries;
    });
    expect(stats).toBeGreaterThan(0);
    expect(stats).toBeLessThan(sent / 2);
    expect(peak).toBeLessThanOrEqual(4);
    expect(r.stats().tcpConnections).toBe(1);
    const gone = closes(s);
    s.destroy();
    await gone;
    expect(await settled(() => r.stats().tcpConnections)).toBe(0);
    expect(await tcpFate(c.c1, '10.93.0.1', 5402)).toBe('reply');
  });

  it('closes a connection that drips bytes without a complete query (idleMs), and a busy one at lifetimeMs', async () => {
    const r = await start({ port: 5403, tcp: { idleMs: 400, lifetimeMs: 1500 } });
    const drip = await connectTcp({ netns: c.c1, host: '10.93.0.1', port: 5403 });
    const bytes = query('many');
    let i = 0;
    const dripping = setInterval(() => drip.write(bytes.subarray(i, ++i)), 100); // one byte per 100 ms, never a whole query
    expect(await closes(drip)).toBe('closed');
    clearInterval(dripping);
    const busy = await connectTcp({ netns: c.c2, host: '10.93.0.1', port: 5403 });
    let answers = 0;
    busy.on('data', () => answers++);
    const asking = setInterval(() => busy.write(query('many')), 100); // a full query every 100 ms: never idle
    expect(await closes(busy)).toBe('closed');
    clearInterval(asking);
    expect(answers).toBeGreaterThan(0);
    expect(await settled(() => r.stats().tcpConnections)).toBe(0);
  });

  it('ignores an upstream reply with the right id but another question; rotates the source port every few forwards', async () => {
    const ports: number[] = [];
    const up = await bindUdp({ netns: box.ns('up'), host: '10.250.0.2', port: 53 });
    up.on('message', (msg, rinfo) => {
      ports.push(rinfo.port);
      const q = dnsPacket.decode(msg);
      const name = q.questions?.[0]?.name ?? '';
      const reply = (qname: string, data: string) =>
        dnsPacket.encode({
          type: 'response',
          id: q.id,
          flags: 0,
          questions: [{ type: 'A', name: qname, class: 'IN' }],
          answers: [{ type: 'A', name: qname, ttl: 60, data }],
        });
      // the spoof first, from the server's own address and port, with the query's id: only the question tells it apart
      up.send(reply('evil.test', '198.51.100.66'), rinfo.port, rinfo.address);
      up.send(reply(name, '192.0.2.77'), rinfo.port, rinfo.address);
    });
    try {
      const r = await start({ port: 5404, upstreams: ['10.250.0.2'], timeoutMs: 3000 });
      for (const name of ['one.test', 'two.test', 'three.test', 'four.test'])
        expect(dataOf(await udpQuery(c.c1, '10.93.0.1', name, 'A', 5404))).toEqual(['192.0.2.77']);
      expect(r.stats()).toMatchObject({ forwarded: 4, upstreamMismatches: 4, upstreamFailures: 0 });
      for (let i = 4; i < 3 * USES; i++) await udpQuery(c.c1, '10.93.0.1', `n${String(i)}.test`, 'A', 5404);
      expect(r.stats()).toMatchObject({ forwarded: 3 * USES, upstreamMismatches: 3 * USES, upstreamFailures: 0 });
      expect(ports).toHaveLength(3 * USES);
      expect(new Set(ports).size).toBe(3); // a fresh random port every USES forwards
    } finally {
      up.close();
    }
  });

  it('caps UDP replies at 1232 bytes by default, even to a client offering 4096', async () => {
    await start({ port: 5405 });
    const sock = await bindUdp({ netns: c.c1 });
    try {
      const reply = new Promise<Buffer>((resolve) => sock.once('message', resolve));
      const q = { type: 'query' as const, id: 5, questions: [{ type: 'A' as const, name: 'many', class: 'IN' as const }] };
      sock.send(dnsPacket.encode({ ...q, additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0, options: [] } as never] }), 5405, '10.93.0.1');
      const out = await reply;
      expect(out.length).toBeLessThanOrEqual(1232);
      expect((dnsPacket.decode(out).flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE).toBe(dnsPacket.TRUNCATED_RESPONSE);
    } finally {
      sock.close();
    }
  });

  it("drops UDP queries of a client over udpRateLimit, and only that client's", async () => {
    const r = await start({ port: 5406, udpRateLimit: { perSecond: 1, burst: 3 } });
    const sock = await bindUdp({ netns: c.c1 });
    try {
      let answers = 0;
      sock.on('message', () => answers++);
      for (let i = 0; i < 20; i++)
        sock.send(Buffer.from(dnsPacket.encode({ type: 'query', id: i, questions: [{ type: 'A', name: 'many', class: 'IN' }] })), 5406, '10.93.0.1');
      const seen = await settled(() => r.stats().queries + r.stats().rateLimited);
      expect(seen).toBe(20);
      expect(r.stats().queries).toBeLessThanOrEqual(5); // the burst of 3, and a refill if the sends took long
      expect(answers).toBe(r.stats().queries);
      expect(await udpQuery(c.c2, '10.93.0.1', 'many', 'A', 5406)).not.toBe('timeout'); // c2 has its own bucket
      expect(r.stats().rateLimited).toBeGreaterThanOrEqual(15);
    } finally {
      sock.close();
    }
  });

  it('counts listening-socket errors and passes them to onError instead of swallowing them', async () => {
    const seen: Error[] = [];
    const r = await start({ port: 5407, onError: (e) => seen.push(e) });
    // An accept failing for lack of file descriptors, as Node reports it on the server (not provokable without exhausting the whole process's fds).
    const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
    (r as unknown as { tcp: import('node:net').Server[] }).tcp[0].emit('error', emfile);
    expect(seen).toEqual([emfile]);
    expect(r.stats().socketErrors).toBe(1);
    expect(await tcpFate(c.c1, '10.93.0.1', 5407)).toBe('reply'); // still serving
  });

  it('refuses bad limits before opening anything', async () => {
    const base = { manager: nets, host: box.ns('host'), networks: ['a'] };
    await expect(dnsResponder({ ...base, tcp: { maxConections: 3 } as never })).rejects.toThrow(ValidationError);
    await expect(dnsResponder({ ...base, tcp: { maxConnections: 0 } })).rejects.toThrow(/tcp\.maxConnections/);
    await expect(dnsResponder({ ...base, tcp: { maxQueriesInFlight: 1.5 } })).rejects.toThrow(/tcp\.maxQueriesInFlight/);
    await expect(dnsResponder({ ...base, maxUdpReply: 100 })).rejects.toThrow(/maxUdpReply/);
    await expect(dnsResponder({ ...base, onError: 'log' as never })).rejects.toThrow(/onError/);
    await expect(dnsResponder({ ...base, udpRateLimit: { perSecond: 0 } })).rejects.toThrow(/udpRateLimit\.perSecond/);
    await expect(dnsResponder({ ...base, udpRateLimit: { perSecond: 5, brust: 1 } as never })).rejects.toThrow(ValidationError);
    const stats: DnsStats | undefined = running[0]?.stats();
    expect(stats?.socketErrors).toBe(0);
  });
});
