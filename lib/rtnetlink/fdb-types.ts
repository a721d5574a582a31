/**
 * The types of bridge and VXLAN forwarding entries (`h.fdb`), apart from the
 * operations so the key matching (fdb-key.ts) can use them without an import cycle.
 * @module
 */
import type { RawAttribute } from '../netlink/parser';
import type { LinkRef } from './link';
import { keysOf } from '../validate/options';

/**
 * - `permanent`: a local address of the bridge, or a fixed entry (NUD_PERMANENT)
 * - `static`: fixed, not aged (NUD_NOARP)
 * - `dynamic`: learned or added to age out (NUD_REACHABLE; `bridge` prints an empty state)
 * - `stale`: aged, about to go (NUD_STALE)
 */
export type FdbState = 'permanent' | 'static' | 'dynamic' | 'stale';

/** A forwarding entry as the kernel reports it. */
export interface FdbEntry {
  /** The MAC address ("00:00:00:00:00:00" for a VXLAN default destination). */
  mac: string;
  /** Index of the port (or VXLAN/bridge device) the entry points to. */
  link: number;
  /** Name of that link, resolved by nlkit (docs/api-conventions.md, "Interface names"). */
  linkName?: string;
  /** @deprecated use `link` (the same index) */
  index: number;
  /**
   * Index of the bridge, for entries that live in a bridge's FDB (NDA_MASTER;
   * `bridge fdb` prints it as `master br0`). Was `master` before 0.2.
   */
  bridge?: number;
  /** Name of the bridge, resolved by nlkit. */
  bridgeName?: string;
  /** "permanent", "static", "dynamic", "stale", or the raw state for others. */
  state: FdbState | (string & {});
  /**
   * "self", "router", "extern_learn", "offload", "master", "sticky"
   * (ndm_flags); "managed", "locked", "extern_valid" (NDA_FLAGS_EXT).
   */
  flags: string[];
  /** VLAN id of the entry, on VLAN-filtering bridges. */
  vlan?: number;
  /** VXLAN: the remote endpoint. */
  dst?: string;
  /** VXLAN: destination UDP port, when not the device's. */
  port?: number;
  /** VXLAN: VNI, when not the device's. */
  vni?: number;
  /** VXLAN: source VNI (metadata mode). */
  srcVni?: number;
  /** VXLAN: outgoing interface index for the remote (`via`). */
  via?: number;
  /** VXLAN: name of the `via` interface, resolved by nlkit. */
  viaName?: string;
  /** Attributes nlkit does not decode, preserved as received. */
  unknownAttributes: RawAttribute[];
}

/** An entry to add, append, replace or delete. */
export interface FdbOptions {
  /** The MAC address ("00:00:00:00:00:00" for a VXLAN default destination). */
  mac: string;
  /** The port or device the entry belongs to. */
  link: LinkRef;
  /**
   * The bridge whose FDB holds the entry (`bridge fdb ... master`): `link`
   * must be its port (checked), or the bridge itself for the bridge's own
   * entries. A listed entry's `bridge` passes through as it is.
   */
  bridge?: LinkRef;
  /** Program the device's own table (`self`; the default when `bridge` is not given). */
  self?: boolean;
  /** @deprecated use `bridge` (the bridge `link` is a port of) */
  master?: boolean;
  /** Default "permanent", as `bridge fdb add`. */
  state?: 'permanent' | 'static' | 'dynamic';
  /** VLAN id (VLAN-filtering bridges). */
  vlan?: number;
  /** Never moves to another port (NTF_STICKY). */
  sticky?: boolean;
  /** Installed by a control plane (NTF_EXT_LEARNED). */
  externLearned?: boolean;
  /** VXLAN: the remote endpoint's address (on the device's own entry: a bridge's FDB has no remotes, so not with `bridge`). */
  dst?: string;
  /** VXLAN: remote UDP port. */
  port?: number;
  /** VXLAN: remote VNI. */
  vni?: number;
  /** VXLAN: source VNI (metadata mode). */
  srcVni?: number;
  /** VXLAN: send through this interface. */
  via?: LinkRef;
}

/**
 * What add, append and replace take: options, or a listed {@link FdbEntry} as
 * it is (spread with options to change it: `{ ...e, sticky: false }`). Of a
 * listed entry, `mac`, `link`, `bridge` (the table: the bridge's FDB, or
 * without it the device's own), `state` ("stale" is refused: no write makes
 * an entry stale; give `state: 'dynamic'`), `vlan`, `dst`, `port`, `vni`, `srcVni`, `via` and the flags "sticky",
 * "extern_learn" and "router" are written, so that writing it back makes the
 * same entry; an option given (`sticky`, `externLearned`) wins over `flags`.
 * Read-only, accepted and not written: `index`, `linkName`, `bridgeName`,
 * `viaName`, `unknownAttributes`, and the flags "self" and "master" (the
 * table comes from `bridge`), "offload", "managed" and "locked" (the kernel
 * refuses to add a locked entry: a locked port's MAC authentication makes them).
 */
export type FdbWrite = FdbOptions | FdbEntry;

/** What {@link fdbOps.delete} takes: an entry's key fields (a listed {@link FdbEntry} is one). */
export type FdbKey = Omit<FdbOptions, 'state'>;

/** Filters of {@link fdbOps.list}. */
export interface FdbFilter {
  /** Entries of this device or port (`bridge fdb show dev X`). */
  link?: LinkRef;
  /** @deprecated use `link` */
  dev?: LinkRef;
  /** Entries of ports of this bridge, and the bridge's own (`bridge fdb show br X`). */
  bridge?: LinkRef;
}

/** Keys FDB writes and keys accept: the options (with the old `dev`), or a listed entry ({@link FdbWrite} says which fields are written). */
export const FDB_WRITE_KEYS: readonly string[] = [
  ...keysOf<FdbOptions>()(['mac', 'link', 'bridge', 'self', 'master', 'state', 'vlan', 'sticky', 'externLearned', 'dst', 'port', 'vni', 'srcVni', 'via']),
  'dev',
  ...keysOf<FdbEntry>()([
    'mac',
    'link',
    'linkName',
    'index',
    'bridge',
    'bridgeName',
    'state',
    'flags',
    'vlan',
    'dst',
    'port',
    'vni',
    'srcVni',
    'via',
    'viaName',
    'unknownAttributes',
  ]),
];

export const FDB_FILTER_KEYS = keysOf<FdbFilter>()(['link', 'dev', 'bridge']);
