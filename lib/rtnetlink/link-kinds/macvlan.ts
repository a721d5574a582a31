/**
 * macvlan: extra MAC addresses on a parent device, each its own link (the
 * usual way to give containers a presence on a physical LAN).
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { NetlinkWriter } from '../../netlink/writer';
import type { LinkKind } from './kind';

const IFLA_MACVLAN_MODE = 1;
const IFLA_MACVLAN_FLAGS = 2;
const IFLA_MACVLAN_MACADDR_COUNT = 6;
const IFLA_MACVLAN_BC_QUEUE_LEN = 7;
const IFLA_MACVLAN_BC_QUEUE_LEN_USED = 8;
const MACVLAN_FLAG_NOPROMISC = 1;

/** MACVLAN_MODE_* by name, as `ip` spells them. */
const MODES: Record<string, number> = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 };

/** How macvlan devices on one parent talk to each other (`ip link add ... type macvlan mode`). */
export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';

/** `kind: 'macvlan'` options of {@link linkOps.add}. */
export interface MacvlanOptions {
  /** The link kind. */
  kind: 'macvlan';
  /** The device the macvlan sits on (IFLA_LINK). */
  parent: string | number;
  /** Default "vepa" (the kernel's default). */
  mode?: MacvlanMode;
  /** passthru only: do not put the parent in promiscuous mode. */
  nopromisc?: boolean;
}

/** A macvlan's options as the kernel reports them (`Link.info` of a macvlan). */
export interface MacvlanInfo {
  /** The mode, or its number when nlkit does not name it. */
  mode: MacvlanMode | (string & {});
  /** The parent is not put in promiscuous mode (passthru). */
  nopromisc: boolean;
  /** Broadcast queue length (`bcqueuelen`), on kernels that report it. */
  bcQueueLength?: number;
  /** The queue length in effect (`usedbcqueuelen`). */
  usedBcQueueLength?: number;
  /** Source-mode MAC address count. */
  macaddrCount?: number;
}

/** What `links.set(ref, { macvlan })` may change on an existing macvlan. */
export type MacvlanChanges = Pick<MacvlanOptions, 'mode'>;

function writeMode(w: NetlinkWriter, mode: MacvlanMode | undefined): void {
  if (mode === undefined) return;
  const m = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
  if (m === undefined) throw new ValidationError('mode', mode, `one of ${Object.keys(MODES).join(', ')}`);
  w.u32(IFLA_MACVLAN_MODE, m);
}

export const macvlan: LinkKind<MacvlanOptions, MacvlanInfo> = {
  kind: 'macvlan',
  optionKeys: keysOf<MacvlanOptions>()(['kind', 'parent', 'mode', 'nopromisc']),
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  references: (o) => (o.parent !== undefined ? [o.parent] : []),
  parent: (o) => o.parent,
  encode(w, o) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (o.parent === undefined) throw new ValidationError('parent', o.parent, 'macvlan needs a parent link');
    writeMode(w, o.mode);
    if (o.nopromisc) w.u16(IFLA_MACVLAN_FLAGS, MACVLAN_FLAG_NOPROMISC);
  },
  changeKeys: keysOf<MacvlanChanges>()(['mode']),
  encodeChange: (w, o) => writeMode(w, o.mode),
  decode(a) {
    const m = a.u32(IFLA_MACVLAN_MODE) ?? 0;
    const info: MacvlanInfo = {
      mode: Object.keys(MODES).find((k) => MODES[k] === m) ?? String(m),
      nopromisc: ((a.u16(IFLA_MACVLAN_FLAGS) ?? 0) & MACVLAN_FLAG_NOPROMISC) !== 0,
    };
    const set = <K extends keyof MacvlanInfo>(k: K, v: MacvlanInfo[K] | undefined) => {
      if (v !== undefined) info[k] = v;
    };
    set('bcQueueLength', a.u32(IFLA_MACVLAN_BC_QUEUE_LEN));
    set('usedBcQueueLength', a.u32(IFLA_MACVLAN_BC_QUEUE_LEN_USED));
    set('macaddrCount', a.u32(IFLA_MACVLAN_MACADDR_COUNT));
    return info;
  },
};
