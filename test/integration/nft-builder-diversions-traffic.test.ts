// The statements that send packets elsewhere, on real packets between three
// namespaces the test creates:
//
//   a: a0 10.7.0.1/24 ── ra 10.7.0.254/24 :r: rb 10.8.0.1/24 ── b0 10.8.0.2/24 (+ 10.7.0.2/24) :b
//
// b0 carries ra's MAC address, so a frame r's netdev ingress hook moves from
// ra out of rb unchanged (its destination MAC is ra's) is taken by b as its
// own. r does not forward IP. Each test adds its own table and deletes it.
// - fwd to "rb": a datagram from a for 10.7.0.2 reaches b only with the rule.
// - dup to 10.8.0.2 device "rb": a datagram for r itself reaches r, and a
//   copy reaches b (which has 10.7.0.254 on lo, so it takes the copy).
// - queue with and without bypass, nobody listening on the queue: bypass
//   lets the datagram through, plain queue drops it. This kernel has no nft
//   queue expression; the test skips itself there, saying so.
// - ct helper set "ftp" (a ct helper object): a fake FTP control exchange
//   (the server answers 227 Entering Passive Mode) makes conntrack expect the
//   data connection (read with `conntrack -L expect` in r); that connection
//   then gets through a rule refusing new connections, as related, and
//   nlkit's conntrack listing shows it as expected. Without the helper rule:
//   no expectation, the data connection is refused.
import { execFileSync } from 'node:child_process';
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NftCommandError, bindUdp, connectTcp, listenTcp, rule, type Handle } from '../../lib';
import type { NftFamily } from '../../lib/nftables/message';
import { ip, useNetns } from '../helpers/netns';
import { nftRuleLines } from '../helpers/nft';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A UDP listener that keeps what it received. */
async function udpInbox(netns: string, port: number, host = '0.0.0.0'): Promise<{ sock: dgram.Socket; got: string[] }> {
  const sock = await bindUdp({ netns, host, port });
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  return { sock, got };
}

/** Sends one datagram from `netns` and waits until `inboxes` have it or `ms` passed (to see that nothing arrives). */
async function sendAndWait(netns: string, to: string, port: number, text: string, inboxes: Array<{ got: string[] }>, ms = 2000): Promise<void> {
  const s = await bindUdp({ netns, host: '0.0.0.0', port: 0 });
  try {
    await new Promise<void>((resolve, reject) => s.send(text, port, to, (e) => (e ? reject(e) : resolve())));
    for (let waited = 0; waited < ms && !inboxes.every((i) => i.got.includes(text)); waited += 50) await sleep(50);
  } finally {
    s.close();
  }
}

/** Adds a table with one base chain (and optionally objects), runs `body`, and deletes the table whatever happened. */
async function withTable(h: Handle, family: NftFamily, chain: Parameters<ReturnType<Handle['nft']['transaction']>['addChain']>[0], body: () => Promise<void>) {
  const tx = h.nft.transaction();
  tx.addTable({ family, name: chain.table });
  tx.addChain(chain);
  await tx.commit();
  try {
    await body();
  } finally {
    const del = h.nft.transaction();
    del.deleteTable({ family, name: chain.table });
    await del.commit();
  }
}

describe('dup, fwd, queue and ct helper on real traffic', () => {
  const box = useNetns('a', 'r', 'b');
  const closers: Array<() => void> = [];
  const ns = (l: string) => box.ns(l);

  beforeAll(async () => {
    const r = box.h('r');
    await r.links.add({ name: 'ra', kind: 'veth', peer: { name: 'a0', netns: ns('a') }, up: true });
    await r.links.add({ name: 'rb', kind: 'veth', peer: { name: 'b0', netns: ns('b') }, up: true });
    await r.addresses.add('ra', '10.7.0.254/24');
    await r.addresses.add('rb', '10.8.0.1/24');
    const raMac = (await r.links.get('ra')).mac!;
    const a = box.h('a');
    await a.links.set('a0', { up: true });
    await a.addresses.add('a0', '10.7.0.1/24');
    ip(ns('a'), 'neigh', 'add', '10.7.0.2', 'lladdr', raMac, 'dev', 'a0', 'nud', 'permanent');
    const b = box.h('b');
    await b.links.set('b0', { mac: raMac, up: true });
    await b.addresses.add('b0', '10.8.0.2/24');
    await b.addresses.add('b0', '10.7.0.2/24');
    await b.addresses.add('lo', '10.7.0.254/32');
  });

  afterAll(() => closers.forEach((c) => c()));

  it('fwd to "rb" from ra ingress moves a datagram for 10.7.0.2 into b; without the rule it never arrives', async () => {
    const inB = await udpInbox(ns('b'), 9001);
    closers.push(() => inB.sock.close());
    await sendAndWait(ns('a'), '10.7.0.2', 9001, 'before', [inB], 500);
    expect(inB.got).toEqual([]);
    const chain = { family: 'netdev', table: 'fw', name: 'in', type: 'filter', hook: 'ingress', device: 'ra', priority: 0, policy: 'accept' } as const;
    await withTable(box.h('r'), 'netdev', chain, async () => {
      const tx = box.h('r').nft.transaction();
      tx.addRule({ family: 'netdev', table: 'fw', chain: 'in', rule: rule().ip({ daddr: '10.7.0.2' }).fwd('rb') });
      await tx.commit();
      expect(nftRuleLines(ns('r'), 'netdev', 'fw')).toEqual(['ip daddr 10.7.0.2 fwd to "rb"']);
      await sendAndWait(ns('a'), '10.7.0.2', 9001, 'forwarded', [inB]);
      expect(inB.got).toEqual(['forwarded']);
    });
  });

  it('dup to 10.8.0.2 device "rb": r receives the datagram and b a copy of it', async () => {
    const inR = await udpInbox(ns('r'), 9002, '10.7.0.254');
    const inB = await udpInbox(ns('b'), 9002);
    closers.push(
      () => inR.sock.close(),
      () => inB.sock.close(),
    );
    await sendAndWait(ns('a'), '10.7.0.254', 9002, 'before', [inR, inB], 500);
    expect([inR.got, inB.got]).toEqual([['before'], []]);
    const chain = { family: 'ip', table: 'dp', name: 'pre', type: 'filter', hook: 'prerouting', priority: 'filter', policy: 'accept' } as const;
    await withTable(box.h('r'), 'ip', chain, async () => {
      const tx = box.h('r').nft.transaction();
      tx.addRule({ family: 'ip', table: 'dp', chain: 'pre', rule: rule().udp({ dport: 9002 }).dup({ to: '10.8.0.2', device: 'rb' }) });
      await tx.commit();
      expect(nftRuleLines(ns('r'), 'ip', 'dp')).toEqual(['udp dport 9002 dup to 10.8.0.2 device "rb"']);
      await sendAndWait(ns('a'), '10.7.0.254', 9002, 'copied', [inR, inB]);
      expect([inR.got, inB.got]).toEqual([['before', 'copied'], ['copied']]);
    });
  });

  it('queue without a listener: bypass lets the datagram through, plain queue drops it', async (ctx) => {
    const chain = { family: 'inet', table: 'qu', name: 'in', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' } as const;
    await withTable(box.h('r'), 'inet', chain, async () => {
      const tx = box.h('r').nft.transaction();
      tx.addRule({ family: 'inet', table: 'qu', chain: 'in', rule: rule().udp({ dport: 9003 }).counter().queue({ num: 3, bypass: true }) });
      tx.addRule({ family: 'inet', table: 'qu', chain: 'in', rule: rule().udp({ dport: 9004 }).counter().queue({ num: 4 }) });
      const refused = await tx.commit().then(
        () => undefined,
        (e: unknown) => e,
      );
      // Kernels without the nft queue expression (like the test kernel here) refuse the rule: nothing to send packets through.
      if (refused instanceof NftCommandError && refused.code === 'ENOENT') ctx.skip('this kernel has no nft queue expression');
      if (refused) throw refused;
      expect(execFileSync('ip', ['netns', 'exec', ns('r'), 'cat', '/proc/net/netfilter/nfnetlink_queue'], { encoding: 'utf8' })).toBe('');
      const through = await udpInbox(ns('r'), 9003);
      const dropped = await udpInbox(ns('r'), 9004);
      closers.push(
        () => through.sock.close(),
        () => dropped.sock.close(),
      );
      await sendAndWait(ns('a'), '10.7.0.254', 9003, 'bypassed', [through]);
      await sendAndWait(ns('a'), '10.7.0.254', 9004, 'queued', [dropped], 1000);
      expect([through.got, dropped.got]).toEqual([['bypassed'], []]);
      const counted = (await box.h('r').nft.rules.list({ family: 'inet', table: 'qu', chain: 'in' })).map(
        (r) => r.expressions.find((e) => e.type === 'counter')?.packets,
      );
      expect(counted).toEqual([1n, 1n]);
    });
  });

  it('ct helper set "ftp": a passive-mode reply makes conntrack expect the data connection, which then passes as related', async () => {
    const r = box.h('r');
    const servers: net.Server[] = [];
    closers.push(() => servers.forEach((s) => s.close()));
    // A greeting, then the answer to PASV (the helper reads a line only after one it saw end): the data port 10000 = 39 * 256 + 16.
    const ftp = (s: net.Socket) => {
      s.on('error', () => undefined); // the client resets it when the test closes it
      s.write('220 fake ftp\r\n');
      s.on('data', (d) => d.toString().startsWith('PASV') && s.write('227 Entering Passive Mode (10,7,0,254,39,16).\r\n'));
    };
    servers.push(await listenTcp({ netns: ns('r'), host: '10.7.0.254', port: 2121 }, ftp));
    servers.push(await listenTcp({ netns: ns('r'), host: '10.7.0.254', port: 10000 }, (s) => s.on('error', () => undefined).end('data')));
    const expectations = () =>
      execFileSync('ip', ['netns', 'exec', ns('r'), 'conntrack', '-L', 'expect'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    /** Opens the control connection, sends PASV after the greeting and waits for the answer; returns it (kept open: the expectation belongs to it). */
    const control = async () => {
      const s = await connectTcp({ netns: ns('a'), host: '10.7.0.254', port: 2121, timeoutMs: 5000 });
      closers.push(() => s.destroy());
      s.on('error', () => undefined);
      let text = '';
      await new Promise<void>((resolve) =>
        s.on('data', (d) => {
          text += d.toString();
          if (text === '220 fake ftp\r\n') s.write('PASV\r\n');
          if (text.includes('227 ')) resolve();
        }),
      );
      return s;
    };
    const data = () =>
      connectTcp({ netns: ns('a'), host: '10.7.0.254', port: 10000, timeoutMs: 3000 }).then(
        (s) => (s.destroy(), 'connected'),
        (e: unknown) => `error:${(e as { code?: string }).code}`,
      );
    const chain = { family: 'inet', table: 'hp', name: 'pre', type: 'filter', hook: 'prerouting', priority: 'filter', policy: 'accept' } as const;
    await withTable(r, 'inet', chain, async () => {
      const tx = r.nft.transaction();
      tx.addObject({ family: 'inet', table: 'hp', name: 'ftp-standard', type: 'ct helper', helper: 'ftp', protocol: 'tcp' });
      tx.addChain({ family: 'inet', table: 'hp', name: 'in', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
      tx.addRule({ family: 'inet', table: 'hp', chain: 'in', rule: rule().tcp({ dport: 10000 }).ct({ state: 'new' }).reject({ with: 'tcp reset' }) });
      await tx.commit();
      // Without the helper: nothing expected, the data connection is new and refused.
      const first = await control();
      expect(expectations()).not.toMatch(/dport=10000/);
      expect(await data()).toMatch(/^error:ECONNREFUSED/);
      first.destroy();
      const add = r.nft.transaction();
      add.addRule({ family: 'inet', table: 'hp', chain: 'pre', rule: rule().tcp({ dport: 2121 }).setCtHelper('ftp-standard') });
      await add.commit();
      expect(nftRuleLines(ns('r'), 'inet', 'hp')).toContain('tcp dport 2121 ct helper set "ftp-standard"');
      await control();
      expect(expectations()).toMatch(/proto=6 src=10\.7\.0\.1 dst=10\.7\.0\.254 sport=0 dport=10000 .*helper=ftp/);
      expect(await data()).toBe('connected');
      const entries = await r.conntrack.list({ protocol: 'tcp' });
      const dataEntry = entries.find((e) => e.original.dport === 10000);
      expect(dataEntry?.status).toContain('expected');
    });
  });
});
