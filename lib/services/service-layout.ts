/**
 * One service's objects in the services table. Per port and address family:
 * - its dispatch elements: (virtual IP . protocol . port) in `vips4`/`6`,
 *   (protocol . NodePort) in `nodeports4`/`6`, each going to the shared
 *   chain that serves the port (pick-chains.ts: by family, protocol and tier
 *   of slots, slots.ts), or to `no-endpoints` when it has none;
 * - its slots in the shared endpoints maps and its endpoints' addresses in
 *   the shared hairpin sets (hairpin.ts).
 * So changing a service's endpoints, weights or conditions is a delete and
 * an add message to one shared map (and to a hairpin set when addresses
 * change), whatever the number of services. Only a dispatch element whose
 * chain changes (adding or removing a service, crossing a tier of slots,
 * going to or from zero endpoints) makes the kernel re-validate the table's
 * jump graph, now a walk of the few shared chains.
 *
 * A port with session affinity keeps a chain of its own (rare): it keeps a
 * client on its endpoint with a dynamic map client → endpoint of the port's
 * own, refreshed on each new connection as kube-proxy's `update @affinity`
 * (emptied when the endpoints change), picks inline (the pick writes the
 * client's entry in that map) and refuses when there is no endpoint.
 * @module
 */
import { rule, type Expression, type RuleBuilder } from '../nftables';
import { hairpinExpressions, hairpinSet } from './hairpin';
import { TABLE, type MemberLayout, type ObjectsLayout, type SlotMap } from './layout';
import { dnatFromRegisters, endpointRegisters, endpointsMap, pickChain, pickExpressions, reg32, type Fam, type PickBy } from './pick';
import { DispatchElement, Member, Port, PortSlotMap, ServiceObjects } from './layout-objects';
import { mapPacked, newList } from './packed';
import { NO_ENDPOINTS_CHAIN, refusal } from './pick-chains';
import { slotEndpoints, slotTier, type SlotTier } from './slots';
import { isV6, selectedEndpoints, type ServicePortRecord, type ServiceRecord } from './spec';

/** The suffix naming one port's objects: "<service>-tcp80-v4". */
export function portObjectsName(rec: ServiceRecord, fam: Fam, p: ServicePortRecord): string {
  return `${rec.name}-${p.protocol}${p.port}-v${fam}`;
}

/** The client's address into register 0 (the key of the affinity map). */
const clientLoad = (fam: Fam): Expression => ({ type: 'payload', base: 'network', offset: fam === 4 ? 12 : 8, len: fam === 4 ? 4 : 16, dreg: reg32(0) });

/** Writes client → endpoint into the port's affinity map, or refreshes its timeout. */
function refreshAffinity(fam: Fam, set: string, seconds: number): Expression {
  return { type: 'dynset', set, op: 'update', sregKey: reg32(0), sregData: endpointRegisters(fam).addr, timeout: seconds * 1000 };
}

/** The rules of the own chain of a port with session affinity. */
function affinityRules(fam: Fam, p: ServicePortRecord, name: string, seconds: number, slots: SlotTier): RuleBuilder[] {
  const nfproto = fam === 4 ? 'ipv4' : 'ipv6';
  const start = () => rule().nfproto(nfproto).protocol(p.protocol);
  // NodePort packets (to a local address) are looked up by NodePort; a virtual IP's lookup finds nothing for them.
  const by = (kind: PickBy) => (kind === 'vip' ? start() : start().fib({ lookup: ['daddr'], type: 'local' }));
  const kinds = p.nodePort === undefined ? (['vip'] as const) : (['vip', 'nodeport'] as const);
  const rules = kinds.map((kind) => by(kind).expressions(...hairpinExpressions(fam, kind)));
  const aff = `aff-${name}`;
  const known: Expression[] = [clientLoad(fam), { type: 'lookup', set: aff, sreg: reg32(0), dreg: endpointRegisters(fam).addr }];
  rules.push(start().expressions(...known, refreshAffinity(fam, aff, seconds), dnatFromRegisters(fam)));
  // The pick also writes the client's affinity entry, in the port's own map: so it is done here, not in a shared chain.
  for (const kind of kinds) {
    rules.push(by(kind).expressions(...pickExpressions(fam, kind, slots), clientLoad(fam), refreshAffinity(fam, aff, seconds), dnatFromRegisters(fam)));
  }
  // No endpoint (the lookup found nothing): refuse now rather than let the client time out.
  rules.push(refusal(fam, p.protocol));
  return rules;
}

/** The addresses of a family a service answers on (virtual and external IPs), each once. */
function familyAddresses(rec: ServiceRecord, fam: Fam): string[] {
  const out: string[] = [];
  for (const list of [rec.vips, rec.externalIps]) for (const a of list) if (isV6(a) === (fam === 6) && !out.includes(a)) out.push(a);
  return out;
}

/** The objects of one service: its dispatch elements, its elements in the shared maps, and its own chains and maps if it has affinity. */
export function serviceLayout(rec: ServiceRecord): ObjectsLayout {
  // Constructors, newList and Array.of, not literals: objects that stay young (layout-objects.ts).
  const out: ObjectsLayout = new ServiceObjects();
  const selected = selectedEndpoints(rec);
  const affinity = rec.affinitySeconds;
  for (const fam of [4, 6] as const) {
    const addrs = familyAddresses(rec, fam);
    const ofFamily = rec.endpoints.filter((e) => isV6(e.ip) === (fam === 6));
    // A family without addresses serves a NodePort only if the service has endpoints of that family (single-stack services claim one).
    const hasFamily = addrs.length > 0 || ofFamily.length > 0;
    for (const p of rec.ports) {
      if (!hasFamily || (addrs.length === 0 && p.nodePort === undefined)) continue;
      const name = portObjectsName(rec, fam, p);
      const eps = selected.filter((e) => isV6(e.ip) === (fam === 6));
      const slots = slotTier(eps);
      const picked = slotEndpoints(eps, slots);
      const own = `svc-${name}`;
      const chainOf = (by: PickBy) => (affinity !== undefined ? own : picked.length === 0 ? NO_ENDPOINTS_CHAIN : pickChain(fam, by, p.protocol, slots));
      for (const a of addrs) out.elements.push(new DispatchElement(`vips${fam}`, Array.of<string | number>(a, p.protocol, p.port), chainOf('vip')));
      if (p.nodePort !== undefined)
        out.elements.push(new DispatchElement(`nodeports${fam}`, Array.of<string | number>(p.protocol, p.nodePort), chainOf('nodeport')));
      if (affinity !== undefined) {
        // The rules' inputs (affinityRules reads nothing else): a change of endpoints that keeps them is seen without building expressions.
        const inputs = JSON.stringify([name, fam, p, slots, affinity]);
        out.chains.push({ name: own, rules: affinityRules(fam, p, name, affinity, slots), inputs });
        out.sets.push({
          ...TABLE,
          name: `aff-${name}`,
          keyType: fam === 4 ? 'ipv4_addr' : 'ipv6_addr',
          dataType: [fam === 4 ? 'ipv4_addr' : 'ipv6_addr', 'inet_service'],
          flags: ['timeout', 'dynamic'],
          timeout: affinity * 1000,
        });
      }
      const hairpin = newList<MemberLayout>();
      for (const ip of new Set(ofFamily.map((e) => e.ip))) {
        for (const a of addrs) hairpin.push(new Member(hairpinSet(fam, 'vip'), name, Array.of<string | number>(ip, a, p.protocol, p.port), undefined));
        if (p.nodePort !== undefined)
          hairpin.push(new Member(hairpinSet(fam, 'nodeport'), name, Array.of<string | number>(ip, p.protocol, p.nodePort), undefined));
      }
      const slotMaps: SlotMap[] = mapPacked(addrs, (a) => new PortSlotMap(endpointsMap(fam, 'vip'), Array.of<string | number>(a, p.protocol, p.port)));
      if (p.nodePort !== undefined) slotMaps.push(new PortSlotMap(endpointsMap(fam, 'nodeport'), Array.of<string | number>(p.protocol, p.nodePort)));
      // One value per endpoint, shared by its slots and by the port's maps.
      const values = mapPacked(eps, (e) => Array.of<string | number>(e.ip, e.port ?? p.targetPort));
      out.members.push(
        new Port(
          name,
          hairpin,
          slotMaps,
          mapPacked(picked, (i) => values[i]),
        ),
      );
    }
  }
  return out;
}
