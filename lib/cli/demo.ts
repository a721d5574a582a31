/**
 * `nlkit demo`: builds a small container network inside namespaces it
 * creates — a "host" namespace with a bridge, two "containers" attached by
 * veth pairs created directly inside them, addresses and default routes —
 * serves HTTP from one container to the other, prints what it built with
 * timings, and removes everything.
 * @module
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { open, type Handle } from '../handle';
import { createNetns, deleteNetns } from '../netns/namespace';
import { setSysctl } from '../netns/sysctl';
import { httpGet } from '../sockets/http';
import { listenTcp } from '../sockets/inet';
import { ms, table, timed } from './format';
import { formatFromPath, gatherTopology, renderTopology } from './topology';

interface Container {
  name: string;
  netns: string;
  ip: string;
  hostVeth: string;
  handle?: Handle;
}

export interface DemoOptions {
  /** Write a picture of the network (format from the extension) before cleaning up. */
  topologyFile?: string;
}

export async function runDemo(out: (s: string) => void = (s) => process.stdout.write(s + '\n'), opts: DemoOptions = {}): Promise<void> {
  const tag = `nlkd${process.pid}`;
  const hostNs = `${tag}-host`;
  const subnet = { gateway: '10.200.0.1', prefix: 24 };
  const containers: Container[] = [
    { name: 'c1', netns: `${tag}-c1`, ip: '10.200.0.2', hostVeth: 'veth-c1' },
    { name: 'c2', netns: `${tag}-c2`, ip: '10.200.0.3', hostVeth: 'veth-c2' },
  ];
  const steps: Array<[string, number]> = [];
  const created: string[] = [];
  let host: Handle | undefined;
  let server: http.Server | undefined;
  out('nlkit demo: a bridge network with two containers, built over netlink (no ip, no nft, no fork)\n');
  try {
    await timed(steps, 'create 3 namespaces', async () => {
      for (const ns of [hostNs, ...containers.map((c) => c.netns)]) {
        await createNetns(ns);
        created.push(ns);
      }
    });
    host = await open({ netns: hostNs });
    const h = host;
    await timed(steps, 'host: bridge br0 + gateway address', async () => {
      await h.links.set('lo', { up: true });
      await h.links.add({ name: 'br0', kind: 'bridge', up: true });
      await h.addresses.add('br0', `${subnet.gateway}/${subnet.prefix}`);
      await setSysctl(hostNs, 'net.ipv4.ip_forward', 1);
    });
    for (const c of containers) {
      await timed(steps, `attach ${c.name} (veth + address + route)`, async () => {
        await h.links.add({ name: c.hostVeth, kind: 'veth', peer: { name: 'eth0', netns: c.netns }, master: 'br0', up: true });
        const ch = (c.handle = await open({ netns: c.netns }));
        await Promise.all([ch.links.set('lo', { up: true }), ch.links.set('eth0', { up: true })]);
        await ch.addresses.add('eth0', `${c.ip}/${subnet.prefix}`);
        await ch.routes.add({ dst: 'default', gateway: subnet.gateway });
      });
    }
    const [c1, c2] = containers;
    server = await timed(steps, `c1: HTTP server on ${c1.ip}:8080`, () =>
      listenTcp({
        netns: c1.netns,
        host: c1.ip,
        port: 8080,
        server: http.createServer((req, res) => res.end(`hello from ${c1.name}, you are ${req.socket.remoteAddress}\n`)),
      }),
    );
    const res = await timed(steps, `c2: GET http://${c1.ip}:8080/`, () => httpGet({ netns: c2.netns, host: c1.ip, port: 8080 }));
    out(`c2 -> c1: HTTP ${res.status}: ${res.body.trim()}\n`);

    const rows = [['namespace', 'link', 'kind', 'state', 'addresses']];
    for (const [label, hd] of [['host', h], ...containers.map((c) => [c.name, c.handle!] as const)] as Array<[string, Handle]>) {
      const addrs = await hd.addresses.list({ family: 4 });
      for (const l of await hd.links.list()) {
        const a = addrs.filter((x) => x.index === l.index).map((x) => x.cidr);
        rows.push([label, l.name, l.kind ?? '-', l.operState, a.join(', ') || '-']);
      }
    }
    out(table(rows) + '\n');
    const routes = await containers[1].handle!.routes.list({ family: 4 });
    out(`c2 routes: ${routes.map((r) => (r.gateway ? `${r.dst} via ${r.gateway}` : r.dst)).join('; ')}\n`);
    if (opts.topologyFile) {
      const labels = Object.fromEntries([[hostNs, 'host'], ...containers.map((c) => [c.netns, c.name])]);
      const topo = await gatherTopology({ netns: [hostNs, ...containers.map((c) => c.netns)], labels });
      fs.writeFileSync(opts.topologyFile, renderTopology(topo, formatFromPath(opts.topologyFile)));
      out(`wrote ${opts.topologyFile}\n`);
    }
  } finally {
    server?.close();
    await timed(steps, 'clean up', async () => {
      for (const c of containers) c.handle?.close();
      host?.close();
      for (const ns of created.reverse()) await deleteNetns(ns, { missingOk: true });
    });
    out(table([['step', 'time'], ...steps.map(([s, t]) => [s, ms(t)])]));
    out(`\nremoved namespaces ${created.join(', ')}`);
  }
}
