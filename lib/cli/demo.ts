/**
 * `nlkit demo`: the "container networking from scratch" walkthrough, done
 * with nlkit in throw-away namespaces: a host namespace with an uplink to an
 * "internet" namespace, a bridge network with three containers, outbound NAT,
 * container-to-container HTTP, and one published port split 45/45/10 across
 * the containers (a canary), with the traffic counted per backend. Prints what
 * it built with timings, then removes everything.
 * @module
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { open, type Handle } from '../handle';
import { networks, type Attachment, type NetworkManager } from '../network/manager';
import { createNetns, deleteNetns } from '../netns/namespace';
import { httpGet } from '../sockets/http';
import { listenTcp } from '../sockets/inet';
import { ms, table, timed } from './format';
import { formatFromPath, gatherTopology, renderTopology } from './topology';

export interface DemoOptions {
  /** Write a picture of the network (format from the extension) before cleaning up. */
  topologyFile?: string;
  /** Requests sent to the published port (default 200). */
  requests?: number;
}

const UPLINK = '192.0.2.1';
const INTERNET = '192.0.2.2';

export async function runDemo(out: (s: string) => void = (s) => process.stdout.write(s + '\n'), opts: DemoOptions = {}): Promise<void> {
  const tag = `nlkd${process.pid}`;
  const hostNs = `${tag}-host`;
  const internetNs = `${tag}-internet`;
  const containers = ['c1', 'c2', 'c3'].map((name) => ({ name, netns: `${tag}-${name}`, version: name === 'c3' ? 'v2' : 'v1' }));
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-demo-'));
  const steps: Array<[string, number]> = [];
  const created: string[] = [];
  const servers: http.Server[] = [];
  let host: Handle | undefined;
  let nets: NetworkManager | undefined;
  out('nlkit demo: container networking from scratch, over netlink (no ip, no nft, no fork)\n');
  try {
    await timed(steps, 'host + internet namespaces, uplink', async () => {
      for (const ns of [hostNs, internetNs]) {
        await createNetns(ns);
        created.push(ns);
      }
      host = await open({ netns: hostNs });
      const inet = await open({ netns: internetNs });
      try {
        await host.links.add({ name: 'uplink', kind: 'veth', up: true, peer: { name: 'eth0', netns: internetNs } });
        await host.addresses.add('uplink', `${UPLINK}/24`);
        await Promise.all([inet.links.set('lo', { up: true }), inet.links.set('eth0', { up: true })]);
        await inet.addresses.add('eth0', `${INTERNET}/24`);
      } finally {
        inet.close();
      }
    });
    nets = await networks({ host: hostNs, stateDir });
    const n = nets;
    await timed(steps, 'network "demo": bridge, gateway, NAT rules', () => n.create({ name: 'demo', subnet: '10.200.0.0/24' }));
    const atts: Attachment[] = [];
    for (const c of containers) {
      atts.push(await timed(steps, `attach ${c.name} (netns + veth + IP + route)`, () => n.attach('demo', { sandbox: c.netns, create: true })));
      created.push(c.netns);
    }
    for (const c of containers) {
      servers.push(
        await listenTcp({
          netns: c.netns,
          port: 80,
          server: http.createServer((req, res) => res.end(`hello from ${c.name} (${c.version}), you are ${req.socket.remoteAddress}\n`)),
        }),
      );
    }
    const ip = (a: Attachment) => {
      if (a.ipv4 === undefined) throw new Error(`attachment ${a.id} has no IPv4 address`);
      return a.ipv4.split('/')[0];
    };
    const direct = await timed(steps, 'c2 -> c1: HTTP GET', () => httpGet({ netns: containers[1].netns, host: ip(atts[0]), port: 80 }));
    out(`c2 -> c1: HTTP ${direct.status}: ${direct.body.trim()}`);
    const internetSrv = await listenTcp({
      netns: internetNs,
      port: 80,
      server: http.createServer((req, res) => res.end(`internet sees ${req.socket.remoteAddress}\n`)),
    });
    servers.push(internetSrv);
    const outbound = await timed(steps, 'c1 -> internet: HTTP GET (masquerade)', () => httpGet({ netns: containers[0].netns, host: INTERNET, port: 80 }));
    out(`c1 -> internet: ${outbound.body.trim()}`);

    await timed(steps, 'publish :80 -> c1 45%, c2 45%, c3 10%', () =>
      n.publish({
        network: 'demo',
        hostPort: 80,
        backends: [
          { id: containers[0].netns, weight: 45 },
          { id: containers[1].netns, weight: 45 },
          { id: containers[2].netns, weight: 10 },
        ],
      }),
    );
    const total = opts.requests ?? 200;
    const hits: Record<string, number> = {};
    await timed(steps, `${total} requests internet -> host:80`, async () => {
      for (let i = 0; i < total; i++) {
        const r = await httpGet({ netns: internetNs, host: UPLINK, port: 80 });
        const who = r.body.split(' ')[2];
        hits[who] = (hits[who] ?? 0) + 1;
      }
    });
    out(`\npublished ${UPLINK}:80 (weights 45/45/10), ${total} requests from the internet namespace:`);
    out(
      table([
        ['backend', 'version', 'requests', 'share'],
        ...containers.map((c) => [c.name, c.version, String(hits[c.name] ?? 0), `${Math.round(((hits[c.name] ?? 0) / total) * 100)}%`]),
      ]) + '\n',
    );

    const rows = [['container', 'interface', 'address', 'host side', 'mac']];
    containers.forEach((c, i) => rows.push([c.name, atts[i].ifname, atts[i].ipv4 ?? '', atts[i].hostIfname, atts[i].mac]));
    out(table(rows) + '\n');

    if (opts.topologyFile) {
      const labels: Record<string, string> = { [hostNs]: 'host', [internetNs]: 'internet' };
      for (const c of containers) labels[c.netns] = c.name;
      const notes = { [hostNs]: [`:80 -> c1 45%, c2 45%, c3 10%`] };
      const topo = await gatherTopology({ netns: [hostNs, internetNs, ...containers.map((c) => c.netns)], labels, notes });
      fs.writeFileSync(opts.topologyFile, renderTopology(topo, formatFromPath(opts.topologyFile)));
      out(`wrote ${opts.topologyFile}\n`);
    }
  } finally {
    servers.forEach((s) => s.close());
    await timed(steps, 'clean up (network, containers, namespaces)', async () => {
      if (nets) {
        await nets.delete('demo', { missingOk: true }).catch(() => undefined);
        nets.close();
      }
      host?.close();
      for (const ns of created.reverse()) await deleteNetns(ns, { missingOk: true });
      fs.rmSync(stateDir, { recursive: true, force: true });
    });
    out(table([['step', 'time'], ...steps.map(([s, t]) => [s, ms(t)])]));
    out(`\nremoved namespaces ${created.join(', ')}`);
  }
}
