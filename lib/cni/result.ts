/**
 * The ADD result: interfaces, addresses, routes and DNS, written in the
 * shape of the requested spec version (0.3.x and 0.4.0 tag each address
 * with its IP version; 1.1.0 adds interface MTUs).
 * @module
 */
import type { CniRoute } from './config';
import { compareVersions } from './versions';

/** An interface of the result; `sandbox` is set on the container's. */
export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

/** An address of the result; `interface` indexes `interfaces`. */
export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
}

/** A result, version-neutral. */
export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns?: unknown;
}

/** The result as the requested version writes it. */
export function formatResult(cniVersion: string, r: CniResult): Record<string, unknown> {
  const legacy = compareVersions(cniVersion, '1.0.0') < 0;
  const withMtu = compareVersions(cniVersion, '1.1.0') >= 0;
  return {
    cniVersion,
    interfaces: r.interfaces.map(({ mtu, ...i }) => (withMtu && mtu !== undefined ? { ...i, mtu } : i)),
    ips: r.ips.map((ip) => (legacy ? { version: ip.address.includes(':') ? '6' : '4', ...ip } : ip)),
    routes: r.routes,
    dns: r.dns ?? {},
  };
}

/**
 * The addresses (CIDRs) a previous result reports, of any version; with
 * `ifname`, those on the container interface of that name only (an address
 * without an interface index counts as on it: nothing says it is elsewhere).
 */
export function resultAddresses(prev: Record<string, unknown> | undefined, ifname?: string): string[] {
  const ips = prev?.ips;
  if (!Array.isArray(ips)) return [];
  const interfaces: unknown[] = Array.isArray(prev?.interfaces) ? prev.interfaces : [];
  const onIfname = (ip: CniIp): boolean => {
    if (ifname === undefined || ip.interface === undefined) return true;
    const i = interfaces[ip.interface] as CniInterface | undefined;
    return i?.name === ifname && i.sandbox !== undefined && i.sandbox !== '';
  };
  return ips.flatMap((ip: unknown) =>
    typeof ip === 'object' && ip !== null && typeof (ip as CniIp).address === 'string' && onIfname(ip as CniIp) ? [(ip as CniIp).address] : [],
  );
}
