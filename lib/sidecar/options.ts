/**
 * What an interception is asked for, checked and put in one normal form
 * before anything is written: the layout, the routing and check() all work
 * from this spec, so the same options always mean the same kernel state.
 * @module
 */
import * as path from 'node:path';
import { ValidationError } from '../netlink/errors';
import type { NetnsRef } from '../netns/namespace';
import { validateInteger, validateU32 } from '../validate/integers';
import { formatCidr, networkOf, parseCidr } from '../validate/ip';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';

/** Traffic that interception leaves alone. */
export interface InterceptExclusions {
  /** Outbound traffic of sockets owned by these uids (the proxy's user, e.g. 1337). */
  uids?: number[];
  /** Outbound traffic of sockets owned by these gids. */
  gids?: number[];
  /** Outbound traffic carrying one of these firewall marks (a proxy's upstream made with `connectTcp({ mark })`). */
  marks?: number[];
  /** Outbound traffic to these destination prefixes ("10.0.0.0/8", "fd00::/8", or single addresses). */
  cidrs?: string[];
  /** Outbound traffic to these destination ports. */
  ports?: number[];
  /** Inbound traffic to these local ports (health checks, the proxy's admin port): TCP, and UDP when inbound UDP is intercepted. */
  inboundPorts?: number[];
}

/** UDP to intercept (see {@link InterceptOptions.udp}): outbound, inbound or both. */
export interface InterceptUdp {
  /**
   * The proxy's UDP port for the pod's outbound UDP: a `listenUdp()` socket
   * (`transparent: true` in TPROXY mode). None: outbound UDP is not
   * intercepted (then `inboundPort` is needed).
   */
  outboundPort?: number;
  /**
   * The proxy's UDP port for inbound UDP (datagrams sent to the pod, except
   * to `exclude.inboundPorts`): a `listenUdp()` socket (`transparent: true`
   * in TPROXY mode). None: inbound UDP is not intercepted.
   */
  inboundPort?: number;
  /** Outbound only: only UDP to these destination ports ([53]: DNS capture, as Istio's); default all UDP. */
  ports?: number[];
  /**
   * REDIRECT mode, outbound: the conntrack zone (1-65535, default 28268) the
   * proxy's own UDP (`exclude.uids`, `gids`, `marks`) is tracked in, original
   * direction only, so that a proxy socket given the source port of an app
   * query still tracked does not follow that query's NAT back to the proxy.
   * Change it only if the pod's namespace uses that zone for other flows.
   */
  zone?: number;
}

/** Options of {@link intercept}. */
export interface InterceptOptions {
  /** The pod's namespace (never the caller's by default: it must be named). */
  netns: NetnsRef;
  /**
   * `redirect`: NAT to the proxy's ports (the proxy reads the destination
   * with `originalDestination()`); `tproxy`: packets are diverted unchanged
   * to a transparent listener (`listenTcp({ transparent: true })`) whose
   * accepted sockets' local address is the destination.
   */
  mode: 'redirect' | 'tproxy';
  /** The proxy's port for outbound TCP (the app connecting out). */
  outboundPort: number;
  /** The proxy's port for inbound TCP (connections to the pod), not `outboundPort`; none: inbound is not intercepted. */
  inboundPort?: number;
  /** Traffic not to intercept: the proxy's own (by uid, gid or mark) must be, or it loops. */
  exclude?: InterceptExclusions;
  /**
   * UDP as well, to the proxy's UDP ports: outbound (`outboundPort`) and/or
   * inbound (`inboundPort`). REDIRECTed (the proxy answers from that socket;
   * `UdpListener.originalDestination()` asks conntrack where it was going)
   * or TPROXY'd (delivered unchanged: the datagram's destination is the
   * original). The same exclusions apply (`exclude.ports` to outbound UDP
   * destination ports too, `exclude.inboundPorts` to inbound UDP). None when absent.
   */
  udp?: InterceptUdp;
  /** IPv6 as well (default true). */
  ipv6?: boolean;
  /** TPROXY mode only (refused in REDIRECT mode): the firewall mark that routes diverted packets to the local table (default 0x1). */
  mark?: number;
  /** TPROXY mode only: the routing table holding `local default dev lo` (default 133). */
  table?: number;
  /** TPROXY mode only: the priority of the `fwmark → table` policy rules (default 32000, before main). */
  rulePriority?: number;
  /**
   * Where the lock that serialises interceptions of one namespace across
   * processes lives (an absolute path, checked like networks()' state directory; default
   * /run/nlkit/sidecar). Writers of one pod must agree on it.
   */
  stateDir?: string;
}

/** The options in normal form. */
export interface InterceptSpec {
  mode: 'redirect' | 'tproxy';
  outboundPort: number;
  inboundPort?: number;
  uids: number[];
  gids: number[];
  marks: number[];
  cidrs4: string[];
  cidrs6: string[];
  ports: number[];
  inboundPorts: number[];
  /** UDP interception (absent: none); each port present only when that direction is intercepted. */
  udp?: { outboundPort?: number; inboundPort?: number; ports: number[]; zone: number };
  ipv6: boolean;
  mark: number;
  table: number;
  rulePriority: number;
}

const OPTION_KEYS = keysOf<InterceptOptions>()([
  'netns',
  'mode',
  'outboundPort',
  'inboundPort',
  'exclude',
  'udp',
  'ipv6',
  'mark',
  'table',
  'rulePriority',
  'stateDir',
]);
const UDP_KEYS = keysOf<InterceptUdp>()(['outboundPort', 'inboundPort', 'ports', 'zone']);
/** The proxy's UDP conntrack zone when none is given ("nl"). */
export const DEFAULT_PROXY_ZONE = 0x6e6c;
const EXCLUDE_KEYS = keysOf<InterceptExclusions>()(['uids', 'gids', 'marks', 'cidrs', 'ports', 'inboundPorts']);

function list<T>(value: unknown, field: string, each: (v: unknown, f: string) => T): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ValidationError(field, value, 'must be an array');
  return [...new Set(value.map((v, i) => each(v, `${field}[${i}]`)))];
}

const port = (v: unknown, f: string): number => validateInteger(v, f, 1, 65535);

/**
 * Checks the numbers TPROXY routing is written with (ValidationError naming
 * the field): also applied to the routing a table's comment records, which
 * anyone can forge, before anything is deleted on its word.
 */
export function routingNumbers(r: { mark: unknown; table: unknown; rulePriority: unknown }): { mark: number; table: number; rulePriority: number } {
  const mark = validateU32(r.mark, 'mark');
  if (mark === 0) throw new ValidationError('mark', mark, 'must not be 0 (unmarked packets would be diverted)');
  const table = validateInteger(r.table, 'table', 1, 0xfffffeff);
  if (table >= 253 && table <= 255) throw new ValidationError('table', table, 'must not be one of the default, main or local tables');
  return { mark, table, rulePriority: validateInteger(r.rulePriority, 'rulePriority', 1, 32765) };
}

/** The UDP part of the spec (undefined: UDP is not intercepted). */
function udpSpec(value: unknown): InterceptSpec['udp'] {
  const udp = rejectUnknownKeys(value as InterceptUdp | undefined, UDP_KEYS, 'udp');
  if (udp === undefined) return undefined;
  if (udp.outboundPort === undefined && udp.inboundPort === undefined)
    throw new ValidationError('udp', udp, "needs outboundPort, inboundPort or both (the proxy's UDP ports)");
  const ports = list(udp.ports, 'udp.ports', port);
  // ports narrows outbound interception only: alone with inbound it would silently do nothing.
  if (ports.length && udp.outboundPort === undefined) throw new ValidationError('udp.ports', udp.ports, 'applies to outbound UDP only: give udp.outboundPort');
  return {
    ...(udp.outboundPort === undefined ? {} : { outboundPort: port(udp.outboundPort, 'udp.outboundPort') }),
    ...(udp.inboundPort === undefined ? {} : { inboundPort: port(udp.inboundPort, 'udp.inboundPort') }),
    ports,
    zone: udp.zone === undefined ? DEFAULT_PROXY_ZONE : validateInteger(udp.zone, 'udp.zone', 1, 0xffff),
  };
}

/** Checks the options (ValidationError naming the field) and returns the spec. */
export function interceptSpec(opts: InterceptOptions): InterceptSpec {
  if (!isObject(opts)) throw new ValidationError('intercept options', opts, 'must be an object');
  rejectUnknownKeys(opts, OPTION_KEYS, 'intercept options');
  // JavaScript callers are not held to the types.
  if ((opts.netns as unknown) === undefined) throw new ValidationError('netns', opts.netns, "the pod's namespace is required");
  if (!['redirect', 'tproxy'].includes(opts.mode)) throw new ValidationError('mode', opts.mode, 'must be "redirect" or "tproxy"');
  const ex = rejectUnknownKeys(opts.exclude, EXCLUDE_KEYS, 'exclude') ?? {};
  const cidrs = list(ex.cidrs, 'exclude.cidrs', (v, f) => {
    const c = networkOf(parseCidr(v, f, { defaultFull: true }));
    return { family: c.family, text: formatCidr(c.bytes, c.prefixLength) };
  });
  const { mark, table, rulePriority } = routingNumbers({ mark: opts.mark ?? 0x1, table: opts.table ?? 133, rulePriority: opts.rulePriority ?? 32000 });
  const marks = list(ex.marks, 'exclude.marks', (v, f) => validateU32(v, f));
  if (opts.mode === 'tproxy' && marks.includes(mark)) throw new ValidationError('exclude.marks', mark, 'must not hold the interception mark');
  if (opts.stateDir !== undefined && (typeof opts.stateDir !== 'string' || opts.stateDir === ''))
    throw new ValidationError('stateDir', opts.stateDir, 'must be a non-empty path');
  // A relative one would depend on the caller's working directory: two writers of one pod could hold different locks.
  if (opts.stateDir !== undefined && !path.isAbsolute(opts.stateDir)) throw new ValidationError('stateDir', opts.stateDir, 'must be an absolute path');
  // REDIRECT writes no routing: these would be silently ignored.
  if (opts.mode === 'redirect')
    for (const field of ['mark', 'table', 'rulePriority'] as const)
      if (opts[field] !== undefined) throw new ValidationError(field, opts[field], 'applies to mode "tproxy" only');
  if (opts.ipv6 !== undefined && typeof opts.ipv6 !== 'boolean') throw new ValidationError('ipv6', opts.ipv6, 'must be a boolean');
  const udp = udpSpec(opts.udp);
  const outboundPort = port(opts.outboundPort, 'outboundPort');
  const inboundPort = opts.inboundPort === undefined ? undefined : port(opts.inboundPort, 'inboundPort');
  // One port for both ways: the proxy cannot tell inbound from outbound, and forwards inbound traffic back into the pod's interception.
  if (inboundPort === outboundPort) throw new ValidationError('inboundPort', inboundPort, 'must differ from outboundPort (traffic would loop)');
  if (udp?.inboundPort !== undefined && udp.inboundPort === udp.outboundPort)
    throw new ValidationError('udp.inboundPort', udp.inboundPort, 'must differ from udp.outboundPort (traffic would loop)');
  return {
    mode: opts.mode,
    outboundPort,
    ...(inboundPort === undefined ? {} : { inboundPort }),
    uids: list(ex.uids, 'exclude.uids', (v, f) => validateU32(v, f)),
    gids: list(ex.gids, 'exclude.gids', (v, f) => validateU32(v, f)),
    marks,
    cidrs4: cidrs.filter((c) => c.family === 4).map((c) => c.text),
    cidrs6: cidrs.filter((c) => c.family === 6).map((c) => c.text),
    ports: list(ex.ports, 'exclude.ports', port),
    inboundPorts: list(ex.inboundPorts, 'exclude.inboundPorts', port),
    ...(udp ? { udp } : {}),
    ipv6: opts.ipv6 ?? true,
    mark,
    table,
    rulePriority,
  };
}
