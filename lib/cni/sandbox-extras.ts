/**
 * What ADD sets up beyond nlkit's attach: the ipam section's extra routes
 * inside the container, the bridge port's hairpin flag, and the `bandwidth`
 * capability as token bucket filters (TBF), one per direction.
 * @module
 */
import { open } from '../handle';
import type { Attachment } from '../network/manager';
import type { NetworkManager } from '../network/manager';
import type { CniRoute, RuntimeConfig } from './config';

/** A default route: attach installs it already (via the network's gateway). */
export function isDefaultRoute(r: CniRoute): boolean {
  return r.dst === '0.0.0.0/0' || r.dst === '::/0';
}

/** Installs the non-default routes inside the sandbox, via their gateway or the network's. */
export async function addSandboxRoutes(netns: string, att: Attachment, routes: CniRoute[]): Promise<void> {
  const extra = routes.filter((r) => !isDefaultRoute(r));
  if (extra.length === 0) return;
  const h = await open({ netns: { path: netns } });
  try {
    for (const r of extra) {
      const v6 = r.dst.includes(':');
      const gateway = r.gw ?? (v6 ? att.gateway6 : att.gateway);
      await h.routes.replace({ dst: r.dst, gateway, link: att.ifname });
    }
  } finally {
    h.close();
  }
}

/** The reference bridge's hairpinMode: frames may leave the bridge port they came in on. */
export async function setHairpin(nets: NetworkManager, att: Attachment): Promise<void> {
  await nets.hostHandle.links.set(att.hostIfname, { port: { hairpin: true } });
}

/** How long a packet may wait in a TBF, as the reference bandwidth plugin allows. */
const LATENCY = '25ms';
/** A veth hands the qdisc GSO packets of up to 64 KiB: a smaller bucket would drop every one of them. */
const MIN_BURST_BYTES = 65536;

/** The bucket in bytes from the spec's burst in bits (default: a tenth of a second at the rate). */
function burstBytes(rate: number, burstBits: number | undefined): number {
  return Math.max(MIN_BURST_BYTES, Math.ceil((burstBits ?? rate / 10) / 8));
}

/**
 * Ingress (into the container) is shaped on the host end of the veth, egress
 * on the container's end: both are the sending side of their direction, so
 * a TBF there needs no IFB device. Rates are bits/s, bursts bits (the spec's units); a
 * bucket is at least 64 KiB.
 *
 * Caveat: the egress TBF is inside the container's namespace, where a
 * container with CAP_NET_ADMIN can delete it. The reference bandwidth plugin
 * shapes egress on the host (ingress qdisc on the host veth, mirred redirect
 * to an IFB device with the TBF); that needs tc filters and actions, which
 * nlkit does not have yet (docs/guides/kubernetes-and-cni.md says what to
 * use meanwhile).
 */
export async function applyBandwidth(nets: NetworkManager, netns: string, att: Attachment, bw: NonNullable<RuntimeConfig['bandwidth']>): Promise<void> {
  if (bw.ingressRate !== undefined && bw.ingressRate > 0) {
    const options = { rate: bw.ingressRate, burst: burstBytes(bw.ingressRate, bw.ingressBurst), latency: LATENCY };
    await nets.hostHandle.qdiscs.replace({ link: att.hostIfname, kind: 'tbf', options });
  }
  if (bw.egressRate !== undefined && bw.egressRate > 0) {
    const options = { rate: bw.egressRate, burst: burstBytes(bw.egressRate, bw.egressBurst), latency: LATENCY };
    const h = await open({ netns: { path: netns } });
    try {
      await h.qdiscs.replace({ link: att.ifname, kind: 'tbf', options });
    } finally {
      h.close();
    }
  }
}
