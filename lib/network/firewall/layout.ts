/**
 * The layout of nlkit's table `inet nlkit`, computed from the recorded
 * state: its chains, sets and maps (with their elements) and rules, in
 * order. Writing the table (firewall.ts) and comparing it with the kernel
 * (firewall/compare.ts) both start from this one description, so what is
 * checked is exactly what is written.
 *
 * The forward path is closed by default: a packet entering a bridge from
 * another interface is accepted only as a reply (ct state
 * established,related) coming from outside the nlkit networks, as a
 * published port's DNAT (ct status dnat: the client's direction from
 * anywhere but an internal network, which nothing new leaves, the
 * backend's answers only from the backend's network), from
 * another non-isolated network into a non-isolated one, or into a network
 * that opted out with `routed: true` (from outside). Everything else is
 * dropped (the moby#45610 class: a neighbour that routes the subnet via the
 * host).
 * @module
 */
import { not, rule, type RuleBuilder } from '../../nftables';
import type { NftSet, SetElement } from '../../nftables';
import type { HostState, NetworkRecord, PublicationRecord } from '../state';

export const FIREWALL_TABLE = 'nlkit';
export const FAMILY = 'inet' as const;
export const TABLE = { family: FAMILY, table: FIREWALL_TABLE };

/** The user's chain (the DOCKER-USER equivalent): jumped to first in the forward path, never flushed by nlkit. */
export const USER_CHAIN = 'user';

/** nlkit's chains, each with its hook (none: a regular chain). */
export const CHAINS = [
  { name: 'guard', type: 'filter', hook: 'prerouting', priority: 'raw' },
  { name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat' },
  { name: 'output', type: 'nat', hook: 'output', priority: 'dstnat' },
  { name: 'publish' },
  { name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' },
  { name: 'forward', type: 'filter', hook: 'forward', priority: 'filter' },
] as const;
export type ChainName = (typeof CHAINS)[number]['name'];

/** Maps of single-backend publications: (proto . port) or (host ip . proto . port) → backend ip . port. */
export const MAPS = {
  pub4: { keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] },
  pub4a: { keyType: ['ipv4_addr', 'inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] },
  pub6: { keyType: ['inet_proto', 'inet_service'], dataType: ['ipv6_addr', 'inet_service'] },
  pub6a: { keyType: ['ipv6_addr', 'inet_proto', 'inet_service'], dataType: ['ipv6_addr', 'inet_service'] },
} as const;
export type MapName = keyof typeof MAPS;

/** Interface-name sets: every nlkit bridge, and the bridges of non-isolated networks (they accept each other's traffic). */
export const IFNAME_SETS = ['bridges', 'open'] as const;
export type IfnameSetName = (typeof IFNAME_SETS)[number];

/** One rule of the layout: where it goes and whom it belongs to (for drift reports). */
export interface LayoutRule {
  chain: ChainName;
  rule: RuleBuilder;
  /** The network it belongs to; undefined for the table's own rules. */
  network?: string;
  /** What it is, for people: "masquerade of web", "127/8 guard". */
  what: string;
}

/** One element of a publication map. */
export interface MapElement {
  map: MapName;
  key: Array<string | number>;
  value: Array<string | number>;
}

/** The whole table as the state wants it. */
export interface Layout {
  rules: LayoutRule[];
  /** Interface-name set → bridge names. */
  ifnameSets: Record<IfnameSetName, string[]>;
  /** Map elements with the publication each belongs to. */
  elements: Array<MapElement & { publication: PublicationRecord }>;
}

export const netComment = (n: NetworkRecord): string => `net:${n.name}`;
export const pubComment = (p: PublicationRecord): string => `pub:${p.key}`;

/** Backends that take new connections (weight 0 drains: existing flows only). */
export function activeBackends(p: PublicationRecord): PublicationRecord['backends'] {
  return p.backends.filter((b) => b.weight > 0);
}

/** How a publication is expressed: map elements (one active backend, one port) or rules. */
export function usesMap(p: PublicationRecord): boolean {
  return activeBackends(p).length === 1 && p.hostPortEnd === undefined;
}

/** Whether a network accepts new connections from other non-isolated networks. */
export function isOpen(n: NetworkRecord): boolean {
  return !n.isolate && !n.internal;
}

function hostFamily(p: PublicationRecord): 4 | 6 | undefined {
  if (!p.hostIp) return undefined;
  return p.hostIp.includes(':') ? 6 : 4;
}

/** The map elements of a single-backend publication. */
export function mapElements(p: PublicationRecord): MapElement[] {
  const b = activeBackends(p)[0];
  const fam = hostFamily(p);
  const out: MapElement[] = [];
  if (b.ipv4 && fam !== 6) {
    out.push(
      p.hostIp
        ? { map: 'pub4a', key: [p.hostIp, p.protocol, p.hostPort], value: [b.ipv4, b.port] }
        : { map: 'pub4', key: [p.protocol, p.hostPort], value: [b.ipv4, b.port] },
    );
  }
  if (b.ipv6 && fam !== 4) {
    out.push(
      p.hostIp
        ? { map: 'pub6a', key: [p.hostIp, p.protocol, p.hostPort], value: [b.ipv6, b.port] }
        : { map: 'pub6', key: [p.protocol, p.hostPort], value: [b.ipv6, b.port] },
    );
  }
  return out;
}

/**
 * The rules of a publication that is not a map element: weighted backends
 * or a port range (one rule per address family its backends have), or a
 * drained one (every weight 0): new connections are refused (TCP reset,
 * ICMP port unreachable) so they neither hang nor reach a host process.
 */
export function publicationRules(p: PublicationRecord): RuleBuilder[] {
  const out: RuleBuilder[] = [];
  const fam = hostFamily(p);
  const ports = p.hostPortEnd !== undefined ? `${p.hostPort}-${p.hostPortEnd}` : p.hostPort;
  const active = activeBackends(p);
  for (const family of [4, 6] as const) {
    if (fam && fam !== family) continue;
    const addrs = active.map((b) => (family === 4 ? b.ipv4 : b.ipv6));
    if (!addrs.every((a): a is string => !!a)) continue;
    if (active.length === 0 && !p.backends.some((b) => (family === 4 ? b.ipv4 : b.ipv6))) continue;
    let r = rule().nfproto(family === 4 ? 'ipv4' : 'ipv6');
    if (p.hostIp) r = family === 4 ? r.ip({ daddr: p.hostIp }) : r.ip6({ daddr: p.hostIp });
    r = p.protocol === 'tcp' ? r.tcp({ dport: ports }) : r.udp({ dport: ports });
    if (active.length === 0) {
      r = p.protocol === 'tcp' ? r.reject({ with: 'tcp reset' }) : r.reject();
    } else if (active.length === 1) {
      // A range keeps each connection's port (the container listens on the same range).
      const b = active[0];
      r = p.hostPortEnd !== undefined ? r.dnat({ to: addrs[0] }) : r.dnat({ to: addrs[0], port: b.port });
    } else {
      r = r.dnatWeighted(active.map((b, i) => ({ to: addrs[i], port: b.port, weight: b.weight })));
    }
    out.push(r.comment(pubComment(p)));
  }
  return out;
}

/** A network's masquerade: traffic from its subnet leaving through an interface that is no nlkit bridge, except to the excluded destinations. */
function masqueradeRule(n: NetworkRecord, v6: boolean): RuleBuilder {
  const subnet = v6 ? n.subnet6 : n.subnet;
  const exclude = (n.masqueradeExclude ?? []).filter((c) => c.includes(':') === v6);
  let r = v6 ? rule().ip6({ saddr: subnet }) : rule().ip({ saddr: subnet });
  if (exclude.length) r = v6 ? r.ip6({ daddr: not(exclude) }) : r.ip({ daddr: not(exclude) });
  return r.oifname(not('@bridges')).masquerade().comment(netComment(n));
}

/** A network's rules: masquerade, hairpin, and its part of the forward path. */
export function networkRules(n: NetworkRecord): LayoutRule[] {
  const out: LayoutRule[] = [];
  const c = netComment(n);
  const add = (chain: ChainName, r: RuleBuilder, what: string) => out.push({ chain, rule: r.comment(c), network: n.name, what: `${what} of ${n.name}` });
  if (n.masquerade) {
    add('postrouting', masqueradeRule(n, false), 'masquerade');
    if (n.subnet6) add('postrouting', masqueradeRule(n, true), 'IPv6 masquerade');
  }
  // Hairpin: a container reaching a published port of its own network through
  // the host must see replies come back through the host, not directly. Match
  // addresses, not interfaces: with bridge netfilter the DNATed packet may be
  // bridged (ports as in/out devices) rather than routed. SNAT to the gateway
  // explicitly, since a bridge port has no address to masquerade to.
  add('postrouting', rule().ct({ status: 'dnat' }).ip({ saddr: n.subnet, daddr: n.subnet }).snat({ to: n.gateway }), 'hairpin');
  if (n.subnet6 && n.gateway6) {
    add('postrouting', rule().ct({ status: 'dnat' }).ip6({ saddr: n.subnet6, daddr: n.subnet6 }).snat({ to: n.gateway6 }), 'IPv6 hairpin');
  }
  // Leaving: an internal network keeps to itself (to another network, crossingRules() already dropped it).
  if (n.internal) add('forward', rule().iifname(n.bridge).oifname(not(n.bridge)).drop(), 'internal isolation');
  // icc: false with bridge netfilter on (the bridge hands bridged frames to this hook): nothing new between two ports of the bridge.
  if (n.icc === false) add('forward', rule().iifname(n.bridge).oifname(n.bridge).drop(), 'icc: false');
  // Entering from another interface (replies and published ports were accepted before). A routed network is
  // reachable from outside; from the other nlkit networks as configured (crossingRules() of the closed ones).
  if (!n.routed) {
    const r = rule().oifname(n.bridge);
    add('forward', (n.internal || n.isolate ? r.iifname(not(n.bridge)) : r.iifname(not('@open'))).drop(), 'inbound protection');
  }
  return out;
}

/**
 * An isolated (or internal) network's border with the other nlkit networks,
 * evaluated after published ports' DNAT was accepted (the only traffic that
 * crosses it, in either direction; its replies only from the backend's
 * network, see publishedReplyRules()) and before replies are. Conntrack knows
 * no interfaces: a container that sends what looks like the reply of another
 * network's connection (the peer's address and port, to the host address it
 * was masqueraded to) matches that connection, is translated back to the
 * other container and would be accepted as established. A reply comes in
 * through the uplink; through another bridge it is a forgery.
 */
function crossingRules(n: NetworkRecord): LayoutRule[] {
  if (!n.internal && !n.isolate) return [];
  const c = netComment(n);
  return [
    {
      chain: 'forward',
      rule: rule().iifname(n.bridge).oifname(not(n.bridge)).oifname('@bridges').drop().comment(c),
      network: n.name,
      what: `outbound isolation of ${n.name}`,
    },
    {
      chain: 'forward',
      rule: rule().oifname(n.bridge).iifname(not(n.bridge)).iifname('@bridges').drop().comment(c),
      network: n.name,
      what: `inbound isolation of ${n.name}`,
    },
  ];
}

/**
 * An internal network's way out, closed before anything is accepted:
 * nothing new leaves its bridge for another interface, not even a
 * connection to a host address's published port (DNATed to a container of
 * another network, it would otherwise be accepted with every published
 * connection). Its own published ports stay reachable from inside (hairpin:
 * the DNATed packet goes back out through the same bridge), and what other
 * networks or the outside start towards it (its published ports, a routed
 * network's neighbours) is answered: replies travel in the reply direction.
 * Docker's equivalent drops whatever leaves an internal network for a
 * destination outside its subnet, published ports of other networks
 * included.
 */
function internalEgressRules(n: NetworkRecord): LayoutRule[] {
  if (!n.internal) return [];
  return [
    {
      chain: 'forward',
      rule: rule().ct({ direction: 'original' }).iifname(n.bridge).oifname(not(n.bridge)).drop().comment(netComment(n)),
      network: n.name,
      what: `no way out of ${n.name}`,
    },
  ];
}

/**
 * Where a network's published ports may answer from. Conntrack knows no
 * interfaces: a container of any network that sends what looks like the
 * reply of a published connection (the backend's address and port, to the
 * client's) matches it, is translated back to the published host address
 * and reaches the client — out of an isolated or internal network, or into
 * another one. A backend is a container of the publication's network, so a
 * genuine reply comes in through that network's bridge with a source in its
 * subnet; every other reply-direction DNAT packet from a bridge is dropped
 * after these (tableRules()). The source is checked only for the reply
 * direction: the client's direction is accepted from anywhere (a published
 * port is open to every network), and checking every packet's source would
 * also drop what a container legitimately routes (a VPN or router
 * container), which published replies never are. One consequence: a
 * sandbox on several networks must answer a port published on one of them
 * through that network (its default route there, or a route to the client),
 * as Docker publishes only on the network of the default route.
 */
function publishedReplyRules(n: NetworkRecord): LayoutRule[] {
  const c = netComment(n);
  const reply = () => rule().ct({ status: 'dnat', direction: 'reply' }).iifname(n.bridge);
  const out: LayoutRule[] = [
    { chain: 'forward', rule: reply().ip({ saddr: n.subnet }).accept().comment(c), network: n.name, what: `replies of published ports of ${n.name}` },
  ];
  if (n.subnet6) {
    out.push({
      chain: 'forward',
      rule: reply().ip6({ saddr: n.subnet6 }).accept().comment(c),
      network: n.name,
      what: `IPv6 replies of published ports of ${n.name}`,
    });
  }
  return out;
}

/** The table's own rules (not of a network) that come before / after the networks' ones, by chain. */
function tableRules(): { head: LayoutRule[]; published: LayoutRule[]; forged: LayoutRule[]; accepts: LayoutRule[]; tail: LayoutRule[] } {
  const head: LayoutRule[] = [];
  const published: LayoutRule[] = []; // after the internal networks' way out (internalEgressRules())
  const forged: LayoutRule[] = []; // after the networks' published replies
  const accepts: LayoutRule[] = []; // after the networks' crossing rules
  const tail: LayoutRule[] = [];
  const add = (list: LayoutRule[], chain: ChainName, r: RuleBuilder, what: string) => list.push({ chain, rule: r, what });
  // Ports published on 127.0.0.1 need route_localnet on the bridges; never
  // let packets for 127/8 in from anywhere but loopback (CVE-2020-8558).
  add(head, 'guard', rule().iifname(not('lo')).ip({ daddr: '127.0.0.0/8' }).drop(), '127/8 guard');
  // IPv6 has no route_localnet: DNATed to a container, a connection from ::1
  // to ::1 would keep its loopback source and be lost (the client hangs). It
  // stays on the host: a host process on the port answers, else it is refused.
  // (Packets for ::1 arrive only through lo, so prerouting needs no such rule.)
  add(head, 'output', rule().ip6({ daddr: '::1' }).return(), '::1 stays on the host');
  for (const chain of ['prerouting', 'output'] as const) {
    add(
      head,
      chain,
      rule()
        .fib({ lookup: ['daddr'], type: 'local' })
        .jump('publish'),
      `jump to publish from ${chain}`,
    );
  }
  const maps = [
    ['ipv4', ['ip daddr', 'meta l4proto', 'th dport'], '@pub4a', 'ip'],
    ['ipv4', ['meta l4proto', 'th dport'], '@pub4', 'ip'],
    ['ipv6', ['ip6 daddr', 'meta l4proto', 'th dport'], '@pub6a', 'ip6'],
    ['ipv6', ['meta l4proto', 'th dport'], '@pub6', 'ip6'],
  ] as const;
  for (const [proto, fields, entries, family] of maps) {
    add(
      tail,
      'publish',
      rule()
        .nfproto(proto)
        .dnatMap({ fields: [...fields], entries, family }),
      `lookup in ${entries}`,
    );
  }
  add(head, 'postrouting', rule().ip({ saddr: '127.0.0.0/8' }).oifname('@bridges').masquerade(), 'masquerade of 127/8');
  add(head, 'forward', rule().jump(USER_CHAIN), `jump to ${USER_CHAIN}`);
  // Published traffic may cross networks (it was let in by the host), before the networks' crossing rules:
  // the client's direction from anywhere but an internal network, the backend's only from its own network
  // (publishedReplyRules()).
  add(published, 'forward', rule().ct({ status: 'dnat', direction: 'original' }).accept(), 'accept published ports');
  add(forged, 'forward', rule().ct({ status: 'dnat', direction: 'reply' }).iifname('@bridges').drop(), 'forged replies of published ports');
  add(
    accepts,
    'forward',
    rule()
      .ct({ state: ['established', 'related'] })
      .accept(),
    'accept replies',
  );
  return { head, published, forged, accepts, tail };
}

/** The table `st` wants. */
export function layout(st: HostState): Layout {
  const nets = Object.values(st.networks);
  const { head, published, forged, accepts, tail } = tableRules();
  const rules: LayoutRule[] = [
    ...head,
    ...nets.flatMap(internalEgressRules),
    ...published,
    ...nets.flatMap(publishedReplyRules),
    ...forged,
    ...nets.flatMap(crossingRules),
    ...accepts,
  ];
  // Weighted, ranged and drained publications come first in `publish`, before the map lookups.
  for (const p of Object.values(st.publications)) {
    if (!usesMap(p)) for (const r of publicationRules(p)) rules.push({ chain: 'publish', rule: r, network: p.network, what: `publication ${p.key}` });
  }
  for (const n of nets) rules.push(...networkRules(n));
  rules.push(...tail);
  const elements: Layout['elements'] = [];
  for (const p of Object.values(st.publications)) if (usesMap(p)) for (const e of mapElements(p)) elements.push({ ...e, publication: p });
  return {
    rules: CHAINS.flatMap((c) => rules.filter((r) => r.chain === c.name)),
    ifnameSets: { bridges: nets.map((n) => n.bridge), open: nets.filter(isOpen).map((n) => n.bridge) },
    elements,
  };
}

/** The definitions of nlkit's named sets and maps. */
export function setDefinitions(): NftSet[] {
  return [
    ...IFNAME_SETS.map((name) => ({ ...TABLE, name, keyType: 'ifname' as const })),
    ...Object.entries(MAPS).map(([name, m]) => ({ ...TABLE, name, keyType: [...m.keyType], dataType: [...m.dataType] })),
  ];
}

/** A map element as a transaction writes it. */
export function toSetElement(e: MapElement): SetElement {
  return { key: e.key, value: e.value };
}
