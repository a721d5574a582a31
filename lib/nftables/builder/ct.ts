/**
 * Lowering of the conntrack zone, label and helper: `ct zone 5`, `ct zone
 * set 5`, `ct label 3`, `ct label set 3` and `ct helper set "ftp"` (a
 * reference to a ct helper object of the table). Values are checked when the
 * builder method is called; the returned steps only emit expressions. A
 * label named (`ct label "web"`) is looked up then too, in the caller's map
 * or connlabel.conf (connlabels.ts).
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { validateInteger } from '../../validate/integers';
import { validateNftName } from '../../validate/names';
import { CT_LABEL_BITS, labelBitOf, type CtLabelMap } from '../../validate/connlabels';
import { HOST_LITTLE_ENDIAN } from '../data';
import type { BuildContext, Step } from './context';

/** A zone id in host byte order (the kernel's u16). */
function zoneBytes(zone: number): Buffer {
  const z = validateInteger(zone, 'ct zone', 0, 0xffff);
  const b = Buffer.alloc(2);
  if (HOST_LITTLE_ENDIAN) b.writeUInt16LE(z, 0);
  else b.writeUInt16BE(z, 0);
  return b;
}

/** The 128-bit label bitmap with one bit set, as the kernel stores it (host-order words). */
function labelBit(label: number | string, labels: CtLabelMap | undefined): Buffer {
  const bit = validateInteger(labelBitOf(label, 'ct label', labels), 'ct label', 0, CT_LABEL_BITS - 1);
  const b = Buffer.alloc(CT_LABEL_BITS / 8);
  b[bit >> 3] = 1 << (bit & 7);
  return HOST_LITTLE_ENDIAN ? b : b.reverse();
}

/** `ct zone N`. */
export function ctZoneMatch(zone: number): Step {
  const data = zoneBytes(zone);
  return (ctx: BuildContext) => ctx.push({ type: 'ct', key: 'zone', dreg: 1 }, { type: 'cmp', sreg: 1, op: 'eq', data });
}

/** `ct zone set N`, or `ct original|reply zone set N` for that direction's tuple only (before conntrack sees the packet: a raw-priority chain). */
export function ctZoneSet(zone: number, direction?: 'original' | 'reply'): Step {
  const data = zoneBytes(zone);
  // JavaScript callers are not held to the types.
  const d = direction as unknown;
  if (d !== undefined && d !== 'original' && d !== 'reply') throw new ValidationError('ct zone direction', d, 'must be "original" or "reply"');
  const ct = direction === undefined ? ({ type: 'ct', key: 'zone', sreg: 1 } as const) : ({ type: 'ct', key: 'zone', sreg: 1, direction } as const);
  return (ctx: BuildContext) => ctx.push({ type: 'immediate', dreg: 1, data }, ct);
}

/** `ct label N` or `ct label "name"`: the connection carries label bit N. */
export function ctLabelMatch(label: number | string, labels?: CtLabelMap): Step {
  const mask = labelBit(label, labels);
  return (ctx: BuildContext) =>
    ctx.push(
      { type: 'ct', key: 'label', dreg: 1 },
      // Without an operator (mask-xor, the kernel's default), as nft sends a bit test.
      { type: 'bitwise', sreg: 1, dreg: 1, len: mask.length, mask, xor: Buffer.alloc(mask.length) },
      { type: 'cmp', sreg: 1, op: 'neq', data: Buffer.alloc(mask.length) },
    );
}

/** `ct label set N` or `ct label set "name"`: adds label bit N to the connection. */
export function ctLabelSet(label: number | string, labels?: CtLabelMap): Step {
  const data = labelBit(label, labels);
  return (ctx: BuildContext) => ctx.push({ type: 'immediate', dreg: 1, data }, { type: 'ct', key: 'label', sreg: 1 });
}

/** `ct helper set "name"`: assigns the table's ct helper object `name` to the connection. */
export function ctHelperSet(name: string): Step {
  if (typeof name !== 'string') throw new ValidationError('ct helper', name, 'must be the name of a ct helper object');
  const n = validateNftName(name, 'ct helper');
  return (ctx: BuildContext) => ctx.push({ type: 'objref', objectType: 'ct helper', name: n });
}
