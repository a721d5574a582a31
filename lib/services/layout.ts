/**
 * The nftables layout of services, kube-proxy's nftables design in table
 * `inet nlkit-svc`:
 * - the nat prerouting and output hooks jump to `services`, which looks up
 *   (virtual IP . protocol . port) in one verdict map per family and goes to
 *   the service port's chain; local addresses (`fib daddr type local`, not
 *   loopback) look up (protocol . port) in the NodePort maps;
 * - a service port's chain (one per address family) keeps clients with
 *   session affinity on their endpoint, then picks an endpoint at random by
 *   weight, or refuses at once when it has none (TCP reset, ICMP port
 *   unreachable);
 * - an endpoint's chain marks an endpoint reaching its own service for
 *   masquerade (hairpin), records the client for affinity, and DNATs.
 * So a service is a handful of chains and map elements of its own: adding,
 * removing or changing one never touches another's, and the datapath cost
 * is one map lookup whatever the number of services.
 * @module
 */
import { hostU32 } from '../nftables/data';
import { not, rule, type Expression, type NftSet, type RuleBuilder } from '../nftables';
import { isV6, selectedEndpoints, type EndpointRecord, type ServicePortRecord, type ServiceRecord } from './spec';

export const SERVICES_TABLE = 'nlkit-svc';
export const TABLE = { family: 'inet' as const, table: SERVICES_TABLE };

/** The packet mark bit asking postrouting to masquerade (hairpin). */
export const MASQUERADE_BIT = 0x00020000;

type Fam = 4 | 6;

/** The base chains, hooked in the nat hooks (dstnat/srcnat priorities), and the regular dispatch chains. */
export const BASE_CHAINS = [
  { name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat' },
  { name: 'output', type: 'nat', hook: 'output', priority: 'dstnat' },
  { name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' },
  { name: 'services' },
  { name: 'nodeports' },
] as const;

/** The dispatch maps: (address . protocol . port) and (protocol . port) to the service port's chain. */
export const BASE_MAPS: NftSet[] = [
  { ...TABLE, name: 'vips4', keyType: ['ipv4_addr', 'inet_proto', 'inet_service'], dataType: 'verdict' },
  { ...TABLE, name: 'vips6', keyType: ['ipv6_addr', 'inet_proto', 'inet_service'], dataType: 'verdict' },
  { ...TABLE, name: 'nodeports4', keyType: ['inet_proto', 'inet_service'], dataType: 'verdict' },
  { ...TABLE, name: 'nodeports6', keyType: ['inet_proto', 'inet_service'], dataType: 'verdict' },
];

/** One chain nlkit wants, with its rules. */
export interface ChainLayout {
  name: string;
  rules: RuleBuilder[];
}

/** One element of a dispatch map. */
export interface MapElementLayout {
  map: string;
  key: Array<string | number>;
  chain: string;
}

/** What one service (or the table's base) consists of. */
export interface ObjectsLayout {
  chains: ChainLayout[];
  sets: NftSet[];
  elements: MapElementLayout[];
}

const markLoad = (): Expression => ({ type: 'meta', key: 'mark', dreg: 1 });

/** `meta mark set meta mark | MASQUERADE_BIT` */
function markForMasquerade(): Expression[] {
  return [
    markLoad(),
    { type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: hostU32(~MASQUERADE_BIT >>> 0), xor: hostU32(MASQUERADE_BIT) },
    { type: 'meta', key: 'mark', sreg: 1 },
  ];
}

/** The base chains' rules. */
export function baseLayout(): ObjectsLayout {
  const masqueradeMarked = rule()
    .expressions(
      markLoad(),
      { type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: hostU32(MASQUERADE_BIT), xor: hostU32(0) },
      { type: 'cmp', sreg: 1, op: 'neq', data: hostU32(0) },
    )
    .masquerade();
  return {
    chains: [
      { name: 'prerouting', rules: [rule().jump('services')] },
      { name: 'output', rules: [rule().jump('services')] },
      { name: 'postrouting', rules: [masqueradeMarked] },
      {
        name: 'services',
        rules: [
          rule().nfproto('ipv4').vmap(['ip daddr', 'meta l4proto', 'th dport'], '@vips4'),
          rule().nfproto('ipv6').vmap(['ip6 daddr', 'meta l4proto', 'th dport'], '@vips6'),
          rule()
            .fib({ lookup: ['daddr'], type: 'local' })
            .jump('nodeports'),
        ],
      },
      {
        name: 'nodeports',
        rules: [
          rule()
            .nfproto('ipv4')
            .ip({ daddr: not('127.0.0.0/8') })
            .vmap(['meta l4proto', 'th dport'], '@nodeports4'),
          rule()
            .nfproto('ipv6')
            .ip6({ daddr: not('::1') })
            .vmap(['meta l4proto', 'th dport'], '@nodeports6'),
        ],
      },
    ],
    sets: BASE_MAPS,
    elements: [],
  };
}

/** A name part from an address: ':' is not allowed in nftables names. */
const addrPart = (ip: string): string => ip.replace(/:/g, '_');

/** The chain of one port of a service for one address family. */
export function portChainName(rec: ServiceRecord, fam: Fam, p: ServicePortRecord): string {
  return `svc-${rec.name}-${p.protocol}${p.port}-v${fam}`;
}

function endpointTarget(rec: ServiceRecord, p: ServicePortRecord, e: EndpointRecord): number {
  return e.port ?? p.targetPort;
}

/** The chain of one endpoint of a service port. */
export function endpointChainName(rec: ServiceRecord, p: ServicePortRecord, e: EndpointRecord): string {
  return `ep-${rec.name}-${p.protocol}${p.port}-${addrPart(e.ip)}-${endpointTarget(rec, p, e)}`;
}

/** The affinity set of one endpoint: the clients it keeps. */
export function affinitySetName(rec: ServiceRecord, p: ServicePortRecord, e: EndpointRecord): string {
  return `aff-${rec.name}-${p.protocol}${p.port}-${addrPart(e.ip)}-${endpointTarget(rec, p, e)}`;
}

const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/**
 * `numgen random mod remaining < weight goto endpoint`, one rule per
 * endpoint (the last one unconditional): each draws anew, so endpoint i is
 * picked with probability weight_i / sum of weights, as iptables'
 * `statistic` rules do, without a map to rewrite.
 */
function pickRule(remaining: number, weight: number, chain: string): RuleBuilder {
  if (weight >= remaining) return rule().goto(chain);
  return rule()
    .expressions(
      { type: 'numgen', dreg: 1, mode: 'random', modulus: remaining, offset: 0 },
      { type: 'byteorder', sreg: 1, dreg: 1, op: 'hton', len: 4, size: 4 },
      { type: 'cmp', sreg: 1, op: 'lt', data: be32(weight) },
    )
    .goto(chain);
}

const saddrLoad = (fam: Fam): Expression => ({ type: 'payload', base: 'network', offset: fam === 4 ? 12 : 8, len: fam === 4 ? 4 : 16, dreg: 1 });

/** The objects of one service: its port chains, endpoint chains, affinity sets and map elements. */
export function serviceLayout(rec: ServiceRecord): ObjectsLayout {
  const out: ObjectsLayout = { chains: [], sets: [], elements: [] };
  const selected = selectedEndpoints(rec);
  for (const fam of [4, 6] as const) {
    const addrs = [...rec.vips, ...rec.externalIps].filter((a) => isV6(a) === (fam === 6));
    const eps = selected.filter((e) => isV6(e.ip) === (fam === 6));
    const nfproto = fam === 4 ? 'ipv4' : 'ipv6';
    for (const p of rec.ports) {
      // A family without addresses serves a NodePort only if the service has endpoints of that family (single-stack services claim one).
      const hasFamily = addrs.length > 0 || rec.endpoints.some((e) => isV6(e.ip) === (fam === 6));
      if (!hasFamily || (addrs.length === 0 && p.nodePort === undefined)) continue;
      const chain = portChainName(rec, fam, p);
      for (const a of addrs) out.elements.push({ map: `vips${fam}`, key: [a, p.protocol, p.port], chain });
      if (p.nodePort !== undefined) out.elements.push({ map: `nodeports${fam}`, key: [p.protocol, p.nodePort], chain });
      const rules: RuleBuilder[] = [];
      if (eps.length === 0) {
        rules.push(p.protocol === 'tcp' ? rule().protocol('tcp').reject({ with: 'tcp reset' }) : rule().reject());
        out.chains.push({ name: chain, rules });
        continue;
      }
      if (rec.affinitySeconds !== undefined) {
        for (const e of eps) {
          const set = affinitySetName(rec, p, e);
          out.sets.push({
            ...TABLE,
            name: set,
            keyType: fam === 4 ? 'ipv4_addr' : 'ipv6_addr',
            flags: ['timeout', 'dynamic'],
            timeout: rec.affinitySeconds * 1000,
          });
          const r = rule().nfproto(nfproto);
          rules.push((fam === 4 ? r.ip({ saddr: `@${set}` }) : r.ip6({ saddr: `@${set}` })).goto(endpointChainName(rec, p, e)));
        }
      }
      let remaining = eps.reduce((n, e) => n + e.weight, 0);
      for (const e of eps) {
        rules.push(pickRule(remaining, e.weight, endpointChainName(rec, p, e)));
        remaining -= e.weight;
      }
      out.chains.push({ name: chain, rules });
      for (const e of eps) out.chains.push({ name: endpointChainName(rec, p, e), rules: endpointRules(rec, fam, p, e) });
    }
  }
  return out;
}

function endpointRules(rec: ServiceRecord, fam: Fam, p: ServicePortRecord, e: EndpointRecord): RuleBuilder[] {
  const nfproto = fam === 4 ? 'ipv4' : 'ipv6';
  const self = rule().nfproto(nfproto);
  const rules = [(fam === 4 ? self.ip({ saddr: e.ip }) : self.ip6({ saddr: e.ip })).expressions(...markForMasquerade())];
  if (rec.affinitySeconds !== undefined) {
    rules.push(
      rule()
        .nfproto(nfproto)
        .expressions(saddrLoad(fam), {
          type: 'dynset',
          set: affinitySetName(rec, p, e),
          op: 'update',
          sregKey: 1,
          timeout: rec.affinitySeconds * 1000,
        }),
    );
  }
  rules.push(
    rule()
      .nfproto(nfproto)
      .protocol(p.protocol)
      .dnat({ to: e.ip, port: endpointTarget(rec, p, e) }),
  );
  return rules;
}
