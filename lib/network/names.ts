/**
 * Deterministic, collision-resistant names for what nlkit creates on the host
 * side, so a reconcile after a crash can find them again: bridge names from
 * the network name, host veth names from (network, sandbox id).
 * @module
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../netlink/errors';
import { MAX_IFNAME, validateInterfaceName } from '../validate/names';

/** Network names: short, safe in file names, interface names and nft comments. */
export function validateNetworkName(name: unknown): string {
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name)) {
    throw new ValidationError('network name', name, 'use 1-32 characters: a-z, 0-9, "_" and "-", starting with a letter or digit');
  }
  return name;
}

/** "nlk-<name>", or "nlk-" + a hash when the name is too long for an interface name. */
export function defaultBridgeName(network: string): string {
  const plain = `nlk-${network}`;
  if (plain.length <= MAX_IFNAME) return plain;
  return `nlk-${hash(network, 11)}`;
}

/** The host end of a sandbox's veth: "nv" + 12 hex digits of hash(network, id). */
export function hostVethName(network: string, sandboxId: string): string {
  return validateInterfaceName(`nv${hash(`${network}\0${sandboxId}`, 12)}`);
}

/** A locally administered unicast MAC derived at random. */
export function randomMac(): string {
  const b = Buffer.from(createHash('sha256').update(`${process.pid}${process.hrtime.bigint()}${Math.random()}`).digest().subarray(0, 6));
  b[0] = (b[0] & 0xfe) | 0x02;
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

function hash(s: string, hexChars: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, hexChars);
}
