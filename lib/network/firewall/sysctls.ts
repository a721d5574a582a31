/**
 * The sysctls of the host namespace the networks need: forwarding (IPv4,
 * and IPv6 when a network has an IPv6 subnet) and `route_localnet` on each
 * bridge (ports published on 127.0.0.1 are routed to the bridge with a
 * loopback source). Per namespace only; nothing global is touched.
 * @module
 */
import { NlkitError } from '../../netlink/errors';
import type { NetworkNamespace } from '../../netns/namespace';
import { getSysctl, setSysctl } from '../../netns/sysctl';
import type { Drift } from '../reconcile';
import type { HostState } from '../state';

interface WantedSysctl {
  key: string;
  network: string;
}

/** The sysctls `st` needs set to 1. */
export function wantedSysctls(st: HostState): WantedSysctl[] {
  const nets = Object.values(st.networks);
  if (nets.length === 0) return [];
  const out: WantedSysctl[] = [{ key: 'net/ipv4/ip_forward', network: '' }];
  if (nets.some((n) => n.subnet6)) out.push({ key: 'net/ipv6/conf/all/forwarding', network: '' });
  for (const n of nets) out.push({ key: `net/ipv4/conf/${n.bridge}/route_localnet`, network: n.name });
  return out;
}

/** The sysctls that are not 1 (a bridge that is gone is reported as such elsewhere, not here). */
export async function checkSysctls(hostRef: NetworkNamespace | undefined, st: HostState): Promise<Drift[]> {
  const out: Drift[] = [];
  for (const s of wantedSysctls(st)) {
    const value = await getSysctl(hostRef, s.key).catch((e: unknown) => {
      if (e instanceof NlkitError && s.network !== '') return undefined; // no such bridge
      throw e;
    });
    if (value !== undefined && value.trim() !== '1')
      out.push({ network: s.network, kind: 'sysctl', detail: `${s.key.replaceAll('/', '.')} is ${value.trim()}, not 1` });
  }
  return out;
}

/**
 * Sets every sysctl `st` needs (those of bridges that do not exist are skipped, and those of the networks in
 * `leave`, whose bridge name another link holds: that link is not nlkit's to configure).
 */
export async function applySysctls(hostRef: NetworkNamespace | undefined, st: HostState, leave?: ReadonlySet<string>): Promise<void> {
  for (const s of wantedSysctls(st)) {
    if (leave?.has(s.network)) continue;
    await setSysctl(hostRef, s.key, 1).catch((e: unknown) => {
      if (!(e instanceof NlkitError && s.network !== '')) throw e;
    });
  }
}
