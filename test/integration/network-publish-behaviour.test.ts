// What users of published ports rely on: removal that cuts flows only when
// asked (and only the publication's own), host port 0, host addresses the
// host has (or VIPs), and host processes already on a port. Real TCP
// connections; conntrack read back with the `conntrack` tool.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp, connectTcp, deleteNetns, listenTcp, PortInUseError, setSysctl, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ip, uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

/** A TCP connection kept open: say something, get the echo; `closed` settles when it ends (with the error code, if any). */
interface Conversation {
  /** The client's port: what tells its conntrack entry apart. */
  port: number;
  say(text: string): Promise<string>;
  closed: Promise<string>;
  end(): void;
}

async function converse(netns: string, host: string, port: number): Promise<Conversation> {
  const s = await connectTcp({ netns, host, port });
  const closed = new Promise<string>((resolve) => {
    let code = 'closed';
    s.on('error', (e: NodeJS.ErrnoException) => (code = e.code ?? 'error'));
    s.on('close', () => resolve(code));
  });
  return {
    port: s.localPort ?? 0,
    say: (text) =>
      new Promise((resolve, reject) => {
        s.once('data', (d) => resolve(String(d)));
        s.once('error', reject);
        s.write(text);
      }),
    closed,
    end: () => s.destroy(),
  };
}

/** The host namespace's conntrack entry of a conversation, as the `conntrack` tool lists it ("" when there is none). */
function flow(netns: string, conv: Conversation, dport: number): string {
  const out = execFileSync(
    'ip',
    ['netns', 'exec', netns, 'conntrack', '-L', '-p', 'tcp', '--orig-port-src', String(conv.port), '--orig-port-dst', String(dport)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  return out.split('\n').find((l) => l.includes(`sport=${conv.port} dport=${dport}`)) ?? '';
}

describe('network manager: publishing behaviour users rely on', () => {
  const box = useNetns('host', 'internet');
  let nets: NetworkManager;
  let stateDir: string;
  const c = { b1: uniqueNetnsName('b1'), b2: uniqueNetnsName('b2') };
  const servers: net.Server[] = [];
  const UPLINK = '192.168.101.1';
  const OUTSIDE = '192.168.101.2';
  const B1 = '10.95.0.2';
  const B2 = '10.95.0.3';

  beforeAll(async () => {
    const host = box.h('host');
    await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: box.ns('internet') } });
    await host.addresses.add('uplink', `${UPLINK}/24`);
    await box.h('internet').links.set('eth0', { up: true });
    await box.h('internet').addresses.add('eth0', `${OUTSIDE}/24`);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-pubb-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'web', subnet: '10.95.0.0/24' });
    await nets.attach('web', { sandbox: c.b1, create: true });
    await nets.attach('web', { sandbox: c.b2, create: true });
    // each backend echoes what it hears, prefixed with its name, on 80 and 9000-9002
    for (const [name, ns] of [
      ['b1', c.b1],
      ['b2', c.b2],
    ] as const) {
      for (const port of [80, 9000, 9001, 9002]) servers.push(await listenTcp({ netns: ns, port }, (s) => s.on('data', (d) => s.write(`${name}:${d}`))));
    }
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    await nets?.delete('web', { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  describe('removal cuts flows, explicitly', () => {
    it('setBackends with cutFlows: false lets an established connection to the removed backend go on', async () => {
      await nets.publish({ network: 'web', hostPort: 8080, containerPort: 80, to: c.b1 });
      const conv = await converse(box.ns('internet'), UPLINK, 8080);
      expect(await conv.say('hi')).toBe('b1:hi');
      await nets.setBackends({ hostPort: 8080 }, [{ id: c.b2 }], { cutFlows: false });
      expect(flow(box.ns('host'), conv, 8080)).toMatch(new RegExp(`ESTABLISHED .* src=${B1} `));
      expect(await conv.say('still')).toBe('b1:still'); // the old backend, same connection
      const fresh = await converse(box.ns('internet'), UPLINK, 8080);
      expect(await fresh.say('new')).toBe('b2:new'); // new connections go to the new one
      fresh.end();
      conv.end();
    });

    it('setBackends by default cuts the established connections to the removed backend', async () => {
      const conv = await converse(box.ns('internet'), UPLINK, 8080);
      expect(await conv.say('hi')).toBe('b2:hi');
      expect(flow(box.ns('host'), conv, 8080)).toMatch(new RegExp(`ESTABLISHED .* src=${B2} `));
      await nets.setBackends({ hostPort: 8080 }, [{ id: c.b1 }]);
      expect(flow(box.ns('host'), conv, 8080)).toBe('');
      // the next segment is no longer DNATed to b2: whoever gets it answers with a reset
      void conv.say('anyone?').catch(() => undefined);
      expect(await conv.closed).toBe('ECONNRESET');
    });

    it('unpublish with cutFlows: false lets established connections finish; new ones are refused', async () => {
      const conv = await converse(box.ns('internet'), UPLINK, 8080);
      expect(await conv.say('hi')).toBe('b1:hi');
      expect(await nets.unpublish({ hostPort: 8080 }, { cutFlows: false })).toBe(true);
      expect(await conv.say('after')).toBe('b1:after');
      expect(await hello(box.ns('internet'), UPLINK, 8080, 700)).toMatch(/^error:/);
      conv.end();
    });

    it('refuses a cutFlows that is not a boolean, and unknown option keys, before anything is changed', async () => {
      await nets.publish({ network: 'web', hostPort: 8081, containerPort: 80, to: c.b1 });
      for (const [call, field] of [
        [() => nets.unpublish({ hostPort: 8081 }, { cutFlows: 'no' as unknown as boolean }), 'cutFlows'],
        [() => nets.unpublish({ hostPort: 8081 }, { cutflows: false } as never), 'unpublish options'],
        [() => nets.setBackends({ hostPort: 8081 }, [{ id: c.b2 }], { cut: true } as never), 'setBackends options'],
      ] as const) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe(field);
      }
      expect((await nets.publications.get({ hostPort: 8081 })).backends.map((b) => b.id)).toEqual([c.b1]);
      await nets.unpublish({ hostPort: 8081 });
    });
  });

  describe('unpublishing a port range cuts only its own flows', () => {
    it('keeps the connection of another publication to the same backend', async () => {
      await nets.publish({ network: 'web', hostPort: 8080, containerPort: 80, to: c.b1 });
      await nets.publish({ network: 'web', hostPort: '9000-9002', to: c.b1 });
      const viaPort = await converse(box.ns('internet'), UPLINK, 8080);
      const viaRange = await converse(box.ns('internet'), UPLINK, 9001);
      expect(await viaPort.say('a')).toBe('b1:a');
      expect(await viaRange.say('b')).toBe('b1:b');
      expect(flow(box.ns('host'), viaRange, 9001)).toMatch(new RegExp(`ESTABLISHED .* src=${B1} `));
      expect(await nets.unpublish({ hostPort: '9000-9002' })).toBe(true);
      expect(flow(box.ns('host'), viaRange, 9001)).toBe(''); // the range's own flow: cut
      expect(flow(box.ns('host'), viaPort, 8080)).toMatch(new RegExp(`ESTABLISHED .* src=${B1} `));
      expect(await viaPort.say('still')).toBe('b1:still');
      void viaRange.say('gone?').catch(() => undefined);
      expect(await viaRange.closed).toBe('ECONNRESET');
      viaPort.end();
      await nets.unpublish({ hostPort: 8080 });
    });
  });

  describe('host port 0', () => {
    it('picks distinct free ports from the ephemeral range, both reachable', async () => {
      const [lo, hi] = fs
        .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8') // the tests' namespace; the host namespace starts with the same default
        .trim()
        .split(/\s+/)
        .map(Number);
      const p1 = await nets.publish({ network: 'web', hostPort: 0, containerPort: 80, to: c.b1 });
      const p2 = await nets.publish({ network: 'web', hostPort: 0, containerPort: 80, to: c.b2 });
      expect(p1.hostPort).not.toBe(p2.hostPort);
      for (const p of [p1, p2]) expect(p.hostPort >= lo && p.hostPort <= hi).toBe(true);
      const a = await converse(box.ns('internet'), UPLINK, p1.hostPort);
      const b = await converse(box.ns('internet'), UPLINK, p2.hostPort);
      expect([await a.say('1'), await b.say('2')]).toEqual(['b1:1', 'b2:2']);
      a.end();
      b.end();
      expect((await nets.publications.list()).map((p) => p.hostPort)).toEqual(expect.arrayContaining([p1.hostPort, p2.hostPort]));
      await nets.unpublish(p1);
      await nets.unpublish(p2);
    });

    it('skips ports published already and ports a host process holds; refuses when none is left', async () => {
      await setSysctl(box.ns('host'), 'net.ipv4.ip_local_port_range', '40000 40003');
      const holder = await listenTcp({ netns: box.ns('host'), port: 40001 }, (s) => s.end());
      try {
        await nets.publish({ network: 'web', hostPort: 40002, containerPort: 80, to: c.b1 });
        const a = await nets.publish({ network: 'web', hostPort: 0, containerPort: 80, to: c.b1 });
        const b = await nets.publish({ network: 'web', hostPort: 0, containerPort: 80, to: c.b2 });
        expect([a.hostPort, b.hostPort].sort()).toEqual([40000, 40003]);
        const err = await nets.publish({ network: 'web', hostPort: 0, containerPort: 80, to: c.b1 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe('hostPort');
        // UDP is another protocol: its ports are free
        expect((await nets.publish({ network: 'web', protocol: 'udp', hostPort: 0, containerPort: 80, to: c.b1 })).hostPort).toBeGreaterThanOrEqual(40000);
      } finally {
        holder.close();
        for (const p of await nets.publications.list()) await nets.unpublish(p);
        await setSysctl(box.ns('host'), 'net.ipv4.ip_local_port_range', '32768 60999');
      }
    });

    it('needs the container port (the host port is not known before)', async () => {
      const err = await nets.publish({ network: 'web', hostPort: 0, to: c.b1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('containerPort');
    });
  });

  describe('host addresses', () => {
    it('refuses a hostIp the host does not have, before anything is changed', async () => {
      const err = await nets.publish({ network: 'web', hostPort: 8082, containerPort: 80, hostIp: '192.0.2.55', to: c.b1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('hostIp');
      expect(await nets.publications.find({ hostPort: 8082, hostIp: '192.0.2.55' })).toBeUndefined();
      // addresses the host has: an interface's, and any of loopback's 127/8
      await nets.publish({ network: 'web', hostPort: 8082, containerPort: 80, hostIp: UPLINK, to: c.b1 });
      await nets.publish({ network: 'web', hostPort: 8083, containerPort: 80, hostIp: '127.0.0.2', to: c.b1 });
      const local = await converse(box.ns('host'), '127.0.0.2', 8083);
      expect(await local.say('lo')).toBe('b1:lo');
      local.end();
      await nets.unpublish({ hostPort: 8082, hostIp: UPLINK });
      await nets.unpublish({ hostPort: 8083, hostIp: '127.0.0.2' });
    });

    it('refuses unknown publish spec keys before anything is changed: a misspelt hostip, a hostPortEnd', async () => {
      for (const [spec, key] of [
        [{ network: 'web', hostPort: 8085, containerPort: 80, hostip: '127.0.0.1', to: c.b1 }, 'hostip'], // would publish on every address
        [{ network: 'web', hostPort: 9000, hostPortEnd: 9002, to: c.b1 }, 'hostPortEnd'], // was port 9000 alone, under key tcp:*:9000-9002
      ] as const) {
        const err = await nets.publish(spec as never).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe('publish spec');
        expect((err as ValidationError).value).toBe(key);
      }
      for (const hostPort of [8085, 9000, '9000-9002']) expect(await nets.publications.find({ hostPort })).toBeUndefined();
      expect(await hello(box.ns('internet'), UPLINK, 8085, 700)).toMatch(/^error:/);
    });

    it('publishes on a VIP with vip: true: it works once the address arrives on the host (a floating IP)', async () => {
      const VIP = '192.0.2.55';
      await nets.publish({ network: 'web', hostPort: 8084, containerPort: 80, hostIp: VIP, vip: true, to: c.b2 });
      ip(box.ns('internet'), 'route', 'add', `${VIP}/32`, 'via', UPLINK);
      try {
        // not the host's yet (a keepalived backup): nothing is DNATed, the host does not forward it anywhere useful
        expect(await hello(box.ns('internet'), VIP, 8084, 700)).toMatch(/^error:/);
        ip(box.ns('host'), 'address', 'add', `${VIP}/32`, 'dev', 'lo'); // the VIP moves here, added by someone else
        const conv = await converse(box.ns('internet'), VIP, 8084);
        expect(await conv.say('vip')).toBe('b2:vip');
        conv.end();
      } finally {
        ip(box.ns('internet'), 'route', 'del', `${VIP}/32`);
        ip(box.ns('host'), 'address', 'del', `${VIP}/32`, 'dev', 'lo');
        await nets.unpublish({ hostPort: 8084, hostIp: VIP });
      }
      const err = await nets
        .publish({ network: 'web', hostPort: 8084, containerPort: 80, hostIp: VIP, vip: 'yes' as unknown as boolean, to: c.b2 })
        .catch((e: unknown) => e);
      expect((err as ValidationError).field).toBe('vip');
    });
  });

  describe('a host process already on the port', () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    beforeAll(() => void process.on('warning', onWarning));
    afterAll(() => void process.off('warning', onWarning));

    it('refuses by default with PortInUseError; nothing is published', async () => {
      const host = await listenTcp({ netns: box.ns('host'), port: 8090 }, (s) => s.end('host process'));
      try {
        const err = await nets.publish({ network: 'web', hostPort: 8090, containerPort: 80, to: c.b1 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PortInUseError);
        expect(err).toMatchObject({ protocol: 'tcp', hostPort: 8090, sockets: ['*:8090'], field: 'hostPort' });
        expect(await nets.publications.find({ hostPort: 8090 })).toBeUndefined();
        expect(await hello(box.ns('internet'), UPLINK, 8090)).toBe('host process');
        // a range containing the port, and UDP sockets bound to one, count too
        await expect(nets.publish({ network: 'web', hostPort: '8089-8091', to: c.b1 })).rejects.toBeInstanceOf(PortInUseError);
        const udp = await bindUdp({ netns: box.ns('host'), host: '127.0.0.1', port: 8092 });
        try {
          const u = await nets.publish({ network: 'web', protocol: 'udp', hostPort: 8092, containerPort: 80, to: c.b1 }).catch((e: unknown) => e);
          expect(u).toMatchObject({ name: 'PortInUseError', sockets: ['127.0.0.1:8092'] });
          // on another host address it is no conflict
          await nets.publish({ network: 'web', protocol: 'udp', hostPort: 8092, containerPort: 80, hostIp: UPLINK, to: c.b1 });
          await nets.unpublish({ protocol: 'udp', hostPort: 8092, hostIp: UPLINK });
        } finally {
          udp.close();
        }
      } finally {
        host.close();
      }
    });

    it("publishes with 'warn' and emits a process warning with a code; 'ignore' stays silent", async () => {
      const host = await listenTcp({ netns: box.ns('host'), host: '127.0.0.1', port: 8093 }, (s) => s.end('host process'));
      try {
        const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
        await nets.publish({ network: 'web', hostPort: 8093, containerPort: 80, to: c.b1, onListenerConflict: 'warn' });
        expect(await warned).toMatchObject({ name: 'NlkitWarning', code: 'NLKIT_PUBLISH_PORT_IN_USE' });
        expect((await warned).message).toMatch(/tcp port 8093 is in use on the host \(127\.0\.0\.1:8093\)/);
        // outside traffic now reaches the container, no longer the host process
        const conv = await converse(box.ns('internet'), UPLINK, 8093);
        expect(await conv.say('x')).toBe('b1:x');
        conv.end();
        await nets.unpublish({ hostPort: 8093 });
        const before = warnings.length;
        await nets.publish({ network: 'web', hostPort: 8093, containerPort: 80, to: c.b1, onListenerConflict: 'ignore' });
        await new Promise((r) => setImmediate(r));
        expect(warnings.length).toBe(before);
        await nets.unpublish({ hostPort: 8093 });
        const bad = await nets
          .publish({ network: 'web', hostPort: 8093, containerPort: 80, to: c.b1, onListenerConflict: 'maybe' as never })
          .catch((e: unknown) => e);
        expect((bad as ValidationError).field).toBe('onListenerConflict');
      } finally {
        host.close();
      }
    });

    it('does not count sockets of other namespaces', async () => {
      const elsewhere = await listenTcp({ netns: box.ns('internet'), port: 8094 }, (s) => s.end());
      try {
        await nets.publish({ network: 'web', hostPort: 8094, containerPort: 80, to: c.b1 });
        await nets.unpublish({ hostPort: 8094 });
      } finally {
        elsewhere.close();
      }
    });
  });
});
