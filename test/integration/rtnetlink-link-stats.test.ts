// 64-bit link counters (h.linkStats, RTM_GETSTATS): real TCP between two
// namespaces over a veth makes them grow, and each reading agrees with
// `ip -j -s link` read in between two of nlkit's readings (counters only
// grow, and IPv6 housekeeping may add packets at any time).
import * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { listenTcp, NotFoundError, ValidationError, type LinkStats } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

/** The counters `ip -j -s link show dev X` prints, as bigints. */
function ipCounters(netns: string, dev: string) {
  const s = ipJson(netns, '-s', 'link', 'show', 'dev', dev)[0].stats64;
  return { rxBytes: BigInt(s.rx.bytes), rxPackets: BigInt(s.rx.packets), txBytes: BigInt(s.tx.bytes), txPackets: BigInt(s.tx.packets) };
}

describe('link statistics (RTM_GETSTATS, IFLA_STATS_LINK_64)', () => {
  const box = useNetns('a', 'b');
  const servers: net.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('counters of a veth grow with the traffic sent over it, as ip -s link shows', async () => {
    // The veth is made by ip (foreign state), its peer moved to the other namespace.
    ip(box.ns('a'), 'link', 'add', 'st0', 'type', 'veth', 'peer', 'name', 'st1', 'netns', box.ns('b'));
    await box.h('a').links.set('st0', { up: true });
    await box.h('b').links.set('st1', { up: true });
    await box.h('a').addresses.add('st0', '10.90.0.1/24');
    await box.h('b').addresses.add('st1', '10.90.0.2/24');
    const payload = 'x'.repeat(200_000);
    servers.push(await listenTcp({ netns: box.ns('b'), host: '10.90.0.2', port: 80 }, (sock) => sock.end(payload)));

    const before = await box.h('a').linkStats.get('st0');
    expect(before.name).toBe('st0');
    expect(await hello(box.ns('a'), '10.90.0.2', 80)).toBe(payload);
    const after = await box.h('a').linkStats.get('st0');
    const fromIp = ipCounters(box.ns('a'), 'st0');
    const later = (await box.h('a').linkStats.get(after.index)).stats;

    // 200 kB came in over st0, and the acknowledgements went out.
    expect(after.stats.rxBytes - before.stats.rxBytes).toBeGreaterThan(200_000n);
    expect(after.stats.rxPackets - before.stats.rxPackets).toBeGreaterThan(3n);
    expect(after.stats.txPackets - before.stats.txPackets).toBeGreaterThan(3n);
    for (const k of ['rxBytes', 'rxPackets', 'txBytes', 'txPackets'] as const) {
      expect(fromIp[k] >= after.stats[k] && fromIp[k] <= later[k], `${k}: ip says ${fromIp[k]}, nlkit ${after.stats[k]}..${later[k]}`).toBe(true);
    }
    // What went out of st0 came into its peer.
    const peer = await box.h('b').linkStats.get('st1');
    expect(peer.stats.txBytes).toBeGreaterThanOrEqual(after.stats.rxBytes);
  });

  it('every counter of struct rtnl_link_stats64 is a bigint, the same as IFLA_STATS64 on the link', async () => {
    const { stats } = await box.h('a').linkStats.get('lo');
    const fields: Array<keyof LinkStats> = [
      'rxPackets',
      'txPackets',
      'rxBytes',
      'txBytes',
      'rxErrors',
      'txErrors',
      'rxDropped',
      'txDropped',
      'multicast',
      'collisions',
    ];
    fields.push('rxLengthErrors', 'rxOverErrors', 'rxCrcErrors', 'rxFrameErrors', 'rxFifoErrors', 'rxMissedErrors', 'txAbortedErrors');
    fields.push('txCarrierErrors', 'txFifoErrors', 'txHeartbeatErrors', 'txWindowErrors', 'rxCompressed', 'txCompressed', 'rxNohandler', 'rxOtherhostDropped');
    for (const f of fields) expect(typeof stats[f], f).toBe('bigint');
    // A link dump carries the same struct (IFLA_STATS64); loopback is quiet here, so both agree.
    const listed = (await box.h('a').links.list({ name: 'lo' }))[0].stats!;
    expect(Object.keys(listed).sort()).toEqual(Object.keys(stats).sort());
    expect(listed.rxPackets).toBeGreaterThanOrEqual(stats.rxPackets);
  });

  it('list gives every link of the namespace, named', async () => {
    const all = await box.h('a').linkStats.list();
    expect(all.map((e) => e.name).sort()).toEqual(
      ipJson(box.ns('a'), 'link', 'show')
        .map((l: { ifname: string }) => l.ifname)
        .sort(),
    );
  });

  it('a missing link is a NotFoundError (find: undefined); wrong arguments are ValidationErrors', async () => {
    await expect(box.h('a').linkStats.get('nosuch0')).rejects.toBeInstanceOf(NotFoundError);
    await expect(box.h('a').linkStats.get(9999)).rejects.toBeInstanceOf(NotFoundError);
    expect(await box.h('a').linkStats.find('nosuch0')).toBeUndefined();
    await expect(box.h('a').linkStats.get(-1)).rejects.toBeInstanceOf(ValidationError);
    await expect(box.h('a').linkStats.list({ name: 'lo' } as never)).rejects.toBeInstanceOf(ValidationError);
  });
});
