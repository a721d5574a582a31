/**
 * The flags of neighbour and FDB entries — NTF_* in ndm_flags and in
 * NDA_FLAGS_EXT — by the names `ip -j neigh` and `bridge -j fdb` print them:
 * decoding the extended ones, and reading a listed entry's `flags` back on a
 * write (neighbour.ts, fdb.ts).
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { Attributes } from '../netlink/parser';
import * as C from './constants';

/** NDA_FLAGS_EXT bits by the names `ip -j neigh` / `bridge -j fdb` print them. */
export const EXT_FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [C.NTF_EXT_MANAGED, 'managed'],
  [C.NTF_EXT_LOCKED, 'locked'],
  [C.NTF_EXT_EXT_VALIDATED, 'extern_valid'],
];

/** NDA_FLAGS_EXT decoded: the names of its known bits, and the bits nlkit has no name for. */
export interface ExtFlags {
  names: string[];
  /** Bits without a name; when not 0 the raw attribute stays in `unknownAttributes`. */
  unnamed: number;
}

/** Decodes an entry's NDA_FLAGS_EXT (absent: no flags). */
export function decodeExtFlags(a: Attributes): ExtFlags {
  const ext = a.u32(C.NDA_FLAGS_EXT) ?? 0;
  let named = 0;
  for (const [bit] of EXT_FLAG_NAMES) named |= bit;
  return { names: EXT_FLAG_NAMES.filter(([bit]) => ext & bit).map(([, n]) => n), unnamed: ext & ~named };
}

/**
 * A listed entry's `flags` on a write: absent, or an array of names the entry
 * type lists (`known`); a ValidationError otherwise (a misspelt flag is not
 * dropped silently).
 */
export function listedFlags(flags: unknown, known: readonly string[]): ReadonlySet<string> {
  if (flags === undefined) return new Set();
  if (!Array.isArray(flags) || flags.some((f) => typeof f !== 'string' || !known.includes(f))) {
    throw new ValidationError('flags', flags, `an array of ${known.join(', ')} (as listed)`);
  }
  return new Set(flags as string[]);
}

/** A flag to write: the option when given (it wins over a listed entry's `flags`), else whether `flags` names it. */
export function flagOf(option: boolean | undefined, listed: ReadonlySet<string>, name: string): boolean {
  return option ?? listed.has(name);
}
