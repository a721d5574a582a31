/**
 * Cutting connections: a publication's, the conntrack entries of its flows
 * to some backends, and only its own — another publication to the same
 * backend (another port, another host address) keeps its connections; and a
 * detached sandbox's, every flow from or to its addresses.
 * @module
 */
import type { Handle } from '../handle';
import type { AttachmentRecord, BackendRecord, PublicationRecord } from './state';

/**
 * Deletes the conntrack entries of `pub`'s flows to `backends`: protocol,
 * host address (if the publication has one), original destination port
 * within the published port (range), and the reply from the backend's
 * address and port. One listing of the host's entries for all backends,
 * filtered here (the kernel's filter has no port ranges). Resolves to how
 * many were deleted.
 */
export async function cutPublicationFlows(host: Handle, pub: PublicationRecord, backends: BackendRecord[]): Promise<number> {
  if (backends.length === 0) return 0;
  const lo = pub.hostPort;
  const hi = pub.hostPortEnd ?? pub.hostPort;
  // backend address → the container port its flows reply from (a range maps each port to itself: undefined)
  const ports = new Map<string, number | undefined>();
  for (const b of backends) for (const addr of [b.ipv4, b.ipv6]) if (addr) ports.set(addr, pub.hostPortEnd === undefined ? b.port : undefined);
  const entries = await host.conntrack.list({ protocol: pub.protocol, original: pub.hostIp ? { dst: pub.hostIp } : undefined });
  let cut = 0;
  for (const e of entries) {
    const dport = e.original.dport ?? -1;
    if (dport < lo || dport > hi || !ports.has(e.reply.src)) continue;
    if (e.reply.sport !== (ports.get(e.reply.src) ?? dport)) continue;
    if (await host.conntrack.delete(e, { missingOk: true })) cut++;
  }
  return cut;
}

/**
 * Deletes the conntrack entries of every flow from or to the addresses of
 * detached sandboxes (original source, or reply source: what was sent to it,
 * DNATed or not). Their addresses go back to the pool: an entry left behind
 * would hand the next sandbox given the address the old one's flows — a
 * remote peer's UDP "replies" to its masqueraded port, accepted as
 * established, through the inbound protection. One listing of the host's
 * entries (none when it tracks nothing); resolves to how many were deleted.
 */
export async function cutSandboxFlows(host: Handle, atts: AttachmentRecord[]): Promise<number> {
  const addrs = new Set(atts.flatMap((a) => [a.ipv4, a.ipv6]).filter((a): a is string => !!a));
  if (addrs.size === 0) return 0;
  let cut = 0;
  for (const e of await host.conntrack.list()) {
    if (!addrs.has(e.original.src) && !addrs.has(e.reply.src)) continue;
    if (await host.conntrack.delete(e, { missingOk: true })) cut++;
  }
  return cut;
}
