/**
 * The `portMappings` capability through nlkit's publishing: each mapping is
 * one publication to the attachment (one map element in nlkit's table).
 * Detaching the attachment removes them again (a publication goes with its
 * last backend). Every mapping is checked before ADD does anything (code 7
 * for a bad value, 2 for what nlkit cannot publish): a bad one found after
 * the attach cost a veth, a lease and the other mappings, all undone again.
 * A network with `internal: true` takes no mappings (code 7, before anything
 * is done): nothing from outside reaches it, and ignoring them would leave the
 * runtime believing its host ports are served.
 * @module
 */
import type { Handle } from '../handle';
import { ValidationError } from '../netlink/errors';
import { checkHostAddress } from '../network/host-address';
import type { NetworkManager } from '../network/manager';
import { conflicts, publicationKey, refuseIpv6Loopback, type Publication } from '../network/publication';
import { formatIp, parseIp } from '../validate/ip';
import type { NetConf, RuntimeConfig } from './config';
import { CniCode, CniError } from './errors';

/** One mapping as the conventions spell it. */
export type PortMapping = NonNullable<RuntimeConfig['portMappings']>[number];

/** A mapping checked: protocol lower case, hostIP canonical (undefined: every host address). */
export interface CheckedMapping {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  containerPort: number;
  hostIp: string | undefined;
}

const KEYS = ['hostPort', 'containerPort', 'protocol', 'hostIP'];

function invalid(field: string, why: string): CniError {
  return new CniError(CniCode.invalidConfig, `invalid ${field}: ${why}`, `field: ${field}`);
}

function portOf(v: unknown, field: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) throw invalid(field, `${JSON.stringify(v)} is not a port 1-65535`);
  return v as number;
}

/** "" and the unspecified addresses mean every host address. */
function hostIpOf(v: unknown, field: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(field, `${JSON.stringify(v)} is not an IP address`);
  let ip: string;
  try {
    ip = formatIp(parseIp(v, field).bytes);
    refuseIpv6Loopback(ip);
  } catch (e) {
    if (e instanceof ValidationError) throw invalid(field, `${JSON.stringify(v)}: ${e.message}`);
    throw e;
  }
  return ip === '0.0.0.0' || ip === '::' ? undefined : ip;
}

function checkMapping(m: PortMapping, i: number): CheckedMapping {
  const at = `runtimeConfig.portMappings[${String(i)}]`;
  for (const key of Object.keys(m)) {
    // a misspelt hostIP (hostIp) would publish on every host address
    if (!KEYS.includes(key))
      throw new CniError(CniCode.unsupportedField, `unsupported field ${at}.${key}: a port mapping has ${KEYS.join(', ')}`, `field: ${at}.${key}`);
  }
  const raw = (m as { protocol?: unknown }).protocol ?? 'tcp';
  if (typeof raw !== 'string' || !['tcp', 'udp', 'sctp'].includes(raw.toLowerCase()))
    throw invalid(`${at}.protocol`, `${JSON.stringify(raw)} is not tcp, udp or sctp`);
  const protocol = raw.toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw new CniError(CniCode.unsupportedField, `unsupported field ${at}.protocol: ${raw} (nlkit publishes tcp and udp)`, `field: ${at}.protocol`);
  }
  return {
    protocol,
    hostPort: portOf(m.hostPort, `${at}.hostPort`),
    containerPort: portOf(m.containerPort, `${at}.containerPort`),
    hostIp: hostIpOf(m.hostIP, `${at}.hostIP`),
  };
}

/**
 * Checks every mapping, and that no two of them take one host port (and
 * address) to different container ports; returns them checked. Only the
 * same mapping twice is allowed: publishing again what is published changes
 * nothing.
 */
export function checkPortMappings(mappings: RuntimeConfig['portMappings']): CheckedMapping[] {
  const out = (mappings ?? []).map(checkMapping);
  for (const [i, a] of out.entries()) {
    for (const b of out.slice(0, i)) {
      const sameAddress = a.hostIp === undefined || b.hostIp === undefined || a.hostIp === b.hostIp;
      if (a.protocol !== b.protocol || a.hostPort !== b.hostPort || !sameAddress) continue;
      if (a.containerPort !== b.containerPort || a.hostIp !== b.hostIp) {
        throw invalid(`runtimeConfig.portMappings[${String(i)}]`, `${a.protocol} host port ${String(a.hostPort)} is mapped twice`);
      }
    }
  }
  return out;
}

/**
 * Refuses (code 7) any mapping on a network configured `internal: true`: a
 * publication there is refused (InternalNetworkPublishError), and ignoring the
 * mappings would leave the runtime believing its host ports are served.
 */
export function refuseInternalMappings(conf: Pick<NetConf, 'name' | 'internal'>, mappings: readonly CheckedMapping[]): void {
  if (conf.internal !== true || mappings.length === 0) return;
  throw new CniError(
    CniCode.invalidConfig,
    `invalid runtimeConfig.portMappings: network ${conf.name} is internal (nothing from outside reaches it): it publishes no ports`,
    'field: runtimeConfig.portMappings',
  );
}

/**
 * Refuses (code 7) a mapping's hostIP that is not an address of the host,
 * or of a family the network has no subnet of (`families`; undefined: not
 * known yet, a delegated IPAM plugin decides). Reads only.
 */
export async function checkMappingHosts(host: Handle, mappings: readonly CheckedMapping[], families: ReadonlySet<4 | 6> | undefined): Promise<void> {
  for (const [i, m] of mappings.entries()) {
    if (m.hostIp === undefined) continue;
    const field = `runtimeConfig.portMappings[${String(i)}].hostIP`;
    const family = m.hostIp.includes(':') ? 6 : 4;
    if (families && !families.has(family)) throw invalid(field, `${m.hostIp}: the network has no IPv${String(family)} subnet`);
    try {
      await checkHostAddress(host, m.hostIp);
    } catch (e) {
      if (e instanceof ValidationError) throw invalid(field, `${m.hostIp} is not an address of the host`);
      throw e;
    }
  }
}

/** Whether `p` is the mapping `wanted` published to the attachment `id` already (a repeated ADD). */
function publishedAlready(p: Publication, wanted: Publication, id: string, containerPort: number): boolean {
  return p.key === wanted.key && p.network === wanted.network && p.backends.length === 1 && p.backends[0].id === id && p.backends[0].port === containerPort;
}

/** The publication of another attachment or network that catches the mapping's host port (and address), if any. */
function takenBy(published: readonly Publication[], network: string, id: string, m: CheckedMapping): Publication | undefined {
  const ref = { protocol: m.protocol, hostPort: m.hostPort, hostIp: m.hostIp };
  const wanted: Publication = { ...ref, key: publicationKey(ref), network, backends: [] };
  return published.find((p) => conflicts(p, wanted) && !publishedAlready(p, wanted, id, m.containerPort));
}

/** Code 7 for mapping `i`, whose host port `taken` holds: the field and the holder named. */
function takenError(i: number, m: CheckedMapping, taken: Publication): CniError {
  const to = taken.backends.map((b) => b.id ?? b.ipv4 ?? b.ipv6).join(', ');
  return new CniError(
    CniCode.invalidConfig,
    `invalid runtimeConfig.portMappings[${String(i)}]: ${m.protocol} host port ${String(m.hostPort)} is already published (${taken.key} on network ${taken.network}, to ${to})`,
    `field: runtimeConfig.portMappings[${String(i)}].hostPort`,
  );
}

/**
 * Refuses (code 7) a mapping whose host port (and address) a publication
 * of another attachment or network catches already, before ADD does
 * anything: found only when publishing, it cost a veth and a lease, made
 * and undone again. Reads only; publishing checks again under its lock
 * (an ADD running at the same time may take the port in between).
 */
export async function checkMappingsFree(nets: NetworkManager, network: string, id: string, mappings: readonly CheckedMapping[]): Promise<void> {
  if (mappings.length === 0) return;
  const published = await nets.publications.list();
  for (const [i, m] of mappings.entries()) {
    const taken = takenBy(published, network, id, m);
    if (taken) throw takenError(i, m, taken);
  }
}

/**
 * Publishes every (checked) mapping to the attachment `id`; publishing again
 * what is published changes nothing. A host port an ADD running at the same
 * time took after this one's early check is the same error that check gives
 * (the mapping's field and the holder), not publish's own about its `hostPort`.
 */
export async function publishPortMappings(nets: NetworkManager, network: string, id: string, mappings: readonly CheckedMapping[]): Promise<void> {
  for (const [i, m] of mappings.entries()) {
    try {
      await nets.publish({
        network,
        protocol: m.protocol,
        hostPort: m.hostPort,
        containerPort: m.containerPort,
        hostIp: m.hostIp,
        to: id,
        // runtimes (Podman) hold the host port open themselves to reserve it
        onListenerConflict: 'ignore',
      });
    } catch (e) {
      if (!(e instanceof ValidationError) || e.field !== 'hostPort') throw e;
      const taken = takenBy(await nets.publications.list(), network, id, m);
      throw taken ? takenError(i, m, taken) : e;
    }
  }
}
