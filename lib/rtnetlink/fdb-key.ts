/**
 * Which forwarding entry an {@link FdbKey} names, for `fdb.get` and `find`:
 * the MAC on its link, in its VLAN (none given: the entry without a VLAN,
 * as for delete), and where given the VXLAN remote (`dst`, `port`, `vni`,
 * `srcVni`, `via`) and the bridge. A listed {@link FdbEntry} is a key.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { formatIp, formatMac, parseIp, parseMac } from '../validate/ip';
import { FDB_WRITE_KEYS, type FdbEntry, type FdbKey } from './fdb-types';
import { rejectUnknownKeys } from '../validate/options';
import type { LinkRef } from './link';
import { linkOfOptions, type WithLegacyDev } from './neighbour';

/** A key checked, in the form decoded entries have; interfaces still to resolve. */
export interface ParsedFdbKey {
  link: LinkRef;
  mac: string;
  vlan?: number;
  dst?: string;
  port?: number;
  vni?: number;
  srcVni?: number;
  via?: LinkRef;
  bridge?: LinkRef;
  /** The deprecated `master: true`: an entry of the port's bridge. */
  inBridge: boolean;
}

function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ValidationError(field, v, `must be an integer ${min}-${max}`);
  return v as number;
}

/** Checks a key (a ValidationError naming the field otherwise). */
export function parseFdbKey(key: FdbKey | WithLegacyDev<FdbKey>): ParsedFdbKey {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  if (typeof key !== 'object' || key === null) throw new ValidationError('fdb entry', key, 'must be an object with mac and link');
  rejectUnknownKeys(key, FDB_WRITE_KEYS, 'fdb entry');
  const out: ParsedFdbKey = {
    link: linkOfOptions(key),
    mac: formatMac(parseMac(key.mac, 'mac')),
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the deprecated flag still selects the bridge's entry
    inBridge: key.master === true,
  };
  if (key.vlan !== undefined) out.vlan = checkInt('vlan', key.vlan, 1, 4094);
  if (key.dst !== undefined) out.dst = formatIp(parseIp(key.dst, 'dst').bytes);
  if (key.port !== undefined) out.port = checkInt('port', key.port, 0, 65535);
  if (key.vni !== undefined) out.vni = checkInt('vni', key.vni, 0, 0xffffff);
  if (key.srcVni !== undefined) out.srcVni = checkInt('srcVni', key.srcVni, 0, 0xffffff);
  if (key.via !== undefined) out.via = key.via;
  if (key.bridge !== undefined) out.bridge = key.bridge;
  return out;
}

/** The interfaces of a key as indexes (the link itself is filtered by the kernel's dump). */
export interface FdbKeyIndexes {
  via?: number;
  bridge?: number;
}

/**
 * The entry a key names among a link's entries, or undefined. Without
 * `bridge`, where the device's own table and its bridge's FDB both hold the
 * MAC, the device's own entry (the one a delete without `bridge` removes).
 */
export function pickFdbEntry(key: ParsedFdbKey, at: FdbKeyIndexes, entries: readonly FdbEntry[]): FdbEntry | undefined {
  const matching = entries.filter(
    (e) =>
      e.mac === key.mac &&
      e.vlan === key.vlan &&
      (key.dst === undefined || e.dst === key.dst) &&
      (key.port === undefined || e.port === key.port) &&
      (key.vni === undefined || e.vni === key.vni) &&
      (key.srcVni === undefined || e.srcVni === key.srcVni) &&
      (at.via === undefined || e.via === at.via) &&
      (at.bridge === undefined || e.bridge === at.bridge) &&
      (!key.inBridge || e.bridge !== undefined),
  );
  return matching.find((e) => e.bridge === undefined) ?? matching[0];
}
