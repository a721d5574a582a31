// Inbound UDP interception for a sidecar, on real datagrams: a client in
// another namespace sends UDP to the pod's app; the sidecar's listenUdp()
// socket receives it instead, learns where it was going and hands it to the
// app. REDIRECT: the original destination from conntrack, the sidecar asks
// the app itself and answers with reply() (conntrack turns the source back
// into the app's address and port). TPROXY: the datagram's own destination;
// the sidecar forwards it keeping the client's address (a transparent
// socket), so the app sees the client and answers it straight from its own
// port. Either way the client gets its answer from the address and port it
// sent to. Excluded ports go to the app directly, the sidecar's own
// datagrams are not intercepted again (it counts what it receives), check()
// sees the new rules, reconcile() repairs them, remove() leaves the pod as before.
//
//   client (10.65.0.1, fd65::1) ── pod (10.65.0.2, fd65::2: app on UDP 7000 and 7001, sidecar)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, intercept as nlkitIntercept, listenUdp, type Interception, type InterceptOptions, type UdpListener } from '../../lib';
import { useNetns } from '../helpers/netns';
import { podState } from '../helpers/pod-state';
import { nft, nftObjects } from '../helpers/nft';
import { udpAsk } from '../helpers/traffic';

const PROXY_MARK = 0x539;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sidecar-udp-inbound-'));
const intercept = (opts: InterceptOptions) => nlkitIntercept({ stateDir, ...opts });

/** What the sidecar received: one entry per datagram ("10.65.0.2:7000 conntrack"). */
type Seen = string[];

/**
 * The app: a plain UDP socket (no SO_REUSEADDR: its port cannot be shared)
 * answering who it is and whom it saw.
 */
async function app(netns: string, port: number): Promise<UdpListener> {
  const s = await listenUdp({ netns, port });
  s.on('message', (d) => void s.reply(d, Buffer.from(`app${port} saw ${d.from.address}: ${String(d.data)}`)));
  return s;
}

/** REDIRECT sidecar: asks the app at the original destination itself, answers the client as that address (reply()). */
async function redirectSidecar(netns: string, port: number, seen: Seen): Promise<UdpListener> {
  const listener = await listenUdp({ netns, port });
  listener.on('message', (d) => {
    void (async () => {
      const dst = await listener.originalDestination(d);
      seen.push(`${dst.address}:${dst.port} ${dst.source}`);
      const upstream = await bindUdp({ netns, host: dst.family === 6 ? '::' : '0.0.0.0', mark: PROXY_MARK });
      upstream.once('message', (answer) => {
        upstream.close();
        void listener.reply(d, Buffer.from(`proxy(${dst.address}:${dst.port}) ${String(answer)}`));
      });
      upstream.send(d.data, dst.port, dst.address);
    })();
  });
  return listener;
}

/** TPROXY sidecar: forwards each datagram to its destination from the client's own address and port; the app answers the client. */
async function tproxySidecar(netns: string, port: number, seen: Seen): Promise<UdpListener> {
  const listener = await listenUdp({ netns, port, transparent: true });
  listener.on('message', (d) => {
    void (async () => {
      const dst = await listener.originalDestination(d);
      seen.push(`${dst.address}:${dst.port} ${dst.source}`);
      const asClient = await bindUdp({ netns, host: d.from.address, port: d.from.port, transparent: true, reuseAddr: true });
      asClient.send(Buffer.from(`via proxy ${String(d.data)}`), dst.port, dst.address, () => asClient.close());
    })();
  });
  return listener;
}

describe('sidecar interception of inbound UDP', () => {
  const box = useNetns('pod', 'client');
  const closers: Array<{ close(): void }> = [];
  const pod = () => box.ns('pod');
  const client = () => box.ns('client');
  const seen = { redirect: [] as Seen, tproxy: [] as Seen };
  let before: unknown;

  beforeAll(async () => {
    await box.h('pod').links.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0', netns: box.ns('client') }, up: true });
    await box.h('pod').addresses.add('eth0', '10.65.0.2/24');
    await box.h('pod').addresses.add('eth0', 'fd65::2/64', { nodad: true });
    await box.h('client').links.set('eth0', { up: true });
    await box.h('client').addresses.add('eth0', '10.65.0.1/24');
    await box.h('client').addresses.add('eth0', 'fd65::1/64', { nodad: true });
    closers.push(await app(pod(), 7000), await app(pod(), 7001));
    closers.push(await redirectSidecar(pod(), 15006, seen.redirect), await tproxySidecar(pod(), 15106, seen.tproxy));
    before = podState(pod());
  });
  afterAll(() => {
    closers.forEach((c) => c.close());
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('reaches the app directly before interception', async () => {
    expect(await udpAsk(client(), '10.65.0.2', 7000, 'hi')).toBe('app7000 saw 10.65.0.1: hi <- 10.65.0.2:7000');
    expect(await udpAsk(client(), 'fd65::2', 7000, 'hi')).toBe('app7000 saw fd65::1: hi <- fd65::2:7000');
  });

  describe.each([
    // REDIRECT: the app sees the sidecar (the pod's address); the answer goes back through the sidecar
    ['redirect', 15006, (a: string, q: string) => `proxy(${a}:7000) app7000 saw ${a}: ${q}`, 'conntrack'],
    // TPROXY: the app sees the client; its answer goes straight back
    ['tproxy', 15106, (_a: string, q: string, c: string) => `app7000 saw ${c}: via proxy ${q}`, 'local-address'],
  ] as const)('%s mode', (mode, udpPort, answer, source) => {
    let icpt: Interception | undefined;
    afterAll(async () => {
      await icpt?.remove();
    });

    it("sends inbound UDP to the sidecar, which recovers the destination and gets the app's answer to the client from the app's address, IPv4 and IPv6", async () => {
      const s = seen[mode];
      // outbound UDP intercepted too: the sidecar's own datagrams must pass both directions' rules without looping
      icpt = await intercept({
        netns: pod(),
        mode,
        outboundPort: 15001,
        udp: { outboundPort: udpPort + 1, inboundPort: udpPort },
        exclude: { marks: [PROXY_MARK], inboundPorts: [7001] },
      });
      const rules = nft(pod(), 'list', 'chain', 'inet', 'nlkit-sidecar', 'prerouting');
      expect(rules).toContain('udp dport { 7001 } return');
      expect(rules).toContain(mode === 'redirect' ? `meta l4proto udp redirect to :${udpPort}` : `meta l4proto udp iifname != "lo" tproxy to :${udpPort}`);
      expect(await udpAsk(client(), '10.65.0.2', 7000, 'q1')).toBe(`${answer('10.65.0.2', 'q1', '10.65.0.1')} <- 10.65.0.2:7000`);
      expect(await udpAsk(client(), 'fd65::2', 7000, 'q2')).toBe(`${answer('fd65::2', 'q2', 'fd65::1')} <- fd65::2:7000`);
      // one datagram each reached the sidecar: its own forwarding and answers were not intercepted again
      expect(s.splice(0)).toEqual([`10.65.0.2:7000 ${source}`, `fd65::2:7000 ${source}`]);
      expect(await icpt.check()).toEqual([]);
    });

    it('leaves excluded inbound ports to the app', async () => {
      expect(await udpAsk(client(), '10.65.0.2', 7001, 'q3')).toBe('app7001 saw 10.65.0.1: q3 <- 10.65.0.2:7001');
      expect(await udpAsk(client(), 'fd65::2', 7001, 'q4')).toBe('app7001 saw fd65::1: q4 <- fd65::2:7001');
      expect(seen[mode]).toEqual([]);
    });

    it('check() reports the missing inbound UDP rule and reconcile() puts it back', async () => {
      const i = icpt as Interception;
      const inboundUdp = nftObjects(pod(), 'rule', 'nlkit-sidecar')
        .filter((r) => r.chain === 'prerouting' && JSON.stringify(r.expr).includes('"udp"'))
        .at(-1);
      nft(pod(), 'delete', 'rule', 'inet', 'nlkit-sidecar', 'prerouting', 'handle', String(inboundUdp?.handle));
      expect(await udpAsk(client(), '10.65.0.2', 7000, 'q5')).toBe('app7000 saw 10.65.0.1: q5 <- 10.65.0.2:7000');
      expect(await i.check()).toEqual([{ kind: 'rule-missing', detail: `inbound UDP ${mode} is missing from chain prerouting` }]);
      await i.reconcile();
      expect(await i.check()).toEqual([]);
      expect(await udpAsk(client(), '10.65.0.2', 7000, 'q6')).toBe(`${answer('10.65.0.2', 'q6', '10.65.0.1')} <- 10.65.0.2:7000`);
      expect(seen[mode].splice(0)).toEqual([`10.65.0.2:7000 ${source}`]);
    });

    it('remove() leaves the pod as it was, and UDP reaches the app directly again', async () => {
      await (icpt as Interception).remove();
      icpt = undefined;
      expect(podState(pod())).toEqual(before);
      expect(await udpAsk(client(), '10.65.0.2', 7000, 'q7')).toBe('app7000 saw 10.65.0.1: q7 <- 10.65.0.2:7000');
      expect(seen[mode]).toEqual([]);
    });
  });
});
