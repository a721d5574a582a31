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
import { dataOf, fakeUpstream, rcodeOf, tcpFate, tcpQuery, truncated, udpQuery } from '../helpers/dns';
import { ip, uniqueNetnsName, useNetns } from '../helpers/netns';

const execFileAsync = promisify(execFile);
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
    const services = {
      records: (n: string) => (n === 'a' ? [{ names: ['shop'], ipv4: '10.97.0.200', ports: [{ service: 'http', protocol: 'tcp' as const, port: 8080 }] }] : []),
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
    // c1's address is not network b's: forwarded (the upstream says NXDOMAIN), not answered
    expect(rcodeOf(await udpQuery(c.c3, '10.98.0.1', rev4, 'PTR'))).toBe('NXDOMAIN');
    expect(upstream.asked).toContain(`udp:${rev4}`);
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
