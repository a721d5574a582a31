// Rule builder statements acting on real packets between two namespaces
// (cli 10.9.1.2 ── srv 10.9.1.1 over a veth): mark bit operations observed by
// counter rules matching the resulting marks, dispatch (vmap goto) observed
// by counters in the target chains, update @set / @map observed in the set's
// elements, ct count refusing the connection over the limit, and tproxy
// handing a connection for 10.99.0.5:80 (an address nobody has; cli routes
// 10.99.0.0/24 to srv) to a transparent listener on :8080.
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTcp, listenTcp, rule, type Handle } from '../../lib';
import type { Expression } from '../../lib/nftables/expressions/registry';
import { nft, nftRuleLines } from '../helpers/nft';
import { ip, useNetns } from '../helpers/netns';
import { hello, transparentEcho } from '../helpers/traffic';

const SRV = '10.9.1.1';
const t = { family: 'inet', table: 'b' } as const;

/** Packets counted by each counter rule of a chain, in rule order (rules without a counter are left out). */
async function counters(h: Handle, chain: string): Promise<number[]> {
  const rules = await h.nft.rules.list({ ...t, chain });
  return rules.flatMap((r) => r.expressions.filter((e): e is Extract<Expression, { type: 'counter' }> => e.type === 'counter').map((e) => Number(e.packets)));
}

/** The same counts as `nft -j` sees them. */
function nftCounters(ns: string, chain: string): number[] {
  const out = JSON.parse(nft(ns, '-j', 'list', 'chain', 'inet', 'b', chain)) as {
    nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }>;
  };
  return out.nftables.flatMap((o) => (o.rule ? o.rule.expr.filter((e) => e.counter).map((e) => e.counter!.packets) : []));
}

describe('rule builder statements on real traffic', () => {
  const box = useNetns('srv', 'cli');
  const servers: net.Server[] = [];
  const held: net.Socket[] = [];
  let transparent: net.Server | undefined;
  const srv = () => box.h('srv');
  const cli = () => box.ns('cli');

  beforeAll(async () => {
    const h = srv();
    await h.links.add({ name: 'vs', kind: 'veth', peer: { name: 'eth0', netns: cli() }, up: true });
    await h.addresses.add('vs', `${SRV}/24`);
    const c = box.h('cli');
    await c.links.set('eth0', { up: true });
    await c.addresses.add('eth0', '10.9.1.2/24');
    await c.routes.add({ dst: '10.99.0.0/24', gateway: SRV });
    for (const port of [7001, 7002, 7003, 7004]) servers.push(await listenTcp({ netns: box.ns('srv'), host: SRV, port }, (s) => s.end('ok')));
    // ct count: connections stay open until the test closes them.
    servers.push(await listenTcp({ netns: box.ns('srv'), host: SRV, port: 7005 }, (s) => s.on('error', () => undefined)));
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 'b' });
    tx.addChain({ ...t, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
    await tx.commit();
  });

  afterAll(() => {
    held.forEach((s) => s.destroy());
    servers.forEach((s) => s.close());
    transparent?.close();
  });

  it('mark bit operations: | keeps the other bits, & clears them, masked matches see only the masked bits, ct mark copies meta mark', async () => {
    const h = srv();
    const p = { dport: 7001 };
    const tx = h.nft.transaction();
    tx.addChain({ ...t, name: 'marks' });
    tx.addRule({ ...t, chain: 'input', rule: rule().tcp(p).jump('marks') });
    const add = (r: ReturnType<typeof rule>) => tx.addRule({ ...t, chain: 'marks', rule: r });
    add(rule().setMark(0x3)); // bits the | must keep
    add(rule().setMark({ or: 0x4000 }));
    add(rule().mark({ mask: 0xff00, value: 0x4000 }).counter());
    add(rule().mark(0x4003).counter());
    add(rule().mark({ mask: 0xff00, value: 0x100 }).counter()); // must stay 0
    add(rule().setMark({ and: 0xff00 }));
    add(rule().mark(0x4000).counter());
    add(rule().mark(0x4003).counter()); // must stay 0: & cleared the low bits
    add(rule().ct({ state: 'new' }).setCtMark({ from: 'meta mark' }));
    add(
      rule()
        .ct({ mark: { mask: 0xf000, value: 0x4000 } })
        .counter(),
    );
    await tx.commit();
    expect(nftRuleLines(box.ns('srv'), 'inet', 'b')).toEqual(
      expect.arrayContaining([
        'meta mark set meta mark | 0x00004000',
        'meta mark & 0x0000ff00 == 0x00004000 counter packets 0 bytes 0',
        'meta mark set meta mark & 0x0000ff00',
        'ct state new ct mark set meta mark',
        'ct mark & 0x0000f000 == 0x00004000 counter packets 0 bytes 0',
      ]),
    );
    expect(await hello(cli(), SRV, 7001, 5000)).toBe('ok');
    const [masked, orKept, wrongMask, anded, andCleared, ctMasked] = await counters(h, 'marks');
    expect(masked).toBeGreaterThan(0);
    expect([orKept, anded, ctMasked]).toEqual([masked, masked, masked]);
    expect([wrongMask, andCleared]).toEqual([0, 0]);
    expect(nftCounters(box.ns('srv'), 'marks')).toEqual([masked, orKept, wrongMask, anded, andCleared, ctMasked]);
  });

  it('dispatch: numgen inc alternates new connections between two chains; jhash ip saddr keeps one client in one chain', async () => {
    const h = srv();
    const tx = h.nft.transaction();
    for (const c of ['a', 'b', 'c', 'd']) tx.addChain({ ...t, name: c });
    for (const c of ['a', 'b', 'c', 'd']) tx.addRule({ ...t, chain: c, rule: rule().counter().accept() });
    const two = (x: string, y: string) => [
      { key: 0, verdict: { goto: x } },
      { key: 1, verdict: { goto: y } },
    ];
    tx.addRule({
      ...t,
      chain: 'input',
      rule: rule()
        .tcp({ dport: 7002 })
        .ct({ state: 'new' })
        .dispatch({ by: 'incremental', mod: 2, map: two('a', 'b') }),
    });
    tx.addRule({
      ...t,
      chain: 'input',
      rule: rule()
        .tcp({ dport: 7003 })
        .ct({ state: 'new' })
        .dispatch({ by: { jhash: 'ip saddr' }, mod: 2, map: two('c', 'd') }),
    });
    await tx.commit();
    const lines = nftRuleLines(box.ns('srv'), 'inet', 'b');
    expect(lines).toContain('tcp dport 7002 ct state new numgen inc mod 2 vmap { 0 : goto a, 1 : goto b }');
    expect(lines).toContain('tcp dport 7003 ct state new jhash ip saddr mod 2 vmap { 0 : goto c, 1 : goto d }');
    for (let i = 0; i < 4; i++) {
      expect(await hello(cli(), SRV, 7002, 5000)).toBe('ok');
      expect(await hello(cli(), SRV, 7003, 5000)).toBe('ok');
    }
    const [a, b, c, d] = [...(await counters(h, 'a')), ...(await counters(h, 'b')), ...(await counters(h, 'c')), ...(await counters(h, 'd'))];
    expect([a, b]).toEqual([2, 2]);
    expect([c, d].sort()).toEqual([0, 4]);
  });

  it('update @set and @map: the client address appears (next to an element that was there), with its timeout and value', async () => {
    const h = srv();
    const tx = h.nft.transaction();
    tx.addSet({ ...t, name: 'clients', keyType: 'ipv4_addr', flags: ['dynamic', 'timeout'], timeout: 60_000 }, [{ key: '10.9.1.99' }]);
    tx.addSet({ ...t, name: 'affinity', keyType: 'ipv4_addr', dataType: 'mark', flags: ['dynamic', 'timeout'], timeout: 60_000 });
    tx.addRule({ ...t, chain: 'input', rule: rule().tcp({ dport: 7004 }).updateSet('@clients', { key: 'ip saddr', timeout: 30_000 }) });
    tx.addRule({ ...t, chain: 'input', rule: rule().tcp({ dport: 7004 }).ct({ state: 'new' }).addToSet('@affinity', { key: 'ip saddr', value: 7 }) });
    await tx.commit();
    const keys = async (name: string) => (await h.nft.elements.list({ ...t, name })).map((e) => e.key);
    expect(await keys('clients')).toEqual(['10.9.1.99']);
    expect(await keys('affinity')).toEqual([]);
    expect(await hello(cli(), SRV, 7004, 5000)).toBe('ok');
    expect((await keys('clients')).sort()).toEqual(['10.9.1.2', '10.9.1.99']);
    const [added] = (await h.nft.elements.list({ ...t, name: 'clients' })).filter((e) => e.key === '10.9.1.2');
    expect(added.timeout).toBe(30_000);
    expect(await h.nft.elements.list({ ...t, name: 'affinity' })).toMatchObject([{ key: '10.9.1.2', value: 7 }]);
    const out = nft(box.ns('srv'), 'list', 'map', 'inet', 'b', 'affinity');
    expect(out).toMatch(/elements = { 10\.9\.1\.2 expires \S+ : 0x00000007 }/);
  });

  it('ct count over 2: a third concurrent connection is reset; the first two stay up', async () => {
    const h = srv();
    const tx = h.nft.transaction();
    tx.addRule({ ...t, chain: 'input', rule: rule().tcp({ dport: 7005 }).ct({ state: 'new' }).ctCount({ over: 2 }).reject({ with: 'tcp reset' }) });
    await tx.commit();
    expect(nftRuleLines(box.ns('srv'), 'inet', 'b')).toContain('tcp dport 7005 ct state new ct count over 2 reject with tcp reset');
    const connect = () => connectTcp({ netns: cli(), host: SRV, port: 7005, timeoutMs: 3000 });
    held.push(await connect(), await connect());
    await expect(connect()).rejects.toThrow(/ECONNREFUSED|reset|refused/i);
    expect(held.every((s) => !s.destroyed)).toBe(true);
  });

  it('tproxy to :8080 diverts a connection for 10.99.0.5:80 to a transparent listener, which sees 10.99.0.5:80', async () => {
    const ns = box.ns('srv');
    // Marked packets are delivered locally, whatever their destination.
    ip(ns, 'rule', 'add', 'fwmark', '0x10', 'lookup', '100');
    ip(ns, 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '100');
    transparent = await transparentEcho(ns, 8080);
    // Without the rule nobody answers for 10.99.0.5.
    expect(await hello(cli(), '10.99.0.5', 80, 500)).toMatch(/^error:/);
    const tx = srv().nft.transaction();
    tx.addChain({ ...t, name: 'pre', type: 'filter', hook: 'prerouting', priority: 'mangle', policy: 'accept' });
    tx.addRule({ ...t, chain: 'pre', rule: rule().ip({ daddr: '10.99.0.5' }).tcp({ dport: 80 }).tproxy({ port: 8080 }).setMark(0x10).accept() });
    await tx.commit();
    expect(nftRuleLines(ns, 'inet', 'b')).toContain('ip daddr 10.99.0.5 tcp dport 80 tproxy to :8080 meta mark set 0x00000010 accept');
    expect(await hello(cli(), '10.99.0.5', 80, 5000)).toBe('10.99.0.5:80');
  });
});
