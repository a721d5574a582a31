/**
 * ipvlan: links that share their parent's MAC address and are told apart by
 * IP address (L2, L3 or L3S mode), as CNI's ipvlan plugin makes them.
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { Attributes } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';
import type { LinkKind } from './kind';

const IFLA_IPVLAN_MODE = 1;
const IFLA_IPVLAN_FLAGS = 2;

/** IPVLAN_MODE_* by name. */
const MODES: Record<string, number> = { l2: 0, l3: 1, l3s: 2 };
/** How ipvlan links of one parent reach each other: "bridge" (directly, the default), "private" (not at all), "vepa" (through the outside switch). */
const ISOLATION: Record<string, number> = { bridge: 0, private: 1, vepa: 2 };

/** ipvlan mode (`ip link ... type ipvlan mode l2|l3|l3s`). */
export type IpvlanMode = 'l2' | 'l3' | 'l3s';
/** ipvlan flags (`ip link ... type ipvlan ... bridge|private|vepa`). */
export type IpvlanIsolation = 'bridge' | 'private' | 'vepa';

/** `kind: 'ipvlan'` options of {@link linkOps.add}. */
export interface IpvlanOptions {
  /** The link kind. */
  kind: 'ipvlan';
  /** The device the ipvlan sits on (IFLA_LINK). */
  parent: string | number;
  /** Default "l3" (the kernel's default). */
  mode?: IpvlanMode;
  /** Default "bridge". */
  isolation?: IpvlanIsolation;
}

/** An ipvlan's options as the kernel reports them (`Link.info` of an ipvlan). */
export interface IpvlanInfo {
  /** The mode, or its number when nlkit does not name it. */
  mode: IpvlanMode | (string & {});
  /** The isolation flag, or its number when nlkit does not name it. */
  isolation: IpvlanIsolation | (string & {});
}

/** What `links.set(ref, { ipvlan })` may change (the kernel switches the mode of a live ipvlan). */
export type IpvlanChanges = Pick<IpvlanOptions, 'mode' | 'isolation'>;

function lookup(table: Record<string, number>, field: string, v: string): number {
  const n = Object.hasOwn(table, v) ? table[v] : undefined;
  if (n === undefined) throw new ValidationError(field, v, `one of ${Object.keys(table).join(', ')}`);
  return n;
}

function name(table: Record<string, number>, n: number): string {
  return Object.keys(table).find((k) => table[k] === n) ?? String(n);
}

/** Like ip: nothing when neither is given, else the mode when given and the flags ("bridge", 0, by default). */
function writeSettings(w: NetlinkWriter, o: Partial<IpvlanChanges>): void {
  if (o.mode === undefined && o.isolation === undefined) return;
  if (o.mode !== undefined) w.u16(IFLA_IPVLAN_MODE, lookup(MODES, 'mode', o.mode));
  w.u16(IFLA_IPVLAN_FLAGS, lookup(ISOLATION, 'isolation', o.isolation ?? 'bridge'));
}

export const ipvlan: LinkKind<IpvlanOptions, IpvlanInfo> = {
  kind: 'ipvlan',
  optionKeys: keysOf<IpvlanOptions>()(['kind', 'parent', 'mode', 'isolation']),
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  references: (o) => (o.parent !== undefined ? [o.parent] : []),
  parent: (o) => o.parent,
  encode(w, o) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (o.parent === undefined) throw new ValidationError('parent', o.parent, 'an ipvlan needs a parent link');
    writeSettings(w, o);
  },
  changeKeys: keysOf<IpvlanChanges>()(['mode', 'isolation']),
  encodeChange: writeSettings,
  decode(a: Attributes): IpvlanInfo {
    return { mode: name(MODES, a.u16(IFLA_IPVLAN_MODE) ?? 1), isolation: name(ISOLATION, a.u16(IFLA_IPVLAN_FLAGS) ?? 0) };
  },
};
