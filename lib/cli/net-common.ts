/**
 * What the network commands share: presentation of networks, attachments
 * and published ports, and the not-found error with the lookup that throws it.
 * @module
 */
import { NotFoundError } from '../netlink/errors';
import type { Attachment, NetworkDetails, NetworkInfo } from '../network/manager';
import type { Publication } from '../network/publication';
import type { NetworkReader } from '../network/records';

// --- presentation ----------------------------------------------------------

export function flagsOf(n: NetworkInfo): string {
  const f: string[] = [];
  if (n.internal) f.push('internal');
  if (!n.isolate) f.push('not isolated');
  if (!n.masquerade && !n.internal) f.push('no masquerade');
  if (n.mtu) f.push(`mtu ${n.mtu}`);
  return f.join(', ');
}

export function subnets(n: NetworkInfo): string {
  let s = `subnet ${n.subnet} (gateway ${n.gateway})`;
  if (n.subnet6) s += `, subnet6 ${n.subnet6} (gateway ${n.gateway6})`;
  return s;
}

/** "*:8080/tcp", "127.0.0.1:53/udp", "[::1]:8000-8010/tcp" */
export function publishedAt(p: Publication): string {
  const ip = p.hostIp === undefined ? '*' : p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `${ip}:${p.hostPort}${p.hostPortEnd ? `-${p.hostPortEnd}` : ''}/${p.protocol}`;
}

/** "c1 10.88.0.2:80 90%, c2 10.88.0.3:80 10%" */
export function backendsOf(p: Publication): string {
  const total = p.backends.reduce((s, b) => s + b.weight, 0);
  return p.backends
    .map((b) => {
      const addr = b.ipv4 ?? (b.ipv6 ? `[${b.ipv6}]` : '?');
      const share = p.backends.length > 1 ? ` ${Math.round((b.weight / total) * 100)}%` : '';
      return `${b.id ?? addr} ${addr}:${b.port}${share}`;
    })
    .join(', ');
}

export function attachmentRows(atts: Attachment[], withNetwork: boolean): string[][] {
  const head = [...(withNetwork ? ['NETWORK'] : []), 'SANDBOX', 'INTERFACE', 'IPV4', 'IPV6', 'HOST SIDE', 'MAC'];
  return [head, ...atts.map((a) => [...(withNetwork ? [a.network] : []), a.id, a.ifname, a.ipv4 ?? '-', a.ipv6 ?? '-', a.hostIfname, a.mac])];
}

export function publicationRows(pubs: Publication[], withNetwork: boolean): string[][] {
  const head = ['PUBLISHED', ...(withNetwork ? ['NETWORK'] : []), 'BACKENDS'];
  return [head, ...pubs.map((p) => [publishedAt(p), ...(withNetwork ? [p.network] : []), backendsOf(p)])];
}

export function sandboxes(n: number): string {
  return `${n} sandbox${n === 1 ? '' : 'es'}`;
}

/** "c1, c2, c3" or "c1, c2, ... (500)" */
export function names(ids: string[]): string {
  return ids.length <= 8 ? ids.join(', ') : `${ids.slice(0, 6).join(', ')}, ... (${ids.length})`;
}

// --- shared steps -----------------------------------------------------------

/**
 * What the command names is not there (a network, an attachment, a published
 * port): the library's NotFoundError, worded for the command line.
 */
export function notFound(what: string, message: string): NotFoundError {
  const e = new NotFoundError(what, { operation: message });
  e.message = message;
  return e;
}

/** The network with its attachments; NotFoundError if it does not exist. */
export async function mustFind(nets: NetworkReader, name: string): Promise<NetworkDetails> {
  const info = await nets.find(name);
  if (!info) throw notFound('network', `network ${JSON.stringify(name)} does not exist`);
  return info;
}
