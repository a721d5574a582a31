// Security model of the networks layer, proven with real packets: closed by
// default (a neighbour routing the subnet via the host reaches nothing it
// was not given), the routed opt-out, isolation both ways, masquerade only
// towards the uplink, icc: false, the user's chain, refused ::1 publishing and
// [::1] never forwarded to a container (refused, or a host process's);
// a container forging the reply of another network's connection stays in its network,
// and a detached sandbox's flows do not go to the next one given its address.
// "host" plays the machine, "nb" a neighbour on its uplink that routes every
// container subnet via the host (v4 and v6).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, deleteNetns, getSysctl, listenTcp, open, setSysctl, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { wireUplink } from '../helpers/uplink';
import { hello } from '../helpers/traffic';

const UPLINK = '192.168.50.1';
const UPLINK6 = 'fd00:50::1';
const NB = '192.168.50.2';
const NB6 = 'fd00:50::2';
/** An address behind the neighbour that `mx` does not masquerade to. */
const FAR = '192.168.60.2';

function nft(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'nft', ...args], { encoding: 'utf8' });
}

describe('network manager: security model', () => {
  const box = useNetns('host', 'nb');
  let nets: NetworkManager;
  let stateDir: string;
  const c = {
    c1: uniqueNetnsName('s1'),
    c2: uniqueNetnsName('s2'),
    r1: uniqueNetnsName('r1'),
    a1: uniqueNetnsName('a1'),
    b1: uniqueNetnsName('b1'),
    m1: uniqueNetnsName('m1'),
    i1: uniqueNetnsName('i1'),
    i2: uniqueNetnsName('i2'),
  };
  const servers: net.Server[] = [];
  const ip4 = (id: keyof typeof c) => addresses[id].v4;
  const ip6 = (id: keyof typeof c) => addresses[id].v6;
  const addresses = {} as Record<keyof typeof c, { v4: string; v6?: string }>;

  beforeAll(async () => {
    const host = box.h('host');
    const nb = box.h('nb');
    await wireUplink(box, { host: UPLINK, neighbour: NB, host6: UPLINK6, neighbour6: NB6 });
    await nb.addresses.add('lo', `${FAR}/32`);
    await host.routes.add({ dst: '192.168.60.0/24', gateway: NB });
    // The neighbour routes every container subnet via the host (moby#45610).
    await nb.routes.add({ dst: '10.71.0.0/16', gateway: UPLINK });
    await nb.routes.add({ dst: 'fd00:71::/32', gateway: UPLINK6 });

    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-sec-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'sec', subnet: '10.71.1.0/24', subnet6: 'fd00:71:1::/64' });
    await nets.create({ name: 'rt', subnet: '10.71.2.0/24', subnet6: 'fd00:71:2::/64', routed: true, masquerade: false });
    await nets.create({ name: 'opa', subnet: '10.71.3.0/24', isolate: false });
    await nets.create({ name: 'opb', subnet: '10.71.4.0/24', isolate: false });
    await nets.create({ name: 'mx', subnet: '10.71.5.0/24', masqueradeExclude: ['192.168.60.0/24'] });
    await nets.create({ name: 'icc', subnet: '10.71.6.0/24', icc: false });
    const attach = async (network: string, id: keyof typeof c) => {
      const a = await nets.attach(network, { sandbox: c[id], create: true });
      addresses[id] = { v4: a.ipv4!.split('/')[0], v6: a.ipv6?.split('/')[0] };
    };
    await attach('sec', 'c1');
    await attach('sec', 'c2');
    await attach('rt', 'r1');
    await attach('opa', 'a1');
    await attach('opb', 'b1');
    await attach('mx', 'm1');
    await attach('icc', 'i1');
    await attach('icc', 'i2');
    // Everyone answers with who they are and who asked (IPv4 and IPv6).
    const named: Array<[string, string]> = [...Object.entries(c), ['nb', box.ns('nb')]];
    for (const [name, ns] of named) {
      servers.push(await listenTcp({ netns: ns, host: '::', port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress?.replace('::ffff:', '')}`)));
    }
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    for (const n of ['sec', 'rt', 'opa', 'opb', 'mx', 'icc', 'extra']) await nets?.delete(n, { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('drops a neighbour routing the subnet via the host (v4 and v6), also to a port published on 127.0.0.1 only', async () => {
    await nets.publish({ network: 'sec', hostPort: 9090, hostIp: '127.0.0.1', containerPort: 80, to: c.c1 });
    expect(await hello(box.ns('nb'), ip4('c1'), 80, 700)).toMatch(/^error:/);
    expect(await hello(box.ns('nb'), ip6('c1')!, 80, 700)).toMatch(/^error:/);
    expect(await hello(box.ns('nb'), ip4('a1'), 80, 700)).toMatch(/^error:/); // non-isolated is not open to the outside
    // positive controls: the host itself reaches the container, and its localhost publication
    expect(await hello(box.ns('host'), ip4('c1'), 80)).toBe(`c1 sees ${'10.71.1.1'}`);
    expect(await hello(box.ns('host'), '127.0.0.1', 9090)).toBe('c1 sees 10.71.1.1');
  });

  it('lets published ports, outbound connections and their replies through', async () => {
    await nets.publish({ network: 'sec', hostPort: 8080, containerPort: 80, to: c.c1 });
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c1 sees ${NB}`);
    expect(await hello(box.ns('nb'), UPLINK6, 8080)).toBe(`c1 sees ${NB6}`);
    expect(await hello(c.c1, NB, 80)).toBe(`nb sees ${UPLINK}`);
    expect(await hello(c.c1, NB6, 80)).toBe(`nb sees ${UPLINK6}`);
  });

  it('opens a routed network to the neighbour, without NAT, still isolated from other networks', async () => {
    expect(await hello(box.ns('nb'), ip4('r1'), 80)).toBe(`r1 sees ${NB}`);
    expect(await hello(box.ns('nb'), ip6('r1')!, 80)).toBe(`r1 sees ${NB6}`);
    expect(await hello(c.r1, NB, 80)).toBe(`nb sees ${ip4('r1')}`); // masquerade: false
    expect(await hello(c.c1, ip4('r1'), 80, 700)).toMatch(/^error:/);
    expect(await hello(c.r1, ip4('c1'), 80, 700)).toMatch(/^error:/);
  });

  it('keeps isolated networks apart both ways; non-isolated ones talk without NAT', async () => {
    expect(await hello(c.a1, ip4('b1'), 80)).toBe(`b1 sees ${ip4('a1')}`);
    expect(await hello(c.b1, ip4('a1'), 80)).toBe(`a1 sees ${ip4('b1')}`);
    expect(await hello(c.c1, ip4('a1'), 80, 700)).toMatch(/^error:/);
    expect(await hello(c.a1, ip4('c1'), 80, 700)).toMatch(/^error:/);
    expect(await hello(c.c1, ip4('c2'), 80)).toBe(`c2 sees ${ip4('c1')}`); // same network: direct
    // a published port is reachable across networks (through the host)
    expect(await hello(c.a1, UPLINK, 8080)).toMatch(/^c1 sees /);
  });

  it("keeps a container from forging the reply of another network's masqueraded connection into it", async () => {
    // m1 (isolated network mx) asks the neighbour over UDP; the reply tuple is NB:7 -> UPLINK:<masqueraded port>.
    const echo = await bindUdp({ netns: box.ns('nb'), host: NB, port: 7 });
    let seen: { address: string; port: number } | undefined;
    echo.on('message', (_m, r) => {
      seen = r;
      echo.send('answer', r.port, r.address);
    });
    const victim = await bindUdp({ netns: c.m1, host: '0.0.0.0', port: 5555 });
    const got: string[] = [];
    victim.on('message', (m) => got.push(String(m)));
    const answered = new Promise((resolve) => victim.once('message', resolve));
    victim.send('ask', 7, NB);
    await answered;
    expect(seen?.address).toBe(UPLINK);
    // c2 (isolated network sec) and b1 (non-isolated opb) send that reply: the neighbour's address as their own.
    for (const attacker of [c.c2, c.b1]) {
      const h = await open({ netns: attacker });
      await h.addresses.add('lo', `${NB}/32`);
      try {
        const forger = await bindUdp({ netns: attacker, host: NB, port: 7 });
        await new Promise((resolve) => forger.send(`forged by ${attacker}`, seen!.port, UPLINK, resolve));
        forger.close();
      } finally {
        await h.addresses.delete('lo', `${NB}/32`);
        h.close();
      }
    }
    // the neighbour itself still reaches m1 on that flow (a positive control, and a barrier for the packets above)
    const last = new Promise((resolve) => victim.once('message', resolve));
    echo.send('late answer', seen!.port, UPLINK);
    await last;
    victim.close();
    echo.close();
    expect(got).toEqual(['answer', 'late answer']);
  });

  it("gives a sandbox that gets a detached sandbox's address none of the old one's flows", async () => {
    const [x1, x2] = [uniqueNetnsName('x1'), uniqueNetnsName('x2')];
    const echo = await bindUdp({ netns: box.ns('nb'), host: NB, port: 7 });
    let seen: { address: string; port: number } | undefined;
    echo.on('message', (_m, r) => {
      seen = r;
      echo.send('answer', r.port, r.address);
    });
    try {
      await nets.create({ name: 'reuse', subnet: '10.71.11.0/24' });
      await nets.attach('reuse', { sandbox: x1, create: true, ip: '10.71.11.5' });
      const old = await bindUdp({ netns: x1, host: '0.0.0.0', port: 5555 });
      const answered = new Promise((resolve) => old.once('message', resolve));
      old.send('ask', 7, NB);
      await answered;
      old.close();
      await nets.detach('reuse', x1);
      await nets.attach('reuse', { sandbox: x2, create: true, ip: '10.71.11.5' });
      const fresh = await bindUdp({ netns: x2, host: '0.0.0.0', port: 5555 });
      const got: string[] = [];
      fresh.on('message', (m) => got.push(String(m)));
      // the neighbour keeps sending on x1's flow (its conntrack entry would map it to the address, now x2's)
      await new Promise((resolve) => echo.send("for x1's flow", seen!.port, UPLINK, resolve));
      // x2's own question and its answer come after it (a barrier)
      const mine = new Promise((resolve) => fresh.once('message', resolve));
      fresh.send('ask', 7, NB);
      await mine;
      fresh.close();
      expect(got).toEqual(['answer']);
    } finally {
      echo.close();
      await nets.delete('reuse', { missingOk: true });
      for (const ns of [x1, x2]) await deleteNetns(ns, { missingOk: true });
    }
  });

  it('masquerades only towards the uplink, except to masqueradeExclude', async () => {
    await box
      .h('nb')
      .routes.add({ dst: '10.71.5.0/24', gateway: UPLINK })
      .catch(() => undefined); // covered by 10.71/16 already
    expect(await hello(c.m1, NB, 80)).toBe(`nb sees ${UPLINK}`);
    expect(await hello(c.m1, FAR, 80)).toBe(`nb sees ${ip4('m1')}`);
  });

  const portFlags = (bridge: string) =>
    (
      JSON.parse(execFileSync('bridge', ['-n', box.ns('host'), '-j', '-d', 'link', 'show'], { encoding: 'utf8' })) as Array<{
        master?: string;
        isolated?: boolean;
      }>
    )
      .filter((l) => l.master === bridge)
      .map((l) => l.isolated);

  /** i1 and i2 on an icc: false network whose gateway is `gw`: apart, but reaching the gateway, the outside and a published port. */
  async function expectIcc(i1: string, i2: string, ip2: string, ip1: string, gw: string, network: string, hostPort: number) {
    expect(await hello(i1, ip2, 80, 700)).toMatch(/^error:/);
    expect(await hello(i2, ip1, 80, 700)).toMatch(/^error:/);
    const srv = await listenTcp({ netns: box.ns('host'), host: gw, port: 81 }, (s) => s.end('gateway'));
    try {
      expect(await hello(i1, gw, 81)).toBe('gateway');
    } finally {
      srv.close();
    }
    expect(await hello(i1, NB, 80)).toBe(`nb sees ${UPLINK}`);
    await nets.publish({ network, hostPort, containerPort: 80, to: i2 });
    expect(await hello(i1, gw, hostPort)).toMatch(/^i\d sees /);
    expect(await hello(box.ns('nb'), UPLINK, hostPort)).toMatch(/^i\d sees 192\.168\.50\.2$/);
  }

  it('icc: false with bridge netfilter on: a forward rule keeps containers apart, published ports still work', async () => {
    expect((await getSysctl(box.ns('host'), 'net.bridge.bridge-nf-call-iptables')).trim()).toBe('1');
    expect(portFlags('nlk-icc')).toEqual([false, false]); // isolation would drop bridged DNAT
    await expectIcc(c.i1, c.i2, ip4('i2'), ip4('i1'), '10.71.6.1', 'icc', 8181);
    // a control: without icc: false the same kind of pair talks
    expect(await hello(c.c2, ip4('c1'), 80)).toBe(`c1 sees ${ip4('c2')}`);
  });

  it('icc: false with bridge netfilter off: isolated bridge ports, published ports still work', async () => {
    const host = box.ns('host');
    const [i3, i4] = [uniqueNetnsName('i3'), uniqueNetnsName('i4')];
    await setSysctl(host, 'net.bridge.bridge-nf-call-iptables', 0);
    await setSysctl(host, 'net.bridge.bridge-nf-call-ip6tables', 0);
    const srv: net.Server[] = [];
    try {
      await nets.create({ name: 'icc2', subnet: '10.71.7.0/24', icc: false });
      const a3 = await nets.attach('icc2', { sandbox: i3, create: true });
      const a4 = await nets.attach('icc2', { sandbox: i4, create: true });
      for (const [name, ns] of [
        ['i3', i3],
        ['i4', i4],
      ])
        srv.push(await listenTcp({ netns: ns, port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress}`)));
      expect(portFlags('nlk-icc2')).toEqual([true, true]);
      await expectIcc(i3, i4, a4.ipv4!.split('/')[0], a3.ipv4!.split('/')[0], '10.71.7.1', 'icc2', 8282);
    } finally {
      srv.forEach((x) => x.close());
      await nets.delete('icc2', { missingOk: true });
      await setSysctl(host, 'net.bridge.bridge-nf-call-iptables', 1);
      await setSysctl(host, 'net.bridge.bridge-nf-call-ip6tables', 1);
    }
  });

  it("evaluates the user's chain first and never flushes it (network create, delete, reconcile)", async () => {
    const chain = () => JSON.stringify(JSON.parse(nft(box.ns('host'), '-j', 'list', 'chain', 'inet', 'nlkit', 'user')));
    // As the guide shows it: the user chain sees packets after DNAT, so match the published port by ct original.
    nft(box.ns('host'), 'add', 'rule', 'inet', 'nlkit', 'user', 'ip', 'saddr', NB, 'meta', 'l4proto', 'tcp', 'ct', 'original', 'proto-dst', '8080', 'drop');
    expect(await hello(box.ns('nb'), UPLINK, 8080, 700)).toMatch(/^error:/);
    expect(await hello(c.a1, UPLINK, 8080)).toMatch(/^c1 sees /); // only what the rule matches
    const before = chain();
    expect(before).toContain('"drop"');
    await nets.create({ name: 'extra', subnet: '10.71.9.0/24' });
    expect(chain()).toBe(before);
    expect(await hello(box.ns('nb'), UPLINK, 8080, 700)).toMatch(/^error:/);
    await nets.delete('extra');
    expect(chain()).toBe(before);
    expect(await nets.check()).toEqual([]); // the user's rules are not drift
    await nets.reconcile();
    expect(chain()).toBe(before);
    nft(box.ns('host'), 'flush', 'chain', 'inet', 'nlkit', 'user');
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c1 sees ${NB}`);
  });

  it('refuses to publish on IPv6 loopback, saying why', async () => {
    for (const hostIp of ['::1', '0:0::1', '::ffff:127.0.0.1']) {
      const err = await nets.publish({ network: 'sec', hostPort: 9191, hostIp, to: c.c1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(String(err)).toMatch(/route_localnet/);
    }
    expect(await nets.publications.find({ hostPort: 9191, hostIp: '::1' })).toBeUndefined();
  });

  it('never forwards [::1] to a container: refused at once, or a host process on ::1 answers; 127.0.0.1 still reaches it', async () => {
    const host = box.ns('host');
    // one backend (a map element) and two weighted ones (a rule), on every address
    await nets.publish({ network: 'sec', hostPort: 9292, containerPort: 80, to: c.c1 });
    await nets.publish({ network: 'sec', hostPort: 9293, containerPort: 80, backends: [{ id: c.c1 }, { id: c.c2 }] });
    for (const port of [9292, 9293]) {
      const t0 = Date.now();
      // DNATed to the container with source ::1, the SYN was lost (IPv6 routes no ::1 off the host): a hang
      expect(await hello(host, '::1', port, 1000)).toBe('error:ECONNREFUSED');
      expect(Date.now() - t0).toBeLessThan(500);
      expect(await hello(host, '127.0.0.1', port)).toMatch(/^c[12] sees 10\.71\.1\.1$/);
    }
    // a host process on ::1 is not in the way of a publication on every address, and keeps [::1]
    const local = await listenTcp({ netns: host, host: '::1', port: 9294 }, (s) => s.end('host process'));
    try {
      await nets.publish({ network: 'sec', hostPort: 9294, containerPort: 80, to: c.c1 });
      expect(await hello(host, '::1', 9294, 1000)).toBe('host process');
      expect(await hello(host, '127.0.0.1', 9294)).toBe('c1 sees 10.71.1.1');
      expect(await hello(box.ns('nb'), UPLINK6, 9294)).toBe(`c1 sees ${NB6}`);
    } finally {
      local.close();
    }
    for (const hostPort of [9292, 9293, 9294]) await nets.unpublish({ hostPort });
  });

  it('refuses bad firewall options before changing anything', async () => {
    await expect(nets.create({ name: 'bad', subnet: '10.71.10.0/24', routed: 'yes' as unknown as boolean })).rejects.toThrow(ValidationError);
    await expect(nets.create({ name: 'bad', subnet: '10.71.10.0/24', masqueradeExclude: ['10.0.0.0/8', '10.1.0.0/16'] })).rejects.toThrow(/overlaps/);
    await expect(nets.create({ name: 'bad', subnet: '10.71.10.0/24', masqueradeExclude: '10.0.0.0/8' as unknown as string[] })).rejects.toThrow(
      ValidationError,
    );
    expect(await nets.find('bad')).toBeUndefined();
    // the same name again: identical options change nothing, other firewall options are refused
    await nets.create({ name: 'rt', subnet: '10.71.2.0/24', subnet6: 'fd00:71:2::/64', routed: true, masquerade: false });
    await expect(nets.create({ name: 'rt', subnet: '10.71.2.0/24', subnet6: 'fd00:71:2::/64' })).rejects.toThrow(/routed, icc or masqueradeExclude/);
  });
});
