// check() and reconcile() against drift a foreign actor (an admin with `ip`,
// another daemon) makes on a healthy network: each is reported with its own
// kind, repaired, and real traffic flows again afterwards.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bindUdp, deleteNetns, listenTcp, open, setSysctl } from '../../lib';
import { networks, type Attachment, type NetworkManager } from '../../lib/network/manager';
import { ip, ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

describe('network manager: drift made by a foreign actor', () => {
  const box = useNetns('host', 'vpn');
  const host = () => box.ns('host');
  const vpn = () => box.ns('vpn'); // where a foreign route or rule sends a sandbox's traffic: it has the addresses BEYOND too
  let nets: NetworkManager;
  let stateDir: string;
  const [c1, c2] = [uniqueNetnsName('d1'), uniqueNetnsName('d2')];
  let a1: Attachment;
  let a2: Attachment;
  const servers: net.Server[] = [];
  const run = promisify(execFile);
  const addr = (a: Attachment) => a.ipv4!.split('/')[0];
  const addr6 = (a: Attachment) => a.ipv6!.split('/')[0];
  const [BEYOND, BEYOND6] = ['10.99.0.1', 'fd00:99::1'];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-drift-'));
    nets = await networks({ host: host(), stateDir });
    await nets.create({ name: 'dr', subnet: '10.68.0.0/24', subnet6: 'fd00:68::/64', mtu: 1400 });
    a1 = await nets.attach('dr', { sandbox: c1, create: true });
    a2 = await nets.attach('dr', { sandbox: c2, create: true });
    // Addresses of the host outside the network: a sandbox reaches them through its default routes only.
    ip(host(), 'addr', 'add', `${BEYOND}/32`, 'dev', 'lo');
    ip(host(), 'addr', 'add', `${BEYOND6}/128`, 'dev', 'lo');
    ip(vpn(), 'addr', 'add', `${BEYOND}/32`, 'dev', 'lo');
    ip(vpn(), 'addr', 'add', `${BEYOND6}/128`, 'dev', 'lo');
    for (const [name, ns] of [
      ['c1', c1],
      ['c2', c2],
      ['host', host()],
      ['vpn', vpn()],
    ] as const) {
      servers.push(await listenTcp({ netns: ns, host: '::', port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress?.replace('::ffff:', '')}`)));
    }
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    await nets?.delete('dr').catch(() => undefined);
    nets?.close();
    for (const c of [c1, c2]) await deleteNetns(c, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    expect(await nets.check()).toEqual([]); // each case starts from a healthy network
  });

  /**
   * Sends one UDP datagram of `size` bytes with DF set (IP_PMTUDISC_DO) from `ns` to the echo port of `dst`:
   * "echoed N" (its answer's size), or the error ("error 90" is EMSGSIZE: larger than the route's MTU).
   */
  const sendDf = async (ns: string, dst: string, size: number): Promise<string> => {
    const py = [
      'import socket, sys',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      's.setsockopt(socket.IPPROTO_IP, 10, 2)', // IP_MTU_DISCOVER = IP_PMTUDISC_DO
      's.settimeout(1)',
      'try:',
      '  s.sendto(b"x" * int(sys.argv[2]), (sys.argv[1], 7)); print("echoed", len(s.recv(65535)))',
      'except OSError as e: print("error", e.errno)',
    ].join('\n');
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'python3', '-c', py, dst, String(size)]);
    return stdout.trim();
  };

  /** Reports the kinds drift has for an attachment (or the network, with no id), repairs, and leaves nothing behind. */
  async function reportedAndRepaired(kind: string, id?: string): Promise<void> {
    const drift = await nets.check();
    expect(drift).toContainEqual(expect.objectContaining({ network: 'dr', kind, ...(id !== undefined && { id }) }));
    await nets.reconcile();
    expect(await nets.check()).toEqual([]);
  }

  it('veth-down: the host end of a sandbox veth set down', async () => {
    ip(host(), 'link', 'set', a1.hostIfname, 'down');
    expect(await hello(c1, addr(a2), 80, 700)).toMatch(/^error:/);
    const drift = await nets.check();
    expect(drift).toContainEqual({ network: 'dr', id: c1, kind: 'veth-down', link: a1.hostIfname, detail: expect.any(String) });
    await reportedAndRepaired('veth-down', c1);
    expect(await hello(c1, addr(a2), 80)).toBe(`c2 sees ${addr(a1)}`);
  });

  it('veth-down: the sandbox end set down', async () => {
    ip(c2, 'link', 'set', a2.ifname, 'down');
    expect(await hello(c1, addr(a2), 80, 700)).toMatch(/^error:/);
    await reportedAndRepaired('veth-down', c2);
    expect(await hello(c1, addr(a2), 80)).toBe(`c2 sees ${addr(a1)}`);
    expect(await hello(c2, addr(a1), 80)).toBe(`c1 sees ${addr(a2)}`);
  });

  it('sandbox-route-missing: the IPv6 default route deleted', async () => {
    ip(c1, '-6', 'route', 'del', 'default');
    expect(await hello(c1, BEYOND6, 80, 700)).toMatch(/^error:/);
    expect(await hello(c1, BEYOND, 80)).toBe(`host sees ${addr(a1)}`); // IPv4 is untouched
    await reportedAndRepaired('sandbox-route-missing', c1);
    expect(await hello(c1, BEYOND6, 80)).toBe(`host sees ${addr6(a1)}`);
  });

  it('sandbox-route-missing: the default routes replaced by ones via another gateway', async () => {
    ip(c2, 'route', 'replace', 'default', 'via', '10.68.0.77', 'dev', a2.ifname);
    ip(c2, '-6', 'route', 'replace', 'default', 'via', 'fd00:68::77', 'dev', a2.ifname);
    expect(await hello(c2, BEYOND, 80, 700)).toMatch(/^error:/);
    expect(await hello(c2, BEYOND6, 80, 700)).toMatch(/^error:/);
    const drift = (await nets.check()).filter((d) => d.kind === 'sandbox-route-missing');
    expect(drift.map((d) => d.id)).toEqual([c2, c2]); // IPv4 and IPv6
    await reportedAndRepaired('sandbox-route-missing', c2);
    expect(await hello(c2, BEYOND, 80)).toBe(`host sees ${addr(a2)}`);
    expect(await hello(c2, BEYOND6, 80)).toBe(`host sees ${addr6(a2)}`);
  });

  it("bridge-route-missing: the bridge's connected routes deleted, its addresses kept", async () => {
    ip(host(), 'route', 'del', '10.68.0.0/24', 'dev', 'nlk-dr');
    ip(host(), '-6', 'route', 'del', 'fd00:68::/64', 'dev', 'nlk-dr');
    expect(await hello(host(), addr(a1), 80, 700)).toMatch(/^error:/);
    expect(await hello(host(), addr6(a1), 80, 700)).toMatch(/^error:/);
    const drift = (await nets.check()).filter((d) => d.kind === 'bridge-route-missing');
    expect(drift.map((d) => [d.link, d.id])).toEqual([
      ['nlk-dr', undefined],
      ['nlk-dr', undefined],
    ]); // IPv4 and IPv6
    const before = ipJson(host(), 'link', 'show', 'master', 'nlk-dr').map((l: { ifindex: number }) => l.ifindex);
    await reportedAndRepaired('bridge-route-missing');
    // Set right in place: the ports (and the sandboxes' connections) are the same links.
    expect(ipJson(host(), 'link', 'show', 'master', 'nlk-dr').map((l: { ifindex: number }) => l.ifindex)).toEqual(before);
    expect(await hello(host(), addr(a1), 80)).toBe(`c1 sees 10.68.0.1`);
    expect(await hello(host(), addr6(a1), 80)).toBe(`c1 sees fd00:68::1`);
  });

  it("bridge-mtu: the bridge's MTU changed away from the network's", async () => {
    const echo = await bindUdp({ netns: c1, port: 7 });
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    try {
      expect(await sendDf(host(), addr(a1), 1372)).toBe('echoed 1372'); // 1400 bytes: the network's MTU
      ip(host(), 'link', 'set', 'nlk-dr', 'mtu', '1300');
      expect(await sendDf(host(), addr(a1), 1372)).toBe('error 90'); // EMSGSIZE
      const drift = await nets.check();
      expect(drift).toContainEqual({ network: 'dr', kind: 'bridge-mtu', link: 'nlk-dr', detail: expect.any(String) });
      await reportedAndRepaired('bridge-mtu');
      expect(ipJson(host(), 'link', 'show', 'nlk-dr')[0].mtu).toBe(1400);
      expect(await sendDf(host(), addr(a1), 1372)).toBe('echoed 1372');
    } finally {
      echo.close();
    }
  });

  it("the network's MTU stays on its bridge when the last port leaves, and a port-less bridge's MTU is checked", async () => {
    await nets.create({ name: 'mt', subnet: '10.70.0.0/24', mtu: 1400 });
    const [c3, c4] = [uniqueNetnsName('d3'), uniqueNetnsName('d4')];
    const mtuOf = async (ns: string, name: string) => {
      const h = await open({ netns: ns });
      try {
        return [(await h.links.get(name)).mtu, ipJson(ns, 'link', 'show', name)[0].mtu]; // as nlkit and as ip read it
      } finally {
        h.close();
      }
    };
    try {
      await nets.attach('mt', { sandbox: c3, create: true });
      expect(await mtuOf(host(), 'nlk-mt')).toEqual([1400, 1400]);
      await nets.detach('mt', c3); // the last port goes: a bridge made with its MTU would go back to 1500
      expect(await mtuOf(host(), 'nlk-mt')).toEqual([1400, 1400]);
      expect(await nets.check()).toEqual([]);
      const a4 = await nets.attach('mt', { sandbox: c4, create: true });
      expect(await mtuOf(host(), 'nlk-mt')).toEqual([1400, 1400]);
      expect(await mtuOf(c4, a4.ifname)).toEqual([1400, 1400]);
      expect(await mtuOf(host(), a4.hostIfname)).toEqual([1400, 1400]);
      await nets.detach('mt', c4);
      expect(await mtuOf(host(), 'nlk-mt')).toEqual([1400, 1400]);
      // Without ports the kernel keeps whatever MTU is set now: an admin's is drift like any other.
      ip(host(), 'link', 'set', 'nlk-mt', 'mtu', '1500');
      expect(await nets.check()).toEqual([{ network: 'mt', kind: 'bridge-mtu', link: 'nlk-mt', detail: expect.any(String) }]);
      await nets.reconcile();
      expect(await nets.check()).toEqual([]);
      expect(await mtuOf(host(), 'nlk-mt')).toEqual([1400, 1400]);
    } finally {
      await nets.delete('mt');
    }
  });

  it('bridge-down (reported before this change too): the bridge set down', async () => {
    ip(host(), 'link', 'set', 'nlk-dr', 'down');
    expect(await hello(c1, addr(a2), 80, 700)).toMatch(/^error:/);
    await reportedAndRepaired('bridge-down');
    expect(await hello(c1, addr(a2), 80)).toBe(`c2 sees ${addr(a1)}`);
    expect(await hello(host(), addr(a1), 80)).toBe(`c1 sees 10.68.0.1`);
  });

  it("hairpin-off: hairpin mode cleared on a sandbox's bridge port", async () => {
    await nets.publish({ network: 'dr', hostPort: 8080, containerPort: 80, to: c1 });
    try {
      expect(await hello(c1, '10.68.0.1', 8080)).toBe('c1 sees 10.68.0.1'); // its own published port, through the host
      ip(host(), 'link', 'set', a1.hostIfname, 'type', 'bridge_slave', 'hairpin', 'off');
      expect(await hello(c1, '10.68.0.1', 8080, 700)).toMatch(/^error:/);
      const drift = await nets.check();
      expect(drift).toEqual([{ network: 'dr', id: c1, kind: 'hairpin-off', link: a1.hostIfname, detail: expect.any(String) }]);
      const index = ipJson(host(), 'link', 'show', a1.hostIfname)[0].ifindex;
      await reportedAndRepaired('hairpin-off', c1);
      expect(ipJson(host(), 'link', 'show', a1.hostIfname)[0].ifindex).toBe(index); // set in place
      expect(ipJson(host(), '-d', 'link', 'show', a1.hostIfname)[0].linkinfo.info_slave_data.hairpin).toBe(true);
      expect(await hello(c1, '10.68.0.1', 8080)).toBe('c1 sees 10.68.0.1');
    } finally {
      await nets.unpublish({ hostPort: 8080 });
    }
  });

  /**
   * An `icc: false` network "iso" made with bridge netfilter off (so its ports get the isolated flag, firewall/icc.ts),
   * sandboxes i1 and i2 attached, each serving port 80 (servers pushed to `srv`).
   */
  async function iccOffPair(i1: string, i2: string, srv: net.Server[]): Promise<[Attachment, Attachment]> {
    await setSysctl(host(), 'net.bridge.bridge-nf-call-iptables', 0);
    await setSysctl(host(), 'net.bridge.bridge-nf-call-ip6tables', 0);
    await nets.create({ name: 'iso', subnet: '10.69.0.0/24', icc: false });
    const b1 = await nets.attach('iso', { sandbox: i1, create: true });
    const b2 = await nets.attach('iso', { sandbox: i2, create: true });
    for (const [name, ns] of [
      ['i1', i1],
      ['i2', i2],
    ])
      srv.push(await listenTcp({ netns: ns, port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress}`)));
    return [b1, b2];
  }

  it("isolation-off: an icc: false network's port isolation cleared (bridge netfilter off)", async () => {
    const [i1, i2] = [uniqueNetnsName('i1'), uniqueNetnsName('i2')];
    const srv: net.Server[] = [];
    try {
      const [b1, b2] = await iccOffPair(i1, i2, srv);
      const isolated = (veth: string) => ipJson(host(), '-d', 'link', 'show', veth)[0].linkinfo.info_slave_data.isolated as boolean;
      expect([isolated(b1.hostIfname), isolated(b2.hostIfname)]).toEqual([true, true]);
      expect(await hello(i1, addr(b2), 80, 700)).toMatch(/^error:/);
      expect(await nets.check()).toEqual([]);
      ip(host(), 'link', 'set', b2.hostIfname, 'type', 'bridge_slave', 'isolated', 'off');
      expect(await hello(i1, addr(b2), 80)).toBe(`i2 sees ${addr(b1)}`); // one port not isolated: the two talk
      expect(await nets.check()).toEqual([{ network: 'iso', id: i2, kind: 'isolation-off', link: b2.hostIfname, detail: expect.any(String) }]);
      const index = ipJson(host(), 'link', 'show', b2.hostIfname)[0].ifindex;
      await nets.reconcile();
      expect(await nets.check()).toEqual([]);
      expect(ipJson(host(), 'link', 'show', b2.hostIfname)[0].ifindex).toBe(index); // set in place
      expect([isolated(b1.hostIfname), isolated(b2.hostIfname)]).toEqual([true, true]);
      expect(await hello(i1, addr(b2), 80, 700)).toMatch(/^error:/);
      expect(await hello(i2, addr(b1), 80, 700)).toMatch(/^error:/);
    } finally {
      srv.forEach((x) => x.close());
      await nets.delete('iso', { missingOk: true });
      for (const c of [i1, i2]) await deleteNetns(c, { missingOk: true });
      await setSysctl(host(), 'net.bridge.bridge-nf-call-iptables', 1);
      await setSysctl(host(), 'net.bridge.bridge-nf-call-ip6tables', 1);
    }
  });

  it("isolation-stale: an icc: false network's ports still isolated after bridge netfilter was turned on", async () => {
    const [i1, i2] = [uniqueNetnsName('i1'), uniqueNetnsName('i2')];
    const srv: net.Server[] = [];
    try {
      const [b1, b2] = await iccOffPair(i1, i2, srv);
      await nets.publish({ network: 'iso', hostPort: 8082, containerPort: 80, to: i2 });
      const isolated = (veth: string) => ipJson(host(), '-d', 'link', 'show', veth)[0].linkinfo.info_slave_data.isolated as boolean;
      expect([isolated(b1.hostIfname), isolated(b2.hostIfname)]).toEqual([true, true]);
      expect(await hello(i1, '10.69.0.1', 8082)).toBe('i2 sees 10.69.0.1'); // i2's published port, through the host
      expect(await nets.check()).toEqual([]);
      // br_netfilter's sysctl turned on afterwards: the DNATed frame is bridged between the two isolated ports, and dropped.
      await setSysctl(host(), 'net.bridge.bridge-nf-call-iptables', 1);
      await setSysctl(host(), 'net.bridge.bridge-nf-call-ip6tables', 1);
      expect(await hello(i1, '10.69.0.1', 8082, 700)).toMatch(/^error:/);
      const drift = await nets.check();
      expect(drift).toEqual([
        { network: 'iso', id: i1, kind: 'isolation-stale', link: b1.hostIfname, detail: expect.any(String) },
        { network: 'iso', id: i2, kind: 'isolation-stale', link: b2.hostIfname, detail: expect.any(String) },
      ]);
      const index = ipJson(host(), 'link', 'show', b2.hostIfname)[0].ifindex;
      expect(await nets.reconcile()).toEqual(drift);
      expect(await nets.check()).toEqual([]);
      expect(ipJson(host(), 'link', 'show', b2.hostIfname)[0].ifindex).toBe(index); // set in place
      expect([isolated(b1.hostIfname), isolated(b2.hostIfname)]).toEqual([false, false]);
      expect(await hello(i1, '10.69.0.1', 8082)).toBe('i2 sees 10.69.0.1'); // published hairpin works again
      expect(await hello(i1, addr(b2), 80, 700)).toMatch(/^error:/); // and icc: false holds: the rule drops it
      // And back: bridge netfilter off again, the ports are to be isolated (isolation-off), and are.
      await setSysctl(host(), 'net.bridge.bridge-nf-call-iptables', 0);
      await setSysctl(host(), 'net.bridge.bridge-nf-call-ip6tables', 0);
      expect((await nets.check()).map((d) => `${d.kind}:${d.id ?? ''}`)).toEqual([`isolation-off:${i1}`, `isolation-off:${i2}`]);
      await nets.reconcile();
      expect([isolated(b1.hostIfname), isolated(b2.hostIfname)]).toEqual([true, true]);
      expect(await hello(i1, addr(b2), 80, 700)).toMatch(/^error:/);
      expect(await hello(i1, '10.69.0.1', 8082)).toBe('i2 sees 10.69.0.1');
    } finally {
      srv.forEach((x) => x.close());
      await nets.unpublish({ hostPort: 8082 }, { missingOk: true });
      await nets.delete('iso', { missingOk: true });
      for (const c of [i1, i2]) await deleteNetns(c, { missingOk: true });
      await setSysctl(host(), 'net.bridge.bridge-nf-call-iptables', 1);
      await setSysctl(host(), 'net.bridge.bridge-nf-call-ip6tables', 1);
    }
  });

  it("sandbox-route-shadowed: a foreign IPv6 default route with a lower metric than the network's", async () => {
    // Through another interface of the sandbox (re-making the attachment would not take it away).
    ip(c1, 'link', 'add', 'dm0', 'type', 'veth', 'peer', 'name', 'dm1'); // both ends in the sandbox: nobody answers
    try {
      ip(c1, 'link', 'set', 'dm0', 'up');
      ip(c1, 'link', 'set', 'dm1', 'up');
      ip(c1, '-6', 'addr', 'add', 'fd00:97::2/64', 'dev', 'dm0', 'nodad');
      ip(c1, '-6', 'route', 'add', 'default', 'via', 'fd00:97::1', 'dev', 'dm0', 'metric', '1');
      expect(await hello(c1, BEYOND6, 80, 700)).toMatch(/^error:/);
      expect(await hello(c1, BEYOND, 80)).toBe(`host sees ${addr(a1)}`); // IPv4 is untouched
      expect(await nets.check()).toEqual([{ network: 'dr', id: c1, kind: 'sandbox-route-shadowed', detail: expect.any(String) }]);
      const index = ipJson(c1, 'link', 'show', a1.ifname)[0].ifindex;
      await nets.reconcile();
      expect(await nets.check()).toEqual([]);
      expect(ipJson(c1, 'link', 'show', a1.ifname)[0].ifindex).toBe(index); // the attachment is kept
      expect(ipJson(c1, '-6', 'route', 'show', 'default').map((r: { gateway: string }) => r.gateway)).toEqual(['fd00:68::1']);
      expect(await hello(c1, BEYOND6, 80)).toBe(`host sees ${addr6(a1)}`);
    } finally {
      ip(c1, 'link', 'del', 'dm0');
    }
  });

  it("sandbox-route-shadowed: the same on the sandbox's own interface, via another gateway", async () => {
    ip(c2, '-6', 'route', 'add', 'default', 'via', 'fd00:68::77', 'dev', a2.ifname, 'metric', '1');
    expect(await hello(c2, BEYOND6, 80, 700)).toMatch(/^error:/);
    await reportedAndRepaired('sandbox-route-shadowed', c2);
    expect(await hello(c2, BEYOND6, 80)).toBe(`host sees ${addr6(a2)}`);
  });

  /** A veth from sandbox `ns` (vp0, 10.97.0.2, fd00:97::2) to the vpn namespace (10.97.0.1, fd00:97::1); removed by the returned function. */
  const vpnLink = (ns: string): (() => void) => {
    ip(ns, 'link', 'add', 'vp0', 'type', 'veth', 'peer', 'name', 'vp1', 'netns', vpn());
    for (const [n, dev, last] of [
      [ns, 'vp0', '2'],
      [vpn(), 'vp1', '1'],
    ]) {
      ip(n, 'addr', 'add', `10.97.0.${last}/24`, 'dev', dev);
      ip(n, '-6', 'addr', 'add', `fd00:97::${last}/64`, 'dev', dev, 'nodad');
      ip(n, 'link', 'set', dev, 'up');
    }
    // The VPN answers the network's addresses too (a sandbox's packet sent by a rule for its own address carries it).
    ip(vpn(), 'route', 'replace', '10.68.0.0/24', 'via', '10.97.0.2');
    ip(vpn(), '-6', 'route', 'replace', 'fd00:68::/64', 'via', 'fd00:97::2');
    return () => ip(ns, 'link', 'del', 'vp0');
  };
  const rules = (ns: string, family: '-4' | '-6') =>
    ipJson(ns, family, 'rule', 'show').map((r: { priority: number; table?: string; action?: string }) => `${r.priority} ${r.table ?? r.action}`);

  it("sandbox-route-shadowed: a VPN's 0.0.0.0/1 + 128.0.0.0/1 and ::/1 + 8000::/1 take the traffic from the listed default routes", async () => {
    const unlink = vpnLink(c1);
    try {
      // A route to a network (10/8, no wider than /8) through the VPN is split tunnelling, not drift.
      ip(c1, 'route', 'add', '10.0.0.0/8', 'via', '10.97.0.1');
      expect(await hello(c1, BEYOND, 80)).toBe('vpn sees 10.97.0.2');
      expect(await nets.check()).toEqual([]);
      ip(c1, 'route', 'del', '10.0.0.0/8');
      expect(await hello(c1, BEYOND, 80)).toBe(`host sees ${addr(a1)}`);
      // Routes that go the network's way (its gateway, its interface) are not drift either.
      ip(c1, 'route', 'add', '0.0.0.0/1', 'via', '10.68.0.1', 'dev', a1.ifname);
      expect(await nets.check()).toEqual([]);
      ip(c1, 'route', 'del', '0.0.0.0/1');
      for (const [v, halves, via] of [
        ['-4', ['0.0.0.0/1', '128.0.0.0/1'], '10.97.0.1'],
        ['-6', ['::/1', '8000::/1'], 'fd00:97::1'],
      ] as const)
        for (const dst of halves) ip(c1, v, 'route', 'add', dst, 'via', via, 'metric', '5000'); // the longer prefix wins, whatever its metric
      expect(await hello(c1, BEYOND, 80)).toBe('vpn sees 10.97.0.2'); // the packets really go elsewhere
      expect(await hello(c1, BEYOND6, 80)).toBe('vpn sees fd00:97::2');
      expect(ipJson(c1, 'route', 'show', 'default').map((r: { gateway: string }) => r.gateway)).toEqual(['10.68.0.1']); // still listed
      const drift = await nets.check();
      expect(drift).toEqual([
        { network: 'dr', id: c1, kind: 'sandbox-route-shadowed', detail: expect.stringContaining('0.0.0.0/1 via 10.97.0.1') },
        { network: 'dr', id: c1, kind: 'sandbox-route-shadowed', detail: expect.stringContaining('8000::/1 via fd00:97::1') },
      ]);
      const index = ipJson(c1, 'link', 'show', a1.ifname)[0].ifindex;
      await nets.reconcile();
      expect(await nets.check()).toEqual([]);
      expect(ipJson(c1, 'link', 'show', a1.ifname)[0].ifindex).toBe(index); // the attachment is kept
      expect(ipJson(c1, 'route', 'show', 'dev', 'vp0').map((r: { dst: string }) => r.dst)).toEqual(['10.97.0.0/24']); // the VPN's link route stays
      expect(await hello(c1, BEYOND, 80)).toBe(`host sees ${addr(a1)}`);
      expect(await hello(c1, BEYOND6, 80)).toBe(`host sees ${addr6(a1)}`);
    } finally {
      unlink();
    }
  });

  it('sandbox-route-shadowed: a wide blackhole route on its own (no gateway) is reported and deleted', async () => {
    ip(c2, 'route', 'add', 'blackhole', '0.0.0.0/2');
    ip(c2, 'route', 'add', 'blackhole', '10.99.0.0/16'); // narrower than /8: a route to a network, left alone
    expect(await hello(c2, BEYOND, 80, 700)).toMatch(/^error:/);
    expect(await nets.check()).toEqual([{ network: 'dr', id: c2, kind: 'sandbox-route-shadowed', detail: expect.stringContaining('0.0.0.0/2') }]);
    await nets.reconcile();
    expect(ipJson(c2, 'route', 'show', 'type', 'blackhole').map((r: { dst: string }) => r.dst)).toEqual(['10.99.0.0/16']);
    ip(c2, 'route', 'del', 'blackhole', '10.99.0.0/16');
    expect(await hello(c2, BEYOND, 80)).toBe(`host sees ${addr(a2)}`);
  });

  it('sandbox-rule-shadowed: rules before the main table that take the traffic are deleted, the others kept', async () => {
    const unlink = vpnLink(c1);
    const before4 = rules(c1, '-4');
    const before6 = rules(c1, '-6');
    try {
      ip(c1, 'route', 'add', 'default', 'via', '10.97.0.1', 'table', '100');
      ip(c1, '-6', 'route', 'add', 'default', 'via', 'fd00:97::1', 'table', '100');
      ip(c1, 'route', 'add', '10.98.0.0/16', 'via', '10.97.0.1', 'table', '101'); // only a network: nothing wide
      // Rules that do not take the sandbox's traffic: not reported, kept.
      ip(c1, 'rule', 'add', 'fwmark', '5', 'lookup', '100', 'pref', '90'); // its packets are unmarked
      ip(c1, 'rule', 'add', 'from', '10.50.0.0/16', 'lookup', '100', 'pref', '91'); // not its address
      ip(c1, 'rule', 'add', 'from', 'all', 'lookup', '101', 'pref', '92'); // a table without a wide route
      ip(c1, 'rule', 'add', 'from', 'all', 'lookup', '100', 'pref', '40000'); // after the main table's
      ip(c1, '-6', 'rule', 'add', 'from', 'all', 'prohibit', 'pref', '40001');
      expect(await hello(c1, BEYOND, 80)).toBe(`host sees ${addr(a1)}`);
      expect(await nets.check()).toEqual([]);
      // A rule for the sandbox's own address sends it to table 100; one from all rejects IPv6.
      ip(c1, 'rule', 'add', 'from', addr(a1), 'lookup', '100', 'pref', '100');
      ip(c1, '-6', 'rule', 'add', 'from', 'all', 'prohibit', 'pref', '100');
      expect(await hello(c1, BEYOND, 80)).toBe(`vpn sees ${addr(a1)}`); // the packets really go elsewhere
      expect(await hello(c1, BEYOND6, 80, 700)).toMatch(/^error:/);
      expect(await nets.check()).toEqual([
        { network: 'dr', id: c1, kind: 'sandbox-rule-shadowed', detail: expect.stringContaining(`100: from ${addr(a1)}/32 lookup 100`) },
        { network: 'dr', id: c1, kind: 'sandbox-rule-shadowed', detail: expect.stringContaining('100: from all prohibit') },
      ]);
      const index = ipJson(c1, 'link', 'show', a1.ifname)[0].ifindex;
      await nets.reconcile();
      expect(await nets.check()).toEqual([]);
      expect(ipJson(c1, 'link', 'show', a1.ifname)[0].ifindex).toBe(index); // the attachment is kept
      expect(rules(c1, '-4')).toEqual(['0 local', '90 100', '91 100', '92 101', ...before4.slice(1), '40000 100']);
      expect(rules(c1, '-6')).toEqual([...before6, '40001 prohibit']);
      expect(ipJson(c1, 'route', 'show', 'table', '100').map((r: { dst: string }) => r.dst)).toEqual(['default']); // its table stays
      expect(await hello(c1, BEYOND, 80)).toBe(`host sees ${addr(a1)}`);
      expect(await hello(c1, BEYOND6, 80)).toBe(`host sees ${addr6(a1)}`);
    } finally {
      unlink();
      // Those reconcile deleted are gone (or, when a case failed, left for the next cases to see): whichever.
      for (const [v, pref] of [...['90', '91', '92', '40000', '100'].map((p) => ['-4', p]), ['-6', '40001'], ['-6', '100']])
        if (rules(c1, v as '-4' | '-6').some((r) => r.startsWith(`${pref} `))) ip(c1, v, 'rule', 'del', 'pref', pref);
    }
  });

  it("sandbox-rule-shadowed: wg-quick's rules (main without its default route, then every unmarked packet to the VPN's table)", async () => {
    const unlink = vpnLink(c2);
    try {
      ip(c2, 'route', 'add', 'default', 'via', '10.97.0.1', 'table', '51820');
      ip(c2, 'rule', 'add', 'not', 'fwmark', '0xca6c', 'lookup', '51820', 'pref', '32765');
      ip(c2, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0', 'pref', '32764');
      expect(await hello(c2, BEYOND, 80)).toBe('vpn sees 10.97.0.2');
      expect(await nets.check()).toEqual([
        { network: 'dr', id: c2, kind: 'sandbox-rule-shadowed', detail: expect.stringContaining('32765: not from all fwmark 51820 lookup 51820') },
      ]);
      await nets.reconcile();
      expect(await nets.check()).toEqual([]);
      expect(rules(c2, '-4')).toContain('32764 main'); // it takes nothing on its own: kept
      expect(rules(c2, '-4')).not.toContain('32765 51820');
      expect(await hello(c2, BEYOND, 80)).toBe(`host sees ${addr(a2)}`);
    } finally {
      unlink();
      for (const pref of ['32764', '32765']) if (rules(c2, '-4').some((r) => r.startsWith(`${pref} `))) ip(c2, 'rule', 'del', 'pref', pref);
    }
  });
});
