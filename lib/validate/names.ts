/**
 * Validation of names that reach the kernel or the filesystem: interface
 * names, namespace names, sysctl keys. Each throws a ValidationError before
 * anything is sent.
 * @module
 */
import { ValidationError } from '../netlink/errors';

/** IFNAMSIZ - 1 */
export const MAX_IFNAME = 15;

/**
 * Interface names as the kernel accepts them (dev_valid_name): 1-15 bytes, no
 * '/', ':' or white space, not "." or "..".
 */
export function validateInterfaceName(name: unknown, field = 'interface name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, name, 'must be a non-empty string');
  if (Buffer.byteLength(name) > MAX_IFNAME) throw new ValidationError(field, name, `longer than ${MAX_IFNAME} bytes`);
  if (name === '.' || name === '..') throw new ValidationError(field, name, 'not allowed');
  if (/[/:\s\0]/.test(name)) throw new ValidationError(field, name, "must not contain '/', ':', white space or NUL");
  return name;
}

/**
 * Namespace names become files under /run/netns: letters, digits, '_', '-',
 * '.', up to 255 bytes, never "." or "..", so no path tricks are possible.
 */
export function validateNetnsName(name: unknown, field = 'namespace name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, name, 'must be a non-empty string');
  if (name.length > 255) throw new ValidationError(field, name, 'longer than 255 characters');
  if (name === '.' || name === '..') throw new ValidationError(field, name, 'not allowed');
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ValidationError(field, name, "only letters, digits, '_', '-' and '.' are allowed");
  return name;
}

/**
 * A network sysctl key, "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.5/forwarding",
 * turned into its path under /proc/sys. Only net.* keys are per namespace.
 */
export function sysctlPath(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new ValidationError('sysctl key', key, 'must be a non-empty string');
  const segments = key.includes('/') ? key.split('/') : key.split('.');
  if (segments[0] !== 'net') throw new ValidationError('sysctl key', key, 'only net.* keys are per network namespace');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || !/^[A-Za-z0-9_.:@-]+$/.test(s)) {
      throw new ValidationError('sysctl key', key, `bad segment ${JSON.stringify(s)}`);
    }
  }
  return '/proc/sys/' + segments.join('/');
}
