// Simulated hosts for overlay tests: each host a namespace on a shared
// underlay bridge (its own namespace), each with a container network made by
// networks() and containers attached to it. Built in parallel with bounded
// concurrency, torn down whatever happened.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createNetns,
  createOverlay,
  deleteNetns,
  networks,
  open,
  overlayMtu,
  type Handle,
  type NetworkManager,
  type Overlay,
  type OverlayMode,
} from '../../lib';
import { uniqueNetnsName } from './netns';

export interface SimHost {
  index: number;
  name: string;
  ns: string;
  h: Handle;
  underlay: string;
  subnet: string;
  nets?: NetworkManager;
  stateDir?: string;
  overlay: Overlay;
  /** The containers' namespaces and IPv4 addresses. */
  containers: Array<{ ns: string; ip: string }>;
}

export interface Cluster {
  underlayNs: string;
  underlayHandle: Handle;
  hosts: SimHost[];
  clusterCidr: string;
  /** Adds one more host (its overlay set up, no peers applied yet). */
  addHost(index: number, opts?: { underlayAddress?: string }): Promise<SimHost>;
  /** Removes a host and everything of it (its overlay entries on the others are the caller's business). */
  removeHost(host: SimHost): Promise<void>;
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  hosts: number;
  containers?: number;
  underlayFamily?: 4 | 6;
  mode?: OverlayMode;
  concurrency?: number;
}

/** Runs fn over items, at most `limit` at a time. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

let vethCounter = 0;

export const CLUSTER_CIDR = '10.244.0.0/16';

export function underlayAddressOf(index: number, family: 4 | 6): string {
  return family === 4 ? `172.30.${index >> 8}.${(index & 255) + 1}` : `fd00:30::${(index + 1).toString(16)}`;
}

export async function buildCluster(opts: ClusterOptions): Promise<Cluster> {
  const family = opts.underlayFamily ?? 4;
  const containers = opts.containers ?? 2;
  const underlayNs = uniqueNetnsName('ul');
  await createNetns(underlayNs);
  const ul = await open({ netns: underlayNs });
  await ul.links.add({ name: 'br0', kind: 'bridge', up: true });
  const hosts: SimHost[] = [];

  const addHost = async (index: number, o: { underlayAddress?: string } = {}): Promise<SimHost> => {
    const ns = uniqueNetnsName(`h${index}`);
    await createNetns(ns);
    const h = await open({ netns: ns });
    const host: Partial<SimHost> & { ns: string; h: Handle } = { index, name: `host-${index}`, ns, h, containers: [] };
    hosts.push(host as SimHost);
    await h.links.set('lo', { up: true });
    await ul.links.add({ name: `p${++vethCounter}`, kind: 'veth', master: 'br0', up: true, peer: { name: 'ul0', netns: ns } });
    await h.links.set('ul0', { up: true });
    const underlay = o.underlayAddress ?? underlayAddressOf(index, family);
    await h.addresses.add('ul0', family === 4 ? `${underlay}/16` : `${underlay}/64`, family === 6 ? { nodad: true } : {});
    host.underlay = underlay;
    host.subnet = `10.244.${index + 1}.0/24`;
    if (containers > 0) {
      host.stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-overlay-test-'));
      host.nets = await networks({ host: ns, stateDir: host.stateDir });
      await host.nets.create({
        name: 'pods',
        subnet: host.subnet,
        routed: true,
        masqueradeExclude: [CLUSTER_CIDR],
        mtu: overlayMtu(1500, family, opts.mode),
      });
      for (let c = 0; c < containers; c++) {
        const a = await host.nets.attach('pods', { sandbox: `${ns}-c${c}`, create: true });
        host.containers?.push({ ns: `${ns}-c${c}`, ip: (a.ipv4 ?? '').split('/')[0] });
      }
    }
    host.overlay = await createOverlay(h, { clusterCidr: CLUSTER_CIDR, subnet: host.subnet, underlay: { link: 'ul0', address: underlay }, mode: opts.mode });
    return host as SimHost;
  };

  const removeHost = async (host: SimHost): Promise<void> => {
    hosts.splice(hosts.indexOf(host), 1);
    try {
      if (host.nets) {
        await host.nets.delete('pods').catch(() => undefined);
        host.nets.close();
      }
    } finally {
      host.h.close();
      await deleteNetns(host.ns, { missingOk: true });
      for (const c of host.containers) await deleteNetns(c.ns, { missingOk: true });
      if (host.stateDir) fs.rmSync(host.stateDir, { recursive: true, force: true });
    }
  };

  const cluster: Cluster = {
    underlayNs,
    underlayHandle: ul,
    hosts,
    clusterCidr: CLUSTER_CIDR,
    addHost,
    removeHost,
    async destroy() {
      await inParallel([...hosts], opts.concurrency ?? 8, removeHost);
      ul.close();
      await deleteNetns(underlayNs, { missingOk: true });
    },
  };
  try {
    await inParallel(
      Array.from({ length: opts.hosts }, (_, i) => i),
      opts.concurrency ?? 8,
      (i) => addHost(i),
    );
    hosts.sort((a, b) => a.index - b.index);
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
  return cluster;
}
