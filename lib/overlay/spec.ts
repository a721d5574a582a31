/**
 * What an overlay is made of: this host's side (its subnet of the cluster
 * CIDR, its underlay address) and the peers, as a membership store hands
 * them over. Checked here, before anything is sent.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatCidr, formatIp, formatMac, networkOf, parseCidr, parseIp, parseMac, type Cidr } from '../validate/ip';
import { isObject, keysOf, rejectUnknownKeys } from '../validate/options';
import type { LinkRef } from '../rtnetlink/link';
import { specialIpKind } from '../services/special-ips';
import { firstOverlap, overlaps, rangeOf, type Range } from './overlap';

/** How peers are reached. */
export type OverlayMode = 'vxlan' | 'host-gw';

/** This host's side of an overlay (see `createOverlay`). */
export interface OverlaySpec {
  /** The cluster's IPv4 CIDR that every host's subnet lies in, e.g. "10.244.0.0/16"; traffic inside it is never masqueraded. */
  clusterCidr: string;
  /** This host's subnet of the cluster CIDR, e.g. "10.244.3.0/24" (its container network's subnet). */
  subnet: string;
  /** The underlay: the interface the hosts reach each other through and this host's address on it (IPv4 or IPv6). */
  underlay: {
    /** The underlay interface (name or index). */
    link: LinkRef;
    /** This host's underlay address, the one peers send to. */
    address: string;
  };
  /** "vxlan" (default): encapsulated, any routed underlay. "host-gw": plain routes via the peers' underlay addresses; the hosts must share an L2 underlay (and an IPv4 one). */
  mode?: OverlayMode;
  /** The VXLAN device's name; default "nlk-vx<vni>". */
  device?: string;
  /** VXLAN network identifier; default 1 (flannel's). */
  vni?: number;
  /** VXLAN UDP port; default 8472 (the kernel's and flannel's). */
  port?: number;
}

/** A host of the overlay as the membership store holds it: what `Overlay.self()` returns and `apply`/`join` take. */
export interface OverlayPeer {
  /** A name unique in the cluster (the host name, the Node name). */
  name: string;
  /** Its subnet of the cluster CIDR. */
  subnet: string;
  /** Its underlay address (IPv4 or IPv6, the family of this host's). */
  underlay: string;
  /** Its VXLAN device's MAC (vxlan mode): a unicast MAC, as `self()` gives it. */
  mac?: string;
}

/** A spec checked and normalised. */
export interface ParsedOverlaySpec {
  mode: OverlayMode;
  cluster: Cidr;
  clusterCidr: string;
  subnet: string;
  /** The VTEP address: the subnet's first address, as flannel puts it on its device (a /32). */
  vtep: string;
  underlayLink: LinkRef;
  underlayAddress: string;
  underlayFamily: 4 | 6;
  device: string;
  vni: number;
  port: number;
}

/** A peer checked and normalised (addresses as the kernel prints them). */
export interface ParsedPeer {
  name: string;
  subnet: string;
  vtep: string;
  underlay: string;
  mac: string;
}

const SPEC_KEYS = keysOf<OverlaySpec>()(['clusterCidr', 'subnet', 'underlay', 'mode', 'device', 'vni', 'port']);
const UNDERLAY_KEYS = ['link', 'address'];
const PEER_KEYS = keysOf<OverlayPeer>()(['name', 'subnet', 'underlay', 'mac']);

function inCluster(cluster: Cidr, s: unknown, field: string): { subnet: string; vtep: string } {
  const c = networkOf(parseCidr(s, field, { family: 4 }));
  if (
    c.prefixLength < cluster.prefixLength ||
    formatCidr(networkOf({ ...c, prefixLength: cluster.prefixLength }).bytes, cluster.prefixLength) !== formatCidr(cluster.bytes, cluster.prefixLength)
  )
    throw new ValidationError(field, s, `must lie inside the cluster CIDR ${formatCidr(cluster.bytes, cluster.prefixLength)}`);
  if (c.prefixLength > 30) throw new ValidationError(field, s, 'must be a /30 or larger (it holds the VTEP address, a gateway and containers)');
  return { subnet: formatCidr(c.bytes, c.prefixLength), vtep: formatIp(c.bytes) };
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

/** The MAC a VTEP gets: 0a:58 and its IPv4 address (the convention of Kubernetes' bridges), stable across restarts so peers' entries stay right. */
export function vtepMac(vtep: string): string {
  return formatMac(Buffer.from([0x0a, 0x58, ...parseIp(vtep, 'vtep', 4).bytes]));
}

/** Checks an overlay spec (a ValidationError naming the field otherwise). */
export function parseOverlaySpec(spec: OverlaySpec): ParsedOverlaySpec {
  if (!isObject(spec)) throw new ValidationError('overlay spec', spec, 'must be an object');
  rejectUnknownKeys(spec, SPEC_KEYS, 'overlay spec');
  const mode = spec.mode ?? 'vxlan';
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (mode !== 'vxlan' && mode !== 'host-gw') throw new ValidationError('mode', mode, 'must be "vxlan" or "host-gw"');
  const cluster = networkOf(parseCidr(spec.clusterCidr, 'clusterCidr', { family: 4 }));
  const own = inCluster(cluster, spec.subnet, 'subnet');
  if (!isObject(spec.underlay)) throw new ValidationError('underlay', spec.underlay, 'must be an object with link and address');
  rejectUnknownKeys(spec.underlay, UNDERLAY_KEYS, 'underlay');
  const link = spec.underlay.link as unknown;
  if (typeof link !== 'string' && typeof link !== 'number') throw new ValidationError('underlay.link', link, 'must be an interface name or index');
  const address = parseIp(spec.underlay.address, 'underlay.address');
  if (mode === 'host-gw' && address.family !== 4) throw new ValidationError('underlay.address', spec.underlay.address, 'host-gw mode needs an IPv4 underlay');
  const vni = spec.vni === undefined ? 1 : checkInt('vni', spec.vni, 0, 0xffffff);
  const device = spec.device ?? `nlk-vx${vni}`;
  if (typeof device !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(device))
    throw new ValidationError('device', device, 'must be an interface name of 1-15 characters');
  return {
    mode,
    cluster,
    clusterCidr: formatCidr(cluster.bytes, cluster.prefixLength),
    subnet: own.subnet,
    vtep: own.vtep,
    underlayLink: link,
    underlayAddress: formatIp(address.bytes),
    underlayFamily: address.family,
    device,
    vni,
    port: spec.port === undefined ? 8472 : checkInt('port', spec.port, 1, 65535),
  };
}

/** Checks a peer against the spec (a ValidationError naming the field otherwise). */
export function parsePeer(spec: ParsedOverlaySpec, peer: OverlayPeer): ParsedPeer {
  if (!isObject(peer)) throw new ValidationError('peer', peer, 'must be an object with name, subnet, underlay and mac');
  rejectUnknownKeys(peer, PEER_KEYS, 'peer');
  if (typeof peer.name !== 'string' || peer.name === '') throw new ValidationError('peer.name', peer.name, 'must be a non-empty string');
  const { subnet, vtep } = inCluster(spec.cluster, peer.subnet, 'peer.subnet');
  // The membership store is untrusted: a peer must not claim the whole cluster, or any address of this host's subnet (its VTEP among them).
  if (subnet === spec.clusterCidr) throw new ValidationError('peer.subnet', peer.subnet, `is the whole cluster CIDR (peer ${peer.name})`);
  if (subnet === spec.subnet) throw new ValidationError('peer.subnet', peer.subnet, `is this host's own subnet (peer ${peer.name})`);
  if (overlaps(rangeOf(subnet) as Range, rangeOf(spec.subnet) as Range))
    throw new ValidationError('peer.subnet', peer.subnet, `overlaps this host's subnet ${spec.subnet} (peer ${peer.name})`);
  const underlayIp = parseIp(peer.underlay, 'peer.underlay', spec.underlayFamily);
  const underlay = formatIp(underlayIp.bytes);
  // The FDB entry sends the peer's traffic there: to a group (multicast, broadcast), back to this host (loopback) or nowhere (unspecified) is no host.
  const kind = specialIpKind(underlayIp.bytes);
  if (kind !== undefined && kind !== 'link-local')
    throw new ValidationError('peer.underlay', peer.underlay, `is a ${kind} address, not one host's underlay address (peer ${peer.name})`);
  if (underlay === spec.underlayAddress) throw new ValidationError('peer.underlay', peer.underlay, `is this host's own underlay address (peer ${peer.name})`);
  let mac = '';
  if (spec.mode === 'vxlan') {
    if (peer.mac === undefined) throw new ValidationError('peer.mac', peer.mac, `is needed in vxlan mode (peer ${peer.name})`);
    const bytes = parseMac(peer.mac, 'peer.mac');
    // A VTEP is one host: the all-zero MAC is the device's flooding entry, and the kernel refuses to replace it or a multicast MAC in place (EOPNOTSUPP), after the peers before it were written.
    if ((bytes[0] & 1) !== 0 || bytes.every((b) => b === 0))
      throw new ValidationError('peer.mac', peer.mac, `must be a unicast MAC, not the all-zero or a multicast one (peer ${peer.name})`);
    mac = formatMac(bytes);
    if (mac === vtepMac(spec.vtep)) throw new ValidationError('peer.mac', peer.mac, `is this host's own VTEP MAC (peer ${peer.name})`);
  }
  return { name: peer.name, subnet, vtep, underlay, mac };
}

/**
 * A peer's subnet shares no address with any other's, and no two peers have
 * one VTEP MAC (a ValidationError naming both otherwise): the FDB entry is
 * keyed by the MAC, so a second peer with it would take the first's traffic.
 */
export function checkNoOverlap(peers: Iterable<ParsedPeer>): void {
  const list = [...peers];
  const pair = firstOverlap(list);
  if (pair) {
    const [a, b] = pair;
    const how = a.subnet === b.subnet ? `is given to ${a.name} and ${b.name}` : `overlaps ${a.subnet} of peer ${a.name} (peer ${b.name})`;
    throw new ValidationError('peer.subnet', b.subnet, how);
  }
  const byMac = new Map<string, ParsedPeer>();
  for (const p of list) {
    if (p.mac === '') continue; // host-gw mode: no MAC
    const other = byMac.get(p.mac);
    if (other) throw new ValidationError('peer.mac', p.mac, `is the VTEP MAC of peer ${other.name} too (peer ${p.name})`);
    byMac.set(p.mac, p);
  }
}

/** Checks a whole membership: every peer, no name twice, and no two subnets that overlap. */
export function parsePeers(spec: ParsedOverlaySpec, peers: readonly OverlayPeer[]): Map<string, ParsedPeer> {
  if (!Array.isArray(peers)) throw new ValidationError('peers', peers, 'must be an array of peers');
  const out = new Map<string, ParsedPeer>();
  for (const p of peers as unknown[]) {
    const parsed = parsePeer(spec, p as OverlayPeer);
    if (out.has(parsed.name)) throw new ValidationError('peer.name', parsed.name, 'is given twice');
    out.set(parsed.name, parsed);
  }
  checkNoOverlap(out.values());
  return out;
}

/** Two parsed peers program the same entries. */
export function samePeer(a: ParsedPeer, b: ParsedPeer): boolean {
  return a.subnet === b.subnet && a.underlay === b.underlay && a.mac === b.mac;
}

/** Two versions of a peer have their entries under the same keys (subnet, MAC): the newer replaces the older in place. */
export function sameKeys(a: ParsedPeer, b: ParsedPeer): boolean {
  return a.subnet === b.subnet && a.mac === b.mac;
}
