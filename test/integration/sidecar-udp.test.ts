// UDP interception for a sidecar, on real datagrams: the pod's outbound UDP
// (DNS-like, to port 5353) reaches the sidecar's listenUdp() socket, which
// learns the original destination (REDIRECT: from conntrack; TPROXY: the
// datagram's own destination), forwards it over a marked socket (excluded:
// no loop) and answers from the address the client sent to. Ports not
// intercepted, excluded ports and excluded prefixes go direct; check() sees
// the UDP rules, reconcile() repairs them, remove() leaves the pod as before.
//
//   pod (10.63.0.2, fd63::2: app + sidecar) ── svc (10.63.0.1, fd63::1: UDP servers on 5353 and 7000)
import { execFile } from 'node:child_process';
import type * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, intercept as nlkitIntercept, listenUdp, ValidationError, type Interception, type InterceptOptions, type UdpListener } from '../../lib';
import { ip, useNetns } from '../helpers/netns';
import { podState } from '../helpers/pod-state';
import { nft, nftObjects } from '../helpers/nft';
import { udpAsk } from '../helpers/traffic';

const PROXY_MARK = 0x539;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sidecar-udp-'));
const intercept = (opts: InterceptOptions) => nlkitIntercept({ stateDir, ...opts });

/** The sidecar: each datagram forwarded to its original destination from a marked socket, the answer prefixed with what the proxy saw. */
async function udpSidecar(netns: string, port: number, transparent: boolean): Promise<UdpListener> {
  const listener = await listenUdp({ netns, port, transparent });
  listener.on('message', (d) => {
    void (async () => {
      const dst = await listener.originalDestination(d);
      const upstream = await bindUdp({ netns, host: dst.family === 6 ? '::' : '0.0.0.0', mark: PROXY_MARK });
      upstream.once('message', (answer) => {
        upstream.close();
        void listener.reply(d, Buffer.from(`proxy(${dst.address}:${dst.port} ${dst.source}) ${String(answer)}`));
      });
      upstream.send(d.data, dst.port, dst.address);
    })();
  });
  return listener;
}

/** One UDP question from a separate process running as `uid` in the namespace (Node's dgram): "answer <- address:port" or `timeout`. */
async function udpAskAs(netns: string, uid: number, host: string, port: number, text: string): Promise<string> {
  const script = `const s = require('dgram').createSocket('udp4'); const t = setTimeout(() => { process.stdout.write('timeout'); s.close(); }, 1500);
s.on('message', (m, r) => { clearTimeout(t); process.stdout.write(m + ' <- ' + r.address + ':' + r.port); s.close(); }); s.send('${text}', ${port}, '${host}');`;
  const drop = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', netns, ...drop, process.execPath, '-e', script], { timeout: 10_000 });
  return stdout;
}

/** A UDP server in svc answering who it is and whom it saw. */
async function udpServer(netns: string, port: number): Promise<dgram.Socket> {
  const s = await bindUdp({ netns, host: '::', port });
  s.on('message', (msg, rinfo) => s.send(`B${port} sees ${rinfo.address.replace('::ffff:', '')}: ${String(msg)}`, rinfo.port, rinfo.address));
  return s;
}

/** One UDP question from a socket bound to `from.port` (and marked, as a proxy's upstream). */
const udpAskFrom = (netns: string, host: string, port: number, text: string, from: { port: number; mark?: number }) =>
  udpAsk(netns, host, port, text, 1500, from);

describe('sidecar interception of UDP', () => {
  const box = useNetns('pod', 'svc');
  const closers: Array<{ close(): void }> = [];
  const pod = () => box.ns('pod');
  let before: unknown;

  beforeAll(async () => {
    await box.h('pod').links.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0', netns: box.ns('svc') }, up: true });
    await box.h('pod').addresses.add('eth0', '10.63.0.2/24');
    await box.h('pod').addresses.add('eth0', 'fd63::2/64', { nodad: true });
    await box.h('svc').links.set('eth0', { up: true });
    await box.h('svc').addresses.add('eth0', '10.63.0.1/24');
    await box.h('svc').addresses.add('eth0', 'fd63::1/64', { nodad: true });
    closers.push(await udpServer(box.ns('svc'), 5353), await udpServer(box.ns('svc'), 7000));
    closers.push(await udpSidecar(pod(), 15053, false), await udpSidecar(pod(), 15153, true));
    // someone else's table and policy rule
    nft(pod(), 'add', 'table', 'inet', 'foreign');
    ip(pod(), 'rule', 'add', 'pref', '500', 'from', '10.63.0.99', 'lookup', '77');
    before = podState(pod());
  });
  afterAll(() => {
    closers.forEach((c) => c.close());
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('validates the UDP options before writing anything', async () => {
    const base = { netns: pod(), mode: 'redirect', outboundPort: 15001 } as const;
    await expect(intercept({ ...base, udp: { outboundPort: 0 } })).rejects.toMatchObject({ field: 'udp.outboundPort' });
    await expect(intercept({ ...base, udp: { outboundPort: 15053, ports: [53, 70000] } })).rejects.toMatchObject({ field: 'udp.ports[1]' });
    await expect(intercept({ ...base, udp: { outboundPort: 15053, port: 53 } as never })).rejects.toBeInstanceOf(ValidationError);
    await expect(listenUdp({ netns: pod(), port: 15099, transparnt: true } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(listenUdp({ netns: pod(), port: 15099, transparent: 'false' } as never)).rejects.toMatchObject({ field: 'transparent' });
    await expect(listenUdp({ netns: pod(), port: 15099, reusePort: 1 } as never)).rejects.toMatchObject({ field: 'reusePort' });
    await expect(listenUdp({ netns: pod(), port: 15099 }, 'log' as never)).rejects.toMatchObject({ field: 'onMessage' });
    await expect(bindUdp({ netns: pod(), mrk: 1 } as never)).rejects.toBeInstanceOf(ValidationError);
    const listener = await listenUdp({ netns: pod(), port: 15098 });
    try {
      const datagram = { data: Buffer.from('q'), from: { address: '10.63.0.1', port: 5353, family: 4 as const } };
      await expect(listener.reply(datagram, 'answer' as never)).rejects.toMatchObject({ field: 'data' });
      await expect(listener.reply(undefined as never, Buffer.from('answer'))).rejects.toMatchObject({ field: 'datagram' });
    } finally {
      listener.close();
    }
    expect(podState(pod())).toEqual(before);
  });

  it('reaches the servers directly before interception', async () => {
    expect(await udpAsk(pod(), '10.63.0.1', 5353, 'hi')).toBe('B5353 sees 10.63.0.2: hi <- 10.63.0.1:5353');
    expect(await udpAsk(pod(), 'fd63::1', 5353, 'hi')).toBe('B5353 sees fd63::2: hi <- fd63::1:5353');
  });

  describe.each([
    ['redirect', 15053, 'conntrack'],
    ['tproxy', 15153, 'local-address'],
  ] as const)('%s mode', (mode, udpPort, source) => {
    let icpt: Interception | undefined;
    afterAll(async () => {
      await icpt?.remove();
    });

    it('sends outbound UDP to the given ports to the sidecar, which learns the original destination and answers as it, IPv4 and IPv6', async () => {
      icpt = await intercept({ netns: pod(), mode, outboundPort: 15001, udp: { outboundPort: udpPort, ports: [5353] }, exclude: { marks: [PROXY_MARK] } });
      expect(await udpAsk(pod(), '10.63.0.1', 5353, 'q1')).toBe(`proxy(10.63.0.1:5353 ${source}) B5353 sees 10.63.0.2: q1 <- 10.63.0.1:5353`);
      expect(await udpAsk(pod(), 'fd63::1', 5353, 'q2')).toBe(`proxy(fd63::1:5353 ${source}) B5353 sees fd63::2: q2 <- fd63::1:5353`);
      // other UDP ports are not intercepted
      expect(await udpAsk(pod(), '10.63.0.1', 7000, 'q3')).toBe('B7000 sees 10.63.0.2: q3 <- 10.63.0.1:7000');
      expect(await icpt.check()).toEqual([]);
    });

    it("a proxy's upstream socket on the port of the app's last query goes direct, not into the app's tracked flow, IPv4 and IPv6", async () => {
      // The app's query is tracked for 30 s (REDIRECT: NATed to the sidecar in its conntrack entry). A proxy socket
      // given the same port (the kernel's ephemeral choice, here a bind) sends the same 5-tuple: it must not follow
      // the app's flow to the sidecar (seen as the sidecar's answer instead of the server's).
      const appPort = 40000 + (udpPort % 1000);
      for (const [server, self] of [
        ['10.63.0.1', '10.63.0.2'],
        ['fd63::1', 'fd63::2'],
      ]) {
        const app = await udpAskFrom(pod(), server, 5353, 'app', { port: appPort });
        expect(app).toBe(`proxy(${server}:5353 ${source}) B5353 sees ${self}: app <- ${server}:5353`);
        const upstream = await udpAskFrom(pod(), server, 5353, 'upstream', { port: appPort, mark: PROXY_MARK });
        expect(upstream).toBe(`B5353 sees ${self}: upstream <- ${server}:5353`);
        // The app on that port again, while both flows are tracked: still intercepted.
        expect(await udpAskFrom(pod(), server, 5353, 'again', { port: appPort })).toBe(
          `proxy(${server}:5353 ${source}) B5353 sees ${self}: again <- ${server}:5353`,
        );
      }
      expect(await icpt?.check()).toEqual([]);
      if (mode !== 'redirect') return;
      // REDIRECT: what keeps them apart is the proxy's zone (its chain as nft lists it); check() sees it go, reconcile() puts it back.
      const chain = JSON.stringify(nftObjects(pod(), 'rule', 'nlkit-sidecar').filter((r) => r.chain === 'proxy-zone'));
      expect(chain).toContain('"zone"');
      nft(pod(), 'delete', 'chain', 'inet', 'nlkit-sidecar', 'proxy-zone');
      expect(await icpt?.check()).toEqual([{ kind: 'chain-missing', detail: 'chain proxy-zone is gone' }]);
      await icpt?.reconcile();
      expect(await icpt?.check()).toEqual([]);
    });

    it('intercepts all UDP except the excluded ports and prefixes', async () => {
      icpt?.close();
      icpt = await intercept({
        netns: pod(),
        mode,
        outboundPort: 15001,
        udp: { outboundPort: udpPort },
        exclude: { marks: [PROXY_MARK], ports: [7000], cidrs: ['fd63::1'] },
      });
      expect(await udpAsk(pod(), '10.63.0.1', 5353, 'q4')).toBe(`proxy(10.63.0.1:5353 ${source}) B5353 sees 10.63.0.2: q4 <- 10.63.0.1:5353`);
      expect(await udpAsk(pod(), '10.63.0.1', 7000, 'q5')).toBe('B7000 sees 10.63.0.2: q5 <- 10.63.0.1:7000');
      expect(await udpAsk(pod(), 'fd63::1', 5353, 'q6')).toBe('B5353 sees fd63::2: q6 <- fd63::1:5353');
      expect(await icpt.check()).toEqual([]);
    });

    it("excludes by uid: UDP of the proxy's user goes direct, others' is intercepted", async () => {
      const byUid = await intercept({
        netns: pod(),
        mode,
        outboundPort: 15001,
        udp: { outboundPort: udpPort },
        exclude: { uids: [65534], marks: [PROXY_MARK] },
      });
      expect(await udpAskAs(pod(), 65534, '10.63.0.1', 5353, 'u1')).toBe('B5353 sees 10.63.0.2: u1 <- 10.63.0.1:5353');
      expect(await udpAskAs(pod(), 65533, '10.63.0.1', 5353, 'u2')).toBe(`proxy(10.63.0.1:5353 ${source}) B5353 sees 10.63.0.2: u2 <- 10.63.0.1:5353`);
      byUid.close();
      icpt?.close();
      icpt = await intercept({
        netns: pod(),
        mode,
        outboundPort: 15001,
        udp: { outboundPort: udpPort },
        exclude: { marks: [PROXY_MARK], ports: [7000], cidrs: ['fd63::1'] },
      });
    });

    it('check() reports a missing UDP rule and reconcile() puts it back', async () => {
      const i = icpt as Interception;
      // the last UDP rule of output (after the exclusions): the one that intercepts
      const udpRule = nftObjects(pod(), 'rule', 'nlkit-sidecar')
        .filter((r) => JSON.stringify(r.expr).includes('"udp"') && r.chain === 'output')
        .at(-1);
      nft(pod(), 'delete', 'rule', 'inet', 'nlkit-sidecar', 'output', 'handle', String(udpRule?.handle));
      expect(await udpAsk(pod(), '10.63.0.1', 5353, 'q7')).toBe('B5353 sees 10.63.0.2: q7 <- 10.63.0.1:5353');
      const what = mode === 'redirect' ? 'outbound UDP redirect' : 'outbound UDP mark';
      expect(await i.check()).toEqual([{ kind: 'rule-missing', detail: `${what} is missing from chain output` }]);
      await i.reconcile();
      expect(await i.check()).toEqual([]);
      expect(await udpAsk(pod(), '10.63.0.1', 5353, 'q8')).toBe(`proxy(10.63.0.1:5353 ${source}) B5353 sees 10.63.0.2: q8 <- 10.63.0.1:5353`);
    });

    it('remove() leaves the pod as it was, and UDP goes direct again', async () => {
      await (icpt as Interception).remove();
      icpt = undefined;
      expect(podState(pod())).toEqual(before);
      expect(await udpAsk(pod(), '10.63.0.1', 5353, 'q9')).toBe('B5353 sees 10.63.0.2: q9 <- 10.63.0.1:5353');
    });
  });
});
