/**
 * What every expression file provides: its kernel name and how its typed
 * object maps to the attributes inside NFTA_EXPR_DATA.
 * @module
 */
import type { Attributes, RawAttribute } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';

/**
 * Lets container expressions (dynset) encode and decode the expressions they
 * hold. `E` is the expression union; it is a parameter so that this file
 * need not import the union (which imports every codec).
 */
export interface NestedExpressions<E = unknown> {
  /** Writes NFTA_EXPR_NAME and NFTA_EXPR_DATA of `e` at the current position. */
  writeBody(w: NetlinkWriter, e: E): void;
  /** Reads a nest holding NFTA_EXPR_NAME and NFTA_EXPR_DATA. */
  readBody(nest: Buffer): E;
}

/** An expression's kernel name and codec; `E` is the union its nested expressions belong to (dynset only). */
export interface ExpressionCodec<T extends { type: string }, E = unknown> {
  /** The expression's kernel name (NFTA_EXPR_NAME). */
  readonly name: string;
  /** The `type` of the typed object (usually the kernel name). */
  readonly type: T['type'];
  /** Writes the attributes that go inside NFTA_EXPR_DATA. */
  encode(w: NetlinkWriter, e: T, nested: NestedExpressions<E>): void;
  /** Reads them back into the typed object. */
  decode(a: Attributes, nested: NestedExpressions<E>): T;
}

/** Attributes a decoder found but does not know; written back verbatim. */
export interface HasUnknownAttributes {
  /** Attributes the decoder did not know, written back verbatim. */
  unknownAttributes?: RawAttribute[];
}

/** Reads a big-endian u32 that must be present; 0 when the kernel left it out. */
export function be32Or0(a: Attributes, type: number): number {
  return a.be32(type) ?? 0;
}

/** Sets `obj[key] = value` only when value is defined, keeping decoded objects free of undefined fields. */
export function setIf<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) obj[key] = value;
}
