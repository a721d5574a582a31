/**
 * For `describeNftRule`: what it reads and is told (public), and what it
 * tracks while it walks a rule — the value each register holds and the
 * statements printed so far.
 * @module
 */
import type { RuleSet } from './anonymous-sets';
import type { Expression } from './expressions/registry';
import type { SetWithElements } from './list';
import type { NftFamily } from './message';

/** What `describeNftRule` reads: a listed rule, or just its expressions. */
export interface DescribableRule {
  /** The expressions, in order. */
  expressions: readonly Expression[];
  /** Family of the rule's table (names fields: `ip saddr` needs no dependency in an ip table). Default: inet. */
  family?: NftFamily;
  /** The rule's table, to pick its anonymous sets out of `sets`. */
  table?: string;
  /** Printed as `comment "..."`, as nft does. */
  comment?: string;
  /** The anonymous sets it uses (a rule from `h.nft.ruleset.get()` carries them): printed inline. */
  anonymousSets?: readonly RuleSet[];
}

/** Options of `describeNftRule`. */
export interface DescribeOptions {
  /**
   * The sets and maps of the rule's table (`h.nft.ruleset.get().sets`): anonymous
   * ones are printed inline (`{ 22, 80 }`) as nft does, and object maps by
   * their object type. Without them anonymous sets print as `@__set0`.
   */
  sets?: readonly SetWithElements[];
  /**
   * Names of interfaces by index, for `iif`/`oif` matches (nft looks them up
   * in its namespace; a rule only holds the index). Default: the index.
   */
  interfaceNames?: (index: number) => string | undefined;
}

/** What a register holds at some point of the rule. */
export type RegValue =
  FieldValue | { kind: 'data'; data: Buffer } | { kind: 'map'; text: string; dataTypes: string[]; id: object } | { kind: 'map-part'; id: object };

/** A register loaded from the packet or its metadata (a header field, a meta or ct key, numgen, fib). */
export interface FieldValue {
  kind: 'field';
  /** "ip saddr", "meta mark", "ct state", "@nh,96,32" */
  text: string;
  /** Data type of the value. */
  type: string;
  /** Bits of an address a shorter load or a mask keeps (a prefix match). */
  prefixBits?: number;
  /** Full field length in bytes (prefix matches print the whole address). */
  fieldLen: number;
  /** A mask-xor bitwise applied to the field. */
  mask?: Buffer;
  xor?: Buffer;
  /** A byteorder conversion made the value big-endian. */
  bigEndian?: boolean;
  /** The value says whether something exists (exthdr with the `present` flag): compared with 1 or 0. */
  presence?: boolean;
  /** Where an unnamed payload load came from (bit fields are named once masked). */
  raw?: { base: string | number; offset: number; len: number };
  /** A bit field's value sits this many bits up in the loaded bytes. */
  shift?: number;
}

/** One printed statement; protocol matches may later turn out to be implicit dependencies. */
export interface Piece {
  text: string;
  hidden?: boolean;
}
