/**
 * The chains the dispatch maps go to, shared by every service port (except
 * ports with session affinity, service-layout.ts): one per family, dispatch
 * kind (virtual IP or NodePort), protocol and tier of slots, e.g.
 * `pick4-tcp-64` or `nodeport-pick6-udp-256`, and `no-endpoints` for ports
 * without any. A pick chain marks hairpin traffic (hairpin.ts), picks a
 * slot and DNATs to its endpoint (pick.ts); a slot without an endpoint (a
 * port being rewritten) falls through to the refusal.
 *
 * Why no chain per service: on every commit the kernel walks every chain of
 * the table (nf_tables_commit), so a chain per service port made each change
 * cost more as services were added. The table's chains are now a fixed
 * number; a service port is elements of maps only.
 * @module
 */
import { rule, type RuleBuilder } from '../nftables';
import { hairpinExpressions } from './hairpin';
import { dnatFromRegisters, pickChain, pickExpressions, PICK_PROTOCOLS, type Fam, type PickBy, type PickProtocol } from './pick';
import { SLOT_TIERS, type SlotTier } from './slots';

/** The chain of service ports without an endpoint: connections are refused at once, never left to time out. */
export const NO_ENDPOINTS_CHAIN = 'no-endpoints';

export interface SharedChain {
  name: string;
  rules: RuleBuilder[];
}

const start = (fam: Fam, protocol: PickProtocol) =>
  rule()
    .nfproto(fam === 4 ? 'ipv4' : 'ipv6')
    .protocol(protocol);

/** Refuses a connection: a TCP reset, else ICMP port unreachable. */
export function refusal(fam: Fam, protocol: PickProtocol): RuleBuilder {
  return protocol === 'tcp' ? start(fam, protocol).reject({ with: 'tcp reset' }) : start(fam, protocol).reject();
}

/** The rules of one shared pick chain. */
export function pickChainRules(fam: Fam, by: PickBy, protocol: PickProtocol, slots: SlotTier): RuleBuilder[] {
  return [
    start(fam, protocol).expressions(...hairpinExpressions(fam, by)),
    start(fam, protocol).expressions(...pickExpressions(fam, by, slots), dnatFromRegisters(fam)),
    refusal(fam, protocol),
  ];
}

/** Every shared chain of the table: the pick chains and `no-endpoints`. */
export function sharedChains(): SharedChain[] {
  const out: SharedChain[] = [];
  for (const fam of [4, 6] as const) {
    for (const by of ['vip', 'nodeport'] as const) {
      for (const p of PICK_PROTOCOLS) for (const n of SLOT_TIERS) out.push({ name: pickChain(fam, by, p, n), rules: pickChainRules(fam, by, p, n) });
    }
  }
  const refusals: RuleBuilder[] = [];
  for (const fam of [4, 6] as const) for (const p of PICK_PROTOCOLS) refusals.push(refusal(fam, p));
  out.push({ name: NO_ENDPOINTS_CHAIN, rules: refusals });
  return out;
}
