/**
 * One service's objects in the services table. Per port and address family:
 * - a chain whose rules change with the endpoints only when their number
 *   crosses a tier of slots (slots.ts): mark an endpoint reaching its own
 *   service for masquerade (hairpin: the client in the shared hairpin set
 *   under the port's number, port-ids.ts), keep a client on its endpoint
 *   (session affinity: a dynamic map client → endpoint of the port's own,
 *   refreshed on each new connection, as kube-proxy's `update @affinity`,
 *   emptied when the endpoints change), jump to the shared chain that picks
 *   an endpoint and DNATs to it (pick.ts), or refuse at once when there is
 *   none (TCP reset, ICMP port unreachable);
 * - its slots in the shared endpoints maps, its endpoints' addresses in the
 *   shared hairpin set, its affinity map if it has affinity.
 * So changing a service's endpoints, weights or conditions is a delete and
 * an add message to one shared map (and to the hairpin set when addresses
 * change), whatever the number of services; nothing there makes the kernel
 * re-validate the table's jump graph (a walk of every service's chain): only
 * a rule or a dispatch element does — adding or removing a service, turning
 * affinity on or off, crossing a tier of slots.
 * @module
 */
import { hostU32 } from '../nftables/data';
import { rule, type Expression, type RuleBuilder } from '../nftables';
import { markForMasquerade, sharedMap, TABLE, type MemberLayout, type ObjectsLayout } from './layout';
import { dnatFromRegisters, endpointRegisters, endpointsMap, pickChain, pickExpressions, reg32, type Fam, type PickBy } from './pick';
import type { PortIds } from './port-ids';
import { slotEndpoints, slotTier, type SlotTier } from './slots';
import { isV6, selectedEndpoints, type ServicePortRecord, type ServiceRecord } from './spec';

/** The suffix naming one port's objects: "<service>-tcp80-v4". */
export function portObjectsName(rec: ServiceRecord, fam: Fam, p: ServicePortRecord): string {
  return `${rec.name}-${portIdKey(fam, p)}`;
}

/** The key of one port's number in the service's PortIds: "tcp80-v4". */
export function portIdKey(fam: Fam, p: ServicePortRecord): string {
  return `${p.protocol}${p.port}-v${fam}`;
}

/** The client's address into register 0 (the key of the hairpin set and of the affinity map). */
const clientLoad = (fam: Fam): Expression => ({ type: 'payload', base: 'network', offset: fam === 4 ? 12 : 8, len: fam === 4 ? 4 : 16, dreg: reg32(0) });

/** Writes client → endpoint into the port's affinity map, or refreshes its timeout. */
function refreshAffinity(fam: Fam, set: string, seconds: number): Expression {
  return { type: 'dynset', set, op: 'update', sregKey: reg32(0), sregData: endpointRegisters(fam).addr, timeout: seconds * 1000 };
}

/** The fixed rules of one port's chain. */
function portRules(rec: ServiceRecord, fam: Fam, p: ServicePortRecord, name: string, id: number, slots: SlotTier): RuleBuilder[] {
  const nfproto = fam === 4 ? 'ipv4' : 'ipv6';
  const start = () => rule().nfproto(nfproto).protocol(p.protocol);
  // (source address . port number) in the hairpin set: the client is one of this port's endpoints.
  const number: Expression = { type: 'immediate', dreg: reg32(fam === 4 ? 1 : 4), data: hostU32(id) };
  const hairpin = start().expressions(clientLoad(fam), number, { type: 'lookup', set: sharedMap('hairpin', fam), sreg: reg32(0) });
  const rules = [hairpin.expressions(...markForMasquerade())];
  const affinity = rec.affinitySeconds;
  const aff = `aff-${name}`;
  if (affinity !== undefined) {
    const known: Expression[] = [clientLoad(fam), { type: 'lookup', set: aff, sreg: reg32(0), dreg: endpointRegisters(fam).addr }];
    rules.push(start().expressions(...known, refreshAffinity(fam, aff, affinity), dnatFromRegisters(fam)));
  }
  // NodePort packets (to a local address) look their port up by NodePort; a virtual IP's lookup finds nothing for them.
  const pick = (by: PickBy) => (by === 'vip' ? start() : start().fib({ lookup: ['daddr'], type: 'local' }));
  for (const by of p.nodePort === undefined ? (['vip'] as const) : (['vip', 'nodeport'] as const)) {
    if (affinity === undefined) rules.push(pick(by).jump(pickChain(fam, by, p.protocol, slots)));
    else {
      // The pick also writes the client's affinity entry, in the port's own map: so it is done here, not in the shared chain.
      rules.push(pick(by).expressions(...pickExpressions(fam, by, slots), clientLoad(fam), refreshAffinity(fam, aff, affinity), dnatFromRegisters(fam)));
    }
  }
  // No endpoint (the lookup found nothing): refuse now rather than let the client time out.
  rules.push(p.protocol === 'tcp' ? start().reject({ with: 'tcp reset' }) : start().reject());
  return rules;
}

/** The objects of one service: its port chains, their affinity maps, their elements in the shared maps, and its dispatch elements. */
export function serviceLayout(rec: ServiceRecord, ids: PortIds): ObjectsLayout {
  const out: ObjectsLayout = { chains: [], sets: [], elements: [], members: [] };
  const selected = selectedEndpoints(rec);
  for (const fam of [4, 6] as const) {
    const addrs = [...rec.vips, ...rec.externalIps].filter((a) => isV6(a) === (fam === 6));
    // A family without addresses serves a NodePort only if the service has endpoints of that family (single-stack services claim one).
    const hasFamily = addrs.length > 0 || rec.endpoints.some((e) => isV6(e.ip) === (fam === 6));
    for (const p of rec.ports) {
      if (!hasFamily || (addrs.length === 0 && p.nodePort === undefined)) continue;
      const name = portObjectsName(rec, fam, p);
      const chain = `svc-${name}`;
      for (const a of addrs) out.elements.push({ map: `vips${fam}`, key: [a, p.protocol, p.port], chain });
      if (p.nodePort !== undefined) out.elements.push({ map: `nodeports${fam}`, key: [p.protocol, p.nodePort], chain });
      const id = ids.get(portIdKey(fam, p));
      const eps = selected.filter((e) => isV6(e.ip) === (fam === 6));
      const slots = slotTier(eps);
      // The rules' inputs (portRules reads nothing else): a change of endpoints that keeps them is seen without building expressions.
      const inputs = JSON.stringify([name, fam, p, id, slots, rec.affinitySeconds ?? null]);
      out.chains.push({ name: chain, rules: portRules(rec, fam, p, name, id, slots), inputs });
      if (rec.affinitySeconds !== undefined) {
        out.sets.push({
          ...TABLE,
          name: `aff-${name}`,
          keyType: fam === 4 ? 'ipv4_addr' : 'ipv6_addr',
          dataType: [fam === 4 ? 'ipv4_addr' : 'ipv6_addr', 'inet_service'],
          flags: ['timeout', 'dynamic'],
          timeout: rec.affinitySeconds * 1000,
        });
      }
      const members: MemberLayout[] = [];
      const ofFamily = rec.endpoints.filter((e) => isV6(e.ip) === (fam === 6));
      for (const ip of new Set(ofFamily.map((e) => e.ip))) members.push({ set: sharedMap('hairpin', fam), port: name, key: [ip, id], label: ip });
      slotEndpoints(eps, slots).forEach((i, slot) => {
        const value = [eps[i].ip, eps[i].port ?? p.targetPort];
        for (const a of addrs)
          members.push({ set: endpointsMap(fam, 'vip'), port: name, key: [a, p.protocol, p.port, slot], value, label: `${a} slot ${slot}` });
        if (p.nodePort !== undefined) {
          members.push({ set: endpointsMap(fam, 'nodeport'), port: name, key: [p.protocol, p.nodePort, slot], value, label: `nodeport slot ${slot}` });
        }
      });
      out.members.push(...members);
    }
  }
  return out;
}
