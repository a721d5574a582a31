/**
 * The types of bridge multicast database entries (`h.mdb`, `bridge mdb`):
 * which bridge ports a multicast group is forwarded to. Types only; the
 * operations are in mdb.ts.
 * @module
 */
import { keysOf } from '../validate/options';
import type { LinkRef } from './link-types';

/** `permanent`: stays until deleted; `temp`: ages out like a learned one (the default, as `bridge mdb add`). */
export type MdbState = 'permanent' | 'temp';

/** A multicast database entry, as the kernel reports it. */
export interface MdbEntry {
  /** Index of the bridge. */
  bridge: number;
  /** Name of the bridge, resolved by nlkit. */
  bridgeName?: string;
  /** Index of the port the group is forwarded to (the bridge itself for groups the host joined). */
  port: number;
  /** Name of that port, resolved by nlkit. */
  portName?: string;
  /** The group: an IPv4 or IPv6 multicast address, or a MAC address for layer 2 entries. */
  group: string;
  /** permanent or temp. */
  state: MdbState;
  /** VLAN id, on VLAN-filtering bridges. */
  vid?: number;
  /** "offload", "fast_leave", "added_by_star_ex", "blocked". */
  flags: string[];
  /** Who added it: 4 (`static`, by a user) or 2 (`kernel`, learned by snooping); MDBA_MDB_EATTR_RTPROT. */
  protocol?: number;
  /** Time left before a temp entry ages out, in hundredths of a second (as `bridge -s mdb` prints it in seconds). */
  timer?: number;
}

/** What names one entry: bridge, port, group and VLAN. */
export interface MdbKey {
  /** The bridge. */
  bridge: LinkRef;
  /** The port (or the bridge itself). */
  port: LinkRef;
  /** The group address (IPv4, IPv6 or MAC). */
  group: string;
  /** VLAN id; absent: the entry without a VLAN. */
  vid?: number;
  /** Accepted so that a listed entry is a key; not used. */
  bridgeName?: string;
  /** Accepted so that a listed entry is a key; not used. */
  portName?: string;
  /** Accepted so that a listed entry is a key; not used. */
  state?: MdbState;
  /** Accepted so that a listed entry is a key; not used. */
  flags?: string[];
  /** Accepted so that a listed entry is a key; not used. */
  protocol?: number;
  /** Accepted so that a listed entry is a key; not used. */
  timer?: number;
}

/** Options of {@link mdbOps.add}: a key and its state. */
export interface MdbOptions extends Omit<MdbKey, 'state'> {
  /** Default "temp", as `bridge mdb add`. */
  state?: MdbState;
}

/** Filters of {@link mdbOps.list}. */
export interface MdbFilter {
  /** Only this bridge's entries. */
  bridge?: LinkRef;
  /** Only entries of this port. */
  port?: LinkRef;
  /** Only entries in this VLAN. */
  vid?: number;
}

export const MDB_KEY_KEYS = keysOf<MdbKey>()(['bridge', 'port', 'group', 'vid', 'bridgeName', 'portName', 'state', 'flags', 'protocol', 'timer']);
export const MDB_OPTION_KEYS = keysOf<MdbOptions>()(['bridge', 'port', 'group', 'vid', 'bridgeName', 'portName', 'state', 'flags', 'protocol', 'timer']);
export const MDB_FILTER_KEYS = keysOf<MdbFilter>()(['bridge', 'port', 'vid']);
