/**
 * Port publications: validating what the user asks for and turning it into
 * the record the firewall layer writes (backends resolved to addresses).
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { InternalNetworkPublishError } from './errors';
import { formatIp, parseIp } from '../validate/ip';
import type { AttachmentRecord, BackendRecord, NetworkRecord, PublicationRecord } from './state';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';

/** One backend of a publication: an attached sandbox (by id) and its port. */
export interface BackendSpec {
  /** The attachment id (the sandbox's namespace name by default). */
  id: string;
  /** Container port; default the publication's containerPort. */
  port?: number;
  /**
   * Relative share of new connections (default 1). 0 drains the backend: it
   * gets no new connections and keeps its established ones. A publication
   * whose backends all have weight 0 refuses new connections (TCP reset,
   * ICMP port unreachable for UDP).
   */
  weight?: number;
}

/** What to publish. */
export interface PublishSpec {
  network: string;
  protocol?: 'tcp' | 'udp';
  /** Host port, or a range "8000-8010" (the container listens on the same range); 0: nlkit picks a free one (returned). */
  hostPort: number | string;
  /**
   * Publish on this host address only (e.g. "127.0.0.1"); default every host
   * address. It must be the host's, unless `vip`. IPv6 loopback ("::1") is
   * refused: IPv6 has no route_localnet, so the kernel never routes a packet
   * from ::1 to a container. A port published on every address is reachable
   * from the host via 127.0.0.1, not via ::1: a connection to [::1]:port stays
   * on the host (a host process listening on ::1 gets it, else it is refused).
   */
  hostIp?: string;
  /** `hostIp` is an address others route to this host without the host having it (a VIP): not checked. */
  vip?: boolean;
  /** A host process listening on the port: refuse (PortInUseError, default), warn (a process warning) or ignore. */
  onListenerConflict?: 'refuse' | 'warn' | 'ignore';
  /** Port inside the container(s); default the host port. */
  containerPort?: number;
  /** One sandbox (id)... */
  to?: string;
  /** ...or several, optionally weighted (90/10 canaries). */
  backends?: BackendSpec[];
}

/**
 * Identifies a publication: protocol, host port (or range) and host address.
 * A listed {@link Publication} is one as it is: its range is `hostPort` to
 * `hostPortEnd`.
 */
export interface PublicationRef {
  /** Default "tcp". */
  protocol?: 'tcp' | 'udp';
  /** Host port, or a range "8000-8010". */
  hostPort: number | string;
  /** Last port of a range whose first is `hostPort` (as listed publications carry it). */
  hostPortEnd?: number;
  /** The host address it was published on; default every address. */
  hostIp?: string;
}

/** A publication as recorded. */
export type Publication = PublicationRecord;

function port(v: unknown, field: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 65535) throw new ValidationError(field, v, 'must be a port 1-65535');
  return n as number;
}

/** Host port (range) of a spec: [first, last or undefined]. */
export function hostPorts(v: number | string): [number, number | undefined] {
  if (typeof v === 'string' && v.includes('-')) {
    const [a, b] = v.split('-');
    const lo = port(a, 'hostPort');
    const hi = port(b, 'hostPort');
    if (hi <= lo) throw new ValidationError('hostPort', v, 'range end must be above its start');
    return [lo, hi];
  }
  return [port(v, 'hostPort'), undefined];
}

/** A host address in canonical form (so "::1" and "0::1" are one key). */
export function canonicalHostIp(ip: string | undefined): string | undefined {
  return ip === undefined ? undefined : formatIp(parseIp(ip, 'hostIp').bytes);
}

/** Host port (range) of a reference: "8000-8010", or 8000 with hostPortEnd 8010. */
function refPorts(ref: PublicationRef): [number, number | undefined] {
  const [lo, hi] = hostPorts(ref.hostPort);
  if (ref.hostPortEnd === undefined) return [lo, hi];
  const end = port(ref.hostPortEnd, 'hostPortEnd');
  if (hi !== undefined && hi !== end) throw new ValidationError('hostPortEnd', ref.hostPortEnd, `contradicts hostPort ${JSON.stringify(ref.hostPort)}`);
  if (end <= lo) throw new ValidationError('hostPortEnd', ref.hostPortEnd, 'range end must be above its start');
  return [lo, end];
}

/**
 * The keys a reference may have: its own, and a listed publication's (passed
 * back as it is). Anything else is refused: a misspelt `proto: 'udp'` or
 * `hostip` would name, and change or remove, the TCP or every-address one.
 */
const REF_KEYS = keysOf<PublicationRef & Publication>()(['protocol', 'hostPort', 'hostPortEnd', 'hostIp', 'key', 'network', 'backends']);

/** The key of a reference given to setBackends(), unpublish() or find(), its keys checked first. */
export function refKey(ref: PublicationRef): string {
  rejectUnknownKeys(ref, REF_KEYS, 'publication');
  return publicationKey(ref);
}

/**
 * The keys of a backend: its own, and the addresses a listed backend carries
 * (checked to be its attachment's). A misspelt `Weight: 0` would have kept
 * sending the backend new connections instead of draining it.
 */
const BACKEND_KEYS = keysOf<BackendSpec & BackendRecord>()(['id', 'port', 'weight', 'ipv4', 'ipv6']);

/** The unique key of a publication: "tcp:*:8080", "udp:127.0.0.1:5353", "tcp:*:8000-8010". */
export function publicationKey(ref: PublicationRef): string {
  if (!isObject(ref)) throw new ValidationError('publication', ref, 'must be an object like { hostPort: 8080 }');
  const protocol = ref.protocol ?? 'tcp';
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers may pass any string
  if (protocol !== 'tcp' && protocol !== 'udp') throw new ValidationError('protocol', protocol, 'must be "tcp" or "udp"');
  const [lo, hi] = refPorts(ref);
  const hostIp = canonicalHostIp(ref.hostIp) ?? '*';
  return `${protocol}:${hostIp}:${hi ? `${lo}-${hi}` : lo}`;
}

/** IPv6 loopback (::1, or 127/8 written as IPv4-mapped IPv6): never routed out of the host, so a publication there could not work. */
export function refuseIpv6Loopback(hostIp: string | undefined): void {
  if (!hostIp?.includes(':')) return;
  const b = parseIp(hostIp, 'hostIp').bytes;
  const loopback = b.subarray(0, 15).every((x) => x === 0) && b[15] === 1;
  const mappedLoopback = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff && b[12] === 127;
  if (loopback || mappedLoopback) {
    throw new ValidationError(
      'hostIp',
      hostIp,
      'IPv6 loopback cannot be published: IPv6 has no route_localnet, so the kernel never routes a packet from ::1 to a container (publish on 127.0.0.1, or on every address)',
    );
  }
}

/**
 * Nothing from outside reaches an internal network (as Docker publishes nothing for it): a publication to its
 * containers would be that way in, through a host address.
 */
export function refuseInternalNetwork(rec: Pick<NetworkRecord, 'name' | 'internal'>, operation: string): void {
  if (rec.internal) throw new InternalNetworkPublishError(operation, rec.name);
}

/** Builds the record of a publication from a spec and the network's attachments. */
export function toPublication(spec: PublishSpec, attachments: Record<string, AttachmentRecord>): PublicationRecord {
  const protocol = spec.protocol ?? 'tcp';
  refuseIpv6Loopback(spec.hostIp);
  const key = publicationKey(spec);
  const [lo, hi] = hostPorts(spec.hostPort);
  const containerPort = spec.containerPort !== undefined ? port(spec.containerPort, 'containerPort') : lo;
  if (hi !== undefined && containerPort !== lo) {
    throw new ValidationError('containerPort', spec.containerPort, 'a port range is published to the same port numbers in the container');
  }
  if ((spec.to === undefined) === (spec.backends === undefined)) throw new ValidationError('backends', spec, 'give exactly one of `to` or `backends`');
  if (spec.backends !== undefined && !Array.isArray(spec.backends)) throw new ValidationError('backends', spec.backends, 'must be an array of backends');
  const wanted: BackendSpec[] = spec.backends ?? (spec.to !== undefined ? [{ id: spec.to }] : []);
  if (wanted.length === 0) throw new ValidationError('backends', spec.backends, 'needs at least one backend');
  const backends: BackendRecord[] = wanted.map((b) => {
    if (!isObject(b) || typeof (b as Partial<BackendSpec>).id !== 'string')
      throw new ValidationError('backend', b, 'must be an object with the id of an attachment');
    const given: BackendSpec & Partial<BackendRecord> = rejectUnknownKeys(b, BACKEND_KEYS, 'backend') ?? b;
    const att = attachments[b.id] as AttachmentRecord | undefined;
    if (!att) throw new ValidationError('backend', b.id, `is not attached to network ${spec.network}`);
    for (const f of ['ipv4', 'ipv6'] as const) {
      if (given[f] !== undefined && given[f] !== att[f])
        throw new ValidationError(
          `backend ${f}`,
          given[f],
          `is not the address of attachment ${b.id} (${att[f] ?? 'none'}): a backend is an attachment, named by id`,
        );
    }
    const weight = b.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 0 || weight > 10000) throw new ValidationError('weight', b.weight, 'must be an integer 0-10000 (0 drains)');
    return { id: b.id, ipv4: att.ipv4, ipv6: att.ipv6, port: b.port !== undefined ? port(b.port, 'backend port') : containerPort, weight };
  });
  if (hi !== undefined && backends.length > 1) throw new ValidationError('backends', spec.backends, 'a port range goes to one backend');
  const fam = spec.hostIp?.includes(':') ? 6 : spec.hostIp ? 4 : undefined;
  const usable = backends.every((b) => (fam === 6 ? b.ipv6 : fam === 4 ? b.ipv4 : b.ipv4 || b.ipv6));
  if (!usable) throw new ValidationError('hostIp', spec.hostIp, 'no backend has an address of that family');
  return { key, network: spec.network, protocol, hostPort: lo, hostPortEnd: hi, hostIp: canonicalHostIp(spec.hostIp), backends };
}

/** Whether two publications would catch the same packets. */
export function conflicts(a: PublicationRecord, b: PublicationRecord): boolean {
  if (a.protocol !== b.protocol) return false;
  if (a.hostIp && b.hostIp && a.hostIp !== b.hostIp) return false;
  const aHi = a.hostPortEnd ?? a.hostPort;
  const bHi = b.hostPortEnd ?? b.hostPort;
  return a.hostPort <= bHi && b.hostPort <= aHi;
}
