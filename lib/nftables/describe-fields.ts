/**
 * For `describeNftRule`: the names nft gives the header fields a payload
 * expression loads ("ip saddr", "tcp dport"), found by base, offset and
 * length in the protocol the rule has established so far, and the data types
 * of header fields, meta keys and ct keys (how their values print).
 * @module
 */

/** A header field as nft names it. */
export interface PayloadField {
  /** "ip saddr", "tcp dport", ... */
  name: string;
  /** Data type of its values (see describe-values.ts). */
  type: string;
  /** Byte offset in its header. */
  offset: number;
  /** Bytes. */
  len: number;
}

const f = (name: string, type: string, offset: number, len: number): PayloadField => ({ name, type, offset, len });

/** Link layer (ethernet) fields. */
const ETHER = [f('ether daddr', 'ether_addr', 0, 6), f('ether saddr', 'ether_addr', 6, 6), f('ether type', 'ether_type', 12, 2)];

/** Network layer fields by protocol. */
const NETWORK: Record<'ip' | 'ip6', PayloadField[]> = {
  ip: [
    f('ip length', 'integer', 2, 2),
    f('ip id', 'integer', 4, 2),
    f('ip frag-off', 'integer', 6, 2),
    f('ip ttl', 'integer', 8, 1),
    f('ip protocol', 'inet_proto', 9, 1),
    f('ip checksum', 'integer', 10, 2),
    f('ip saddr', 'ipv4_addr', 12, 4),
    f('ip daddr', 'ipv4_addr', 16, 4),
  ],
  ip6: [
    f('ip6 length', 'integer', 4, 2),
    f('ip6 nexthdr', 'inet_proto', 6, 1),
    f('ip6 hoplimit', 'integer', 7, 1),
    f('ip6 saddr', 'ipv6_addr', 8, 16),
    f('ip6 daddr', 'ipv6_addr', 24, 16),
  ],
};

const ports = (proto: string) => [f(`${proto} sport`, 'inet_service', 0, 2), f(`${proto} dport`, 'inet_service', 2, 2)];

/** Transport layer fields by IP protocol number. */
const TRANSPORT: Record<number, PayloadField[]> = {
  6: [
    ...ports('tcp'),
    f('tcp sequence', 'integer', 4, 4),
    f('tcp ackseq', 'integer', 8, 4),
    f('tcp flags', 'tcp_flag', 13, 1),
    f('tcp window', 'integer', 14, 2),
    f('tcp checksum', 'integer', 16, 2),
    f('tcp urgptr', 'integer', 18, 2),
  ],
  17: [...ports('udp'), f('udp length', 'integer', 4, 2), f('udp checksum', 'integer', 6, 2)],
  136: [...ports('udplite'), f('udplite checksum', 'integer', 6, 2)],
  132: [...ports('sctp'), f('sctp vtag', 'integer', 4, 4), f('sctp checksum', 'integer', 8, 4)],
  33: [...ports('dccp')],
  1: [
    f('icmp type', 'icmp_type', 0, 1),
    f('icmp code', 'integer', 1, 1),
    f('icmp checksum', 'integer', 2, 2),
    f('icmp id', 'integer', 4, 2),
    f('icmp sequence', 'integer', 6, 2),
  ],
  58: [
    f('icmpv6 type', 'icmpv6_type', 0, 1),
    f('icmpv6 code', 'integer', 1, 1),
    f('icmpv6 checksum', 'integer', 2, 2),
    f('icmpv6 id', 'integer', 4, 2),
    f('icmpv6 sequence', 'integer', 6, 2),
  ],
};

/** Protocol-independent transport ports (`th`): what nft prints without an l4 protocol match. */
const TH = ports('th');

/** A named header field with where it lives: the one table both the rule builder and describe read. */
export interface LocatedField extends PayloadField {
  base: 'link' | 'network' | 'transport';
  /** The network protocol a network field belongs to. */
  family?: 4 | 6;
  /** The IP protocol a transport field belongs to (none: `th`, any). */
  l4?: number;
}

/** Every named payload field, located. */
export const PAYLOAD_FIELDS: readonly LocatedField[] = [
  ...ETHER.map((x) => ({ ...x, base: 'link' as const })),
  ...NETWORK.ip.map((x) => ({ ...x, base: 'network' as const, family: 4 as const })),
  ...NETWORK.ip6.map((x) => ({ ...x, base: 'network' as const, family: 6 as const })),
  ...Object.entries(TRANSPORT).flatMap(([proto, fields]) => fields.map((x) => ({ ...x, base: 'transport' as const, l4: Number(proto) }))),
  ...TH.map((x) => ({ ...x, base: 'transport' as const })),
];

/** The protocol context a rule has established before a payload load. */
export interface ProtocolContext {
  /** Network protocol: from the table family or a `meta nfproto`/`meta protocol`/`ether type` match. */
  l3?: 'ip' | 'ip6';
  /** Transport protocol number: from a `meta l4proto`/`ip protocol`/`ip6 nexthdr` match. */
  l4?: number;
}

/** A field found for a load, and whether the load covers only its first bytes (an address prefix). */
export interface FieldMatch {
  field: PayloadField;
  /** Bits loaded when the load is a byte-aligned prefix of the field (`ip saddr 10.0.0.0/24` loads 3 bytes). */
  prefixBits?: number;
}

/** Names a payload load; undefined when nft would print it raw (`@nh,96,32`). */
export function findPayloadField(base: string | number, offset: number, len: number, ctx: ProtocolContext): FieldMatch | undefined {
  let fields: PayloadField[] | undefined;
  if (base === 'link') fields = ETHER;
  else if (base === 'network') fields = ctx.l3 ? NETWORK[ctx.l3] : undefined;
  else if (base === 'transport') fields = ctx.l4 !== undefined ? (TRANSPORT[ctx.l4] ?? TH) : TH;
  if (!fields) return undefined;
  const exact = fields.find((x) => x.offset === offset && x.len === len);
  if (exact) return { field: exact };
  // nft loads only the bytes a prefix needs: `ip daddr 10.1.0.0/16` is a 2-byte load at daddr's offset.
  const prefixOf = fields.find((x) => x.offset === offset && len < x.len && (x.type === 'ipv4_addr' || x.type === 'ipv6_addr'));
  return prefixOf ? { field: prefixOf, prefixBits: len * 8 } : undefined;
}

/** A header field narrower than a byte boundary: loaded with its bytes, then masked (`ip dscp`). */
export interface BitField {
  /** "ip dscp" */
  name: string;
  /** Data type of its values. */
  type: string;
  /** Bits the value is shifted left by in the loaded bytes. */
  shift: number;
}

const bits = (name: string, type: string, offset: number, len: number, mask: string, shift: number) => ({ name, type, offset, len, mask, shift });

const BIT_FIELDS: Record<'ip' | 'ip6', Array<ReturnType<typeof bits>>> = {
  ip: [
    bits('ip version', 'integer', 0, 1, 'f0', 4),
    bits('ip hdrlength', 'integer', 0, 1, '0f', 0),
    bits('ip dscp', 'dscp', 1, 1, 'fc', 2),
    bits('ip ecn', 'ecn', 1, 1, '03', 0),
  ],
  ip6: [
    bits('ip6 version', 'integer', 0, 1, 'f0', 4),
    bits('ip6 dscp', 'dscp', 0, 2, '0fc0', 6),
    bits('ip6 ecn', 'ecn', 1, 1, '30', 4),
    bits('ip6 flowlabel', 'integer', 1, 3, '0fffff', 0),
  ],
};

/** A bit field by name ("ip dscp"), with where it lives: for the rule builder. */
export function bitFieldByName(name: string): (BitField & { family: 4 | 6; offset: number; len: number; mask: string }) | undefined {
  for (const l3 of ['ip', 'ip6'] as const) {
    const b = BIT_FIELDS[l3].find((x) => x.name === name);
    if (b) return { ...b, family: l3 === 'ip' ? 4 : 6 };
  }
  return undefined;
}

/** Names a masked network-header load nft writes for a bit field; undefined for other masks. */
export function findBitField(base: string | number, offset: number, len: number, mask: Buffer, ctx: ProtocolContext): BitField | undefined {
  if (base !== 'network' || !ctx.l3) return undefined;
  const hex = mask.toString('hex');
  return BIT_FIELDS[ctx.l3].find((b) => b.offset === offset && b.len === len && b.mask === hex);
}

/** nft's raw payload syntax for a load it has no name for: `@nh,96,32`. */
export function rawPayloadName(base: string | number, offset: number, len: number): string {
  const b = base === 'link' ? 'll' : base === 'network' ? 'nh' : base === 'transport' ? 'th' : base === 'inner' ? 'ih' : String(base);
  return `@${b},${offset * 8},${len * 8}`;
}

/** Data types of meta keys' values. */
export const META_TYPES: Record<string, string> = {
  l4proto: 'inet_proto',
  nfproto: 'nf_proto',
  protocol: 'ether_type',
  mark: 'mark',
  iif: 'iface_index',
  oif: 'iface_index',
  iifname: 'ifname',
  oifname: 'ifname',
  ibrname: 'ifname',
  obrname: 'ifname',
  sdifname: 'ifname',
  iiftype: 'arphrd',
  oiftype: 'arphrd',
  skuid: 'uid',
  skgid: 'gid',
  pkttype: 'pkt_type',
  // The kernel stores these in host byte order (nft: BYTEORDER_HOST_ENDIAN).
  len: 'host_integer',
  priority: 'tc_handle',
  cpu: 'host_integer',
  iifgroup: 'host_integer',
  oifgroup: 'host_integer',
  cgroup: 'host_integer',
  rtclassid: 'host_integer',
  secmark: 'host_integer',
  ibrpvid: 'host_integer',
  sdif: 'iface_index',
  // nft prints these as dates and local times; here their numbers (ns since the epoch, seconds since midnight UTC).
  time: 'host_integer',
  hour: 'host_integer',
  day: 'day',
};
/** Meta keys nft names otherwise than the kernel's key (`meta length`). */
export const META_NAMES: Record<string, string> = { len: 'length' };
/** Meta keys nft prints without the `meta` keyword. */
export const UNQUALIFIED_META = new Set(['iif', 'oif', 'iifname', 'oifname', 'iifgroup', 'oifgroup']);

/** Data types of ct keys' values (addresses depend on the protocol context). */
export const CT_TYPES: Record<string, string> = {
  state: 'ct_state',
  status: 'ct_status',
  direction: 'ct_dir',
  mark: 'mark',
  zone: 'host_integer',
  // Host byte order too; the expiration is in milliseconds, printed as nft's time.
  expiration: 'time',
  packets: 'host_integer',
  bytes: 'host_integer',
  avgpkt: 'host_integer',
  secmark: 'host_integer',
  l3proto: 'nf_proto',
  protocol: 'inet_proto',
  'proto-src': 'inet_service',
  'proto-dst': 'inet_service',
  'ip saddr': 'ipv4_addr',
  'ip daddr': 'ipv4_addr',
  'ip6 saddr': 'ipv6_addr',
  'ip6 daddr': 'ipv6_addr',
};
