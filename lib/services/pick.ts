/**
 * Picking a service port's endpoint. The table's shared maps hold every
 * port's slots (slots.ts), keyed by what the packet says: (virtual IP .
 * protocol . port . slot) in `endpoints4`/`endpoints6`, (protocol . NodePort
 * . slot) in `nodeport-endpoints4`/`6`. The dispatch maps go to a shared pick
 * chain (per family, protocol and slot count, e.g. `pick4-tcp-64`,
 * pick-chains.ts), which draws a slot (`numgen random mod 64`), looks the key
 * up and DNATs to the result.
 *
 * Why shared chains: the kernel checks every rule that reads a map (its
 * bindings) for each element added to the map, so a lookup in a chain per
 * service would make each added element cost as much as there are services.
 * And why keys from the packet, not a per-port number passed on: the kernel
 * refuses a rule that reads a register it did not write itself (ENODATA).
 * @module
 */
import type { Expression } from '../nftables';
import type { SlotTier } from './slots';

export type Fam = 4 | 6;
export type PickProtocol = 'tcp' | 'udp' | 'sctp';
/** Which shared map a pick reads: by virtual IP (and external IP), or by NodePort. */
export type PickBy = 'vip' | 'nodeport';

/** The transport protocols a pick chain is written for (a port mapping needs a protocol match before it). */
export const PICK_PROTOCOLS: readonly PickProtocol[] = ['tcp', 'udp', 'sctp'];

/** The shared endpoints map of a family: "endpoints4", "nodeport-endpoints6". */
export const endpointsMap = (fam: Fam, by: PickBy): string => (by === 'vip' ? `endpoints${fam}` : `nodeport-endpoints${fam}`);
/** The shared chain picking from it among `slots` slots: "pick4-tcp-64", "nodeport-pick6-udp-256". */
export const pickChain = (fam: Fam, by: PickBy, protocol: PickProtocol, slots: SlotTier): string =>
  `${by === 'vip' ? '' : 'nodeport-'}pick${fam}-${protocol}-${slots}`;

/** The netlink code of 32-bit register `i` (0-15: NFT_REG32_00 is 8). */
export const reg32 = (i: number): number => 8 + i;

/** Where the DNAT reads the endpoint (address . port) from: registers 8 on, clear of every key. */
export function endpointRegisters(fam: Fam): { addr: number; port: number } {
  return { addr: reg32(8), port: reg32(8 + (fam === 4 ? 1 : 4)) };
}

/** Loads the key (destination address . protocol . port . slot, or protocol . port . slot) from register 0 on. */
function keyLoads(fam: Fam, by: PickBy, slots: SlotTier): Expression[] {
  const out: Expression[] = [];
  let reg = 0;
  if (by === 'vip') {
    const len = fam === 4 ? 4 : 16;
    out.push({ type: 'payload', base: 'network', offset: fam === 4 ? 16 : 24, len, dreg: reg32(reg) });
    reg += len / 4;
  }
  out.push({ type: 'meta', key: 'l4proto', dreg: reg32(reg) });
  out.push({ type: 'payload', base: 'transport', offset: 2, len: 2, dreg: reg32(reg + 1) });
  out.push({ type: 'numgen', dreg: reg32(reg + 2), mode: 'random', modulus: slots, offset: 0 });
  return out;
}

/** DNAT to the (address . port) in the endpoint registers. */
export function dnatFromRegisters(fam: Fam): Expression {
  const r = endpointRegisters(fam);
  return {
    type: 'nat',
    nat: 'dnat',
    family: fam === 4 ? 'ip' : 'ip6',
    regAddrMin: r.addr,
    regAddrMax: r.addr,
    regProtoMin: r.port,
    regProtoMax: r.port,
    flags: ['map-ips', 'proto-specified'],
  };
}

/** Draws a slot and looks its endpoint up into the endpoint registers (the rule stops when there is none). */
export function pickExpressions(fam: Fam, by: PickBy, slots: SlotTier): Expression[] {
  return [...keyLoads(fam, by, slots), { type: 'lookup', set: endpointsMap(fam, by), sreg: reg32(0), dreg: endpointRegisters(fam).addr }];
}
