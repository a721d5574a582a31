// Published ports and the isolation border, proven with real packets.
// Conntrack knows no interfaces: a container of another network that sends
// what looks like the reply of a published connection (the backend's address
// and port, to the client's address and port) matches that connection, is
// translated back (its source becomes the published host address and port)
// and would reach the client: out of an isolated or internal network to the
// outside, or into another isolated network. Only the backend's own network
// answers for it. Genuine replies keep working wherever a published port is
// reachable from: outside, the same network (hairpin), another isolated or
// non-isolated network, and the host's 127.0.0.1.
// "host" plays the machine, "nb" a client outside on its uplink.
import type * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, deleteNetns, InternalNetworkPublishError, listenTcp, open, setSysctl } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { wireUplink } from '../helpers/uplink';
import { hello, udpAsk } from '../helpers/traffic';

const UPLINK = '192.168.52.1';
const UPLINK6 = 'fd00:52::1';
const NB = '192.168.52.2';
const NB6 = 'fd00:52::2';
/** The published UDP port (to p1's echo on port 7) and TCP port (to p1's port 80). */
const UDP_PORT = 7000;
const TCP_PORT = 8080;
/** A port published to a1, on a non-isolated network. */
const OPEN_PORT = 8081;
/** A port n1, on the internal network, may not publish. */
const INTERNAL_PORT = 8093;

interface Peer {
  address: string;
  port: number;
}

describe('network manager: replies of published ports come only from the backend', () => {
  const box = useNetns('host', 'nb');
  let nets: NetworkManager;
  let stateDir: string;
  const c = {
    p1: uniqueNetnsName('p1'), // the backend, on the isolated network pub
    p2: uniqueNetnsName('p2'), // its neighbour on pub (hairpin)
    y1: uniqueNetnsName('y1'), // a client on another isolated network, iso
    x1: uniqueNetnsName('x1'), // an attacker on iso
    n1: uniqueNetnsName('n1'), // an attacker on an internal network
    a1: uniqueNetnsName('a1'), // an attacker on a non-isolated network (and a backend there)
    b1: uniqueNetnsName('b1'), // a client on another non-isolated network
  };
  const addresses = {} as Record<keyof typeof c, { v4: string; v6: string }>;
  const ip4 = (id: keyof typeof c) => addresses[id].v4;
  const ip6 = (id: keyof typeof c) => addresses[id].v6;
  const servers: net.Server[] = [];
  const sockets: dgram.Socket[] = [];

  beforeAll(async () => {
    // The border must not depend on reverse-path filtering (off by default in a new namespace, often loose elsewhere).
    for (const key of ['net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.default.rp_filter']) await setSysctl(box.ns('host'), key, 0);
    await wireUplink(box, { host: UPLINK, neighbour: NB, host6: UPLINK6, neighbour6: NB6 });

    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-secpub-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'pub', subnet: '10.73.1.0/24', subnet6: 'fd00:73:1::/64' });
    await nets.create({ name: 'iso', subnet: '10.73.2.0/24', subnet6: 'fd00:73:2::/64' });
    await nets.create({ name: 'int', subnet: '10.73.3.0/24', subnet6: 'fd00:73:3::/64', internal: true });
    await nets.create({ name: 'opa', subnet: '10.73.4.0/24', subnet6: 'fd00:73:4::/64', isolate: false });
    await nets.create({ name: 'opb', subnet: '10.73.5.0/24', subnet6: 'fd00:73:5::/64', isolate: false });
    const attach = async (network: string, id: keyof typeof c) => {
      const a = await nets.attach(network, { sandbox: c[id], create: true });
      addresses[id] = { v4: a.ipv4!.split('/')[0], v6: a.ipv6!.split('/')[0] };
    };
    await attach('pub', 'p1');
    await attach('pub', 'p2');
    await attach('iso', 'y1');
    await attach('iso', 'x1');
    await attach('int', 'n1');
    await attach('opa', 'a1');
    await attach('opb', 'b1');
    for (const [name, ns] of [
      ['p1', c.p1],
      ['a1', c.a1],
    ]) {
      servers.push(await listenTcp({ netns: ns, host: '::', port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress?.replace('::ffff:', '')}`)));
    }
    // p1 answers every datagram on port 7 with "answer to <text>".
    for (const host of [ip4('p1'), ip6('p1')]) {
      const echo = await bindUdp({ netns: c.p1, host, port: 7 });
      echo.on('message', (m, r) => echo.send(`answer to ${String(m)}`, r.port, r.address));
      sockets.push(echo);
    }
    await nets.publish({ network: 'pub', protocol: 'udp', hostPort: UDP_PORT, containerPort: 7, to: c.p1 });
    await nets.publish({ network: 'pub', hostPort: TCP_PORT, containerPort: 80, to: c.p1 });
    await nets.publish({ network: 'opa', hostPort: OPEN_PORT, containerPort: 80, to: c.a1 });
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    sockets.forEach((s) => s.close());
    for (const n of ['pub', 'iso', 'int', 'opa', 'opb']) await nets?.delete(n, { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  /** A UDP client of the published port on a fixed port: what it receives, and a way to ask (sent again each second until answered). */
  async function client(netns: string, host: string, port: number): Promise<{ got: string[]; ask(text: string): Promise<void>; close(): void }> {
    const sock = await bindUdp({ netns, host: host.includes(':') ? '::' : '0.0.0.0', port });
    const got: string[] = [];
    sock.on('message', (m, r) => got.push(`${String(m)} <- ${r.address}:${r.port}`));
    return {
      got,
      ask: (text) =>
        new Promise((resolve) => {
          const send = () => sock.send(text, UDP_PORT, host);
          const again = setInterval(send, 1000);
          const answered = (m: Buffer) => {
            if (String(m) !== `answer to ${text}`) return;
            clearInterval(again);
            sock.off('message', answered);
            resolve();
          };
          sock.on('message', answered);
          send();
        }),
      close: () => sock.close(),
    };
  }

  /** `attacker` sends a datagram as p1's port 7 (p1's address on its loopback) to `to`. */
  async function forge(attacker: string, from: string, to: Peer, text: string): Promise<void> {
    const h = await open({ netns: attacker });
    const v6 = from.includes(':');
    await h.addresses.add('lo', `${from}/${v6 ? 128 : 32}`, v6 ? { nodad: true } : {});
    try {
      const s = await bindUdp({ netns: attacker, host: from, port: 7 });
      await new Promise((resolve) => s.send(text, to.port, to.address, resolve));
      s.close();
    } finally {
      await h.addresses.delete('lo', `${from}/${v6 ? 128 : 32}`);
      h.close();
    }
  }

  const cases = [
    { name: 'outside, IPv4', client: () => box.ns('nb'), target: UPLINK, me: () => NB, from: () => ip4('p1'), attackers: ['x1', 'n1', 'a1'] },
    { name: 'outside, IPv6', client: () => box.ns('nb'), target: UPLINK6, me: () => NB6, from: () => ip6('p1'), attackers: ['x1', 'n1', 'a1'] },
    { name: 'another isolated network, IPv4', client: () => c.y1, target: UPLINK, me: () => ip4('y1'), from: () => ip4('p1'), attackers: ['n1', 'a1'] },
    { name: 'another isolated network, IPv6', client: () => c.y1, target: UPLINK6, me: () => ip6('y1'), from: () => ip6('p1'), attackers: ['n1', 'a1'] },
  ] as const;

  cases.forEach((k, i) => {
    it(`keeps a container of another network from forging the reply of a published flow to a client (${k.name})`, async () => {
      // The flow's reply tuple is p1:7 -> the client's address and port (not masqueraded: the backend sees the client).
      const port = 5600 + i;
      const cl = await client(k.client(), k.target, port);
      const answer = (text: string) => `answer to ${text} <- ${k.target}:${UDP_PORT}`;
      try {
        await cl.ask('first');
        expect(cl.got).toContain(answer('first'));
        for (const attacker of k.attackers) await forge(c[attacker], k.from(), { address: k.me(), port }, `forged by ${attacker}`);
        // p1's genuine answer still arrives (a positive control, and a barrier for the datagrams above)
        await cl.ask('second');
        expect(cl.got.filter((m) => !m.startsWith('answer to '))).toEqual([]);
        expect(cl.got).toContain(answer('second'));
      } finally {
        cl.close();
      }
    });
  });

  it('lets genuine replies of published ports through: outside, hairpin, other networks, 127.0.0.1', async () => {
    expect(await hello(box.ns('nb'), UPLINK, TCP_PORT)).toBe(`p1 sees ${NB}`);
    expect(await hello(box.ns('nb'), UPLINK6, TCP_PORT)).toBe(`p1 sees ${NB6}`);
    // hairpin: the same network, itself included (seen as the gateway)
    expect(await hello(c.p2, UPLINK, TCP_PORT)).toBe('p1 sees 10.73.1.1');
    expect(await hello(c.p2, UPLINK6, TCP_PORT)).toBe('p1 sees fd00:73:1::1');
    expect(await hello(c.p1, '10.73.1.1', TCP_PORT)).toBe('p1 sees 10.73.1.1');
    // another isolated network, and a non-isolated one, through the host
    expect(await hello(c.y1, UPLINK, TCP_PORT)).toBe(`p1 sees ${ip4('y1')}`);
    expect(await hello(c.y1, UPLINK6, TCP_PORT)).toBe(`p1 sees ${ip6('y1')}`);
    expect(await hello(c.b1, UPLINK, TCP_PORT)).toBe(`p1 sees ${ip4('b1')}`);
    // a port of a non-isolated network, from another non-isolated one, and from outside
    expect(await hello(c.b1, UPLINK, OPEN_PORT)).toBe(`a1 sees ${ip4('b1')}`);
    expect(await hello(c.b1, UPLINK6, OPEN_PORT)).toBe(`a1 sees ${ip6('b1')}`);
    expect(await hello(box.ns('nb'), UPLINK, OPEN_PORT)).toBe(`a1 sees ${NB}`);
    // the host itself, on 127.0.0.1
    expect(await hello(box.ns('host'), '127.0.0.1', TCP_PORT)).toBe('p1 sees 10.73.1.1');
    expect(await nets.check()).toEqual([]);
  });

  it("keeps an internal network's containers from other networks' published ports; it publishes no port", async () => {
    // n1 is on the internal network int: a host address's published port of another network is a way out of it
    // (DNATed to p1 or a1, the connection would cross into pub or opa).
    for (const [host, port] of [
      [UPLINK, TCP_PORT],
      [UPLINK6, TCP_PORT],
      ['10.73.3.1', TCP_PORT], // its own gateway is a host address too
      [UPLINK, OPEN_PORT],
    ] as const) {
      expect(await hello(c.n1, host, port, 1000), `${host}:${port}`).toMatch(/^error:/);
    }
    expect(await udpAsk(c.n1, UPLINK, UDP_PORT, 'out', 1000)).toBe('timeout');
    // It has no published port: nothing from outside reaches an internal network (InternalNetworkPublishError).
    const srv = await listenTcp({ netns: c.n1, host: '::', port: 80 }, (s) => s.end(`n1 sees ${s.remoteAddress?.replace('::ffff:', '')}`));
    try {
      await expect(nets.publish({ network: 'int', hostPort: INTERNAL_PORT, containerPort: 80, to: c.n1 })).rejects.toBeInstanceOf(InternalNetworkPublishError);
      expect(await hello(box.ns('nb'), UPLINK, INTERNAL_PORT, 1000)).toMatch(/^error:/);
      expect(await hello(c.y1, UPLINK, INTERNAL_PORT, 1000)).toMatch(/^error:/);
      expect(await hello(c.n1, UPLINK, INTERNAL_PORT, 1000)).toMatch(/^error:/);
    } finally {
      srv.close();
    }
    // The other networks' clients still reach the ports n1 may not.
    expect(await hello(c.y1, UPLINK, TCP_PORT)).toBe(`p1 sees ${ip4('y1')}`);
    expect(await hello(c.b1, UPLINK, OPEN_PORT)).toBe(`a1 sees ${ip4('b1')}`);
    expect(await udpAsk(c.y1, UPLINK, UDP_PORT, 'in')).toBe(`answer to in <- ${UPLINK}:${UDP_PORT}`);
    expect(await nets.check()).toEqual([]);
  });

  it('a sandbox on two networks answers a port published on one of them only through that network (documented limit)', async () => {
    // mm's default route is iso's; its answer on pub's publication to a client routed via the default route leaves
    // through iso's bridge with its pub address: from the host's view, what a forger on iso would send.
    const mm = uniqueNetnsName('mm');
    let srv: net.Server | undefined;
    try {
      await nets.attach('iso', { sandbox: mm, create: true });
      await nets.attach('pub', { sandbox: mm });
      srv = await listenTcp({ netns: mm, port: 80 }, (s) => s.end(`mm sees ${s.remoteAddress}`));
      await nets.publish({ network: 'iso', hostPort: 8091, containerPort: 80, to: mm });
      await nets.publish({ network: 'pub', hostPort: 8092, containerPort: 80, to: mm });
      expect(await hello(box.ns('nb'), UPLINK, 8091)).toBe(`mm sees ${NB}`);
      expect(await hello(box.ns('nb'), UPLINK, 8092, 1000)).toMatch(/^error:/);
      // a client that mm reaches through pub (hairpin, on pub's subnet) gets the answer
      expect(await hello(c.p2, UPLINK, 8092)).toBe('mm sees 10.73.1.1');
    } finally {
      srv?.close();
      for (const hostPort of [8091, 8092]) await nets.unpublish({ hostPort }).catch(() => undefined);
      for (const n of ['pub', 'iso']) await nets.detach(n, mm).catch(() => undefined);
      await deleteNetns(mm, { missingOk: true });
    }
  });
});
