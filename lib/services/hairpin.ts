/**
 * Hairpin: an endpoint reaching its own service is marked for masquerade,
 * so the reply comes back through the host (the endpoint would otherwise
 * answer the client directly, from an address the client did not call).
 * Whether the client is one of the port's endpoints is read from the packet
 * alone, in one shared set per family and dispatch kind:
 * - `hairpin4`/`6`: (client . virtual IP . protocol . port),
 * - `nodeport-hairpin4`/`6`: (client . protocol . NodePort).
 * So the rule doing it lives in the shared pick chains (pick.ts), not in a
 * chain per service: a service port is an element of each set per endpoint
 * address.
 * @module
 */
import type { DataTypeName, Expression } from '../nftables';
import { markForMasquerade } from './mark';
import { reg32, type Fam, type PickBy } from './pick';

/** The shared hairpin set of a family: "hairpin4", "nodeport-hairpin6". */
export const hairpinSet = (fam: Fam, by: PickBy): string => (by === 'vip' ? `hairpin${fam}` : `nodeport-hairpin${fam}`);

/** The key types of a hairpin set. */
export function hairpinKeyType(fam: Fam, by: PickBy): DataTypeName[] {
  const addr: DataTypeName = fam === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return by === 'vip' ? [addr, addr, 'inet_proto', 'inet_service'] : [addr, 'inet_proto', 'inet_service'];
}

/** The hairpin key of a packet into register 0 on: source address (. destination address) . protocol . destination port. */
function hairpinKeyLoads(fam: Fam, by: PickBy): Expression[] {
  const len = fam === 4 ? 4 : 16;
  const words = len / 4;
  const out: Expression[] = [{ type: 'payload', base: 'network', offset: fam === 4 ? 12 : 8, len, dreg: reg32(0) }];
  let reg = words;
  if (by === 'vip') {
    out.push({ type: 'payload', base: 'network', offset: fam === 4 ? 16 : 24, len, dreg: reg32(reg) });
    reg += words;
  }
  out.push({ type: 'meta', key: 'l4proto', dreg: reg32(reg) });
  out.push({ type: 'payload', base: 'transport', offset: 2, len: 2, dreg: reg32(reg + 1) });
  return out;
}

/** Marks the packet for masquerade when its client is an endpoint of the service port it goes to. */
export function hairpinExpressions(fam: Fam, by: PickBy): Expression[] {
  return [...hairpinKeyLoads(fam, by), { type: 'lookup', set: hairpinSet(fam, by), sreg: reg32(0) }, ...markForMasquerade()];
}
