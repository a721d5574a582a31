/**
 * Option objects: a misspelt key (`{ tabel: 'nat' }`) must fail loudly
 * instead of being ignored (which would silently widen a filter or skip a
 * safety option).
 * @module
 */
import { ValidationError } from '../netlink/errors';

/**
 * Refuses keys of `value` that are not in `allowed` (undefined and absent
 * objects pass). Returns the object, typed, for chaining.
 * @param field how the object is named in the error, e.g. "nftables filter"
 */
export function rejectUnknownKeys<T extends object>(value: T | undefined, allowed: readonly string[], field: string): T | undefined {
  if (value === undefined) return value;
  if (!isObject(value) || Array.isArray(value)) throw new ValidationError(field, value, 'must be an object');
  // for-in, not Object.keys: no array per call (this runs for every item of a bulk write).
  for (const key in value) {
    if (Object.hasOwn(value, key) && !allowed.includes(key)) throw new ValidationError(field, key, `unknown option (known: ${allowed.join(', ')})`);
  }
  return value;
}

/**
 * Refuses a flag that is neither a boolean nor absent: a JavaScript caller's
 * `'false'` or `0` is not read as truthy or falsy.
 * @param field how the flag is named in the error, e.g. "proxy"
 */
export function checkBoolean(v: unknown, field: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') throw new ValidationError(field, v, 'must be a boolean');
  return v;
}

/** Whether every own key of `value` is one of `allowed` (rejectUnknownKeys without the throw, for fast paths that fall back to it). */
export function hasOnlyKeys(value: object, allowed: readonly string[]): boolean {
  for (const key in value) if (Object.hasOwn(value, key) && !allowed.includes(key)) return false;
  return true;
}

/**
 * Whether `value` is a non-null object. Public functions call it on arguments
 * their types already say are objects: JavaScript callers are not held to
 * those types, and a clear ValidationError beats a TypeError deep inside.
 */
export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/**
 * A list of the keys of `T`, checked by the compiler both ways: a name `T`
 * does not have, or a key of `T` the list leaves out, does not compile. So a
 * field added to an option type cannot be forgotten by rejectUnknownKeys.
 * @example
 * const FILTER_KEYS = keysOf<{ link?: string; family?: 4 | 6 }>()(['link', 'family']);
 */
export function keysOf<T>() {
  return <const K extends ReadonlyArray<keyof T & string>>(
    keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missingKeys: Exclude<keyof T, K[number]> }),
  ): readonly string[] => keys;
}
