/**
 * The base of the services table `inet nlkit-svc` (kube-proxy's nftables
 * design): the nat prerouting and output hooks jump to `services`, which
 * looks up (virtual IP . protocol . port) in one verdict map per family and
 * goes to the shared chain that serves the port (pick-chains.ts: by family,
 * protocol and tier of slots, or `no-endpoints`; a port with session
 * affinity has its own, service-layout.ts); local addresses
 * (`fib daddr type local`, not loopback) look up (protocol . port) in the
 * NodePort maps. Postrouting masquerades what a pick chain marked
 * (an endpoint reaching its own service: hairpin). The datapath cost is one
 * map lookup whatever the number of services.
 * @module
 */
import { hostU32 } from '../nftables/data';
import type { Handle } from '../handle';
import { not, rule, type Chain, type NftSet, type RuleBuilder } from '../nftables';
import { hairpinKeyType, hairpinSet } from './hairpin';
import { MASQUERADE_BIT, markLoad } from './mark';
import { endpointsMap } from './pick';
import { sharedChains } from './pick-chains';

export const SERVICES_TABLE = 'nlkit-svc';
export const TABLE = { family: 'inet' as const, table: SERVICES_TABLE };

/** The base chains, hooked in the nat hooks (dstnat/srcnat priorities), the regular dispatch chains and the shared pick chains. */
export const BASE_CHAINS: Array<Omit<Chain, 'family' | 'table'>> = [
  { name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat' },
  { name: 'output', type: 'nat', hook: 'output', priority: 'dstnat' },
  { name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' },
  { name: 'services' },
  { name: 'nodeports' },
  ...sharedChains().map((c) => ({ name: c.name })),
];

/** The dispatch maps: (address . protocol . port) and (protocol . port) to the chain serving the port. */
export const BASE_MAPS: NftSet[] = [
  { ...TABLE, name: 'vips4', keyType: ['ipv4_addr', 'inet_proto', 'inet_service'], dataType: 'verdict' },
  { ...TABLE, name: 'vips6', keyType: ['ipv6_addr', 'inet_proto', 'inet_service'], dataType: 'verdict' },
  { ...TABLE, name: 'nodeports4', keyType: ['inet_proto', 'inet_service'], dataType: 'verdict' },
  { ...TABLE, name: 'nodeports6', keyType: ['inet_proto', 'inet_service'], dataType: 'verdict' },
  ...sharedMaps(4, 'ipv4_addr'),
  ...sharedMaps(6, 'ipv6_addr'),
];

/**
 * The maps every service port keeps its elements in, so the table holds a
 * fixed number of sets whatever the number of services (the kernel finds the
 * set a message names by walking the table's list of sets). All are hash
 * maps of exact keys (no interval map: the kernel's interval backends update
 * slower as they grow):
 * - endpoints: (virtual IP . protocol . port . slot) → endpoint address .
 *   port, and (protocol . NodePort . slot) for NodePorts: 64 (or more) slots
 *   per port shared out by weight (slots.ts), read by the shared pick chains
 *   only (pick.ts);
 * - hairpin: (endpoint address . virtual IP . protocol . port) and
 *   (endpoint address . protocol . NodePort), sets (hairpin.ts).
 * Only a port with session affinity has a map of its own (service-layout.ts).
 */
function sharedMaps(fam: 4 | 6, addrType: 'ipv4_addr' | 'ipv6_addr'): NftSet[] {
  return [
    { ...TABLE, name: endpointsMap(fam, 'vip'), keyType: [addrType, 'inet_proto', 'inet_service', 'mark'], dataType: [addrType, 'inet_service'] },
    { ...TABLE, name: endpointsMap(fam, 'nodeport'), keyType: ['inet_proto', 'inet_service', 'mark'], dataType: [addrType, 'inet_service'] },
    { ...TABLE, name: hairpinSet(fam, 'vip'), keyType: hairpinKeyType(fam, 'vip') },
    { ...TABLE, name: hairpinSet(fam, 'nodeport'), keyType: hairpinKeyType(fam, 'nodeport') },
  ];
}

/** Whether a set is one of the shared maps. */
export const isSharedMap = (name: string): boolean => /^(endpoints|nodeport-endpoints|hairpin|nodeport-hairpin)[46]$/.test(name);

/**
 * Whether the host's services table exists ('missing'), has the shared
 * chains ('current') or an older nlkit's layout ('older': sets per service,
 * or chains per service with hairpin keyed by port numbers; the NodePort
 * hairpin sets came with the shared chains).
 */
export async function tableLayout(host: Handle): Promise<'current' | 'missing' | 'older'> {
  if (!(await host.nft.tables.find({ family: TABLE.family, name: TABLE.table }))) return 'missing';
  return (await host.nft.sets.find({ ...TABLE, name: hairpinSet(4, 'nodeport') })) ? 'current' : 'older';
}

/** One chain nlkit wants, with its rules. */
export interface ChainLayout {
  name: string;
  rules: RuleBuilder[];
  /** Everything the rules are made from, when known: equal inputs, equal rules (cheaper to compare than the expressions). */
  inputs?: string;
}

/** One element of a dispatch map. */
export interface MapElementLayout {
  map: string;
  key: Array<string | number>;
  chain: string;
}

/** An element of a service port in the shared maps (an endpoint's address in a hairpin set, or a slot). */
export interface MemberLayout {
  set: string;
  /** The port's objects name ("web-tcp80-v4"). */
  port: string;
  key: Array<string | number>;
  /** Slots: the endpoint (address . port), shared among the slots of one endpoint: read only. */
  value?: Array<string | number>;
}

/** One endpoints map holding a port's slots, and the key of its elements before the slot number. */
export interface SlotMap {
  set: string;
  /** (virtual IP . protocol . port) or (protocol . NodePort). */
  key: Array<string | number>;
}

/**
 * One service port's elements in the shared maps, for one address family.
 * The slots are kept as one array shared by the port's endpoints maps (a
 * slot's element is built only when it changes): 64 or more slots per
 * port and virtual IP made most of what a change allocated.
 */
export interface PortMembers {
  /** The port's objects name ("web-tcp80-v4"). */
  port: string;
  /** Its endpoints' addresses in the hairpin sets. */
  hairpin: MemberLayout[];
  /** The endpoints maps with its slots: one per virtual or external IP, then the NodePort's. */
  slotMaps: SlotMap[];
  /** Slot i → the endpoint (address . port) of slot i, in each of `slotMaps`. Read only. */
  slots: Array<Array<string | number>>;
}

/** What one service (or the table's base) consists of. */
export interface ObjectsLayout {
  chains: ChainLayout[];
  sets: NftSet[];
  /** Elements of the dispatch maps. */
  elements: MapElementLayout[];
  /** The service's elements in the shared maps, by port and family. */
  members: PortMembers[];
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
      ...sharedChains(),
    ],
    sets: BASE_MAPS,
    elements: [],
    members: [],
  };
}
