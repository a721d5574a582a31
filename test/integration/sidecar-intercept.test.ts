// Transparent interception of a pod's traffic for a sidecar proxy, on real
// traffic: REDIRECT and TPROXY, IPv4 and IPv6, the original destination
// recovered by the proxy, exclusions that keep the proxy's upstream (marked)
// from looping, drift made with nft/ip found and repaired, and remove()
// leaving the pod's namespace as it was (foreign table and rule included).
//
//   pod (10.62.0.2, fd62::2: app + sidecar) ── svc (10.62.0.1, fd62::1: service B)
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { connectTcp, intercept as nlkitIntercept, listenTcp, originalDestination, ValidationError, type Interception, type InterceptOptions } from '../../lib';
import { hello } from '../helpers/traffic';
import { ip, ipJson, useNetns } from '../helpers/netns';
import { podState } from '../helpers/pod-state';
import { nft, nftObjects } from '../helpers/nft';

const PROXY_MARK = 0x539;
const execFileAsync = promisify(execFile);
// The interception lock's directory: the test's own, not /run/nlkit/sidecar.
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sidecar-'));
const intercept = (opts: InterceptOptions) => nlkitIntercept({ stateDir, ...opts });

/**
 * A sidecar: each intercepted connection is forwarded to its original
 * destination over a marked upstream connection, its answer prefixed with
 * what the proxy saw.
 */
function sidecar(netns: string, port: number, transparent: boolean): Promise<net.Server> {
  return listenTcp({ netns, port, host: '::', transparent }, (client) => {
    client.on('error', () => client.destroy());
    const dst = originalDestination(client);
    void connectTcp({ netns, host: dst.address, port: dst.port, mark: PROXY_MARK }).then(
      (upstream) => {
        client.write(`proxy(${dst.address}:${dst.port} ${dst.source}) `);
        upstream.pipe(client);
        client.pipe(upstream);
        upstream.on('error', () => client.destroy());
      },
      (e: unknown) => client.end(`proxy error ${String(e)}`),
    );
  });
}

/** `hello` from a separate process running as `uid` in the namespace (Node's net; nlkit is not needed there). */
async function helloAs(netns: string, uid: number, host: string, port: number): Promise<string> {
  const script = `const s = require('net').connect(${port}, '${host}'); let d = ''; s.on('data', (x) => (d += x)); s.on('close', () => process.stdout.write(d)); s.on('error', (e) => process.stdout.write('error:' + e.code));`;
  const drop = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', netns, ...drop, process.execPath, '-e', script], { timeout: 10_000 });
  return stdout;
}

/** A server's answer; a peer that went away is not the test's failure. */
function answer(s: net.Socket, text: string): void {
  s.on('error', () => s.destroy());
  s.end(text);
}

describe('sidecar interception', () => {
  const box = useNetns('pod', 'svc');
  const servers: net.Server[] = [];
  let icpt: Interception | undefined;
  afterAll(async () => {
    servers.forEach((s) => s.close());
    await icpt?.remove();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  const pod = () => box.ns('pod');

  it('wires the pod to service B, with foreign state in the pod', async () => {
    await box.h('pod').links.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0', netns: box.ns('svc') }, up: true });
    await box.h('pod').addresses.add('eth0', '10.62.0.2/24');
    await box.h('pod').addresses.add('eth0', 'fd62::2/64', { nodad: true });
    await box.h('svc').links.set('eth0', { up: true });
    await box.h('svc').addresses.add('eth0', '10.62.0.1/24');
    await box.h('svc').addresses.add('eth0', 'fd62::1/64', { nodad: true });
    servers.push(await listenTcp({ netns: box.ns('svc'), port: 80, host: '::' }, (s) => answer(s, `B sees ${s.remoteAddress}`)));
    servers.push(await listenTcp({ netns: pod(), port: 8080, host: '::' }, (s) => answer(s, 'app')));
    servers.push(await listenTcp({ netns: pod(), port: 8081, host: '::' }, (s) => answer(s, 'health')));
    servers.push(await sidecar(pod(), 15001, false), await sidecar(pod(), 15006, false));
    servers.push(await sidecar(pod(), 15101, true), await sidecar(pod(), 15106, true));
    // Someone else's table and policy rule: interception must leave them alone.
    nft(pod(), 'add', 'table', 'inet', 'foreign');
    nft(pod(), 'add', 'chain', 'inet', 'foreign', 'out', '{ type filter hook output priority 0; }');
    nft(pod(), 'add', 'rule', 'inet', 'foreign', 'out', 'tcp', 'dport', '9', 'counter');
    ip(pod(), 'rule', 'add', 'pref', '500', 'from', '10.62.0.99', 'lookup', '77');
    expect(await hello(pod(), '10.62.0.1', 80)).toBe('B sees ::ffff:10.62.0.2');
  });

  it('validates before touching the namespace', async () => {
    const before = podState(pod());
    await expect(intercept({ netns: pod(), mode: 'nat' as never, outboundPort: 1 })).rejects.toMatchObject({ field: 'mode' });
    await expect(intercept({ netns: pod(), mode: 'redirect', outboundPort: 0 })).rejects.toMatchObject({ field: 'outboundPort' });
    await expect(intercept({ netns: pod(), mode: 'redirect', outboundPort: 1, exclude: { cidrs: ['10.0.0.0/33'] } })).rejects.toMatchObject({
      field: 'exclude.cidrs[0]',
    });
    await expect(intercept({ netns: pod(), mode: 'redirect', outboundPort: 1, exclude: { uid: [0] } as never })).rejects.toBeInstanceOf(ValidationError);
    await expect(intercept({ netns: pod(), mode: 'tproxy', outboundPort: 1, mark: 5, exclude: { marks: [5] } })).rejects.toMatchObject({
      field: 'exclude.marks',
    });
    await expect(intercept({ netns: pod(), mode: 'tproxy', outboundPort: 1, table: 254 })).rejects.toMatchObject({ field: 'table' });
    await expect(intercept({ netns: pod(), mode: 'tproxy', outboundPort: 15101, inboundPort: 15101 })).rejects.toMatchObject({ field: 'inboundPort' });
    await expect(intercept({ netns: pod(), mode: 'redirect', outboundPort: 1, udp: { outboundPort: 2, inboundPort: 2 } })).rejects.toMatchObject({
      field: 'udp.inboundPort',
    });
    await expect(intercept({ netns: pod(), mode: 'redirect', outboundPort: 1, mark: 2 })).rejects.toMatchObject({ field: 'mark' });
    await expect(intercept({ netns: pod(), mode: 'redirect', outboundPort: 1, table: 134 })).rejects.toMatchObject({ field: 'table' });
    await expect(intercept({ netns: pod(), mode: 'redirect', outboundPort: 1, rulePriority: 100 })).rejects.toMatchObject({ field: 'rulePriority' });
    await expect(intercept({ netns: pod(), mode: 'redirect', outboundPort: 1, stateDir: 'nlkit-sidecar' })).rejects.toMatchObject({ field: 'stateDir' });
    expect(podState(pod())).toEqual(before);
  });

  it('leaves nothing behind when the kernel refuses part of it (TPROXY with lo down)', async () => {
    await box.h('svc').links.set('lo', { up: false });
    const before = podState(box.ns('svc'));
    try {
      await expect(intercept({ netns: box.ns('svc'), mode: 'tproxy', outboundPort: 15001 })).rejects.toMatchObject({ code: 'ENETDOWN' });
      expect(podState(box.ns('svc'))).toEqual(before);
    } finally {
      await box.h('svc').links.set('lo', { up: true });
    }
  });

  it("intercept() again replaces the interception, the old one's policy rules and routes included", async () => {
    const before = podState(pod());
    const first = await intercept({ netns: pod(), mode: 'tproxy', outboundPort: 15101, exclude: { marks: [PROXY_MARK] } });
    first.close();
    expect(ipJson(pod(), '-4', 'rule').some((r: { table?: string }) => r.table === '133')).toBe(true);
    const second = await intercept({ netns: pod(), mode: 'tproxy', outboundPort: 15101, mark: 2, table: 134, exclude: { marks: [PROXY_MARK] } });
    const rules = ipJson<Array<{ table?: string }>>(pod(), '-6', 'rule').map((r) => r.table);
    expect(rules).toContain('134');
    expect(rules).not.toContain('133');
    expect(ipJson(pod(), '-4', 'route', 'show', 'table', '133')).toEqual([]);
    expect(await hello(pod(), 'fd62::1', 80)).toBe('proxy(fd62::1:80 conntrack) B sees fd62::2');
    expect(await second.check()).toEqual([]);
    const redirect = await intercept({ netns: pod(), mode: 'redirect', outboundPort: 15001, exclude: { marks: [PROXY_MARK] } });
    expect(ipJson<Array<{ table?: string }>>(pod(), '-4', 'rule').map((r) => r.table)).not.toContain('134');
    await redirect.remove();
    expect(podState(pod())).toEqual(before);
  });

  it('a replacement the kernel refuses restores the interception it was replacing: the pod never fails open', async () => {
    const before = podState(pod());
    const old = await intercept({ netns: pod(), mode: 'tproxy', outboundPort: 15101, exclude: { marks: [PROXY_MARK] } });
    // Someone's default route in table 134: the replacement's "local default dev lo table 134" is refused.
    ip(pod(), 'route', 'add', 'unreachable', 'default', 'table', '134');
    try {
      await expect(
        intercept({ netns: pod(), mode: 'tproxy', outboundPort: 15101, mark: 2, table: 134, exclude: { marks: [PROXY_MARK] } }),
      ).rejects.toMatchObject({ code: 'EEXIST' });
      expect(await old.check()).toEqual([]);
      expect(await hello(pod(), '10.62.0.1', 80)).toBe('proxy(10.62.0.1:80 conntrack) B sees ::ffff:10.62.0.2');
      expect(await hello(pod(), 'fd62::1', 80)).toBe('proxy(fd62::1:80 conntrack) B sees fd62::2');
      expect(ipJson<Array<{ table?: string }>>(pod(), '-4', 'rule').map((r) => r.table)).not.toContain('134');
    } finally {
      ip(pod(), 'route', 'del', 'unreachable', 'default', 'table', '134');
    }
    await old.remove();
    expect(podState(pod())).toEqual(before);
  });

  it('a replacement whose restoring fails too reports both failures (AggregateError), and reconcile() repairs the old one', async () => {
    const svc = box.ns('svc');
    const before = podState(svc);
    const old = await intercept({ netns: svc, mode: 'tproxy', outboundPort: 15101 });
    // lo down takes the old local route with it: neither the new route nor the old one can be written.
    await box.h('svc').links.set('lo', { up: false });
    try {
      const failure = await intercept({ netns: svc, mode: 'tproxy', outboundPort: 15101, table: 134 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(AggregateError);
      expect((failure as AggregateError).errors).toMatchObject([{ code: 'ENETDOWN' }, { code: 'ENETDOWN' }]);
    } finally {
      await box.h('svc').links.set('lo', { up: true });
    }
    expect(ipJson<Array<{ table?: string }>>(svc, '-4', 'rule').map((r) => r.table)).not.toContain('134');
    expect((await old.reconcile()).map((d) => d.kind)).toContain('route-missing');
    expect(await old.check()).toEqual([]);
    await old.remove();
    expect(podState(svc)).toEqual(before);
  });

  it('a forged table comment cannot make a replacement delete routes of the main table', async () => {
    const before = podState(pod());
    nft(pod(), 'add', 'table', 'inet', 'nlkit-sidecar', '{ comment "nlkit sidecar mode=tproxy mark=1 table=254 priority=32000 ipv6=1" ; }');
    const main4 = ipJson(pod(), '-4', 'route', 'show', 'table', 'main');
    const main6 = ipJson(pod(), '-6', 'route', 'show', 'table', 'main');
    expect(main4).not.toEqual([]);
    const replaced = await intercept({ netns: pod(), mode: 'redirect', outboundPort: 15001, exclude: { marks: [PROXY_MARK] } });
    expect(ipJson(pod(), '-4', 'route', 'show', 'table', 'main')).toEqual(main4);
    expect(ipJson(pod(), '-6', 'route', 'show', 'table', 'main')).toEqual(main6);
    expect(await hello(pod(), '10.62.0.1', 80)).toBe('proxy(10.62.0.1:80 conntrack) B sees ::ffff:10.62.0.2');
    expect(await replaced.check()).toEqual([]);
    await replaced.remove();
    expect(podState(pod())).toEqual(before);
  });

  it("a foreign route in the interception's routing table is reported as drift, and reconcile() and remove() leave it", async () => {
    const before = podState(pod());
    const icpt135 = await intercept({ netns: pod(), mode: 'tproxy', outboundPort: 15101, table: 135, exclude: { marks: [PROXY_MARK] } });
    ip(pod(), 'route', 'add', 'unreachable', '192.0.2.0/24', 'table', '135');
    const foreign = () => ipJson<Array<{ dst: string; type?: string }>>(pod(), '-4', 'route', 'show', 'table', '135').filter((r) => r.dst === '192.0.2.0/24');
    try {
      const drift = [{ kind: 'route-unexpected', detail: 'table 135 has a route nlkit did not write: unreachable 192.0.2.0/24' }];
      expect(await icpt135.check()).toEqual(drift);
      expect(await icpt135.reconcile()).toEqual(drift);
      expect(foreign()).toHaveLength(1);
      expect(await hello(pod(), '10.62.0.1', 80)).toBe('proxy(10.62.0.1:80 conntrack) B sees ::ffff:10.62.0.2');
      await icpt135.remove();
      expect(foreign()).toHaveLength(1);
      expect(ipJson(pod(), '-4', 'route', 'show', 'table', '135')).toHaveLength(1);
    } finally {
      ip(pod(), 'route', 'del', 'unreachable', '192.0.2.0/24', 'table', '135');
    }
    expect(podState(pod())).toEqual(before);
  });

  it('check() reports drift of every chain: a rule missing from output and rules out of order in prerouting', async () => {
    const before = podState(pod());
    const i = await intercept({
      netns: pod(),
      mode: 'redirect',
      outboundPort: 15001,
      inboundPort: 15006,
      exclude: { marks: [PROXY_MARK], inboundPorts: [8081] },
    });
    const handles = (chain: string) =>
      nftObjects(pod(), 'rule', 'nlkit-sidecar')
        .filter((r) => r.chain === chain)
        .map((r) => String(r.handle));
    nft(pod(), 'delete', 'rule', 'inet', 'nlkit-sidecar', 'output', 'handle', handles('output').at(-1) as string);
    // The first prerouting rule (loopback return) moved to the end.
    nft(pod(), 'delete', 'rule', 'inet', 'nlkit-sidecar', 'prerouting', 'handle', handles('prerouting')[0] as string);
    nft(pod(), 'add', 'rule', 'inet', 'nlkit-sidecar', 'prerouting', 'iifname', 'lo', 'return');
    expect(await i.check()).toEqual([
      { kind: 'rule-missing', detail: 'outbound redirect is missing from chain output' },
      { kind: 'rule-missing', detail: 'the rules of chain prerouting are out of order' },
    ]);
    await i.reconcile();
    expect(await i.check()).toEqual([]);
    await i.remove();
    expect(podState(pod())).toEqual(before);
  });

  it('two writers intercepting the same pod at once both succeed, with one policy rule per family', async () => {
    const before = podState(pod());
    const opts = { netns: pod(), mode: 'tproxy', outboundPort: 15101, exclude: { marks: [PROXY_MARK] } } as const;
    const [a, b] = await Promise.all([intercept(opts), intercept(opts)]);
    const ours = (family: string) => ipJson<Array<{ table?: string }>>(pod(), family, 'rule').filter((r) => r.table === '133');
    expect(ours('-4')).toHaveLength(1);
    expect(ours('-6')).toHaveLength(1);
    expect(await a.check()).toEqual([]);
    expect(await hello(pod(), '10.62.0.1', 80)).toBe('proxy(10.62.0.1:80 conntrack) B sees ::ffff:10.62.0.2');
    b.close();
    await a.remove();
    expect(podState(pod())).toEqual(before);
  });

  describe.each([
    ['redirect', 15001, 15006, 'conntrack'],
    ['tproxy', 15101, 15106, 'conntrack'],
  ] as const)('%s mode', (mode, outboundPort, inboundPort, source) => {
    let before: unknown;

    it('intercepts outbound TCP: the sidecar recovers the original destination, its marked upstream reaches B, IPv4 and IPv6', async () => {
      before = podState(pod());
      icpt = await intercept({ netns: pod(), mode, outboundPort, inboundPort, exclude: { marks: [PROXY_MARK], inboundPorts: [8081] } });
      expect(await hello(pod(), '10.62.0.1', 80)).toBe(`proxy(10.62.0.1:80 ${source}) B sees ::ffff:10.62.0.2`);
      expect(await hello(pod(), 'fd62::1', 80)).toBe(`proxy(fd62::1:80 ${source}) B sees fd62::2`);
      expect(await icpt.check()).toEqual([]);
    });

    it('intercepts inbound TCP except the excluded ports', async () => {
      expect(await hello(box.ns('svc'), '10.62.0.2', 8080)).toBe(`proxy(10.62.0.2:8080 ${source}) app`);
      expect(await hello(box.ns('svc'), 'fd62::2', 8080)).toBe(`proxy(fd62::2:8080 ${source}) app`);
      expect(await hello(box.ns('svc'), '10.62.0.2', 8081)).toBe('health');
      // The pod reaching itself is not intercepted.
      expect(await hello(pod(), '10.62.0.2', 8080)).toBe('app');
    });

    it('finds drift made with nft and ip, and repairs it', async () => {
      const i = icpt as Interception;
      nft(pod(), 'flush', 'chain', 'inet', 'nlkit-sidecar', 'output');
      nft(pod(), 'add', 'rule', 'inet', 'nlkit-sidecar', 'prerouting', 'tcp', 'dport', '22', 'accept');
      if (mode === 'tproxy') {
        ip(pod(), 'rule', 'del', 'pref', '32000');
        ip(pod(), '-6', 'route', 'flush', 'table', '133');
      }
      expect(await hello(pod(), '10.62.0.1', 80)).toBe('B sees ::ffff:10.62.0.2');
      const drift = await i.check();
      const kinds = [...new Set(drift.map((d) => d.kind))].sort();
      expect(kinds).toEqual(
        mode === 'tproxy' ? ['policy-rule-missing', 'route-missing', 'rule-missing', 'rule-unexpected'] : ['rule-missing', 'rule-unexpected'],
      );
      expect(drift.filter((d) => d.kind === 'rule-unexpected').map((d) => d.detail)).toEqual([
        'chain prerouting has a rule nlkit did not write: tcp dport 22 accept',
      ]);
      expect(drift.some((d) => d.kind === 'rule-missing' && d.detail.includes('outbound'))).toBe(true);
      expect(await i.reconcile()).toEqual(drift);
      expect(await i.check()).toEqual([]);
      expect(await hello(pod(), '10.62.0.1', 80)).toBe(`proxy(10.62.0.1:80 ${source}) B sees ::ffff:10.62.0.2`);
      expect(await hello(pod(), 'fd62::1', 80)).toBe(`proxy(fd62::1:80 ${source}) B sees fd62::2`);
    });

    it("excludes by uid: a process of the proxy's user reaches B directly, others are intercepted", async () => {
      const byUid = await intercept({ netns: pod(), mode, outboundPort, exclude: { uids: [65534], marks: [PROXY_MARK] } });
      expect(await helloAs(pod(), 65534, '10.62.0.1', 80)).toBe('B sees ::ffff:10.62.0.2');
      expect(await helloAs(pod(), 65534, 'fd62::1', 80)).toBe('B sees fd62::2');
      expect(await hello(pod(), '10.62.0.1', 80)).toBe(`proxy(10.62.0.1:80 ${source}) B sees ::ffff:10.62.0.2`);
      expect(await helloAs(pod(), 65533, '10.62.0.1', 80)).toBe(`proxy(10.62.0.1:80 ${source}) B sees ::ffff:10.62.0.2`);
      byUid.close();
      icpt = await intercept({ netns: pod(), mode, outboundPort, inboundPort, exclude: { marks: [PROXY_MARK], inboundPorts: [8081] } });
    });

    it('remove() leaves the namespace as it was, foreign table and policy rule included', async () => {
      await (icpt as Interception).remove();
      icpt = undefined;
      expect(podState(pod())).toEqual(before);
      expect(await hello(pod(), '10.62.0.1', 80)).toBe('B sees ::ffff:10.62.0.2');
      expect(nft(pod(), 'list', 'table', 'inet', 'foreign')).toContain('tcp dport 9 counter');
    });
  });
});
