/**
 * `hostPort: 0`: nlkit picks a free host port, as Docker does — from the
 * host namespace's ephemeral range (net.ipv4.ip_local_port_range), minus its
 * reserved ports, ports nlkit publishes already (for that protocol and
 * host address) and ports a host process holds.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { NetworkNamespace } from '../netns/namespace';
import { getSysctl } from '../netns/sysctl';
import type { InetSocket } from '../sockdiag/sockets';
import { socketsOnPorts } from './host-listeners';
import { conflicts } from './publication';
import type { PublicationRecord, StateEdits } from './state';

/** Whether a spec asks nlkit to choose the host port. */
export function wantsAnyPort(hostPort: unknown): boolean {
  return hostPort === 0 || hostPort === '0';
}

/** "8080,9000-9010" (ip_local_reserved_ports) → a membership test. */
function reservedPorts(text: string): (port: number) => boolean {
  const ranges = text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => r.split('-').map(Number) as [number, number?]);
  return (port) => ranges.some(([a, b]) => port >= a && port <= (b ?? a));
}

/**
 * A free host port for `protocol` on `hostIp`, starting at a random place in
 * the range (two managers asking at once rarely try the same first).
 * Runs under the state lock, so nlkit never hands out one port twice.
 */
export async function allocateHostPort(
  hostRef: NetworkNamespace | undefined,
  edits: StateEdits,
  probe: Pick<PublicationRecord, 'protocol' | 'hostIp'>,
  sockets: InetSocket[],
): Promise<number> {
  const [lo, hi] = (await getSysctl(hostRef, 'net.ipv4.ip_local_port_range')).trim().split(/\s+/).map(Number);
  const reserved = reservedPorts(await getSysctl(hostRef, 'net.ipv4.ip_local_reserved_ports').catch(() => ''));
  // A port a host process holds on ::1 too: not in the way of a publication, but "localhost" often resolves to ::1 first.
  const held = new Set(socketsOnPorts(sockets, lo, hi, probe.hostIp).map((s) => s.local.port));
  const size = hi - lo + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = lo + ((start + i) % size);
    if (held.has(port) || reserved(port)) continue;
    const candidate = { ...probe, hostPort: port, key: '', network: '', backends: [] };
    if (edits.overlapping(probe.protocol, port).some((p) => conflicts(p, candidate))) continue;
    return port;
  }
  throw new ValidationError('hostPort', 0, `no free ${probe.protocol} port left in the host's ephemeral range ${lo}-${hi}`);
}
