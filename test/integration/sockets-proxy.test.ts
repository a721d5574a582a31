// Socket options of transparent proxies: the original destination of a
// redirected connection, SO_MARK on a connection (seen by nftables), and
// IP_TRANSPARENT for binding an address the namespace does not have.
import type * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { bindUdp, connectTcp, listenTcp, originalDestination, rule, ValidationError, type Handle, type OriginalDestination } from '../../lib';
import { hello } from '../helpers/traffic';
import { ip, useNetns } from '../helpers/netns';

/** A server answering each connection with its original destination, as JSON. */
function reportingServer(netns: string, port: number, opts: { transparent?: boolean; host?: string } = {}): Promise<net.Server> {
  return listenTcp({ netns, port, host: opts.host ?? '::', transparent: opts.transparent }, (s) => {
    let dst: OriginalDestination | string;
    try {
      dst = originalDestination(s);
    } catch (e) {
      dst = String(e);
    }
    s.end(JSON.stringify({ dst, peer: s.remoteAddress }));
  });
}

async function dropTable(h: Handle, name: string): Promise<void> {
  const tx = h.nft.transaction();
  tx.deleteTable({ family: 'inet', name });
  await tx.commit();
}

describe('socket options for proxies', () => {
  const box = useNetns('pod', 'far');
  const nat = { family: 'inet' as const, table: 'proxytest' };

  it('wires the pod to a far namespace', async () => {
    const pod = box.h('pod');
    await pod.links.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0', netns: box.ns('far') }, up: true });
    await pod.addresses.add('eth0', '10.61.0.2/24');
    await pod.addresses.add('eth0', 'fd61::2/64', { nodad: true });
    await box.h('far').links.set('eth0', { up: true });
    await box.h('far').addresses.add('eth0', '10.61.0.1/24');
    await box.h('far').addresses.add('eth0', 'fd61::1/64', { nodad: true });
  });

  it('recovers the original destination of a REDIRECTed connection, IPv4 and IPv6', async () => {
    const tx = box.h('pod').nft.transaction();
    tx.addTable({ family: 'inet', name: nat.table });
    tx.addChain({ ...nat, name: 'output', type: 'nat', hook: 'output', priority: 'dstnat', policy: 'accept' });
    tx.addRule({ ...nat, chain: 'output', rule: rule().tcp({ dport: 7300 }).redirect({ port: 7301 }) });
    await tx.commit();
    const proxy = await reportingServer(box.ns('pod'), 7301);
    try {
      const v4 = JSON.parse(await hello(box.ns('pod'), '10.61.0.1', 7300)) as { dst: OriginalDestination };
      expect(v4.dst).toEqual({ address: '10.61.0.1', port: 7300, family: 4, source: 'conntrack' });
      const v6 = JSON.parse(await hello(box.ns('pod'), 'fd61::1', 7300)) as { dst: OriginalDestination };
      expect(v6.dst).toEqual({ address: 'fd61::1', port: 7300, family: 6, source: 'conntrack' });
      // Not redirected: conntrack's original destination is the socket's own address.
      const direct = JSON.parse(await hello(box.ns('pod'), '10.61.0.2', 7301)) as { dst: OriginalDestination };
      expect(direct.dst).toMatchObject({ address: '10.61.0.2', port: 7301, family: 4 });
    } finally {
      proxy.close();
      await dropTable(box.h('pod'), nat.table);
    }
  });

  it('marks a connection with SO_MARK: an nftables rule on the mark sees every packet', async () => {
    const server = await listenTcp({ netns: box.ns('far'), port: 7310 }, (s) => s.end('far'));
    const filter = { family: 'inet' as const, table: 'marktest' };
    const tx = box.h('pod').nft.transaction();
    tx.addTable({ family: 'inet', name: filter.table });
    tx.addChain({ ...filter, name: 'output', type: 'filter', hook: 'output', priority: 'filter', policy: 'accept' });
    tx.addRule({ ...filter, chain: 'output', rule: rule().mark(0x539).tcp({ dport: 7310 }).reject({ with: 'tcp reset' }) });
    await tx.commit();
    try {
      expect(await hello(box.ns('pod'), '10.61.0.1', 7310)).toBe('far');
      await expect(connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 7310, mark: 0x539 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(await hello(box.ns('pod'), '10.61.0.1', 7310)).toBe('far');
      // Another mark is not matched: a marked connection gets through.
      const other = await connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 7310, mark: 0x53a, timeoutMs: 2000 });
      other.resume(); // read the answer to its end, so neither side resets
      await new Promise((r) => other.on('close', r));
    } finally {
      server.close();
      await dropTable(box.h('pod'), filter.table);
    }
  });

  it('marks a listener with SO_MARK: the connections it accepts answer with the mark', async () => {
    const filter = { family: 'inet' as const, table: 'listenmark' };
    const tx = box.h('pod').nft.transaction();
    tx.addTable({ family: 'inet', name: filter.table });
    tx.addChain({ ...filter, name: 'output', type: 'filter', hook: 'output', priority: 'filter', policy: 'accept' });
    tx.addRule({
      ...filter,
      chain: 'output',
      rule: rule()
        .mark(0x77)
        .tcp({ sport: [7340, 7341] })
        .drop(),
    });
    await tx.commit();
    const marked = await listenTcp({ netns: box.ns('pod'), port: 7340, mark: 0x77 }, (s) => s.end('marked'));
    const plain = await listenTcp({ netns: box.ns('pod'), port: 7341 }, (s) => s.end('plain'));
    try {
      expect(await hello(box.ns('far'), '10.61.0.2', 7341)).toBe('plain');
      // The SYN-ACK carries the mark: the rule drops it, the client never gets an answer.
      expect(await hello(box.ns('far'), '10.61.0.2', 7340, 1000)).toBe('error:ETIMEDOUT');
    } finally {
      marked.close();
      plain.close();
      await dropTable(box.h('pod'), filter.table);
    }
  });

  it('binds a non-local source address only with transparent', async () => {
    // far routes 10.99.0.5 back to the pod; the pod delivers it locally through a policy route.
    ip(box.ns('far'), 'route', 'add', '10.99.0.5/32', 'via', '10.61.0.2');
    ip(box.ns('pod'), 'route', 'add', 'local', '10.99.0.5/32', 'dev', 'lo', 'table', '199');
    ip(box.ns('pod'), 'rule', 'add', 'to', '10.99.0.5/32', 'lookup', '199');
    const server = await listenTcp({ netns: box.ns('far'), port: 7320 }, (s) => s.end(`from ${s.remoteAddress}:${s.remotePort}`));
    try {
      const plain = connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 7320, localAddress: '10.99.0.5' });
      await expect(plain).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
      const s = await connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 7320, localAddress: '10.99.0.5', localPort: 40123, transparent: true });
      let got = '';
      s.on('data', (d) => (got += d));
      await new Promise((r) => s.on('close', r));
      expect(got).toBe('from 10.99.0.5:40123');
    } finally {
      server.close();
      ip(box.ns('pod'), 'rule', 'del', 'to', '10.99.0.5/32', 'lookup', '199');
    }
  });

  it('listens transparently (IP_TRANSPARENT before bind): a non-local address can be bound', async () => {
    await expect(listenTcp({ netns: box.ns('pod'), host: '10.98.0.1', port: 7330 })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    const s = await listenTcp({ netns: box.ns('pod'), host: '10.98.0.1', port: 7330, transparent: true });
    s.close();
    const s6 = await listenTcp({ netns: box.ns('pod'), host: 'fd98::1', port: 7330, transparent: true });
    s6.close();
  });

  it('validates before creating anything', async () => {
    await expect(connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 1, mark: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 1, mark: 2 ** 32 })).rejects.toMatchObject({ field: 'mark' });
    await expect(connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 1, localAddress: 'fd61::2' })).rejects.toMatchObject({ field: 'localAddress' });
    await expect(connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 1, marks: 1 } as never)).rejects.toMatchObject({ field: 'connectTcp options' });
    await expect(listenTcp({ netns: box.ns('pod'), port: 1, transparant: true } as never)).rejects.toMatchObject({ field: 'listenTcp options' });
    expect(() => originalDestination({} as net.Socket)).toThrow(ValidationError);
    // Flags are booleans: the string 'false' must not turn IP_TRANSPARENT on.
    await expect(listenTcp({ netns: box.ns('pod'), port: 1, transparent: 'false' } as never)).rejects.toMatchObject({ field: 'transparent' });
    await expect(bindUdp({ netns: box.ns('pod'), reusePort: 1 } as never)).rejects.toMatchObject({ field: 'reusePort' });
    await expect(connectTcp({ netns: box.ns('pod'), host: '10.61.0.1', port: 1, transparent: 'yes' } as never)).rejects.toMatchObject({ field: 'transparent' });
  });
});
