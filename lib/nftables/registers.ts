/**
 * nf_tables registers. The kernel has 16 four-byte registers (NFT_REG32_00..15,
 * numbered 8-23 on the wire); the legacy 16-byte registers NFT_REG_1..4 alias
 * NFT_REG32_00, _04, _08 and _12. When it dumps a rule the kernel reports a
 * register in its legacy form whenever one exists, so the rule builder uses
 * that canonical form too and rules read back equal to what was written.
 * @module
 */
import { ValidationError } from '../netlink/errors';

/** The verdict register. */
export const VERDICT_REGISTER = 0;

/** Canonical wire number of 4-byte register `index` (0-15). */
export function register32(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > 15)
    throw new ValidationError('register', index, 'out of registers (a rule may load at most 64 bytes at once)');
  return index % 4 === 0 ? 1 + index / 4 : 8 + index;
}

/** The 4-byte register index (0-15) of a wire register number (1-4 or 8-23). */
export function registerIndex(reg: number): number {
  if (reg >= 1 && reg <= 4) return (reg - 1) * 4;
  if (reg >= 8 && reg <= 23) return reg - 8;
  throw new ValidationError('register', reg, 'not a data register');
}

/** How many 4-byte registers a value of `len` bytes occupies. */
export function registerSpan(len: number): number {
  return Math.ceil(len / 4);
}
