/**
 * VXLAN tunnels (IFLA_VXLAN_*): the overlay device of container networks.
 * Per-remote forwarding is programmed with FDB entries (see neighbour.ts).
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { Attributes } from '../../netlink/parser';
import { formatIp, parseIp, type IpBytes } from '../../validate/ip';
import type { NetlinkWriter } from '../../netlink/writer';
import type { LinkKind } from './kind';

const IFLA_VXLAN_ID = 1;
const IFLA_VXLAN_GROUP = 2;
const IFLA_VXLAN_LINK = 3;
const IFLA_VXLAN_LOCAL = 4;
const IFLA_VXLAN_TTL = 5;
const IFLA_VXLAN_TOS = 6;
const IFLA_VXLAN_LEARNING = 7;
const IFLA_VXLAN_AGEING = 8;
const IFLA_VXLAN_LIMIT = 9;
const IFLA_VXLAN_PORT_RANGE = 10;
const IFLA_VXLAN_PROXY = 11;
const IFLA_VXLAN_L2MISS = 13;
const IFLA_VXLAN_L3MISS = 14;
const IFLA_VXLAN_PORT = 15;
const IFLA_VXLAN_GROUP6 = 16;
const IFLA_VXLAN_LOCAL6 = 17;
const IFLA_VXLAN_UDP_CSUM = 18;
const IFLA_VXLAN_UDP_ZERO_CSUM6_TX = 19;
const IFLA_VXLAN_UDP_ZERO_CSUM6_RX = 20;
const IFLA_VXLAN_COLLECT_METADATA = 25;
const IFLA_VXLAN_TTL_INHERIT = 28;

/** The IANA VXLAN port; the kernel's own default is the legacy 8472. */
export const VXLAN_DEFAULT_PORT = 4789;

/** `kind: 'vxlan'` options of {@link linkOps.add}. */
export interface VxlanOptions {
  /** The link kind. */
  kind: 'vxlan';
  /** VXLAN network identifier, 0-16777215. */
  vni: number;
  /** Source address of the outer packets. */
  local?: string;
  /** Unicast remote endpoint (point-to-point, or the default destination). */
  remote?: string;
  /** Multicast group for BUM traffic (`ip`'s `group`; named apart from the link `group`); needs `dev`. */
  multicastGroup?: string;
  /** UDP destination port; default 4789 (IANA). Pass 0 for the kernel default (8472). */
  dstPort?: number;
  /** Underlying device for the outer packets. */
  dev?: string | number;
  /** Learn remote MACs from received packets (kernel default on). */
  learning?: boolean;
  /** Outer TTL, 1-255, or "inherit" from the inner packet. */
  ttl?: number | 'inherit';
  /** Outer TOS; 1 means inherit. */
  tos?: number;
  /** UDP checksums on IPv4 outer packets. */
  udpChecksum?: boolean;
  /** IPv6 outer: send zero UDP checksums. */
  udp6ZeroChecksumTx?: boolean;
  /** IPv6 outer: accept zero UDP checksums. */
  udp6ZeroChecksumRx?: boolean;
  /** FDB entry ageing in seconds. */
  ageing?: number;
  /** Maximum number of FDB entries (0 = unlimited). */
  maxAddresses?: number;
  /** UDP source port range. */
  srcPortRange?: {
    /** Lowest source port. */
    low: number;
    /** Highest source port. */
    high: number;
  };
  /** ARP/ND proxy. */
  proxy?: boolean;
  /** Notify user space of unknown destination MACs (netlink L2 miss). */
  l2miss?: boolean;
  /** Notify user space of unknown destination IP addresses (netlink L3 miss). */
  l3miss?: boolean;
  /** Metadata ("external") mode: tunnel parameters come per packet. */
  external?: boolean;
}

/** A VXLAN device's options as the kernel reports them (`Link.info` of a vxlan). */
export interface VxlanInfo {
  /** VXLAN network identifier. */
  vni: number;
  /** Source address of the outer packets. */
  local?: string;
  /** Unicast remote endpoint. */
  remote?: string;
  /** Multicast group for BUM traffic. */
  multicastGroup?: string;
  /** Index of the underlying device. */
  dev?: number;
  /** UDP destination port. */
  dstPort: number;
  /** UDP source port range. */
  srcPortRange?: {
    /** Lowest source port. */
    low: number;
    /** Highest source port. */
    high: number;
  };
  /** Remote MACs are learned from received packets. */
  learning: boolean;
  /** Outer TTL; absent with ttlInherit. */
  ttl?: number;
  /** The outer TTL is inherited from the inner packet. */
  ttlInherit: boolean;
  /** Outer TOS (1: inherited). */
  tos?: number;
  /** FDB entry ageing in seconds. */
  ageing?: number;
  /** Maximum number of FDB entries (0: unlimited). */
  maxAddresses?: number;
  /** ARP/ND proxy on. */
  proxy: boolean;
  /** L2 miss notifications on. */
  l2miss: boolean;
  /** L3 miss notifications on. */
  l3miss: boolean;
  /** UDP checksums on IPv4 outer packets. */
  udpChecksum: boolean;
  /** IPv6 outer: zero UDP checksums sent. */
  udp6ZeroChecksumTx: boolean;
  /** IPv6 outer: zero UDP checksums accepted. */
  udp6ZeroChecksumRx: boolean;
  /** Metadata ("external") mode. */
  external: boolean;
}

function isMulticast(ip: IpBytes): boolean {
  return ip.family === 4 ? (ip.bytes[0] & 0xf0) === 0xe0 : ip.bytes[0] === 0xff;
}

function u8bool(w: { u8(t: number, v: number): unknown }, t: number, v: boolean | undefined): void {
  if (v !== undefined) w.u8(t, v ? 1 : 0);
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

/** What `links.set(ref, { vxlan })` may change: the kernel refuses changing the VNI, local address, ports, device, limit or flags. */
export type VxlanChanges = Pick<VxlanOptions, 'remote' | 'multicastGroup' | 'learning' | 'tos' | 'ageing'> & {
  /** Outer TTL, 1-255 (switching to or from "inherit" is refused by the kernel). */
  ttl?: number;
};

/** The default destination: a unicast remote or a multicast group (which needs `dev` at creation). */
function writeRemote(w: NetlinkWriter, o: Pick<VxlanOptions, 'remote' | 'multicastGroup' | 'dev'>, creating: boolean): void {
  const group = o.multicastGroup;
  if (o.remote !== undefined && group !== undefined) throw new ValidationError('multicastGroup', group, 'give either remote or multicastGroup');
  if (o.remote !== undefined || group !== undefined) {
    const field = o.remote !== undefined ? 'remote' : 'multicastGroup';
    const ip = parseIp(o.remote ?? group, field);
    if (isMulticast(ip) !== (field === 'multicastGroup')) {
      throw new ValidationError(
        field,
        o.remote ?? group,
        field === 'remote' ? 'must be a unicast address (use multicastGroup)' : 'must be a multicast address',
      );
    }
    if (creating && field === 'multicastGroup' && o.dev === undefined) throw new ValidationError('dev', o.dev, 'a multicast group needs the underlying dev');
    w.attr(ip.family === 4 ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, ip.bytes);
  }
}

/** The options both creation and a change write. */
function writeChangeable(w: NetlinkWriter, o: Pick<Partial<VxlanOptions>, 'ttl' | 'tos' | 'learning' | 'ageing' | 'maxAddresses'>): void {
  if (o.ttl !== undefined && o.ttl !== 'inherit') w.u8(IFLA_VXLAN_TTL, checkInt('ttl', o.ttl, 0, 255));
  if (o.tos !== undefined) w.u8(IFLA_VXLAN_TOS, checkInt('tos', o.tos, 0, 255));
  u8bool(w, IFLA_VXLAN_LEARNING, o.learning);
  if (o.ageing !== undefined) w.u32(IFLA_VXLAN_AGEING, checkInt('ageing', o.ageing, 0, 0xffffffff));
  if (o.maxAddresses !== undefined) w.u32(IFLA_VXLAN_LIMIT, checkInt('maxAddresses', o.maxAddresses, 0, 0xffffffff));
}

export const vxlan: LinkKind<VxlanOptions, VxlanInfo> = {
  kind: 'vxlan',
  optionKeys: keysOf<VxlanOptions>()([
    'kind',
    'vni',
    'local',
    'remote',
    'multicastGroup',
    'dstPort',
    'dev',
    'learning',
    'ttl',
    'tos',
    'udpChecksum',
    'ageing',
    'maxAddresses',
    'srcPortRange',
    'proxy',
    'external',
    'udp6ZeroChecksumTx',
    'udp6ZeroChecksumRx',
    'l2miss',
    'l3miss',
  ]),
  references: (o) => (o.dev !== undefined ? [o.dev] : []),
  encode(w, o, ctx) {
    w.u32(IFLA_VXLAN_ID, checkInt('vni', o.vni, 0, 0xffffff));
    writeRemote(w, o, true);
    if (o.local !== undefined) {
      const ip = parseIp(o.local, 'local');
      w.attr(ip.family === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, ip.bytes);
    }
    if (o.dev !== undefined) w.u32(IFLA_VXLAN_LINK, ctx.indexOf(o.dev));
    w.be16(IFLA_VXLAN_PORT, checkInt('dstPort', o.dstPort ?? VXLAN_DEFAULT_PORT, 0, 65535));
    if (o.ttl === 'inherit') w.flag(IFLA_VXLAN_TTL_INHERIT);
    writeChangeable(w, o);
    if (o.srcPortRange !== undefined) {
      const r = Buffer.alloc(4);
      r.writeUInt16BE(checkInt('srcPortRange.low', o.srcPortRange.low, 1, 65535), 0);
      r.writeUInt16BE(checkInt('srcPortRange.high', o.srcPortRange.high, o.srcPortRange.low, 65535), 2);
      w.attr(IFLA_VXLAN_PORT_RANGE, r);
    }
    u8bool(w, IFLA_VXLAN_PROXY, o.proxy);
    u8bool(w, IFLA_VXLAN_L2MISS, o.l2miss);
    u8bool(w, IFLA_VXLAN_L3MISS, o.l3miss);
    u8bool(w, IFLA_VXLAN_UDP_CSUM, o.udpChecksum);
    u8bool(w, IFLA_VXLAN_UDP_ZERO_CSUM6_TX, o.udp6ZeroChecksumTx);
    u8bool(w, IFLA_VXLAN_UDP_ZERO_CSUM6_RX, o.udp6ZeroChecksumRx);
    u8bool(w, IFLA_VXLAN_COLLECT_METADATA, o.external);
  },
  changeKeys: keysOf<VxlanChanges>()(['remote', 'multicastGroup', 'ttl', 'tos', 'learning', 'ageing']),
  encodeChange(w, o) {
    if (o.ttl === 'inherit') throw new ValidationError('ttl', o.ttl, 'the kernel cannot switch an existing vxlan to an inherited TTL');
    writeRemote(w, o, false);
    writeChangeable(w, o);
  },
  decode(a: Attributes): VxlanInfo {
    const bool = (t: number) => (a.u8(t) ?? 0) !== 0;
    const inherit = a.get(IFLA_VXLAN_TTL_INHERIT);
    const info: VxlanInfo = {
      vni: a.u32(IFLA_VXLAN_ID) ?? 0,
      dstPort: a.be16(IFLA_VXLAN_PORT) ?? 0,
      learning: bool(IFLA_VXLAN_LEARNING),
      // A flag when sent, a u8 when the kernel reports it.
      ttlInherit: inherit !== undefined && (inherit.length === 0 || a.u8(IFLA_VXLAN_TTL_INHERIT) !== 0),
      proxy: bool(IFLA_VXLAN_PROXY),
      l2miss: bool(IFLA_VXLAN_L2MISS),
      l3miss: bool(IFLA_VXLAN_L3MISS),
      udpChecksum: bool(IFLA_VXLAN_UDP_CSUM),
      udp6ZeroChecksumTx: bool(IFLA_VXLAN_UDP_ZERO_CSUM6_TX),
      udp6ZeroChecksumRx: bool(IFLA_VXLAN_UDP_ZERO_CSUM6_RX),
      external: bool(IFLA_VXLAN_COLLECT_METADATA),
    };
    const remote = a.get(IFLA_VXLAN_GROUP) ?? a.get(IFLA_VXLAN_GROUP6);
    if (remote?.some((b) => b !== 0)) {
      const ip: IpBytes = { family: remote.length === 4 ? 4 : 6, bytes: remote };
      if (isMulticast(ip)) info.multicastGroup = formatIp(remote);
      else info.remote = formatIp(remote);
    }
    const local = a.get(IFLA_VXLAN_LOCAL) ?? a.get(IFLA_VXLAN_LOCAL6);
    if (local?.some((b) => b !== 0)) info.local = formatIp(local);
    const dev = a.u32(IFLA_VXLAN_LINK);
    if (dev) info.dev = dev;
    const range = a.get(IFLA_VXLAN_PORT_RANGE);
    if (range && range.length >= 4) info.srcPortRange = { low: range.readUInt16BE(0), high: range.readUInt16BE(2) };
    if (!info.ttlInherit) info.ttl = a.u8(IFLA_VXLAN_TTL) ?? 0;
    const tos = a.u8(IFLA_VXLAN_TOS);
    if (tos) info.tos = tos;
    const ageing = a.u32(IFLA_VXLAN_AGEING);
    if (ageing !== undefined) info.ageing = ageing;
    const limit = a.u32(IFLA_VXLAN_LIMIT);
    if (limit) info.maxAddresses = limit;
    return info;
  },
};
