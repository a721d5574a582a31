/**
 * The packet mark bit by which the dispatch chains ask postrouting to
 * masquerade (hairpin, hairpin.ts).
 * @module
 */
import { hostU32 } from '../nftables/data';
import type { Expression } from '../nftables';

/** The packet mark bit asking postrouting to masquerade (hairpin). */
export const MASQUERADE_BIT = 0x00020000;

/** `meta mark` into register 1. */
export const markLoad = (): Expression => ({ type: 'meta', key: 'mark', dreg: 1 });

/** `meta mark set meta mark | MASQUERADE_BIT` */
export function markForMasquerade(): Expression[] {
  return [
    markLoad(),
    { type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: hostU32(~MASQUERADE_BIT >>> 0), xor: hostU32(MASQUERADE_BIT) },
    { type: 'meta', key: 'mark', sreg: 1 },
  ];
}
