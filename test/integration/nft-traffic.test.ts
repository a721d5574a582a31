// Rules written with nlkit change what real packets do between namespaces:
// masquerade, DNAT of a published port, weighted load balancing through a
// numgen map, a drop rule, and hairpin NAT.
//
//   ext (192.168.50.2) ──vext── router ──vc1── c1 (10.0.1.2)
//                                       └─vc2── c2 (10.0.2.2)
import type * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connectTcp, listenTcp, not, rule, setSysctl, type Handle } from '../../lib';
import { nftRuleLines } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

/** Connects, reads everything the server sends, returns it. */
async function fetch(netns: string, host: string, port: number, timeoutMs = 3000): Promise<string> {
  const s = await connectTcp({ netns, host, port, timeoutMs });
  let out = '';
  s.on('data', (d) => (out += d));
  await new Promise((r) => s.on('close', r));
  return out;
}

/** A server that answers every connection with "<id> <peer address>". */
async function serve(netns: string, port: number, id: string): Promise<net.Server> {
  return listenTcp({ netns, port }, (s) => s.end(`${id} ${s.remoteAddress}`));
}

async function wire(router: Handle, peerNs: string, peer: Handle, ifname: string, routerCidr: string, peerCidr: string, gateway?: string): Promise<void> {
  await router.links.add({ name: ifname, kind: 'veth', peer: { name: 'eth0', netns: peerNs }, up: true });
  await router.addresses.add(ifname, routerCidr);
  await peer.links.set('eth0', { up: true });
  await peer.addresses.add('eth0', peerCidr);
  if (gateway) await peer.routes.add({ dst: 'default', gateway });
}

describe('nftables rules on real traffic', () => {
  const box = useNetns('router', 'c1', 'c2', 'ext');
  const servers: net.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const ns = (l: string) => box.ns(l);
  const router = () => box.h('router');
  const nat = { family: 'inet' as const, table: 'nat' };

  it('builds the topology and the NAT table', async () => {
    await wire(router(), ns('c1'), box.h('c1'), 'vc1', '10.0.1.1/24', '10.0.1.2/24', '10.0.1.1');
    await wire(router(), ns('c2'), box.h('c2'), 'vc2', '10.0.2.1/24', '10.0.2.2/24', '10.0.2.1');
    await wire(router(), ns('ext'), box.h('ext'), 'vext', '192.168.50.1/24', '192.168.50.2/24'); // ext has no route to the containers
    await setSysctl(ns('router'), 'net.ipv4.ip_forward', 1);
    servers.push(await serve(ns('ext'), 7000, 'ext'));
    servers.push(await serve(ns('c1'), 80, 'c1'), await serve(ns('c2'), 80, 'c2'));
    servers.push(await serve(ns('c1'), 81, 'c1'), await serve(ns('c1'), 82, 'c1'));

    const tx = router().nft.transaction();
    tx.addTable({ family: 'inet', name: 'nat' });
    tx.addChain({ ...nat, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' });
    tx.addChain({ ...nat, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' });
    tx.addTable({ family: 'inet', name: 'filter' });
    tx.addChain({ family: 'inet', table: 'filter', name: 'forward', type: 'filter', hook: 'forward', priority: 'filter', policy: 'accept' });
    await tx.commit();
  });

  it('masquerades a container subnet leaving through another interface: the server sees the router address', async () => {
    // Without NAT, ext cannot answer 10.0.1.2.
    await expect(fetch(ns('c1'), '192.168.50.2', 7000, 500)).rejects.toThrow();
    const tx = router().nft.transaction();
    tx.addRule({ ...nat, chain: 'postrouting', rule: rule().ip({ saddr: '10.0.1.0/24' }).oifname(not('vc1')).masquerade().comment('c1 masquerade') });
    await tx.commit();
    expect(await fetch(ns('c1'), '192.168.50.2', 7000)).toBe('ext 192.168.50.1');
    expect(nftRuleLines(ns('router'), 'inet', 'nat')).toContain('ip saddr 10.0.1.0/24 oifname != "vc1" masquerade comment "c1 masquerade"');
  });

  it('publishes a host port to a container with DNAT: the container sees the real client', async () => {
    await expect(fetch(ns('ext'), '192.168.50.1', 8080, 500)).rejects.toThrow();
    const tx = router().nft.transaction();
    tx.addRule({ ...nat, chain: 'prerouting', rule: rule().iifname('vext').tcp({ dport: 8080 }).dnat({ to: '10.0.1.2', port: 80 }) });
    await tx.commit();
    expect(await fetch(ns('ext'), '192.168.50.1', 8080)).toBe('c1 192.168.50.2');
  });

  it('load-balances one port to two backends 90/10 through a numgen map', async () => {
    const tx = router().nft.transaction();
    tx.addRule({
      ...nat,
      chain: 'prerouting',
      rule: rule()
        .iifname('vext')
        .tcp({ dport: 9090 })
        .dnatWeighted([
          { to: '10.0.1.2', port: 80, weight: 90 },
          { to: '10.0.2.2', port: 80, weight: 10 },
        ]),
    });
    await tx.commit();
    const counts: Record<string, number> = { c1: 0, c2: 0 };
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 25 }, () => fetch(ns('ext'), '192.168.50.1', 9090)));
      for (const a of answers) counts[a.split(' ')[0]]++;
    }
    console.log(`weighted 90/10 over 1000 connections: c1 ${counts.c1}, c2 ${counts.c2}`);
    expect(counts.c1 + counts.c2).toBe(1000);
    // 90% expected; the binomial spread is ~9.5 connections, allow ±7 of it.
    expect(counts.c1).toBeGreaterThan(830);
    expect(counts.c1).toBeLessThan(970);
    expect(counts.c2).toBeGreaterThan(30);
  });

  it('drops forwarded traffic with a drop rule, and lets it through again once the rule is deleted', async () => {
    const tx = router().nft.transaction();
    tx.addRule({ ...nat, chain: 'prerouting', rule: rule().iifname('vext').tcp({ dport: 8081 }).dnat({ to: '10.0.1.2', port: 81 }) });
    await tx.commit();
    expect(await fetch(ns('ext'), '192.168.50.1', 8081)).toBe('c1 192.168.50.2');

    const block = router().nft.transaction();
    const i = block.addRule({ family: 'inet', table: 'filter', chain: 'forward', rule: rule().ip({ daddr: '10.0.1.2' }).tcp({ dport: 81 }).counter().drop() });
    const { results } = await block.commit();
    await expect(fetch(ns('ext'), '192.168.50.1', 8081, 500)).rejects.toThrow();
    const [dropped] = await router().nft.rules.list({ family: 'inet', table: 'filter', chain: 'forward' });
    const counter = dropped.expressions.find((e) => e.type === 'counter') as { packets: bigint };
    expect(counter.packets).toBeGreaterThan(0n);

    const unblock = router().nft.transaction();
    unblock.deleteRule({ family: 'inet', table: 'filter', chain: 'forward', handle: results[i].handle! });
    await unblock.commit();
    expect(await fetch(ns('ext'), '192.168.50.1', 8081)).toBe('c1 192.168.50.2');
  });

  it('hairpins: a container reaches itself through the published address', async () => {
    const tx = router().nft.transaction();
    tx.addRule({
      ...nat,
      chain: 'prerouting',
      rule: rule()
        .fib({ lookup: ['daddr'], type: 'local' })
        .tcp({ dport: 8082 })
        .dnat({ to: '10.0.1.2', port: 82 }),
    });
    tx.addRule({ ...nat, chain: 'postrouting', rule: rule().ct({ status: 'dnat' }).ip({ saddr: '10.0.1.0/24' }).oifname('vc1').masquerade() });
    await tx.commit();
    // c1 → 192.168.50.1:8082 → back to c1, source rewritten to the router so the reply returns through it.
    expect(await fetch(ns('c1'), '192.168.50.1', 8082)).toBe('c1 10.0.1.1');
    // ext still gets there too, unmasqueraded.
    expect(await fetch(ns('ext'), '192.168.50.1', 8082)).toBe('c1 192.168.50.2');
  });
});
