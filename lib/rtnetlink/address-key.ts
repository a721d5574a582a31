/**
 * What names one address for `addresses.get`, `find` and `delete`: the link
 * it is on and the address with its prefix length (and, for a point-to-point
 * address, its peer). A listed {@link Address} is such a key.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatIp, parseCidr, type IpFamily } from '../validate/ip';
import { ADDRESS_KEY_KEYS, type Address } from './address-types';
import { rejectUnknownKeys } from '../validate/options';
import type { LinkRef } from './link';

/** A key checked and put the way the kernel's answers print it ("fd00::2/64", not "fd00:0::2/64"). */
export interface ParsedAddressKey {
  link: LinkRef;
  family: IpFamily;
  /** As {@link Address.cidr} prints it. */
  cidr: string;
  /** As {@link Address.peer} prints it, when the key names one. */
  peer?: string;
}

/** Checks a key (a ValidationError naming the field otherwise). */
export function parseAddressKey(key: unknown): ParsedAddressKey {
  if (typeof key !== 'object' || key === null) throw new ValidationError('address', key, 'must be an object with link and cidr (a listed address is one)');
  rejectUnknownKeys(key, ADDRESS_KEY_KEYS, 'address key');
  const { link, cidr, peer } = key as { link?: LinkRef; cidr?: unknown; peer?: unknown };
  if (link === undefined) throw new ValidationError('link', link, 'required: the link the address is on');
  const c = parseCidr(cidr, 'cidr', { defaultFull: true });
  const out: ParsedAddressKey = { link, family: c.family, cidr: `${formatIp(c.bytes)}/${c.prefixLength}` };
  if (peer !== undefined) out.peer = formatIp(parseCidr(peer, 'peer', { family: c.family, defaultFull: true }).bytes);
  return out;
}

/** Whether `a` is the address `key` names (the link is filtered by the kernel's dump). */
export function isAddressOfKey(key: ParsedAddressKey, a: Address): boolean {
  // The kernel reports no peer when it equals the address itself.
  return a.cidr === key.cidr && (key.peer === undefined || (a.peer ?? a.address) === key.peer);
}
