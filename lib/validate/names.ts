/**
 * Validation of names and text that reach the kernel or the filesystem:
 * interface names, namespace names, sysctl keys, nftables names and the text
 * nft prints (comments, log prefixes). Each throws a ValidationError naming
 * the field before anything is sent.
 * @module
 */
import { ValidationError } from '../netlink/errors';

/** IFNAMSIZ - 1 */
export const MAX_IFNAME = 15;

/** C0 controls (newline, NUL, ESC, ...), DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Refuses control characters. A newline in a name or comment that a tool
 * later prints (`nft list ruleset`, `ip link`) would start a line of its own
 * in a saved configuration: input could inject commands into it.
 */
export function rejectControlCharacters(value: string, field: string): string {
  const hit = CONTROL_CHARACTER.exec(value);
  if (hit) throw new ValidationError(field, value, `must not contain control characters (found ${JSON.stringify(hit[0])} at ${hit.index})`);
  return value;
}

/**
 * Interface names as the kernel accepts them (dev_valid_name): 1-15 bytes, no
 * '/', ':' or white space, not "." or ".."; and no control characters.
 */
export function validateInterfaceName(name: unknown, field = 'interface name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, name, 'must be a non-empty string');
  if (Buffer.byteLength(name) > MAX_IFNAME) throw new ValidationError(field, name, `longer than ${MAX_IFNAME} bytes`);
  if (name === '.' || name === '..') throw new ValidationError(field, name, 'not allowed');
  rejectControlCharacters(name, field);
  if (/[/:\s]/.test(name)) throw new ValidationError(field, name, "must not contain '/', ':' or white space");
  return name;
}

/** ALTIFNAMSIZ - 1 */
export const MAX_ALTIFNAME = 127;

/**
 * Alternative interface names (`ip link property add ... altname`): like
 * interface names, but up to 127 bytes.
 */
export function validateAltName(name: unknown, field = 'altname'): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, name, 'must be a non-empty string');
  if (Buffer.byteLength(name) > MAX_ALTIFNAME) throw new ValidationError(field, name, `longer than ${MAX_ALTIFNAME} bytes`);
  if (Buffer.byteLength(name) <= MAX_IFNAME) return validateInterfaceName(name, field);
  rejectControlCharacters(name, field);
  if (/[/:\s]/.test(name)) throw new ValidationError(field, name, "must not contain '/', ':' or white space");
  return name;
}

/** nftables object names are at most NFT_NAME_MAXLEN - 1 bytes. */
export const MAX_NFT_NAME = 255;

// What nft can read back unquoted: `nft list ruleset` prints names bare, so
// anything else (space, ';', '{', '"', '#', a newline) would let a name
// inject syntax into a saved ruleset. One "%d" is the kernel's template for
// a set name it picks ("__set%d" for anonymous sets).
const NFT_NAME = /^[A-Za-z0-9_./-]*(?:%d[A-Za-z0-9_./-]*)?$/;

/** Names validateNftName accepted (bounded: cleared when full). */
const validNftNames = new Set<string>();

/**
 * nftables table, chain, set, map, object and flowtable names (and every
 * reference to one: jump targets, "@set" lookups, object references): 1-255
 * characters out of letters, digits, '_', '.', '/' and '-' — the names nft
 * itself can write and read back.
 */
export function validateNftName(name: unknown, field: string): string {
  // Every rule names its table and chain: a name checked once is not checked again.
  if (typeof name === 'string' && validNftNames.has(name)) return name;
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, name, 'must be a non-empty string');
  rejectControlCharacters(name, field);
  if (name.length > MAX_NFT_NAME) throw new ValidationError(field, name, `longer than ${MAX_NFT_NAME} bytes`);
  if (!NFT_NAME.test(name)) {
    throw new ValidationError(field, name, "only letters, digits, '_', '.', '/' and '-' are allowed (what nft can read back from `nft list ruleset`)");
  }
  if (validNftNames.size >= 256) validNftNames.clear();
  validNftNames.add(name);
  return name;
}

/**
 * Text nft prints between double quotes (comments, log prefixes, interface
 * names in rules and sets): any characters but control characters and '"',
 * which nft cannot escape; at most `maxBytes` UTF-8 bytes when given.
 */
export function validateNftText(text: unknown, field: string, maxBytes?: number): string {
  if (typeof text !== 'string') throw new ValidationError(field, text, 'must be a string');
  rejectControlCharacters(text, field);
  if (text.includes('"')) throw new ValidationError(field, text, "must not contain '\"' (nft prints it between double quotes and cannot escape one)");
  if (maxBytes !== undefined && Buffer.byteLength(text) > maxBytes) throw new ValidationError(field, text, `longer than ${maxBytes} bytes`);
  return text;
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
