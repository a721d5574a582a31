// flush(filter) on thousands of entries: every matching entry goes, the
// count is exact, the others stay — on the async handle (deletes pipelined)
// and on the blocking one (one after another). Flows are real: UDP datagrams
// from distinct ports over loopback in a namespace where conntrack is active,
// cross-checked with conntrack(8).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openSync, rule } from '../../lib';
import { conntrackOps, type ConntrackFilter } from '../../lib/conntrack/conntrack';
import { NETLINK_NETFILTER } from '../../lib/netlink/constants';
import { NetlinkConnection } from '../../lib/netlink/connection';
import { runAsync } from '../../lib/netlink/operation';
import { useNetns } from '../helpers/netns';

/** Sends one UDP datagram from each of `n` fresh sockets (bound to `from`) to `to`:port, inside the namespace. */
function udpFlows(netns: string, n: number, port: number, to = '127.0.0.1', from = ''): void {
  const script = `
import socket
socks = []
for i in range(${n}):
    s = socket.socket(socket.AF_INET6 if ':' in '${to}' else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('${from}', 0))
    s.sendto(b'x', ('${to}', ${port}))
    socks.append(s)
`;
  execFileSync('ip', ['netns', 'exec', netns, 'python3', '-c', script]);
}

/** How many entries conntrack(8) lists for UDP to `port` (IPv4, or `ipv6`). */
function conntrackCount(netns: string, port: number, family = 'ipv4'): number {
  const out = execFileSync('ip', ['netns', 'exec', netns, 'conntrack', '-L', '-f', family, '-p', 'udp', '--dport', String(port)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out.split('\n').filter((l) => l.startsWith('udp')).length;
}

describe('conntrack flush of many entries', () => {
  const box = useNetns('ctf');
  const ns = () => box.ns('ctf');

  it('deletes 2,000 matching entries and counts them exactly, leaving the others', async () => {
    // Any rule that looks at conntrack makes the namespace track its flows, loopback included.
    const tx = box.h('ctf').nft.transaction();
    tx.addTable({ family: 'inet', name: 't' });
    tx.addChain({ family: 'inet', table: 't', name: 'out', type: 'filter', hook: 'output', priority: 'filter' });
    tx.addRule({ family: 'inet', table: 't', chain: 'out', rule: rule().ct({ state: 'new' }).counter() });
    await tx.commit();
    udpFlows(ns(), 2000, 9);
    udpFlows(ns(), 50, 7);
    expect(conntrackCount(ns(), 9)).toBe(2000);

    expect(await box.h('ctf').conntrack.flush({ protocol: 'udp', original: { dport: 9 } })).toBe(2000);
    expect(conntrackCount(ns(), 9)).toBe(0);
    expect(conntrackCount(ns(), 7)).toBe(50);
    // Nothing left to delete: 0, not an error.
    expect(await box.h('ctf').conntrack.flush({ protocol: 'udp', original: { dport: 9 } })).toBe(0);

    // The blocking handle deletes one after another, with the same result.
    const sync = openSync({ netns: ns() });
    try {
      expect(sync.conntrack.flush({ protocol: 'udp', original: { dport: 7 } })).toBe(50);
    } finally {
      sync.close();
    }
    expect(conntrackCount(ns(), 7)).toBe(0);
  });
});

/** How many entries conntrack(8) lists for UDP to `port` in a zone. */
function conntrackZoneCount(netns: string, port: number, zone: number): number {
  const out = execFileSync('ip', ['netns', 'exec', netns, 'conntrack', '-L', '-p', 'udp', '--dport', String(port), '-w', String(zone)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out.split('\n').filter((l) => l.startsWith('udp')).length;
}

describe('conntrack flush by zone and mark', () => {
  const box = useNetns('ctz');
  const ns = () => box.ns('ctz');

  it('deletes exactly the entries of a zone (the delete names the zone) and of a mark', async () => {
    const h = box.h('ctz');
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 't' });
    // Flows to port 8 are tracked in zone 7, flows to port 9 get ct mark 5; port 7's stay in zone 0 unmarked.
    tx.addChain({ family: 'inet', table: 't', name: 'raw', type: 'filter', hook: 'output', priority: 'raw' });
    tx.addRule({ family: 'inet', table: 't', chain: 'raw', rule: rule().udp({ dport: 8 }).setCtZone(7) });
    tx.addChain({ family: 'inet', table: 't', name: 'out', type: 'filter', hook: 'output', priority: 'mangle' });
    tx.addRule({ family: 'inet', table: 't', chain: 'out', rule: rule().udp({ dport: 9 }).setCtMark(5) });
    await tx.commit();
    udpFlows(ns(), 30, 8);
    udpFlows(ns(), 20, 9);
    udpFlows(ns(), 10, 7);
    expect(conntrackZoneCount(ns(), 8, 7)).toBe(30);

    // Same tuple filter for all three ports: only the zone tells them apart.
    expect(await h.conntrack.flush({ protocol: 'udp', zone: 7 })).toBe(30);
    expect(conntrackZoneCount(ns(), 8, 7)).toBe(0);
    expect(conntrackCount(ns(), 9)).toBe(20);
    expect(conntrackCount(ns(), 7)).toBe(10);

    // Bits outside the mask do not matter (the kernel's own mark filter compares the masked value).
    expect(await h.conntrack.flush({ mark: 0x105, markMask: 0xff })).toBe(20);
    expect(conntrackCount(ns(), 9)).toBe(0);
    expect(conntrackCount(ns(), 7)).toBe(10);
    expect((await h.conntrack.list({ protocol: 'udp' })).map((e) => e.original.dport)).toEqual(Array(10).fill(7));
  });
});

describe('conntrack flush filtered by the kernel', () => {
  const box = useNetns('ctk');
  const ns = () => box.ns('ctk');

  /** Runs a flush on a connection of its own, to count the messages the kernel sent it. */
  async function flushCounting(filter: ConntrackFilter): Promise<{ deleted: number; received: number }> {
    const conn = NetlinkConnection.inNamespace({ protocol: NETLINK_NETFILTER, netnsFd: box.h('ctk').netns!.fd });
    try {
      const deleted = await runAsync(conn, conntrackOps.flush(filter));
      return { deleted, received: conn.messagesReceived };
    } finally {
      conn.close();
    }
  }

  it('deletes only matching entries of both families, and the others never reach userspace', async () => {
    const h = box.h('ctk');
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 't' });
    tx.addChain({ family: 'inet', table: 't', name: 'out', type: 'filter', hook: 'output', priority: 'filter' });
    tx.addRule({ family: 'inet', table: 't', chain: 'out', rule: rule().ct({ state: 'new' }).counter() });
    await tx.commit();
    udpFlows(ns(), 300, 9);
    udpFlows(ns(), 100, 9, '::1');
    udpFlows(ns(), 2000, 7); // foreign: same protocol, other port (and enough entries to filter each family's dump)
    udpFlows(ns(), 100, 8, '127.0.0.1', '127.0.0.2');
    udpFlows(ns(), 100, 8, '127.0.0.1', '127.0.0.1');
    expect([conntrackCount(ns(), 9), conntrackCount(ns(), 9, 'ipv6'), conntrackCount(ns(), 7)]).toEqual([300, 100, 2000]);

    const byPort = await flushCounting({ protocol: 'udp', original: { dport: 9 } });
    expect(byPort.deleted).toBe(400);
    // 400 entries, two dumps' ends and the count: none of the 2,200 others.
    expect(byPort.received).toBeLessThan(420);
    expect([conntrackCount(ns(), 9), conntrackCount(ns(), 9, 'ipv6'), conntrackCount(ns(), 7), conntrackCount(ns(), 8)]).toEqual([0, 0, 2000, 200]);

    const bySource = await flushCounting({ protocol: 'udp', original: { src: '127.0.0.2' } });
    expect(bySource.deleted).toBe(100);
    expect(bySource.received).toBeLessThan(120);
    expect([conntrackCount(ns(), 8), conntrackCount(ns(), 7)]).toEqual([100, 2000]);
    expect((await h.conntrack.list({ protocol: 'udp', original: { dport: 8 } })).map((e) => e.original.src)).toEqual(Array(100).fill('127.0.0.1'));

    // This kernel's filter by IPv6 address is inverted (it returned none of the entries from ::1
    // when asked for ::1): the address is checked here only, the family still by the kernel.
    udpFlows(ns(), 50, 8, '::1');
    const bySource6 = await flushCounting({ protocol: 'udp', original: { src: '::1' } });
    expect(bySource6.deleted).toBe(50);
    expect(bySource6.received).toBeLessThan(70);
    expect([conntrackCount(ns(), 8, 'ipv6'), conntrackCount(ns(), 8)]).toEqual([0, 100]);
  });
});
