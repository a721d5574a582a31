// The cross-host overlay at scale: simulated hosts (namespaces on a shared
// underlay bridge), each with its own container network and containers;
// real TCP between containers of different hosts, source addresses checked.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOverlay, listenTcp, type OverlayPeer } from '../../lib';
import { requireRoot } from '../helpers/netns';
import { CLUSTER_CIDR, buildCluster, inParallel, type Cluster, type ClusterOptions, type SimHost } from '../helpers/overlay-cluster';
import { hello } from '../helpers/traffic';

/** 50 in CI; NLKIT_OVERLAY_HOSTS makes a quicker local run. */
const HOSTS = Number(process.env.NLKIT_OVERLAY_HOSTS ?? 50);
const MIDDLE = Math.floor(HOSTS / 2);
const DEV = 'nlk-vx1';
const PORT = 7000;

function json<T = any>(cmd: string, ...args: string[]): T {
  return JSON.parse(execFileSync(cmd, args, { encoding: 'utf8' }) || '[]') as T;
}

/** The overlay's entries on a host as `ip` and `bridge` print them: neighbours, FDB entries and routes on the device. */
function entriesOf(host: SimHost): { neigh: string[]; fdb: string[]; routes: string[] } {
  const neigh = json<any[]>('ip', '-n', host.ns, '-j', '-4', 'neigh', 'show', 'dev', DEV).map((n) => `${n.dst} ${n.lladdr}`);
  const fdb = json<any[]>('bridge', '-n', host.ns, '-j', 'fdb', 'show', 'dev', DEV)
    .filter((e) => e.dst)
    .map((e) => `${e.mac} ${e.dst}`);
  const routes = json<any[]>('ip', '-n', host.ns, '-j', '-4', 'route', 'show', 'dev', DEV).map(
    (r) => `${r.dst} ${r.gateway} ${(r.flags as string[]).join(',')}`,
  );
  return { neigh: neigh.sort(), fdb: fdb.sort(), routes: routes.sort() };
}

const peersOf = (cluster: Cluster): OverlayPeer[] => cluster.hosts.map((h) => h.overlay.self(h.name));

/** Serves every container: the reply is the client's address as the server saw it. */
async function serveAll(cluster: Cluster): Promise<Array<{ close(): void }>> {
  const servers = [];
  for (const host of cluster.hosts)
    for (const c of host.containers) servers.push(await listenTcp({ netns: c.ns, port: PORT }, (s) => s.end(`${s.remoteAddress ?? ''}`)));
  return servers;
}

/**
 * A converged cluster with a server in every container, built before the
 * describe block's tests and destroyed after them.
 */
function useServedCluster(opts: ClusterOptions, concurrency: number, timeoutMs: number): { cluster: () => Cluster; servers: Array<{ close(): void }> } {
  let cluster: Cluster | undefined;
  const servers: Array<{ close(): void }> = [];
  beforeAll(async () => {
    requireRoot();
    cluster = await buildCluster(opts);
    const all = peersOf(cluster);
    await inParallel(cluster.hosts, concurrency, (h) => h.overlay.apply(all));
    servers.push(...(await serveAll(cluster)));
  }, timeoutMs);
  afterAll(async () => {
    for (const s of servers) s.close();
    await cluster?.destroy();
  }, timeoutMs);
  const built = () => {
    if (!cluster) throw new Error('the cluster was not built (see beforeAll)');
    return cluster;
  };
  return { cluster: built, servers };
}

/** Pairs of (client host, server host), every host as client and as server, spread over the cluster. */
function samplePairs(n: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) pairs.push([i, (i * 7 + 3) % n === i ? (i + 1) % n : (i * 7 + 3) % n]);
  for (let i = 1; i < n; i++) pairs.push([i, 0]);
  return pairs;
}

async function expectReachable(cluster: Cluster, pairs: Array<[number, number]>): Promise<void> {
  const results = await inParallel(pairs, 8, async ([a, b]) => {
    const from = cluster.hosts[a].containers[0];
    const to = cluster.hosts[b].containers[1];
    return { pair: `${from.ip} -> ${to.ip}`, seen: await hello(from.ns, to.ip, PORT, 5000), want: from.ip };
  });
  expect(results.filter((r) => r.seen !== r.want)).toEqual([]);
}

describe(`vxlan overlay, ${HOSTS} hosts on an IPv4 underlay`, () => {
  const served = useServedCluster({ hosts: HOSTS, concurrency: 8 }, 8, 600_000);
  const { servers } = served;
  let cluster: Cluster;
  beforeAll(() => {
    cluster = served.cluster();
  });

  it('writes exactly one neighbour, FDB entry and onlink route per peer, and the device MTU leaves 50 bytes for VXLAN', () => {
    for (const host of [cluster.hosts[0], cluster.hosts[1], cluster.hosts[HOSTS - 1]]) {
      const peers = cluster.hosts.filter((p) => p !== host);
      const e = entriesOf(host);
      expect(e.neigh).toEqual(peers.map((p) => `${p.subnet.split('/')[0]} ${p.overlay.self().mac ?? ''}`).sort());
      expect(e.fdb).toEqual(peers.map((p) => `${p.overlay.self().mac ?? ''} ${p.underlay}`).sort());
      expect(e.routes).toEqual(peers.map((p) => `${p.subnet} ${p.subnet.split('/')[0]} onlink`).sort());
      const [link] = json<any[]>('ip', '-n', host.ns, '-j', '-d', 'link', 'show', DEV);
      expect(link.mtu).toBe(1450);
      expect(json<any[]>('ip', '-n', host.containers[0].ns, '-j', 'link', 'show', 'eth0')[0].mtu).toBe(1450);
      expect(link.linkinfo.info_data).toMatchObject({ id: 1, local: host.underlay, port: 8472, learning: false });
    }
  });

  it('reaches containers of other hosts over real TCP with their own source addresses (no masquerade inside the cluster)', async () => {
    await expectReachable(cluster, samplePairs(HOSTS));
  }, 300_000);

  it('applying the same membership again changes nothing, and check() finds no drift anywhere', async () => {
    const all = peersOf(cluster);
    const changes = await inParallel(cluster.hosts, 8, (h) => h.overlay.apply(all));
    expect(changes.every((c) => c.joined.length + c.updated.length + c.left.length === 0)).toBe(true);
    const drift = await inParallel(cluster.hosts, 8, (h) => h.overlay.check());
    expect(drift.flat()).toEqual([]);
  }, 300_000);

  it('a host leaving removes exactly its entries on every other host', async () => {
    const leaving = cluster.hosts[MIDDLE];
    const others = cluster.hosts.filter((h) => h !== leaving);
    const before = new Map(others.map((h) => [h, entriesOf(h)]));
    const mac = leaving.overlay.self().mac ?? '';
    const vtep = leaving.subnet.split('/')[0];
    await inParallel(others, 8, (h) => h.overlay.leave(leaving.name));
    for (const h of others) {
      const was = before.get(h)!;
      expect(entriesOf(h)).toEqual({
        neigh: was.neigh.filter((n) => n !== `${vtep} ${mac}`),
        fdb: was.fdb.filter((f) => f !== `${mac} ${leaving.underlay}`),
        routes: was.routes.filter((r) => !r.startsWith(`${leaving.subnet} `)),
      });
      expect(was.neigh.length - entriesOf(h).neigh.length).toBe(1);
    }
    expect(await hello(cluster.hosts[0].containers[0].ns, leaving.containers[0].ip, PORT, 1000)).toMatch(/^error:/);
  }, 300_000);

  it('a host re-joining with a new underlay address is updated in place: entries replaced, not duplicated', async () => {
    const index = MIDDLE;
    const old = cluster.hosts.find((h) => h.index === index)!;
    await cluster.removeHost(old);
    const back = await cluster.addHost(index, { underlayAddress: '172.30.1.23' });
    cluster.hosts.sort((a, b) => a.index - b.index);
    servers.push(...(await Promise.all(back.containers.map((c) => listenTcp({ netns: c.ns, port: PORT }, (s) => s.end(`${s.remoteAddress ?? ''}`))))));
    // Some hosts never saw it leave (the earlier test removed it everywhere; put it back on half of them first with its old address).
    const half = cluster.hosts.filter((h) => h !== back && h.index % 2 === 0);
    await inParallel(half, 8, (h) => h.overlay.join({ ...back.overlay.self(back.name), underlay: old.underlay }));
    const all = peersOf(cluster);
    const changes = await inParallel(cluster.hosts, 8, (h) => h.overlay.apply(all));
    for (const [i, h] of cluster.hosts.entries()) {
      if (h === back) continue;
      expect(changes[i]).toEqual(h.index % 2 === 0 ? { joined: [], updated: [back.name], left: [] } : { joined: [back.name], updated: [], left: [] });
      const e = entriesOf(h);
      const mac = back.overlay.self().mac ?? '';
      expect(e.fdb.filter((f) => f.startsWith(mac))).toEqual([`${mac} 172.30.1.23`]);
      expect(e.neigh.filter((n) => n.includes(mac))).toHaveLength(1);
      expect(e.routes.filter((r) => r.startsWith(`${back.subnet} `))).toHaveLength(1);
      expect(e.fdb).toHaveLength(HOSTS - 1);
    }
    await expectReachable(
      cluster,
      cluster.hosts
        .filter((h) => h !== back)
        .slice(0, 10)
        .flatMap((h) => [[h.index, index] as [number, number], [index, h.index] as [number, number]]),
    );
  }, 600_000);

  it('check() reports missing, wrong and foreign entries and reconcile() repairs exactly those', async () => {
    const host = cluster.hosts[1];
    const peer = cluster.hosts[2];
    const vtep = peer.subnet.split('/')[0];
    execFileSync('ip', ['-n', host.ns, 'neigh', 'del', vtep, 'dev', DEV]);
    execFileSync('bridge', ['-n', host.ns, 'fdb', 'replace', peer.overlay.self().mac ?? '', 'dev', DEV, 'dst', '172.30.9.9']);
    execFileSync('ip', ['-n', host.ns, 'route', 'add', '10.244.250.0/24', 'via', '10.244.250.0', 'dev', DEV, 'onlink']);
    execFileSync('bridge', ['-n', host.ns, 'fdb', 'append', '0a:58:0a:f4:fa:00', 'dev', DEV, 'dst', '172.30.9.10']);
    const drift = await host.overlay.check();
    expect(drift.map((d) => `${d.kind} ${d.peer ?? ''}`).sort()).toEqual(
      ['neighbour-missing host-2', 'fdb-wrong host-2', 'route-foreign ', 'fdb-foreign '].sort(),
    );
    await host.overlay.reconcile();
    expect(await host.overlay.check()).toEqual([]);
    const e = entriesOf(host);
    expect(e.fdb).toContain(`${peer.overlay.self().mac ?? ''} ${peer.underlay}`);
    expect(e.routes.some((r) => r.startsWith('10.244.250.0/24'))).toBe(false);
    await expectReachable(cluster, [[host.index, peer.index]]);
  }, 120_000);
});

describe('vxlan overlay on an IPv6 underlay', () => {
  const served = useServedCluster({ hosts: 4, underlayFamily: 6 }, 4, 300_000);
  let cluster: Cluster;
  beforeAll(() => {
    cluster = served.cluster();
  });

  it("sends to the peers' IPv6 underlay addresses, leaves 70 bytes for the outer headers, and carries container traffic unmasqueraded", async () => {
    const host = cluster.hosts[0];
    expect(entriesOf(host).fdb).toEqual(
      cluster.hosts
        .slice(1)
        .map((p) => `${p.overlay.self().mac ?? ''} ${p.underlay}`)
        .sort(),
    );
    const [link] = json<any[]>('ip', '-n', host.ns, '-j', '-d', 'link', 'show', DEV);
    expect(link.mtu).toBe(1430);
    expect(link.linkinfo.info_data.local6 ?? link.linkinfo.info_data.local).toBe(host.underlay);
    await expectReachable(cluster, [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 0],
      [2, 0],
    ]);
    expect(await cluster.hosts[0].overlay.check()).toEqual([]);
  }, 120_000);
  it('a device remade from outside with another local address is drift; reconcile remakes it and writes every peer again', async () => {
    const host = cluster.hosts[3];
    execFileSync('ip', ['-n', host.ns, 'link', 'del', DEV]);
    execFileSync('ip', ['-n', host.ns, 'link', 'add', DEV, 'type', 'vxlan', 'id', '1', 'local', 'fd00:30::99', 'dstport', '8472', 'nolearning']);
    // Marked as the overlay's (as an earlier run with another underlay address left it): only a marked device is remade.
    execFileSync('ip', ['-n', host.ns, 'link', 'set', DEV, 'alias', `nlkit-overlay:${CLUSTER_CIDR}`]);
    expect((await host.overlay.check()).map((d) => d.kind)).toContain('device-wrong');
    await host.overlay.reconcile();
    expect(await host.overlay.check()).toEqual([]);
    const [link] = json<any[]>('ip', '-n', host.ns, '-j', '-d', 'link', 'show', DEV);
    expect(link.linkinfo.info_data.local6 ?? link.linkinfo.info_data.local).toBe(host.underlay);
    expect(entriesOf(host).fdb).toHaveLength(3);
    await expectReachable(cluster, [
      [3, 1],
      [0, 3],
    ]);
  }, 120_000);
  it('a membership list with one bad peer is refused before anything is written', async () => {
    const host = cluster.hosts[0];
    const before = entriesOf(host);
    const bad = { name: 'stray', subnet: '10.245.1.0/24', underlay: 'fd00:30::77', mac: '0a:58:0a:f5:01:00' };
    await expect(host.overlay.apply([...peersOf(cluster).slice(0, 2), bad])).rejects.toMatchObject({ name: 'ValidationError', field: 'peer.subnet' });
    expect(entriesOf(host)).toEqual(before);
  });

  it('a restarted agent (a new overlay on the existing device) keeps traffic flowing and its first apply removes the entries of hosts that left meanwhile', async () => {
    const host = cluster.hosts[0];
    const gone = cluster.hosts[2];
    const restarted = await createOverlay(host.h, { clusterCidr: CLUSTER_CIDR, subnet: host.subnet, underlay: { link: 'ul0', address: host.underlay } });
    expect(entriesOf(host).fdb).toHaveLength(3); // nothing cut by the restart
    const changes = await restarted.apply(peersOf(cluster).filter((p) => p.name !== gone.name));
    expect(changes).toEqual({ joined: ['host-1', 'host-3'], updated: [], left: [] });
    const e = entriesOf(host);
    expect(e.fdb.some((f) => f.includes(gone.underlay))).toBe(false);
    expect(e.routes.some((r) => r.startsWith(`${gone.subnet} `))).toBe(false);
    expect(e.neigh).toHaveLength(2);
    expect(await restarted.check()).toEqual([]);
    await host.overlay.join(gone.overlay.self(gone.name)); // the old object still believes host-2 is a peer: put it back for the others
  });
});

describe('host-gw overlay (hosts on one L2 underlay)', () => {
  const served = useServedCluster({ hosts: 4, mode: 'host-gw' }, 4, 300_000);
  let cluster: Cluster;
  beforeAll(() => {
    cluster = served.cluster();
  });

  it("routes each peer subnet via the peer's underlay address, with no VXLAN device, and carries container traffic unmasqueraded", async () => {
    const host = cluster.hosts[0];
    expect(json<any[]>('ip', '-n', host.ns, '-j', 'link', 'show', 'type', 'vxlan')).toEqual([]);
    const routes = json<any[]>('ip', '-n', host.ns, '-j', 'route', 'show', 'proto', '78').map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`);
    expect(routes.sort()).toEqual(
      cluster.hosts
        .slice(1)
        .map((p) => `${p.subnet} via ${p.underlay} dev ul0`)
        .sort(),
    );
    await expectReachable(cluster, [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 0],
      [2, 0],
    ]);
  }, 120_000);

  it('a leaving host takes its route only; a foreign route with the overlay protocol is drift', async () => {
    const host = cluster.hosts[0];
    expect(await host.overlay.leave('host-3')).toBe(true);
    const routes = json<any[]>('ip', '-n', host.ns, '-j', 'route', 'show', 'proto', '78').map((r) => r.dst as string);
    expect(routes.sort()).toEqual([cluster.hosts[1].subnet, cluster.hosts[2].subnet].sort());
    execFileSync('ip', ['-n', host.ns, 'route', 'add', '10.244.99.0/24', 'via', '172.30.0.99', 'dev', 'ul0', 'proto', '78']);
    expect((await host.overlay.check()).map((d) => d.kind)).toEqual(['route-foreign']);
    await host.overlay.reconcile();
    expect(await host.overlay.check()).toEqual([]);
  });
  it('two peers swapping subnets in one apply end up with one route each, neither deleting the other one', async () => {
    const host = cluster.hosts[0];
    const [, a, b] = cluster.hosts;
    const swapped = [
      { ...a.overlay.self(a.name), subnet: b.subnet },
      { ...b.overlay.self(b.name), subnet: a.subnet },
    ];
    expect(await host.overlay.apply(swapped)).toEqual({ joined: [], updated: [a.name, b.name], left: [] });
    const routes = json<any[]>('ip', '-n', host.ns, '-j', 'route', 'show', 'proto', '78').map((r) => `${r.dst} via ${r.gateway}`);
    expect(routes.sort()).toEqual([`${b.subnet} via ${a.underlay}`, `${a.subnet} via ${b.underlay}`].sort());
    expect(await host.overlay.check()).toEqual([]);
  });
});
