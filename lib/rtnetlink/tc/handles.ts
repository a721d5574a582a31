/**
 * Traffic control handles written as tc writes them: "1:" (a qdisc),
 * "1:10" (a class), "root", "ingress", "clsact", "none". Numbers are hex, as
 * in tc; a handle is major:minor, 16 bits each.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { TC_H_INGRESS, TC_H_MAJ_MASK, TC_H_MIN_MASK, TC_H_ROOT, TC_H_UNSPEC } from './constants';

const HEX = /^[0-9a-f]{1,4}$/i;

function hex16(s: string, field: string, value: unknown): number {
  if (s === '') return 0;
  if (!HEX.test(s)) throw new ValidationError(field, value, 'must be tc notation: hex major:minor such as "1:", "1:10" (up to ffff each)');
  return parseInt(s, 16);
}

/**
 * A class id or parent, as tc's get_tc_classid reads it: "root", "none",
 * "maj:min", "maj:" or ":min" (hex), or a number (the 32-bit handle).
 */
export function parseClassId(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
      throw new ValidationError(field, value, 'must be a 32-bit handle or tc notation such as "1:10"');
    return value;
  }
  if (typeof value !== 'string') throw new ValidationError(field, value, 'must be tc notation such as "1:10", "1:" or "root"');
  if (value === 'root') return TC_H_ROOT;
  if (value === 'none') return TC_H_UNSPEC;
  if (value === 'ingress' || value === 'clsact') return TC_H_INGRESS;
  const colon = value.indexOf(':');
  if (colon < 0) throw new ValidationError(field, value, 'must be tc notation: "major:minor" in hex, such as "1:10"');
  return ((hex16(value.slice(0, colon), field, value) << 16) | hex16(value.slice(colon + 1), field, value)) >>> 0;
}

/** A qdisc handle, as tc's get_qdisc_handle reads it: "maj:" (hex, minor 0), "none", or a number with minor 0. */
export function parseQdiscHandle(value: unknown, field: string): number {
  if (typeof value === 'string' && value !== 'none' && !/^[0-9a-f]{1,4}:0*$/i.test(value)) {
    throw new ValidationError(field, value, 'a qdisc handle is a major number in hex with an empty minor, such as "1:" or "ffff:"');
  }
  const h = parseClassId(value, field);
  if (h & TC_H_MIN_MASK) throw new ValidationError(field, value, 'a qdisc handle has minor 0, such as "1:"');
  return h;
}

/** A handle as tc prints it (sprint_tc_classid): "root", "none", "1:", "1:10", ":10". */
export function formatHandle(h: number): string {
  if (h === TC_H_ROOT) return 'root';
  if (h === TC_H_UNSPEC) return 'none';
  const maj = (h & TC_H_MAJ_MASK) >>> 16;
  const min = h & TC_H_MIN_MASK;
  if (maj === 0) return `:${min.toString(16)}`;
  if (min === 0) return `${maj.toString(16)}:`;
  return `${maj.toString(16)}:${min.toString(16)}`;
}
