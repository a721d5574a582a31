/**
 * The ranges of numbers nftables objects carry, checked before anything is
 * sent: handles, timeouts in milliseconds, 64-bit counters. Out of range,
 * they used to fail as a RangeError from deep inside the encoder (a handle
 * of -1 or 1.5, a counter of -1n) or as the kernel's ERANGE at commit.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { validateInteger } from '../validate/integers';

/**
 * The longest timeout the kernel takes, in milliseconds: it refuses (ERANGE)
 * any of (2^64 - 1) / 10^6 ms or more (nf_msecs_to_jiffies64).
 */
export const MAX_TIMEOUT_MS = 18_446_744_073_708;

/**
 * A kernel handle as the API represents it: a positive integer. Handles are
 * u64 on the wire; a number holds them exactly up to 2^53 - 1.
 * @example
 * validateHandle(42, 'rule handle'); // 42
 */
export function validateHandle(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ValidationError(field, value, `must be a kernel handle: an integer from 1 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return value;
}

/** A timeout in milliseconds the kernel takes (0 to {@link MAX_TIMEOUT_MS}). */
export function validateTimeout(value: unknown, field: string): number {
  return validateInteger(value, field, 0, MAX_TIMEOUT_MS);
}

/** A 64-bit counter value (packets, bytes): a bigint (or integer number) from 0 to 2^64 - 1. */
export function validateCounterValue(value: unknown, field: string): bigint | number {
  const ok = typeof value === 'bigint' ? value >= 0n && value < 1n << 64n : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  // The value as text: JSON (the error's message) has no bigint.
  if (!ok) throw new ValidationError(field, typeof value === 'bigint' ? String(value) : value, 'must be a bigint from 0 to 2^64 - 1');
  return value as bigint | number;
}
