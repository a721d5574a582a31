/**
 * One service's objects in the services table. Per port and address family:
 * - a chain whose rules never change with the endpoints: mark an endpoint
 *   reaching its own service for masquerade (hairpin), keep a client on its
 *   endpoint (session affinity: a dynamic map client → endpoint, refreshed
 *   on each new connection, as kube-proxy's `update @affinity`), pick an
 *   endpoint (`numgen random mod 65536` looked up in an interval map whose
 *   ranges are the endpoints' weights) and DNAT to it, or refuse at once when
 *   that map is empty (TCP reset, ICMP port unreachable);
 * - the endpoints map and the endpoint address set that chain reads.
 * So changing a service's endpoints, weights or conditions changes set
 * elements only: the kernel re-validates the table's jump graph (a walk of
 * every service's chain) only when a rule or a dispatch element changes —
 * adding or removing a service, or turning affinity on or off.
 * @module
 */
import { rule, type Expression, type RuleBuilder } from '../nftables';
import { markForMasquerade, TABLE, type MemberLayout, type ObjectsLayout } from './layout';
import { isV6, selectedEndpoints, type EndpointRecord, type ServicePortRecord, type ServiceRecord } from './spec';

type Fam = 4 | 6;

/** The random number space weights are spread over. */
export const PICK_SPACE = 65536;
/** Registers: the endpoint (address . port) goes to 1 (as the builder's DNAT maps), the client address to 3. */
const REG_DATA = 1;
const REG_CLIENT = 3;

/** The suffix naming one port's objects: "<service>-tcp80-v4". */
export function portObjectsName(rec: ServiceRecord, fam: Fam, p: ServicePortRecord): string {
  return `${rec.name}-${p.protocol}${p.port}-v${fam}`;
}

/** Ranges of the pick space, one per endpoint, sized by weight ("0-58981", "58982-65535"). */
export function pickRanges(eps: EndpointRecord[]): string[] {
  const total = eps.reduce((n, e) => n + e.weight, 0);
  let cum = 0;
  return eps.map((e) => {
    const lo = Math.floor((cum * PICK_SPACE) / total);
    cum += e.weight;
    const hi = Math.floor((cum * PICK_SPACE) / total) - 1;
    return hi >= lo ? `${lo}-${hi}` : '';
  });
}

const clientLoad = (fam: Fam): Expression => ({ type: 'payload', base: 'network', offset: fam === 4 ? 12 : 8, len: fam === 4 ? 4 : 16, dreg: REG_CLIENT });

/** DNAT to the (address . port) in REG_DATA. */
function dnatFromRegisters(fam: Fam): Expression {
  const port = 8 + (fam === 6 ? 4 : 1); // the 32-bit register after the address
  return {
    type: 'nat',
    nat: 'dnat',
    family: fam === 4 ? 'ip' : 'ip6',
    regAddrMin: REG_DATA,
    regAddrMax: REG_DATA,
    regProtoMin: port,
    regProtoMax: port,
    flags: ['map-ips', 'proto-specified'],
  };
}

function refreshAffinity(set: string, seconds: number): Expression {
  return { type: 'dynset', set, op: 'update', sregKey: REG_CLIENT, sregData: REG_DATA, timeout: seconds * 1000 };
}

/** The fixed rules of one port's chain. */
function portRules(rec: ServiceRecord, fam: Fam, p: ServicePortRecord, name: string): RuleBuilder[] {
  const nfproto = fam === 4 ? 'ipv4' : 'ipv6';
  const start = () => rule().nfproto(nfproto).protocol(p.protocol);
  const hairpin = fam === 4 ? start().ip({ saddr: `@addrs-${name}` }) : start().ip6({ saddr: `@addrs-${name}` });
  const rules = [hairpin.expressions(...markForMasquerade())];
  const affinity = rec.affinitySeconds;
  if (affinity !== undefined) {
    rules.push(
      start().expressions(
        clientLoad(fam),
        { type: 'lookup', set: `aff-${name}`, sreg: REG_CLIENT, dreg: REG_DATA },
        refreshAffinity(`aff-${name}`, affinity),
        dnatFromRegisters(fam),
      ),
    );
  }
  const pick: Expression[] = [
    { type: 'numgen', dreg: REG_DATA, mode: 'random', modulus: PICK_SPACE, offset: 0 },
    // The number (below 65536) as 2 big-endian bytes (its low half on little-endian hosts, nlkit's targets): the map is keyed by
    // inet_service, a 2-byte big-endian type nft can print and read back.
    { type: 'byteorder', sreg: REG_DATA, dreg: REG_DATA, op: 'hton', len: 2, size: 2 },
    { type: 'lookup', set: `eps-${name}`, sreg: REG_DATA, dreg: REG_DATA },
  ];
  if (affinity !== undefined) pick.push(clientLoad(fam), refreshAffinity(`aff-${name}`, affinity));
  rules.push(start().expressions(...pick, dnatFromRegisters(fam)));
  // No endpoint (the lookup found nothing): refuse now rather than let the client time out.
  rules.push(p.protocol === 'tcp' ? start().reject({ with: 'tcp reset' }) : start().reject());
  return rules;
}

/** The objects of one service: its port chains, their sets and maps with their elements, and its dispatch elements. */
export function serviceLayout(rec: ServiceRecord): ObjectsLayout {
  const out: ObjectsLayout = { chains: [], sets: [], elements: [], members: [] };
  const selected = selectedEndpoints(rec);
  for (const fam of [4, 6] as const) {
    const addrs = [...rec.vips, ...rec.externalIps].filter((a) => isV6(a) === (fam === 6));
    // A family without addresses serves a NodePort only if the service has endpoints of that family (single-stack services claim one).
    const hasFamily = addrs.length > 0 || rec.endpoints.some((e) => isV6(e.ip) === (fam === 6));
    const addrType = fam === 4 ? 'ipv4_addr' : 'ipv6_addr';
    for (const p of rec.ports) {
      if (!hasFamily || (addrs.length === 0 && p.nodePort === undefined)) continue;
      const name = portObjectsName(rec, fam, p);
      const chain = `svc-${name}`;
      for (const a of addrs) out.elements.push({ map: `vips${fam}`, key: [a, p.protocol, p.port], chain });
      if (p.nodePort !== undefined) out.elements.push({ map: `nodeports${fam}`, key: [p.protocol, p.nodePort], chain });
      out.chains.push({ name: chain, rules: portRules(rec, fam, p, name) });
      out.sets.push({ ...TABLE, name: `addrs-${name}`, keyType: addrType });
      out.sets.push({ ...TABLE, name: `eps-${name}`, keyType: 'inet_service', dataType: [addrType, 'inet_service'], flags: ['interval'] });
      if (rec.affinitySeconds !== undefined) {
        out.sets.push({
          ...TABLE,
          name: `aff-${name}`,
          keyType: addrType,
          dataType: [addrType, 'inet_service'],
          flags: ['timeout', 'dynamic'],
          timeout: rec.affinitySeconds * 1000,
        });
      }
      const members: MemberLayout[] = [];
      const ofFamily = rec.endpoints.filter((e) => isV6(e.ip) === (fam === 6));
      for (const ip of new Set(ofFamily.map((e) => e.ip))) members.push({ set: `addrs-${name}`, key: ip });
      const eps = selected.filter((e) => isV6(e.ip) === (fam === 6));
      pickRanges(eps).forEach((range, i) => {
        if (range) members.push({ set: `eps-${name}`, key: range, value: [eps[i].ip, eps[i].port ?? p.targetPort] });
      });
      out.members.push(...members);
    }
  }
  return out;
}
