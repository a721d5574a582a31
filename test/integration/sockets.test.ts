// Node sockets inside namespaces: TCP servers and clients, UDP, SO_REUSEPORT.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { bindUdp, connectTcp, listenTcp } from '../../lib';
import { useNetns } from '../helpers/netns';

async function request(netns: string, host: string, port: number): Promise<string> {
  const s = await connectTcp({ netns, host, port });
  let out = '';
  s.on('data', (d) => (out += d));
  await new Promise((r) => s.on('close', r));
  return out;
}

describe('sockets in namespaces', () => {
  const box = useNetns('srv', 'cli');

  it('wires the two namespaces', async () => {
    const srv = box.h('srv');
    await srv.links.add({ name: 'v-cli', kind: 'veth', peer: { name: 'v-srv', netns: box.ns('cli') }, up: true });
    await srv.addresses.add('v-cli', '10.60.0.1/24');
    await srv.addresses.add('v-cli', 'fd60::1/64', { nodad: true });
    await box.h('cli').links.set('v-srv', { up: true });
    await box.h('cli').addresses.add('v-srv', '10.60.0.2/24');
    await box.h('cli').addresses.add('v-srv', 'fd60::2/64', { nodad: true });
  });

  it('serves TCP in one namespace to a client in another, IPv4 and IPv6', async () => {
    const server = await listenTcp({ netns: box.ns('srv'), port: 7100, host: '::' }, (s) => s.end(`hello ${s.remoteAddress}`));
    try {
      expect(await request(box.ns('cli'), '10.60.0.1', 7100)).toBe('hello ::ffff:10.60.0.2');
      expect(await request(box.ns('cli'), 'fd60::1', 7100)).toBe('hello fd60::2');
    } finally {
      server.close();
    }
  });

  it("reaches an IPv6 link-local address with a zone given by interface name, resolved in the socket's namespace", async () => {
    await box.h('srv').addresses.add('v-cli', 'fe80::60:1/64', { nodad: true });
    await box.h('cli').addresses.add('v-srv', 'fe80::60:2/64', { nodad: true });
    // Each side names its own interface: the names exist only in their namespace.
    // Node names the peer's zone with an index looked up in the process's own namespace: ignore the zone, and
    // where that index names no link there (a runner in its own namespace) Node cannot give the address at all.
    const peer = (s: { remoteAddress?: string }) => {
      try {
        return s.remoteAddress?.replace(/%.*/, '');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENXIO') return 'fe80::60:2 (unnamed zone)';
        throw e;
      }
    };
    const server = await listenTcp({ netns: box.ns('srv'), host: 'fe80::60:1%v-cli', port: 7102 }, (s) => s.end(`zone ${String(peer(s))}`));
    try {
      expect(await request(box.ns('cli'), 'fe80::60:1%v-srv', 7102)).toMatch(/^zone fe80::60:2( |$)/);
      const index = (await box.h('cli').links.get('v-srv')).index;
      expect(await request(box.ns('cli'), `fe80::60:1%${index}`, 7102)).toMatch(/^zone fe80::60:2( |$)/);
      await expect(connectTcp({ netns: box.ns('cli'), host: 'fe80::60:1%v-cli', port: 7102 })).rejects.toMatchObject({ code: 'ENODEV' });
      await expect(connectTcp({ netns: box.ns('cli'), host: '10.60.0.1%v-srv', port: 7102 })).rejects.toThrow(/IPv6 link-local/);
    } finally {
      server.close();
    }
  });

  it('is isolated: the same port in the client namespace is free, and loopback is per namespace', async () => {
    const a = await listenTcp({ netns: box.ns('srv'), host: '127.0.0.1', port: 7101 }, (s) => s.end('srv'));
    const b = await listenTcp({ netns: box.ns('cli'), host: '127.0.0.1', port: 7101 }, (s) => s.end('cli'));
    try {
      expect(await request(box.ns('cli'), '127.0.0.1', 7101)).toBe('cli');
      expect(await request(box.ns('srv'), '127.0.0.1', 7101)).toBe('srv');
    } finally {
      a.close();
      b.close();
    }
  });

  it('lets several servers share one port with SO_REUSEPORT', async () => {
    const seen = new Set<string>();
    const servers = await Promise.all(['one', 'two'].map((id) => listenTcp({ netns: box.ns('srv'), port: 7102, reusePort: true }, (s) => s.end(id))));
    try {
      for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(await request(box.ns('cli'), '10.60.0.1', 7102));
      expect([...seen].sort()).toEqual(['one', 'two']);
    } finally {
      servers.forEach((s) => s.close());
    }
    // A plain listener on the same port while a SO_REUSEPORT group holds it is refused.
    const holder = await listenTcp({ netns: box.ns('srv'), port: 7103, reusePort: true });
    await expect(listenTcp({ netns: box.ns('srv'), port: 7103 })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    holder.close();
  });

  it('exchanges UDP datagrams between namespaces', async () => {
    const echo = await bindUdp({ netns: box.ns('srv'), port: 7200 });
    echo.on('message', (m, r) => echo.send(Buffer.from(`echo:${m}`), r.port, r.address));
    const client = await bindUdp({ netns: box.ns('cli') });
    try {
      const got = new Promise<string>((r) => client.once('message', (m) => r(String(m))));
      client.send('ping', 7200, '10.60.0.1');
      expect(await got).toBe('echo:ping');
    } finally {
      echo.close();
      client.close();
    }
  });

  it('fails a connection to a closed port with ECONNREFUSED', async () => {
    await expect(connectTcp({ netns: box.ns('cli'), host: '10.60.0.1', port: 7999 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('closes the socket it made when the server given cannot take it (listening already): the port is free again', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const fds = fs.readdirSync('/proc/self/fd').length;
      const err = await listenTcp({ netns: box.ns('srv'), host: '127.0.0.1', port: 7103, server: busy }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_SERVER_ALREADY_LISTEN' });
      expect(fs.readdirSync('/proc/self/fd').length).toBe(fds);
      // The kernel has no listener on the port any more: another one gets it (EADDRINUSE if the first were left open).
      const again = await listenTcp({ netns: box.ns('srv'), host: '127.0.0.1', port: 7103 }, (s) => s.end('again'));
      try {
        expect(await request(box.ns('srv'), '127.0.0.1', 7103)).toBe('again');
      } finally {
        again.close();
      }
    } finally {
      busy.close();
    }
  });
});
