/**
 * Integer range checks for values that become fixed-width kernel fields: a
 * plain `>>> 0` would wrap 2^32 to 0 and -1 to 0xffffffff without a word.
 * @module
 */
import { ValidationError } from '../netlink/errors';

/** Refuses anything but an integer from `min` to `max` (NaN, 1.5, "x", out of range). */
export function validateInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, value, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** An unsigned 32-bit integer (marks, priorities of u32 fields, ...). */
export function validateU32(value: unknown, field: string): number {
  return validateInteger(value, field, 0, 0xffffffff);
}
