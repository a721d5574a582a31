/**
 * nlkit's own nftables table (`inet nlkit`) in the host namespace: outbound
 * masquerade, isolation between networks, internal networks, hairpin, and
 * published ports. Laid out so the frequent changes are small:
 * - attaching a container changes no rule at all;
 * - publishing a port to one backend adds one map element (constant time,
 *   whatever else is published); several weighted backends or a port range
 *   add one rule, re-weighting replaces that rule atomically;
 * - creating or deleting a network (rare) rewrites the table in one atomic
 *   transaction, which is also how an external `nft flush ruleset` is repaired.
 * @module
 */
import type { Handle } from '../handle';
import { NetlinkError } from '../netlink/errors';
import { not, rule, type RuleBuilder } from '../nftables';
import type { Transaction } from '../nftables/transaction';
import type { Drift } from './reconcile';
import type { HostState, NetworkRecord, PublicationRecord } from './state';

export const FIREWALL_TABLE = 'nlkit';
const F = 'inet' as const;
const T = { family: F, table: FIREWALL_TABLE };
const CHAINS = ['prerouting', 'output', 'publish', 'postrouting', 'forward', 'guard'] as const;

/** Maps of single-backend publications: (proto . port) or (host ip . proto . port) → backend ip . port. */
const MAPS = {
  pub4: { keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] },
  pub4a: { keyType: ['ipv4_addr', 'inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] },
  pub6: { keyType: ['inet_proto', 'inet_service'], dataType: ['ipv6_addr', 'inet_service'] },
  pub6a: { keyType: ['ipv6_addr', 'inet_proto', 'inet_service'], dataType: ['ipv6_addr', 'inet_service'] },
} as const;
type MapName = keyof typeof MAPS;

const PROTO = { tcp: 6, udp: 17 } as const;

const netComment = (n: NetworkRecord) => `net:${n.name}`;
const pubComment = (p: PublicationRecord) => `pub:${p.key}`;

/** How a publication is expressed: map elements (one backend, one port) or rules. */
export function usesMap(p: PublicationRecord): boolean {
  return p.backends.length === 1 && p.hostPortEnd === undefined;
}

function hostFamily(p: PublicationRecord): 4 | 6 | undefined {
  if (!p.hostIp) return undefined;
  return p.hostIp.includes(':') ? 6 : 4;
}

/** The map elements of a single-backend publication. */
function mapElements(p: PublicationRecord): Array<{ map: MapName; key: Array<string | number>; value: Array<string | number> }> {
  const b = p.backends[0];
  const fam = hostFamily(p);
  const out: Array<{ map: MapName; key: Array<string | number>; value: Array<string | number> }> = [];
  if (b.ipv4 && fam !== 6) {
    out.push(
      p.hostIp
        ? { map: 'pub4a', key: [p.hostIp, PROTO[p.protocol], p.hostPort], value: [b.ipv4, b.port] }
        : { map: 'pub4', key: [PROTO[p.protocol], p.hostPort], value: [b.ipv4, b.port] },
    );
  }
  if (b.ipv6 && fam !== 4) {
    out.push(
      p.hostIp
        ? { map: 'pub6a', key: [p.hostIp, PROTO[p.protocol], p.hostPort], value: [b.ipv6, b.port] }
        : { map: 'pub6', key: [PROTO[p.protocol], p.hostPort], value: [b.ipv6, b.port] },
    );
  }
  return out;
}

/** The rules of a weighted or ranged publication (one per address family its backends have). */
function publicationRules(p: PublicationRecord): RuleBuilder[] {
  const out: RuleBuilder[] = [];
  const fam = hostFamily(p);
  const ports = p.hostPortEnd !== undefined ? `${p.hostPort}-${p.hostPortEnd}` : p.hostPort;
  for (const family of [4, 6] as const) {
    if (fam && fam !== family) continue;
    const addrs = p.backends.map((b) => (family === 4 ? b.ipv4 : b.ipv6));
    if (!addrs.every((a): a is string => !!a)) continue;
    let r = rule().nfproto(family === 4 ? 'ipv4' : 'ipv6');
    if (p.hostIp) r = family === 4 ? r.ip({ daddr: p.hostIp }) : r.ip6({ daddr: p.hostIp });
    r = p.protocol === 'tcp' ? r.tcp({ dport: ports }) : r.udp({ dport: ports });
    if (p.backends.length === 1) {
      // A range keeps each connection's port (the container listens on the same range).
      const b = p.backends[0];
      r = p.hostPortEnd !== undefined ? r.dnat({ to: addrs[0] }) : r.dnat({ to: addrs[0], port: b.port });
    } else {
      r = r.dnatWeighted(p.backends.map((b, i) => ({ to: addrs[i], port: b.port, weight: b.weight })));
    }
    out.push(r.comment(pubComment(p)));
  }
  return out;
}

function networkRules(n: NetworkRecord): Array<{ chain: string; rule: RuleBuilder }> {
  const out: Array<{ chain: string; rule: RuleBuilder }> = [];
  const c = netComment(n);
  if (n.masquerade) {
    out.push({ chain: 'postrouting', rule: rule().ip({ saddr: n.subnet }).oifname(not(n.bridge)).masquerade().comment(c) });
    if (n.subnet6) out.push({ chain: 'postrouting', rule: rule().ip6({ saddr: n.subnet6 }).oifname(not(n.bridge)).masquerade().comment(c) });
  }
  // Hairpin: a container reaching a published port of its own network through
  // the host must see replies come back through the host, not directly. Match
  // addresses, not interfaces: with bridge netfilter the DNATed packet may be
  // bridged (ports as in/out devices) rather than routed. SNAT to the gateway
  // explicitly, since a bridge port has no address to masquerade to.
  out.push({ chain: 'postrouting', rule: rule().ct({ status: 'dnat' }).ip({ saddr: n.subnet, daddr: n.subnet }).snat({ to: n.gateway }).comment(c) });
  if (n.subnet6 && n.gateway6) {
    out.push({ chain: 'postrouting', rule: rule().ct({ status: 'dnat' }).ip6({ saddr: n.subnet6, daddr: n.subnet6 }).snat({ to: n.gateway6 }).comment(c) });
  }
  if (n.internal) out.push({ chain: 'forward', rule: rule().iifname(n.bridge).oifname(not(n.bridge)).drop().comment(c) });
  else if (n.isolate) out.push({ chain: 'forward', rule: rule().iifname(n.bridge).oifname(not(n.bridge)).oifname('@bridges').drop().comment(c) });
  return out;
}

/** Writes the whole table for `st` into a transaction (after deleting the old one if `exists`). */
function writeTable(tx: Transaction, st: HostState, exists: boolean): void {
  if (exists) tx.deleteTable({ family: F, name: FIREWALL_TABLE });
  tx.addTable({ family: F, name: FIREWALL_TABLE });
  const nets = Object.values(st.networks);
  tx.addSet(
    { ...T, name: 'bridges', keyType: 'ifname' },
    nets.map((n) => ({ key: n.bridge })),
  );
  for (const [name, m] of Object.entries(MAPS)) tx.addSet({ ...T, name, keyType: [...m.keyType], dataType: [...m.dataType] });
  tx.addChain({ ...T, name: 'guard', type: 'filter', hook: 'prerouting', priority: 'raw' });
  tx.addChain({ ...T, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
  tx.addChain({ ...T, name: 'output', type: 'nat', hook: 'output', priority: 'dstnat' });
  tx.addChain({ ...T, name: 'publish' });
  tx.addChain({ ...T, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
  tx.addChain({ ...T, name: 'forward', type: 'filter', hook: 'forward', priority: 'filter' });
  // Ports published on 127.0.0.1 need route_localnet on the bridges; never
  // let packets for 127/8 in from anywhere but loopback (CVE-2020-8558).
  tx.addRule({ ...T, chain: 'guard', rule: rule().iifname(not('lo')).ip({ daddr: '127.0.0.0/8' }).drop() });
  for (const chain of ['prerouting', 'output'])
    tx.addRule({
      ...T,
      chain,
      rule: rule()
        .fib({ lookup: ['daddr'], type: 'local' })
        .jump('publish'),
    });
  tx.addRule({
    ...T,
    chain: 'publish',
    rule: rule()
      .nfproto('ipv4')
      .dnatMap({ fields: ['ip daddr', 'meta l4proto', 'th dport'], entries: '@pub4a', family: 'ip' }),
  });
  tx.addRule({
    ...T,
    chain: 'publish',
    rule: rule()
      .nfproto('ipv4')
      .dnatMap({ fields: ['meta l4proto', 'th dport'], entries: '@pub4', family: 'ip' }),
  });
  tx.addRule({
    ...T,
    chain: 'publish',
    rule: rule()
      .nfproto('ipv6')
      .dnatMap({ fields: ['ip6 daddr', 'meta l4proto', 'th dport'], entries: '@pub6a', family: 'ip6' }),
  });
  tx.addRule({
    ...T,
    chain: 'publish',
    rule: rule()
      .nfproto('ipv6')
      .dnatMap({ fields: ['meta l4proto', 'th dport'], entries: '@pub6', family: 'ip6' }),
  });
  tx.addRule({ ...T, chain: 'postrouting', rule: rule().ip({ saddr: '127.0.0.0/8' }).oifname('@bridges').masquerade() });
  // Published traffic may cross networks (it was let in by the host).
  tx.addRule({ ...T, chain: 'forward', rule: rule().ct({ status: 'dnat' }).accept() });
  for (const n of nets) for (const r of networkRules(n)) tx.addRule({ ...T, chain: r.chain, rule: r.rule });
  for (const p of Object.values(st.publications)) {
    if (usesMap(p)) for (const e of mapElements(p)) tx.addElements({ ...T, name: e.map }, [{ key: e.key, value: e.value }]);
    else for (const r of publicationRules(p)) tx.insertRule({ ...T, chain: 'publish', rule: r });
  }
}

/** A catch handler: a missing object (ENOENT) gives `value`, anything else is thrown on. */
function ifNotFound<T>(value: T): (e: unknown) => T {
  return (e) => {
    if (e instanceof NetlinkError && e.code === 'ENOENT') return value;
    throw e;
  };
}

export class Firewall {
  constructor(private readonly host: Handle) {}

  /** Replaces nlkit's table with what `st` says, atomically. */
  async rebuild(st: HostState): Promise<void> {
    const exists = (await this.host.nft.tables.find({ family: F, name: FIREWALL_TABLE })) !== undefined;
    const tx = this.host.nft.transaction();
    writeTable(tx, st, exists);
    await tx.commit({ echo: 'none' });
  }

  /** Removes nlkit's table (no network left). */
  async remove(): Promise<void> {
    const tx = this.host.nft.transaction();
    tx.deleteTable({ family: F, name: FIREWALL_TABLE });
    await tx.commit({ echo: 'none' }).catch(ifNotFound(undefined));
  }

  /** Adds a publication: one element, or its rules. */
  async publish(p: PublicationRecord): Promise<void> {
    const tx = this.host.nft.transaction();
    this.writePublication(tx, p);
    await tx.commit({ echo: 'none' });
  }

  /** Removes a publication. */
  async unpublish(p: PublicationRecord): Promise<void> {
    const tx = this.host.nft.transaction();
    await this.removePublication(tx, p);
    await tx.commit({ echo: 'none' });
  }

  /** Replaces a publication's backends in one transaction (established flows keep theirs). */
  async replace(before: PublicationRecord, after: PublicationRecord): Promise<void> {
    const tx = this.host.nft.transaction();
    await this.removePublication(tx, before);
    this.writePublication(tx, after);
    await tx.commit({ echo: 'none' });
  }

  /** What is missing from the kernel compared with `st`. */
  async check(st: HostState): Promise<Drift[]> {
    if (Object.keys(st.networks).length === 0) return [];
    const drift: Drift[] = [];
    const missing = (network: string, detail: string) => drift.push({ network, kind: 'firewall-missing', detail });
    const anyNet = Object.keys(st.networks)[0];
    if (!(await this.host.nft.tables.find({ family: F, name: FIREWALL_TABLE }))) {
      missing(anyNet, `nftables table inet ${FIREWALL_TABLE} is gone`);
      return drift;
    }
    const chains = new Set((await this.host.nft.chains.list({ family: F, table: FIREWALL_TABLE })).map((c) => c.name));
    for (const c of CHAINS) if (!chains.has(c)) missing(anyNet, `chain ${c} is gone`);
    const comments = new Set((await this.host.nft.rules.list({ family: F, table: FIREWALL_TABLE })).map((r) => r.comment));
    for (const n of Object.values(st.networks)) if (!comments.has(netComment(n))) missing(n.name, `rules of network ${n.name} are gone`);
    const elements = new Map<string, number>();
    for (const m of Object.keys(MAPS)) {
      const els = await this.host.nft.elements.list({ ...T, name: m }).catch(ifNotFound([]));
      elements.set(m, els.length);
    }
    const expected = new Map<string, number>();
    for (const p of Object.values(st.publications)) {
      if (!usesMap(p)) {
        if (!comments.has(pubComment(p))) missing(p.network, `rules of publication ${p.key} are gone`);
      } else for (const e of mapElements(p)) expected.set(e.map, (expected.get(e.map) ?? 0) + 1);
    }
    for (const [m, n] of expected) if ((elements.get(m) ?? 0) < n) missing(anyNet, `map ${m} lost elements`);
    return drift;
  }

  private writePublication(tx: Transaction, p: PublicationRecord): void {
    if (usesMap(p)) for (const e of mapElements(p)) tx.addElements({ ...T, name: e.map }, [{ key: e.key, value: e.value }]);
    else for (const r of publicationRules(p)) tx.insertRule({ ...T, chain: 'publish', rule: r });
  }

  private async removePublication(tx: Transaction, p: PublicationRecord): Promise<void> {
    if (usesMap(p)) {
      for (const e of mapElements(p)) tx.deleteElements({ ...T, name: e.map }, [{ key: e.key }]);
      return;
    }
    const rules = await this.host.nft.rules.list({ ...T, chain: 'publish' });
    for (const r of rules) if (r.comment === pubComment(p) && r.handle !== undefined) tx.deleteRule({ ...T, chain: 'publish', handle: r.handle });
  }
}
