/**
 * An expression nlkit has no typed codec for (last, xfrm, tunnel,
 * ...): kept as its name plus the raw NFTA_EXPR_DATA bytes, so listing a
 * ruleset and writing it back loses nothing.
 * @module
 */

/** An expression nlkit has no type for, kept as received; re-encodes unchanged. */
export interface OpaqueExpression {
  /** Marks an undecoded expression. */
  type: 'opaque';
  /** Kernel expression name. */
  name: string;
  /** The attributes inside NFTA_EXPR_DATA, as received (may be empty). */
  data: Buffer;
}
