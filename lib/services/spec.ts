/**
 * Services as the caller describes them (virtual IPs, ports, endpoints with
 * EndpointSlice-like conditions, session affinity) and their validated,
 * canonical record: what is stored and what the nftables layout is
 * computed from. Everything is checked here, before anything is sent.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatIp, parseIp } from '../validate/ip';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';
import { mapPacked } from './packed';
import { refuseSpecialIp } from './special-ips';

/** Transport protocols a service port can have (sctp where the kernel has it). */
export type ServiceProtocol = 'tcp' | 'udp' | 'sctp';

/** One port of a service. */
export interface ServicePortSpec {
  /** Default "tcp". */
  protocol?: ServiceProtocol;
  /** The port on the virtual IPs. */
  port: number;
  /** The endpoints' port; default `port`. */
  targetPort?: number;
  /** Also reachable on this port of every local address of the host (NodePort, `fib daddr type local`). Not via 127.0.0.1/::1. */
  nodePort?: number;
}

/** One endpoint: an address and its conditions, like an EndpointSlice entry. */
export interface EndpointSpec {
  ip: string;
  /** Overrides the port's targetPort (services with one port only). */
  port?: number;
  /** Relative share of new connections, 0-10000 (default 1); 0 drains: no new connections, established ones go on. */
  weight?: number;
  /** Default true. Ready endpoints get the new connections. */
  ready?: boolean;
  /** Default: as `ready`. */
  serving?: boolean;
  /** Default false. Serving terminating endpoints get new connections only while no endpoint is ready. */
  terminating?: boolean;
}

/** A service: virtual IPs reachable from containers and from the host, spread over endpoints. */
export interface ServiceSpec {
  /** 1-63 characters: a-z, 0-9, ".", "_", "-" (e.g. "default.web"). */
  name: string;
  /**
   * Virtual IPs (IPv4 and/or IPv6); no interface needs them. Unicast only:
   * loopback (127/8, ::1), unspecified (0.0.0.0, ::) and 0.0.0.0/8,
   * link-local (169.254/16, fe80::/10), multicast (224/4, ff00::/8) and
   * broadcast addresses, and IPv4-mapped IPv6 ones (::ffff:10.96.0.10: give
   * 10.96.0.10), are a ValidationError.
   */
  vips: string[];
  /** Further addresses routed to this host that act like the virtual IPs (unicast only, as `vips`). */
  externalIps?: string[];
  ports: ServicePortSpec[];
  /** Default none: a service without endpoints refuses connections at once. */
  endpoints?: EndpointSpec[];
  /** Keep a client (by source address) on the endpoint it got, until it is idle for `timeoutSeconds` (default 10800). */
  sessionAffinity?: { timeoutSeconds?: number };
}

/** A port as recorded. */
export interface ServicePortRecord {
  protocol: ServiceProtocol;
  port: number;
  targetPort: number;
  nodePort?: number;
}

/** An endpoint as recorded (every condition spelled out). */
export interface EndpointRecord {
  ip: string;
  port?: number;
  weight: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/** A service as recorded: canonical addresses, every default filled in. */
export interface ServiceRecord {
  name: string;
  vips: string[];
  externalIps: string[];
  ports: ServicePortRecord[];
  endpoints: EndpointRecord[];
  /** Affinity timeout in seconds; absent: none. */
  affinitySeconds?: number;
}

/** A service as `get`/`list` return it. */
export type Service = ServiceRecord;

// Records are made only by these three constructors, every property present (absent ones undefined, which JSON
// leaves out) and in the stored order: a record built here and one read back from its file then share one
// hidden class, so the optimised code that reads them (layout, diff) is not thrown away on meeting the other.
// Constructors, not object literals: an apply() of 1,000s of services got the literals pretenured, and every
// later set() then made its record in the old generation (layout-objects.ts says what that cost).
// Functions whose prototype is Object.prototype, not classes: `get`/`list` return these records, and a
// caller sees plain objects, as the literals were (deepStrictEqual, util.inspect, toStrictEqual), not
// instances of an internal class.
function PortRecord(this: ServicePortRecord, protocol: ServiceProtocol, port: number, targetPort: number, nodePort: number | undefined): void {
  this.protocol = protocol;
  this.port = port;
  this.targetPort = targetPort;
  this.nodePort = nodePort;
}

function EndpointRecordShape(
  this: EndpointRecord,
  ip: string,
  weight: number,
  ready: boolean,
  serving: boolean,
  terminating: boolean,
  port: number | undefined,
): void {
  this.ip = ip;
  this.weight = weight;
  this.ready = ready;
  this.serving = serving;
  this.terminating = terminating;
  this.port = port;
}

function RecordShape(
  this: ServiceRecord,
  name: string,
  vips: string[],
  externalIps: string[],
  ports: ServicePortRecord[],
  endpoints: EndpointRecord[],
  affinitySeconds: number | undefined,
): void {
  this.name = name;
  this.vips = vips;
  this.externalIps = externalIps;
  this.ports = ports;
  this.endpoints = endpoints;
  this.affinitySeconds = affinitySeconds;
}

for (const f of [PortRecord, EndpointRecordShape, RecordShape]) f.prototype = Object.prototype;

/** A function above as what `new` makes of it. */
const plain = <A extends unknown[], T>(f: (this: T, ...args: A) => void): new (...args: A) => T => f as unknown as new (...args: A) => T;
const NewPortRecord = plain(PortRecord);
const NewEndpointRecord = plain(EndpointRecordShape);
const NewRecord = plain(RecordShape);

function portShape(protocol: ServiceProtocol, port: number, targetPort: number, nodePort: number | undefined): ServicePortRecord {
  return new NewPortRecord(protocol, port, targetPort, nodePort);
}

function endpointShape(ip: string, weight: number, ready: boolean, serving: boolean, terminating: boolean, port: number | undefined): EndpointRecord {
  return new NewEndpointRecord(ip, weight, ready, serving, terminating, port);
}

function recordShape(
  name: string,
  vips: string[],
  externalIps: string[],
  ports: ServicePortRecord[],
  endpoints: EndpointRecord[],
  affinitySeconds: number | undefined,
): ServiceRecord {
  return new NewRecord(name, vips, externalIps, ports, endpoints, affinitySeconds);
}

/** A record read back from its file (JSON.parse makes objects of other hidden classes) in the shape toServiceRecord makes. */
export function canonicalRecord(r: ServiceRecord): ServiceRecord {
  return recordShape(
    r.name,
    mapPacked(r.vips, String),
    mapPacked(r.externalIps, String),
    mapPacked(r.ports, (p) => portShape(p.protocol, p.port, p.targetPort, p.nodePort)),
    mapPacked(r.endpoints, (e) => endpointShape(e.ip, e.weight, e.ready, e.serving, e.terminating, e.port)),
    r.affinitySeconds,
  );
}

const SPEC_KEYS = keysOf<ServiceSpec>()(['name', 'vips', 'externalIps', 'ports', 'endpoints', 'sessionAffinity']);
const PORT_KEYS = keysOf<ServicePortSpec>()(['protocol', 'port', 'targetPort', 'nodePort']);
const ENDPOINT_KEYS = keysOf<EndpointSpec>()(['ip', 'port', 'weight', 'ready', 'serving', 'terminating']);
const PROTOCOLS: readonly ServiceProtocol[] = ['tcp', 'udp', 'sctp'];

/** Service names: safe in file names and nftables chain names. */
export const SERVICE_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

/** Checks a service name against {@link SERVICE_NAME}. */
export function validateServiceName(name: unknown): string {
  if (typeof name !== 'string' || !SERVICE_NAME.test(name)) {
    throw new ValidationError('service name', name, 'use 1-63 characters: a-z, 0-9, ".", "_" and "-", starting and ending with a letter or digit');
  }
  return name;
}

function port(v: unknown, field: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) throw new ValidationError(field, v, 'must be a port 1-65535');
  return v as number;
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ValidationError(field, v, 'must be a boolean');
  return v;
}

function addresses(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ValidationError(field, v, 'must be an array of IP addresses');
  const out = mapPacked(v as unknown[], (a) => {
    const { bytes } = parseIp(a, field);
    const ip = formatIp(bytes);
    refuseSpecialIp(field, ip, bytes); // loopback, multicast, ...: never a service's (special-ips.ts)
    return ip;
  });
  // Not for none or one: an empty array's elements kind differs, and the Set constructor's optimised code would be thrown away on it.
  if (out.length > 1 && new Set(out).size !== out.length) throw new ValidationError(field, v, 'lists an address twice');
  return out;
}

function portRecord(p: unknown): ServicePortRecord {
  if (!isObject(p)) throw new ValidationError('ports', p, 'each port must be an object like { port: 80 }');
  const o = rejectUnknownKeys(p as ServicePortSpec, PORT_KEYS, 'service port') as ServicePortSpec;
  const protocol = o.protocol ?? 'tcp';
  if (!PROTOCOLS.includes(protocol)) throw new ValidationError('protocol', protocol, 'must be "tcp", "udp" or "sctp"');
  return portShape(
    protocol,
    port(o.port, 'port'),
    port(o.targetPort ?? o.port, 'targetPort'),
    o.nodePort === undefined ? undefined : port(o.nodePort, 'nodePort'),
  );
}

function endpointRecord(e: unknown, onePort: boolean): EndpointRecord {
  if (!isObject(e)) throw new ValidationError('endpoints', e, 'each endpoint must be an object like { ip: "10.0.0.2" }');
  const o = rejectUnknownKeys(e as EndpointSpec, ENDPOINT_KEYS, 'endpoint') as EndpointSpec;
  const { bytes } = parseIp(o.ip, 'endpoint ip');
  const ip = formatIp(bytes);
  // DNAT to 127.0.0.1 reaches the host's loopback-only listeners (nlkit's bridges have route_localnet for 127.0.0.1 publications), 169.254.169.254 a metadata server.
  refuseSpecialIp('endpoint ip', ip, bytes, "the address of an instance (a container's, or the host's own on a network)");
  const weight = o.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 0 || weight > 10000) throw new ValidationError('weight', o.weight, 'must be an integer 0-10000 (0 drains)');
  const ready = bool(o.ready, 'ready', true);
  if (o.port !== undefined && !onePort)
    throw new ValidationError('endpoint port', o.port, 'only a service with one port takes an endpoint port (use targetPort)');
  const epPort = o.port === undefined ? undefined : port(o.port, 'endpoint port');
  return endpointShape(ip, weight, ready, bool(o.serving, 'serving', ready), bool(o.terminating, 'terminating', false), epPort);
}

/** Validates a spec into its record; a ValidationError names the first bad field. */
export function toServiceRecord(spec: unknown): ServiceRecord {
  if (!isObject(spec)) throw new ValidationError('service', spec, 'must be an object like { name, vips, ports }');
  const s = rejectUnknownKeys(spec as ServiceSpec, SPEC_KEYS, 'service') as ServiceSpec;
  const name = validateServiceName(s.name);
  const vips = addresses(s.vips, 'vips');
  if (vips.length === 0) throw new ValidationError('vips', s.vips, 'needs at least one virtual IP');
  const externalIps = addresses(s.externalIps, 'externalIps');
  if (!Array.isArray(s.ports) || s.ports.length === 0) throw new ValidationError('ports', s.ports, 'needs at least one port');
  const ports = mapPacked(s.ports, portRecord);
  const seen = new Set<string>();
  for (const p of ports) {
    const k = `${p.protocol}:${p.port}`;
    if (seen.has(k)) throw new ValidationError('ports', s.ports, `lists ${p.protocol} port ${p.port} twice`);
    seen.add(k);
  }
  if (s.endpoints !== undefined && !Array.isArray(s.endpoints)) throw new ValidationError('endpoints', s.endpoints, 'must be an array');
  const endpoints = mapPacked(s.endpoints ?? [], (e) => endpointRecord(e, ports.length === 1));
  const keys = mapPacked(endpoints, (e) => `${e.ip}:${e.port ?? ''}`);
  if (new Set(keys).size !== keys.length) throw new ValidationError('endpoints', s.endpoints, 'lists an endpoint twice');
  let affinitySeconds: number | undefined;
  if (s.sessionAffinity !== undefined) {
    const a = rejectUnknownKeys(s.sessionAffinity, ['timeoutSeconds'], 'sessionAffinity');
    const t = a?.timeoutSeconds ?? 10800;
    if (!Number.isInteger(t) || t < 1 || t > 86400) throw new ValidationError('timeoutSeconds', t, 'must be an integer 1-86400');
    affinitySeconds = t;
  }
  return recordShape(name, vips, externalIps, ports, endpoints, affinitySeconds);
}

/**
 * The endpoints that get new connections: the ready ones (weight above 0);
 * when there is none, the serving terminating ones (EndpointSlice semantics).
 */
export function selectedEndpoints(rec: ServiceRecord): EndpointRecord[] {
  const ready = rec.endpoints.filter((e) => e.ready && e.weight > 0);
  if (ready.length) return ready;
  return rec.endpoints.filter((e) => e.serving && e.terminating && e.weight > 0);
}

/** Whether an address is IPv6. */
export function isV6(ip: string): boolean {
  return ip.includes(':');
}
