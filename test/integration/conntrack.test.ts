// Connection tracking over ctnetlink, with flows created by real traffic:
// list, filter (protocol, original/reply address and port, zone, mark),
// delete — including the port-unpublishing case where a stale UDP flow
// keeps using an old DNAT mapping until its entry is deleted.
//
//   ext (192.168.50.2) ──vext── gw ──vc1── c1 (10.0.1.2)
//                                  └─vc2── c2 (10.0.2.2)
import * as dgram from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError, bindUdp, connectTcp, listenTcp, rule, setSysctl, type Handle } from '../../lib';
import { useNetns } from '../helpers/netns';

async function wire(gw: Handle, peerNs: string, peer: Handle, ifname: string, gwCidr: string, peerCidr: string, gateway?: string): Promise<void> {
  await gw.links.add({ name: ifname, kind: 'veth', peer: { name: 'eth0', netns: peerNs }, up: true });
  await gw.addresses.add(ifname, gwCidr);
  await peer.links.set('eth0', { up: true });
  await peer.addresses.add('eth0', peerCidr);
  if (gateway) await peer.routes.add({ dst: 'default', gateway });
}

/** Sends one datagram and waits for the echo. */
function ask(sock: dgram.Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    sock.once('message', (m) => resolve(String(m)));
    sock.send(text, 5353, '192.168.50.1');
  });
}

describe('conntrack', () => {
  const box = useNetns('gw', 'c1', 'c2', 'ext');
  const closers: Array<{ close(): void }> = [];
  afterAll(() => closers.forEach((c) => c.close()));
  const ns = (l: string) => box.ns(l);
  const gw = () => box.h('gw');
  const nat = { family: 'inet' as const, table: 'nat' };
  let client: dgram.Socket;

  it('creates flows through a DNAT gateway', async () => {
    await wire(gw(), ns('c1'), box.h('c1'), 'vc1', '10.0.1.1/24', '10.0.1.2/24', '10.0.1.1');
    await wire(gw(), ns('c2'), box.h('c2'), 'vc2', '10.0.2.1/24', '10.0.2.2/24', '10.0.2.1');
    await wire(gw(), ns('ext'), box.h('ext'), 'vext', '192.168.50.1/24', '192.168.50.2/24');
    await setSysctl(ns('gw'), 'net.ipv4.ip_forward', 1);
    for (const c of ['c1', 'c2']) {
      const udp = await bindUdp({ netns: ns(c), port: 53 });
      udp.on('message', (m, r) => udp.send(`${c}:${m}`, r.port, r.address));
      closers.push(udp);
      closers.push(await listenTcp({ netns: ns(c), port: 80 }, (s) => s.on('data', () => s.write('pong'))));
    }
    const tx = gw().nft.transaction();
    tx.addTable({ family: 'inet', name: 'nat' });
    tx.addChain({ ...nat, name: 'mark', type: 'filter', hook: 'prerouting', priority: 'mangle' });
    tx.addChain({ ...nat, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
    tx.addRule({ ...nat, chain: 'mark', rule: rule().udp({ dport: 5353 }).setCtMark(0x42) });
    tx.addRule({ ...nat, chain: 'prerouting', rule: rule().udp({ dport: 5353 }).dnat({ to: '10.0.1.2', port: 53 }).comment('udp service') });
    tx.addRule({ ...nat, chain: 'prerouting', rule: rule().tcp({ dport: 8080 }).dnat({ to: '10.0.1.2', port: 80 }) });
    await tx.commit();
    client = await bindUdp({ netns: ns('ext'), port: 40000 });
    closers.push(client);
    expect(await ask(client, 'ping')).toBe('c1:ping');
  });

  it('lists entries created by real traffic, UDP and TCP', async () => {
    const tcp = await connectTcp({ netns: ns('ext'), host: '192.168.50.1', port: 8080 });
    closers.push({ close: () => tcp.destroy() });
    await new Promise<void>((r) => {
      tcp.once('data', () => r());
      tcp.write('ping');
    });
    const all = await gw().conntrack.list();
    // count() is this namespace's entries (a listing walks the kernel's whole table)
    expect(await gw().conntrack.count()).toBe(all.length);
    const udp = all.find((e) => e.protocol === 'udp' && e.original.dport === 5353);
    expect(udp).toMatchObject({
      family: 4,
      protocol: 'udp',
      original: { src: '192.168.50.2', dst: '192.168.50.1', sport: 40000, dport: 5353 },
      reply: { src: '10.0.1.2', dst: '192.168.50.2', sport: 53, dport: 40000 },
      mark: 0x42,
    });
    expect(udp!.status).toEqual(expect.arrayContaining(['confirmed', 'seen-reply', 'dnat']));
    expect(udp!.timeout).toBeGreaterThan(0);
    const t = all.find((e) => e.protocol === 'tcp' && e.original.dport === 8080);
    expect(t).toMatchObject({ original: { src: '192.168.50.2', dport: 8080 }, reply: { src: '10.0.1.2', sport: 80 }, tcpState: 'established' });
  });

  it('filters by protocol, original and reply addresses and ports, zone and mark', async () => {
    const c = gw().conntrack;
    expect(await c.list({ protocol: 'udp', original: { dport: 5353 } })).toHaveLength(1);
    expect(await c.list({ protocol: 'tcp', original: { dport: 5353 } })).toHaveLength(0);
    expect(await c.list({ reply: { src: '10.0.1.0/24', sport: 80 } })).toMatchObject([{ protocol: 'tcp' }]);
    expect(await c.list({ original: { src: '192.168.50.2', sport: 40000 } })).toMatchObject([{ protocol: 'udp' }]);
    expect(await c.list({ original: { src: '10.0.0.0/8' } })).toHaveLength(0);
    expect(await c.list({ mark: 0x42 })).toMatchObject([{ protocol: 'udp' }]);
    expect(await c.list({ mark: 0x40, markMask: 0xf0 })).toMatchObject([{ protocol: 'udp' }]);
    expect((await c.list({ zone: 0, family: 4 })).length).toBeGreaterThanOrEqual(2);
    expect(await c.list({ zone: 7 })).toHaveLength(0);
    expect(await c.list({ family: 6 })).toHaveLength(0);
    expect(await c.list({ status: ['dnat', 'seen-reply'], protocol: 'udp' })).toHaveLength(1);
  });

  it('cuts a stale UDP flow so a changed port mapping takes effect', async () => {
    // Re-point the published port to c2.
    const [old] = await gw().nft.rules.list({ ...nat, chain: 'prerouting' });
    const tx = gw().nft.transaction();
    tx.replaceRule({ ...nat, chain: 'prerouting', handle: old.handle!, rule: rule().udp({ dport: 5353 }).dnat({ to: '10.0.2.2', port: 53 }) });
    await tx.commit();
    // The existing flow keeps its old mapping: conntrack, not the rule, decides.
    expect(await ask(client, 'again')).toBe('c1:again');
    expect(await gw().conntrack.flush({ protocol: 'udp', original: { dport: 5353 } })).toBe(1);
    expect(await gw().conntrack.list({ protocol: 'udp', original: { dport: 5353 } })).toHaveLength(0);
    // Same client socket, same 5-tuple: now it reaches the new backend.
    expect(await ask(client, 'after')).toBe('c2:after');
    const [fresh] = await gw().conntrack.list({ protocol: 'udp', original: { dport: 5353 } });
    expect(fresh.reply.src).toBe('10.0.2.2');
  });

  it('deletes a listed entry (NotFoundError once gone, false with missingOk) and flushes the table', async () => {
    const [e] = await gw().conntrack.list({ protocol: 'udp' });
    expect(await gw().conntrack.delete(e)).toBe(true);
    const gone = await gw()
      .conntrack.delete(e)
      .catch((x) => x);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(gone).toMatchObject({ code: 'ENOENT', what: 'conntrack entry' });
    expect(await gw().conntrack.delete(e, { missingOk: true })).toBe(false);
    const tcp = (await gw().conntrack.list({ protocol: 'tcp' })).length;
    expect(tcp).toBeGreaterThan(0);
    expect(await gw().conntrack.flush({ family: 4, protocol: 'tcp' })).toBe(tcp);
    expect(await gw().conntrack.list({ protocol: 'tcp', original: { dport: 8080 } })).toHaveLength(0);
    expect(await gw().conntrack.count()).toBe((await gw().conntrack.list()).length);
  });

  it('deprecated forms still work: delete(filter), deleteEntry(entry), flush(family)', async () => {
    expect(await ask(client, 'once more')).toBe('c2:once more'); // a fresh UDP flow
    expect(await gw().conntrack.delete({ protocol: 'udp', original: { dport: 5353 } })).toBe(1);
    expect(await ask(client, 'and again')).toBe('c2:and again');
    const [e] = await gw().conntrack.list({ protocol: 'udp', original: { dport: 5353 } });
    expect(await gw().conntrack.deleteEntry(e)).toBe(true);
    expect(await gw().conntrack.deleteEntry(e)).toBe(false);
    expect(await ask(client, 'last')).toBe('c2:last');
    expect(await gw().conntrack.flush(4)).toBeGreaterThanOrEqual(1);
    expect(await gw().conntrack.list({ family: 4 })).toHaveLength(0);
  });
});
