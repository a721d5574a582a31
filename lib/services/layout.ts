/**
 * The base of the services table `inet nlkit-svc` (kube-proxy's nftables
 * design): the nat prerouting and output hooks jump to `services`, which
 * looks up (virtual IP . protocol . port) in one verdict map per family and
 * goes to the service port's chain (service-layout.ts); local addresses
 * (`fib daddr type local`, not loopback) look up (protocol . port) in the
 * NodePort maps. Postrouting masquerades what a service chain marked
 * (an endpoint reaching its own service: hairpin). The datapath cost is one
 * map lookup whatever the number of services.
 * @module
 */
import { hostU32 } from '../nftables/data';
import { not, rule, type Expression, type NftSet, type RuleBuilder } from '../nftables';

export const SERVICES_TABLE = 'nlkit-svc';
export const TABLE = { family: 'inet' as const, table: SERVICES_TABLE };

/** The packet mark bit asking postrouting to masquerade (hairpin). */
export const MASQUERADE_BIT = 0x00020000;

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

/** An element of one of a service's own sets and maps (its endpoints, their addresses). */
export interface MemberLayout {
  set: string;
  key: string | number;
  value?: Array<string | number>;
}

/** What one service (or the table's base) consists of. */
export interface ObjectsLayout {
  chains: ChainLayout[];
  sets: NftSet[];
  /** Elements of the dispatch maps. */
  elements: MapElementLayout[];
  /** Elements of the service's own sets and maps. */
  members: MemberLayout[];
}

const markLoad = (): Expression => ({ type: 'meta', key: 'mark', dreg: 1 });

/** `meta mark set meta mark | MASQUERADE_BIT` */
export function markForMasquerade(): Expression[] {
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
    members: [],
  };
}
