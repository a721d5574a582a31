/**
 * Host processes on a port about to be published: the publication's DNAT
 * would take that port's traffic from other machines, while the host itself
 * still reached the process (on some addresses) — confusing either way. So
 * publish looks first (socket diagnostics of the host namespace) and,
 * as `onListenerConflict` says, refuses, warns or lets it be.
 * @module
 */
import type { Handle } from '../handle';
import { NetlinkError, ValidationError } from '../netlink/errors';
import type { InetSocket } from '../sockdiag/sockets';
import { PortInUseError } from './errors';

/** What publish does about a host process on the port: refuse (PortInUseError, the default), warn (a process warning), ignore. */
export type ListenerConflictChoice = 'refuse' | 'warn' | 'ignore';

/** The code of the process warning of `onListenerConflict: 'warn'`. */
export const PORT_IN_USE_WARNING = 'NLKIT_PUBLISH_PORT_IN_USE';

export function checkListenerConflictChoice(v: unknown): ListenerConflictChoice {
  if (v === undefined) return 'refuse';
  if (v !== 'refuse' && v !== 'warn' && v !== 'ignore') throw new ValidationError('onListenerConflict', v, 'must be "refuse", "warn" or "ignore"');
  return v;
}

/** Errors of a kernel without socket diagnostics for a family or protocol (no inet_diag / udp_diag). */
const NO_DIAG = new Set(['ENOENT', 'EOPNOTSUPP', 'EAFNOSUPPORT', 'EINVAL']);

/**
 * The host's sockets that hold ports of a protocol: TCP listeners, and
 * unconnected UDP sockets (UDP has no listening state; a connected one is a
 * client, whose replies conntrack keeps apart from published traffic).
 * Other namespaces' sockets are not seen, and do not matter. A kernel
 * without socket diagnostics yields none: publishing must not depend on it.
 */
export async function hostSockets(host: Handle, protocol: 'tcp' | 'udp'): Promise<InetSocket[]> {
  try {
    return await host.sockets.list({ protocol, state: protocol === 'tcp' ? 'listen' : 'close' });
  } catch (e) {
    if (e instanceof NetlinkError && NO_DIAG.has(e.code)) return [];
    throw e;
  }
}

/** "127.0.0.1" for "::ffff:127.0.0.1"; "*" for a wildcard, as `ss` prints it. */
function plainAddress(a: string): string {
  if (a === '0.0.0.0' || a === '::') return '*';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The sockets on lo..hi that share an address with `hostIp` (undefined: every address): on it, or on every address. */
export function socketsOnPorts(sockets: InetSocket[], lo: number, hi: number, hostIp: string | undefined): InetSocket[] {
  return sockets.filter((s) => {
    if (s.local.port < lo || s.local.port > hi) return false;
    const a = plainAddress(s.local.address);
    return hostIp === undefined || a === '*' || a === hostIp;
  });
}

/**
 * The sockets on lo..hi that a publication on `hostIp` (undefined: every
 * address) would shadow: those of socketsOnPorts() but one on ::1, whose
 * traffic no publication takes (IPv6 has no route_localnet, so nlkit's
 * output chain leaves ::1 on the host).
 */
export function socketsInTheWay(sockets: InetSocket[], lo: number, hi: number, hostIp: string | undefined): InetSocket[] {
  return socketsOnPorts(sockets, lo, hi, hostIp).filter((s) => plainAddress(s.local.address) !== '::1');
}

/** "127.0.0.1:8080", "*:8080", "[fd00::1]:8080": a socket's local end as `ss` prints it. */
function describe(s: InetSocket): string {
  const a = plainAddress(s.local.address);
  return `${a.includes(':') ? `[${a}]` : a}:${s.local.port}`;
}

/** Refuses, warns or lets it be, as chosen; a no-op without sockets in the way. */
export function onListenerConflict(choice: ListenerConflictChoice, protocol: 'tcp' | 'udp', hostPort: number, inTheWay: InetSocket[]): void {
  if (inTheWay.length === 0 || choice === 'ignore') return;
  const sockets = inTheWay.map(describe);
  if (choice === 'refuse') throw new PortInUseError(protocol, hostPort, sockets);
  process.emitWarning(`${protocol} port ${hostPort} is in use on the host (${sockets.join(', ')}); published anyway (onListenerConflict: 'warn')`, {
    type: 'NlkitWarning',
    code: PORT_IN_USE_WARNING,
  });
}
