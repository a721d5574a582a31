/**
 * Lowering of mark bit operations, for the packet mark and the connection
 * mark alike: matching bits under a mask (`meta mark & 0xff00 == 0x100`) and
 * setting a mark from a value, from the old mark changed bitwise (`meta mark
 * set meta mark | 0x4000`) or from the other mark (`ct mark set meta mark`).
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { validateU32 } from '../../validate/integers';
import { hostU32 } from '../data';
import type { Expression } from '../expressions/registry';
import type { BuildContext } from './context';
import type { MarkUpdate, MaskedMark } from './options';

export type MarkKind = 'meta mark' | 'ct mark';

function load(kind: MarkKind, dreg: number): Expression {
  return kind === 'meta mark' ? { type: 'meta', key: 'mark', dreg } : { type: 'ct', key: 'mark', dreg };
}

function store(kind: MarkKind, sreg: number): Expression {
  return kind === 'meta mark' ? { type: 'meta', key: 'mark', sreg } : { type: 'ct', key: 'mark', sreg };
}

/** Whether a match value is a masked mark ({ mask, value }) rather than a plain match value. */
export function isMaskedMark(v: unknown): v is MaskedMark {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !Array.isArray(v) && 'mask' in v;
}

/** `meta mark & mask == value`. */
export function matchMaskedMark(ctx: BuildContext, kind: MarkKind, m: MaskedMark): void {
  const mask = validateU32(m.mask, `${kind} mask`);
  const value = validateU32(m.value, `${kind} value`);
  if ((value & ~mask) >>> 0) throw new ValidationError(`${kind} value`, m.value, 'has bits outside the mask: the rule could never match');
  ctx.push(
    load(kind, 1),
    { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: hostU32(mask), xor: hostU32(0) },
    { type: 'cmp', sreg: 1, op: 'eq', data: hostU32(value) },
  );
}

/** Checks an update up front (so a bad value fails where it is written) and returns its lowering. */
export function markUpdate(kind: MarkKind, u: MarkUpdate): (ctx: BuildContext) => void {
  if (typeof u === 'number') {
    const mark = validateU32(u, kind);
    return (ctx) => ctx.push({ type: 'immediate', dreg: 1, data: hostU32(mark) }, store(kind, 1));
  }
  if (typeof u !== 'object' || Object.keys(u).length !== 1)
    throw new ValidationError(kind, u, 'must be a number, or one of { or }, { and }, { xor }, { from }');
  if ('from' in u) {
    if (!['meta mark', 'ct mark'].includes(u.from)) throw new ValidationError(`${kind} from`, u.from, 'must be "meta mark" or "ct mark"');
    const from = u.from;
    return (ctx) => ctx.push(load(from, 1), store(kind, 1));
  }
  // nft's encoding of each operator as mask-and-xor: (mark & mask) ^ xor.
  let mask: number;
  let xor: number;
  if ('or' in u) {
    const v = validateU32(u.or, `${kind} or`);
    [mask, xor] = [~v >>> 0, v];
  } else if ('and' in u) {
    [mask, xor] = [validateU32(u.and, `${kind} and`), 0];
  } else if ('xor' in u) {
    [mask, xor] = [0xffffffff, validateU32(u.xor, `${kind} xor`)];
  } else {
    throw new ValidationError(kind, u, 'must be a number, or one of { or }, { and }, { xor }, { from }');
  }
  return (ctx) =>
    ctx.push(load(kind, 1), { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: hostU32(mask), xor: hostU32(xor) }, store(kind, 1));
}
