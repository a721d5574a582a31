/**
 * ethtool bit sets in their verbose form: one nest per bit with its index,
 * its name (the kernel's own, e.g. "10000baseT/Full") and whether it is set.
 * @module
 */
import { Attributes } from '../../netlink/parser';
import * as C from './constants';

/** The bits of a bit set: `listed` (the mask: supported) and `set` (the value: advertised). */
export interface DecodedBitset {
  /** Every bit the kernel listed (for a set with a mask: the supported bits). */
  listed: string[];
  /** The bits whose value is 1. */
  set: string[];
}

/** Decodes a verbose bit set nest; bits without a name are given as "bit<N>". */
export function decodeBitset(a: Attributes | undefined): DecodedBitset {
  const out: DecodedBitset = { listed: [], set: [] };
  if (!a) return out;
  const noMask = a.flag(C.ETHTOOL_A_BITSET_NOMASK);
  for (const bit of a.nested(C.ETHTOOL_A_BITSET_BITS)?.allNested(C.ETHTOOL_A_BITSET_BITS_BIT) ?? []) {
    const name = bit.string(C.ETHTOOL_A_BITSET_BIT_NAME) ?? `bit${bit.u32(C.ETHTOOL_A_BITSET_BIT_INDEX) ?? '?'}`;
    out.listed.push(name);
    // Without a mask every listed bit is set; with one, VALUE marks the set bits.
    if (noMask || bit.flag(C.ETHTOOL_A_BITSET_BIT_VALUE)) out.set.push(name);
  }
  return out;
}
