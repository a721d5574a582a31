/**
 * The packet fields the rule builder can match on ("ip saddr", "tcp dport",
 * "iifname", "ct state", ...): how each is loaded into a register, its data
 * type, and the protocol match it depends on (nft's implicit dependencies,
 * e.g. `meta nfproto ipv4` before `ip saddr` in an inet table).
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { HOST_LITTLE_ENDIAN } from '../data';
import { hasDataType } from '../datatypes';
import { PAYLOAD_FIELDS } from '../describe-fields';
import { constantExpression, type Expression } from '../expressions/registry';
import type { NftFamily } from '../message';

/** A protocol match a field needs first. */
export interface Dependency {
  /** Identity used to emit it once per rule: "nfproto:2", "l4proto:6", "protocol:2048". */
  key: string;
  expressions: Expression[];
}

export interface Field {
  name: string;
  /** Data type of the field's values (see datatypes.ts). */
  type: string;
  /** Bytes loaded. */
  len: number;
  /** The load of the field into register `dreg`. */
  load(dreg: number): Expression;
  /** Protocol matches needed first, for a table of `family`. */
  deps(family: NftFamily): Dependency[];
}

const meta = (key: string, dreg: number): Expression => ({ type: 'meta', key: key as never, dreg });

/**
 * A field's load and dependencies are the same objects for every rule (made once per register and
 * family, encoded once: registry.ts constantExpression): building a rule then allocates only what
 * differs, which is what a new process, running this in the interpreter, pays for.
 */
function constantField(name: string, type: string, len: number, load: (dreg: number) => Expression, deps: (family: NftFamily) => Dependency[]): Field {
  const loads: Expression[] = [];
  const depsByFamily = new Map<NftFamily, Dependency[]>();
  return {
    name,
    type,
    len,
    load: (dreg) => loads[dreg] ?? (loads[dreg] = constantExpression(load(dreg))),
    deps: (family) => {
      let d = depsByFamily.get(family);
      if (d === undefined) {
        d = deps(family);
        for (const dep of d) dep.expressions.forEach(constantExpression);
        depsByFamily.set(family, d);
      }
      return d;
    },
  };
}

/** The `meta nfproto` (inet) or `meta protocol` (bridge, netdev) match an IPv4 or IPv6 field needs. */
export function nfprotoDep(family: NftFamily, v: 4 | 6): Dependency[] {
  if (family === (v === 4 ? 'ip' : 'ip6')) return [];
  if (family === 'inet') {
    return [
      { key: `nfproto:${v === 4 ? 2 : 10}`, expressions: [meta('nfproto', 1), { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([v === 4 ? 2 : 10]) }] },
    ];
  }
  if (family === 'bridge' || family === 'netdev') {
    const etherType = v === 4 ? 0x0800 : 0x86dd;
    const data = Buffer.alloc(2);
    data.writeUInt16BE(etherType, 0);
    return [{ key: `protocol:${etherType}`, expressions: [meta('protocol', 1), { type: 'cmp', sreg: 1, op: 'eq', data }] }];
  }
  throw new ValidationError('match', `ip${v === 6 ? '6' : ''}`, `IPv${v} fields cannot be matched in a ${family} table`);
}

/** The `meta l4proto <proto>` dependency of transport fields. */
export function l4Dep(proto: number): Dependency {
  return { key: `l4proto:${proto}`, expressions: [meta('l4proto', 1), { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([proto]) }] };
}

/** Link-layer fields need `meta iiftype ether` outside bridge tables (as nft adds it). */
function etherDep(family: NftFamily): Dependency[] {
  if (family === 'bridge') return [];
  const data = Buffer.alloc(2);
  data.writeUInt16LE(1, 0); // ARPHRD_ETHER, host order
  if (!HOST_LITTLE_ENDIAN) data.writeUInt16BE(1, 0);
  return [{ key: 'iiftype:1', expressions: [meta('iiftype', 1), { type: 'cmp', sreg: 1, op: 'eq', data }] }];
}

function payload(name: string, type: string, base: 'link' | 'network' | 'transport', offset: number, len: number, deps: Field['deps']): Field {
  return constantField(name, type, len, (dreg) => ({ type: 'payload', base, offset, len, dreg }), deps);
}

function metaField(name: string, key: string, type: string, len: number): Field {
  return constantField(
    name,
    type,
    len,
    (dreg) => meta(key, dreg),
    () => [],
  );
}

function ctField(name: string, key: string, type: string, len: number): Field {
  return constantField(
    name,
    type,
    len,
    (dreg) => ({ type: 'ct', key: key as never, dreg }),
    () => [],
  );
}

const ICMP = 1;
const ICMPV6 = 58;

/** The payload fields describe names too (one table, in describe-fields.ts), those whose values the builder can write. */
const PAYLOAD: Field[] = PAYLOAD_FIELDS.filter((p) => hasDataType(p.type)).map((p) =>
  payload(p.name, p.type, p.base, p.offset, p.len, (family) => {
    if (p.base === 'link') return etherDep(family);
    if (p.family !== undefined) return nfprotoDep(family, p.family);
    // ICMP belongs to one IP version: nft matches that version first.
    if (p.l4 === ICMP || p.l4 === ICMPV6) return [...nfprotoDep(family, p.l4 === ICMP ? 4 : 6), l4Dep(p.l4)];
    return p.l4 !== undefined ? [l4Dep(p.l4)] : [];
  }),
);

const FIELDS: Field[] = [
  ...PAYLOAD,
  metaField('meta l4proto', 'l4proto', 'inet_proto', 1),
  metaField('meta nfproto', 'nfproto', 'nf_proto', 1),
  metaField('meta protocol', 'protocol', 'ether_type', 2),
  metaField('meta mark', 'mark', 'mark', 4),
  metaField('meta iifname', 'iifname', 'ifname', 16),
  metaField('meta oifname', 'oifname', 'ifname', 16),
  metaField('meta iif', 'iif', 'iface_index', 4),
  metaField('meta oif', 'oif', 'iface_index', 4),
  metaField('meta skuid', 'skuid', 'uid', 4),
  metaField('meta skgid', 'skgid', 'gid', 4),
  metaField('meta pkttype', 'pkttype', 'pkt_type', 1),
  ctField('ct state', 'state', 'ct_state', 4),
  ctField('ct status', 'status', 'ct_status', 4),
  ctField('ct mark', 'mark', 'mark', 4),
  ctField('ct direction', 'direction', 'ct_dir', 1),
];

/** Short names nft also accepts. */
const ALIASES: Record<string, string> = {
  l4proto: 'meta l4proto',
  nfproto: 'meta nfproto',
  mark: 'meta mark',
  iifname: 'meta iifname',
  oifname: 'meta oifname',
  iif: 'meta iif',
  oif: 'meta oif',
  skuid: 'meta skuid',
  skgid: 'meta skgid',
  pkttype: 'meta pkttype',
};

const byName = new Map(FIELDS.map((f) => [f.name, f]));

/** A field name: "ip saddr", "tcp dport", "iifname", "ct state", ... */
export type FieldName =
  | 'ip saddr'
  | 'ip daddr'
  | 'ip protocol'
  | 'ip ttl'
  | 'ip6 saddr'
  | 'ip6 daddr'
  | 'ip6 nexthdr'
  | 'ip6 hoplimit'
  | 'icmp type'
  | 'icmp code'
  | 'icmpv6 type'
  | 'icmpv6 code'
  | 'tcp sport'
  | 'tcp dport'
  | 'udp sport'
  | 'udp dport'
  | 'sctp sport'
  | 'sctp dport'
  | 'th sport'
  | 'th dport'
  | 'ether saddr'
  | 'ether daddr'
  | 'ether type'
  | 'meta l4proto'
  | 'meta nfproto'
  | 'meta protocol'
  | 'meta mark'
  | 'meta iifname'
  | 'meta oifname'
  | 'meta iif'
  | 'meta oif'
  | 'meta skuid'
  | 'meta skgid'
  | 'meta pkttype'
  | 'ct state'
  | 'ct status'
  | 'ct mark'
  | 'ct direction'
  | 'l4proto'
  | 'nfproto'
  | 'mark'
  | 'iifname'
  | 'oifname'
  | 'iif'
  | 'oif'
  | 'skuid'
  | 'skgid'
  | 'pkttype';

export function fieldByName(name: string): Field {
  const f = byName.get(ALIASES[name] ?? name);
  if (!f) throw new ValidationError('field', name, `unknown field; known: ${[...byName.keys()].join(', ')}`);
  return f;
}

/** ct state bits (NF_CT_STATE_BIT, IP_CT_UNTRACKED). */
export const CT_STATE_BITS: Record<string, number> = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };
/** ct status bits (IPS_*). */
export const CT_STATUS_BITS: Record<string, number> = {
  expected: 1,
  'seen-reply': 2,
  assured: 4,
  confirmed: 8,
  snat: 16,
  dnat: 32,
  dying: 512,
};
export const CT_DIRECTIONS: Record<string, number> = { original: 0, reply: 1 };
export const NFPROTO_NAMES: Record<string, number> = { ipv4: 2, ipv6: 10 };
