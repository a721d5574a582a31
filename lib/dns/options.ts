/**
 * The options of `dnsResponder`, and their checks (all before a socket is
 * opened).
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { NetnsRef } from '../netns/namespace';
import type { NetworkManager } from '../network/manager';
import { validateNetworkName } from '../network/names';
import { validateDnsName } from '../validate/dns-names';
import { validateInteger } from '../validate/integers';
import { formatIp, parseIp } from '../validate/ip';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';
import { networkNames, type NameSource } from './name-source';
import type { UpstreamServer } from './upstream';

/** Options of `dnsResponder`. */
export interface DnsResponderOptions {
  /** The network manager whose networks are served: their gateways are where the responder listens. */
  manager: NetworkManager;
  /** The networks to serve (by name); each sees only its own names. */
  networks: string[];
  /** The namespace the manager plays host in (its `host` option), where the gateways are; default the caller's. */
  host?: NetnsRef;
  /** Domain of the names ("nlkit.internal": "web" is also "web.nlkit.internal"; unknown names under it are NXDOMAIN). Default none: bare names only. */
  domain?: string;
  /** Servers asked for every name that is not the network's: "10.0.0.53", or `{ host, port }`. None: such queries are answered REFUSED. */
  upstreams?: Array<string | UpstreamServer>;
  /** Where names come from; default the manager's attachments (`networkNames(manager)`). Add a services source here. */
  sources?: NameSource[];
  /** Port to listen on, UDP and TCP (default 53). */
  port?: number;
  /** TTL of local answers, seconds (default 5: attachments come and go). */
  ttl?: number;
  /** How long a network's names are reused before its sources are asked again, ms (default 1000; 0: every query). */
  cacheMs?: number;
  /** How long to wait for each upstream server, ms (default 2000). */
  timeoutMs?: number;
  /** The longest UDP reply, bytes, whatever buffer size a client offers (default 1232, DNS Flag Day 2020; 512-4096): longer ones are truncated (TC) and the client asks over TCP. Advertised in the OPT record of replies to EDNS clients, and of forwarded queries (the largest UDP reply taken from an upstream). */
  maxUdpReply?: number;
  /** Per-client limit on UDP queries (a token bucket); queries above it are dropped. Default none. */
  udpRateLimit?: DnsRateLimit;
  /** Limits on TCP clients, so one client cannot use up the process's memory or file descriptors. */
  tcp?: DnsTcpLimits;
  /** Called with errors of the listening sockets (an accept failing with EMFILE, ...), which the responder survives; default `process.emitWarning` (the first of each code). Counted in `stats().socketErrors` either way. */
  onError?: (error: Error) => void;
}

/** A per-client query rate (`dnsResponder({ udpRateLimit })`): `burst` queries at once, `perSecond` on average. */
export interface DnsRateLimit {
  /** Queries per second on average, 1-1,000,000. */
  perSecond: number;
  /** Queries at once (default `perSecond`). */
  burst?: number;
}

/** Limits on the responder's TCP clients (`dnsResponder({ tcp })`); a connection over a limit is closed right after it is accepted. */
export interface DnsTcpLimits {
  /** Open connections in all (default 256). */
  maxConnections?: number;
  /** Open connections from one client address (default 16). */
  maxConnectionsPerClient?: number;
  /** Queries of one connection being answered at once; the responder reads no further until one is written out (default 16). */
  maxQueriesInFlight?: number;
  /** A connection that sends no complete query for this long is closed, ms (default 10000). */
  idleMs?: number;
  /** A connection is closed after this long however busy, ms (default 120000). */
  lifetimeMs?: number;
}

const OPTION_KEYS = keysOf<DnsResponderOptions>()([
  'manager',
  'networks',
  'host',
  'domain',
  'upstreams',
  'sources',
  'port',
  'ttl',
  'cacheMs',
  'timeoutMs',
  'maxUdpReply',
  'tcp',
  'onError',
  'udpRateLimit',
]);
const TCP_KEYS = keysOf<DnsTcpLimits>()(['maxConnections', 'maxConnectionsPerClient', 'maxQueriesInFlight', 'idleMs', 'lifetimeMs']);

/** The options, checked, with their defaults. */
export interface CheckedOptions {
  manager: NetworkManager;
  networks: string[];
  host?: NetnsRef;
  domain: string;
  upstreams: Array<Required<UpstreamServer>>;
  sources: NameSource[];
  port: number;
  ttl: number;
  cacheMs: number;
  timeoutMs: number;
  maxUdpReply: number;
  tcp: Required<DnsTcpLimits>;
  udpRateLimit?: Required<DnsRateLimit>;
  onError?: (error: Error) => void;
}

function checkTcpLimits(t: unknown): Required<DnsTcpLimits> {
  if (t !== undefined && !isObject(t)) throw new ValidationError('tcp', t, 'must be an object like { maxConnections: 256 }');
  if (t !== undefined) rejectUnknownKeys(t, TCP_KEYS, 'tcp');
  const l = (t ?? {}) as DnsTcpLimits;
  const int = (v: unknown, field: keyof DnsTcpLimits, dflt: number, min: number, max: number): number =>
    v === undefined ? dflt : validateInteger(v, `tcp.${field}`, min, max);
  return {
    maxConnections: int(l.maxConnections, 'maxConnections', 256, 1, 65535),
    maxConnectionsPerClient: int(l.maxConnectionsPerClient, 'maxConnectionsPerClient', 16, 1, 65535),
    maxQueriesInFlight: int(l.maxQueriesInFlight, 'maxQueriesInFlight', 16, 1, 1024),
    idleMs: int(l.idleMs, 'idleMs', 10_000, 1, 3_600_000),
    lifetimeMs: int(l.lifetimeMs, 'lifetimeMs', 120_000, 1, 86_400_000),
  };
}

function checkUpstream(u: unknown, field: string): Required<UpstreamServer> {
  if (typeof u === 'string') return { host: formatIp(parseIp(u, field).bytes), port: 53 };
  if (!isObject(u)) throw new ValidationError(field, u, 'must be an IP address or { host, port }');
  rejectUnknownKeys(u, ['host', 'port'], field);
  const s = u as UpstreamServer;
  return { host: formatIp(parseIp(s.host, `${field}.host`).bytes), port: s.port === undefined ? 53 : validateInteger(s.port, `${field}.port`, 1, 65535) };
}

function checkRateLimit(r: unknown): Required<DnsRateLimit> | undefined {
  if (r === undefined) return undefined;
  if (!isObject(r)) throw new ValidationError('udpRateLimit', r, 'must be an object like { perSecond: 100, burst: 200 }');
  rejectUnknownKeys(r, ['perSecond', 'burst'], 'udpRateLimit');
  const l = r as Partial<DnsRateLimit>;
  const perSecond = validateInteger(l.perSecond, 'udpRateLimit.perSecond', 1, 1_000_000);
  return { perSecond, burst: l.burst === undefined ? perSecond : validateInteger(l.burst, 'udpRateLimit.burst', 1, 1_000_000) };
}

export function checkOptions(opts: DnsResponderOptions): CheckedOptions {
  if (!isObject(opts)) throw new ValidationError('dnsResponder options', opts, 'must be an object like { manager, networks: ["web"] }');
  rejectUnknownKeys(opts, OPTION_KEYS, 'dnsResponder options');
  if (!isObject(opts.manager) || typeof (opts.manager as Partial<NetworkManager>).find !== 'function')
    throw new ValidationError('manager', opts.manager, 'must be a network manager (from networks())');
  if (!Array.isArray(opts.networks) || opts.networks.length === 0)
    throw new ValidationError('networks', opts.networks, 'must be a non-empty array of network names');
  if (opts.upstreams !== undefined && !Array.isArray(opts.upstreams)) throw new ValidationError('upstreams', opts.upstreams, 'must be an array');
  if (opts.sources !== undefined && (!Array.isArray(opts.sources) || opts.sources.some((s) => !isObject(s) || typeof s.records !== 'function')))
    throw new ValidationError('sources', opts.sources, 'must be an array of name sources (objects with records(network))');
  if (opts.onError !== undefined && typeof opts.onError !== 'function') throw new ValidationError('onError', opts.onError, 'must be a function');
  return {
    manager: opts.manager,
    networks: [...new Set(opts.networks.map((n) => validateNetworkName(n)))],
    host: opts.host,
    domain: opts.domain === undefined ? '' : validateDnsName(typeof opts.domain === 'string' ? opts.domain.replace(/\.$/, '') : opts.domain, 'domain'),
    upstreams: (opts.upstreams ?? []).map((u, i) => checkUpstream(u, `upstreams[${String(i)}]`)),
    sources: opts.sources ?? [networkNames(opts.manager)],
    port: opts.port === undefined ? 53 : validateInteger(opts.port, 'port', 1, 65535),
    ttl: opts.ttl === undefined ? 5 : validateInteger(opts.ttl, 'ttl', 0, 0x7fffffff),
    cacheMs: opts.cacheMs === undefined ? 1000 : validateInteger(opts.cacheMs, 'cacheMs', 0, 0x7fffffff),
    timeoutMs: opts.timeoutMs === undefined ? 2000 : validateInteger(opts.timeoutMs, 'timeoutMs', 1, 60000),
    maxUdpReply: opts.maxUdpReply === undefined ? 1232 : validateInteger(opts.maxUdpReply, 'maxUdpReply', 512, 4096),
    tcp: checkTcpLimits(opts.tcp),
    udpRateLimit: checkRateLimit(opts.udpRateLimit),
    onError: opts.onError,
  };
}
