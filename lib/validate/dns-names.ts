/**
 * DNS host names as nlkit's embedded responder answers them: letters,
 * digits and "-" in dot-separated labels of 1-63 characters, 253 in all
 * (RFC 1123), compared without regard to case.
 * @module
 */
import { ValidationError } from '../netlink/errors';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Whether `name` is a host name ("web", "db.backend"), without a trailing dot. */
export function isDnsName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

/** A host name, lower-cased; ValidationError naming `field` otherwise. */
export function validateDnsName(name: unknown, field: string): string {
  if (!isDnsName(name)) throw new ValidationError(field, name, 'must be a host name: labels of a-z, 0-9 and "-" (1-63 characters) separated by dots');
  return name.toLowerCase();
}

/** A list of host names, lower-cased and without duplicates. */
export function validateDnsNames(names: unknown, field: string): string[] {
  if (!Array.isArray(names)) throw new ValidationError(field, names, 'must be an array of host names');
  return [...new Set(names.map((n, i) => validateDnsName(n, `${field}[${String(i)}]`)))];
}

/** The names an attachment answers to when none were given: its id, if that is a host name. */
export function defaultDnsNames(id: string): string[] {
  return isDnsName(id) ? [id.toLowerCase()] : [];
}
