/**
 * Cutting a service's connections to endpoints that left it: the conntrack
 * entries whose original destination is one of the service's ports (on a
 * virtual IP, an external IP or its NodePort) and whose reply comes from the
 * endpoint. Other services' flows to the same endpoint are kept.
 * @module
 */
import type { Handle } from '../handle';
import type { EndpointRecord, ServiceRecord } from './spec';

/** Deletes the conntrack entries of `rec`'s flows to `gone`; resolves to how many went. */
export async function cutServiceFlows(host: Handle, rec: ServiceRecord, gone: EndpointRecord[]): Promise<number> {
  if (gone.length === 0) return 0;
  const addrs = new Set([...rec.vips, ...rec.externalIps]);
  let cut = 0;
  for (const p of rec.ports) {
    // endpoint address → the port its flows of this service port reply from
    const targets = new Map(gone.map((e) => [e.ip, e.port ?? p.targetPort]));
    for (const e of await host.conntrack.list({ protocol: p.protocol })) {
      const dport = e.original.dport;
      const toService = (dport === p.port && addrs.has(e.original.dst)) || (p.nodePort !== undefined && dport === p.nodePort);
      if (!toService || targets.get(e.reply.src) !== e.reply.sport) continue;
      if (await host.conntrack.delete(e, { missingOk: true })) cut++;
    }
  }
  return cut;
}
