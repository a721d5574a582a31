/**
 * Conntrack labels (`ct label`, CTA_LABELS): 128 bits an entry carries,
 * named by number (0-127) or by the names of connlabel.conf. The kernel
 * sends and takes them as the bytes of its bitmap, an array of unsigned
 * longs in the host's byte order.
 * @module
 */
import * as os from 'node:os';
import { ValidationError } from '../netlink/errors';
import { CT_LABEL_BITS, labelBitOf } from '../validate/connlabels';

/** The bitmap's size (NF_CT_LABELS_MAX_SIZE): what the kernel sends, and what a change sends, whole. */
export const LABEL_BYTES = CT_LABEL_BITS / 8;

/**
 * Where bit `n` of the kernel's bitmap is, as [byte, bit in the byte]: on a
 * little-endian host byte n/8; on a big-endian one inside its 64-bit word
 * from the other end.
 */
function position(n: number, bigEndian: boolean): [number, number] {
  const byte = n >> 3;
  return [bigEndian ? (byte & ~7) | (7 - (byte & 7)) : byte, n & 7];
}

const BIG_ENDIAN = os.endianness() === 'BE';

/** The label numbers set in a CTA_LABELS bitmap, ascending. */
export function decodeLabels(buf: Buffer, bigEndian = BIG_ENDIAN): number[] {
  const out: number[] = [];
  const bits = Math.min(buf.length, LABEL_BYTES) * 8;
  for (let n = 0; n < bits; n++) {
    const [byte, bit] = position(n, bigEndian);
    if (buf[byte] & (1 << bit)) out.push(n);
  }
  return out;
}

/** The CTA_LABELS bitmap of label numbers. */
export function encodeLabels(labels: readonly number[], bigEndian = BIG_ENDIAN): Buffer {
  const buf = Buffer.alloc(LABEL_BYTES);
  for (const n of labels) {
    const [byte, bit] = position(n, bigEndian);
    buf[byte] |= 1 << bit;
  }
  return buf;
}

/** Label numbers of labels given by number or connlabel.conf name; ValidationError naming `field`. */
export function labelNumbers(labels: unknown, field: string): number[] {
  if (!Array.isArray(labels)) throw new ValidationError(field, labels, `must be an array of labels (numbers 0-${CT_LABEL_BITS - 1} or connlabel.conf names)`);
  return labels.map((l: unknown) => {
    if (typeof l !== 'number' && typeof l !== 'string') throw new ValidationError(field, l, `must be a label number 0-${CT_LABEL_BITS - 1} or name`);
    const n = labelBitOf(l, field);
    if (!Number.isInteger(n) || n < 0 || n >= CT_LABEL_BITS) throw new ValidationError(field, l, `must be a label number 0-${CT_LABEL_BITS - 1}`);
    return n;
  });
}
