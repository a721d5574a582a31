/**
 * Deterministic, collision-resistant names for what nlkit creates on the host
 * side, so a reconcile after a crash can find them again: bridge names from
 * the network name, host veth names from (network, sandbox id). And the
 * ownership marks (interface aliases) that tell nlkit's interfaces, of which
 * state directory and network, from everyone else's.
 * @module
 */
import { createHash, randomFillSync } from 'node:crypto';
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

/** Random bytes for MACs, filled 42 MACs at a time (one call into the system's CSPRNG, not a hash per attach). */
const macBytes = Buffer.alloc(252);
let macOffset = macBytes.length;

/** A locally administered unicast MAC, random. */
export function randomMac(): string {
  if (macOffset === macBytes.length) {
    randomFillSync(macBytes);
    macOffset = 0;
  }
  const b = macBytes.subarray(macOffset, (macOffset += 6));
  let mac = (((b[0] & 0xfe) | 0x02) + 0x100).toString(16).slice(1);
  for (let i = 1; i < 6; i++) mac += `:${(b[i] + 0x100).toString(16).slice(1)}`;
  return mac;
}

/**
 * The owner tag of a state directory: 8 hex digits of its real path. Two
 * state directories on one host namespace (two runtimes) never collect each
 * other's leftovers; a lost directory re-created at the same path does.
 */
export function ownerTag(realStateDir: string): string {
  return hash(realStateDir, 8);
}

/** What every ownership mark starts with. */
const MARK_PREFIX = 'nlkit:';

/** The alias of a network's bridge: "nlkit:<tag>:<network>". */
export function bridgeMark(tag: string, network: string): string {
  return `${MARK_PREFIX}${tag}:${network}`;
}

/** The alias of a sandbox's host veth: "nlkit:<tag>:<network>/<id>" (an id that is not plain printable text, or long, as "#" + its hash). */
export function vethMark(tag: string, network: string, sandboxId: string): string {
  const id = /^[\x20-\x7e]{1,200}$/.test(sandboxId) ? sandboxId : `#${hash(sandboxId, 16)}`;
  return `${bridgeMark(tag, network)}/${id}`;
}

/** An ownership mark read back from an alias (`id` only on a veth's), or undefined for any other alias. */
export function parseMark(alias: string | undefined): { tag: string; network: string; id?: string } | undefined {
  const m = alias === undefined ? null : /^nlkit:([0-9a-f]{8}):([a-z0-9][a-z0-9_-]{0,31})(?:\/(.+))?$/.exec(alias);
  if (!m) return undefined;
  const id = m[3] as string | undefined; // the optional group
  return id === undefined ? { tag: m[1], network: m[2] } : { tag: m[1], network: m[2], id };
}

function hash(s: string, hexChars: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, hexChars);
}
