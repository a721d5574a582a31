/**
 * The registry of qdisc and class kinds nlkit can create and decode. Kinds
 * not listed here still read back, with their TCA_OPTIONS kept raw.
 * @module
 */
import type { TcKind } from './kind';
import { htbClass, htbQdisc } from './htb';
import { clsact, ingress } from './ingress';
import { tbf } from './tbf';

export type { HtbClassInfo, HtbClassOptions, HtbQdiscInfo, HtbQdiscOptions } from './htb';
export type { NoOptions } from './ingress';
export type { TbfInfo, TbfOptions } from './tbf';
export { INGRESS_PLACE } from './ingress';
export type { TcKind } from './kind';

// Without a prototype: a kind named "constructor" finds no codec instead of Object's members.
function registry(...kinds: Array<TcKind<never, unknown>>): Record<string, TcKind<never, unknown>> {
  return Object.assign(Object.create(null) as Record<string, TcKind<never, unknown>>, Object.fromEntries(kinds.map((k) => [k.kind, k])));
}

/** Qdisc kinds by name. */
export const QDISC_KINDS = registry(tbf, htbQdisc, ingress, clsact);
/** Class kinds by name. */
export const CLASS_KINDS = registry(htbClass);
/** Qdiscs that always sit at the ingress parent with handle ffff:. */
export const INGRESS_KINDS: ReadonlySet<string> = new Set([ingress.kind, clsact.kind]);
