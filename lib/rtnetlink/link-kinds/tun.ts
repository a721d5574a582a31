/**
 * Persistent tun/tap devices. rtnetlink reads them (IFLA_TUN_*) but cannot
 * create them: the addon opens /dev/net/tun inside the handle's namespace,
 * makes the device persistent and closes it; link.add then applies the
 * common options (mtu, mac, master, up...) like a set.
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import { local, type Operation } from '../../netlink/operation';
import type { Attributes } from '../../netlink/parser';
import { createTunDevice } from '../../system/tun';
import type { LinkKind } from './kind';

const IFLA_TUN_OWNER = 1;
const IFLA_TUN_GROUP = 2;
const IFLA_TUN_TYPE = 3;
const IFLA_TUN_PI = 4;
const IFLA_TUN_VNET_HDR = 5;
const IFLA_TUN_PERSIST = 6;
const IFLA_TUN_MULTI_QUEUE = 7;
const IFLA_TUN_NUM_QUEUES = 8;
const IFLA_TUN_NUM_DISABLED_QUEUES = 9;
const IFF_TUN = 1;
const IFF_TAP = 2;

/** `kind: 'tun'` options of {@link linkOps.add}: a persistent tun/tap device (like `ip tuntap add`). */
export interface TunOptions {
  /** The link kind. */
  kind: 'tun';
  /** "tun" (layer 3, default) or "tap" (Ethernet). */
  mode?: 'tun' | 'tap';
  /** Prefix packets with the 4-byte packet-information header (default off, like `ip tuntap`). */
  pi?: boolean;
  /** virtio-net header on packets (IFF_VNET_HDR). */
  vnetHdr?: boolean;
  /** Allow several queues (IFF_MULTI_QUEUE). */
  multiQueue?: boolean;
  /** uid allowed to attach to the device. */
  owner?: number;
  /** gid allowed to attach to the device. */
  ownerGroup?: number;
}

/** A tun/tap device's options as the kernel reports them (`Link.info` of a tun). */
export interface TunInfo {
  /** "tun" or "tap". */
  mode: 'tun' | 'tap' | (string & {});
  /** Packets carry the packet-information header. */
  pi: boolean;
  /** Packets carry a virtio-net header. */
  vnetHdr: boolean;
  /** Several queues allowed. */
  multiQueue: boolean;
  /** The device outlives the file descriptor that created it. */
  persist: boolean;
  /** Present when an owner uid is set. */
  owner?: number;
  /** Present when an owner gid is set. */
  ownerGroup?: number;
  /** Attached queues (file descriptors). */
  numQueues?: number;
  /** Detached queues. */
  numDisabledQueues?: number;
}

function checkId(field: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= 0xffffffff) throw new ValidationError(field, v, 'must be a uid/gid');
  return v as number;
}

export const tun: LinkKind<TunOptions, TunInfo> = {
  kind: 'tun',
  optionKeys: keysOf<TunOptions>()(['kind', 'mode', 'pi', 'vnetHdr', 'multiQueue', 'owner', 'ownerGroup']),
  encode() {
    // never sent: create() makes the device
  },
  *create(name: string, o: TunOptions): Operation<void> {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (o.mode !== undefined && o.mode !== 'tun' && o.mode !== 'tap') throw new ValidationError('mode', o.mode, 'must be "tun" or "tap"');
    const opts = {
      tap: o.mode === 'tap',
      noPi: !o.pi,
      vnetHdr: !!o.vnetHdr,
      multiQueue: !!o.multiQueue,
      owner: checkId('owner', o.owner),
      group: checkId('ownerGroup', o.ownerGroup),
    };
    const what = `create ${o.mode ?? 'tun'} device ${name}`;
    yield* local(what, (env) => createTunDevice(env.netnsFd, name, opts));
  },
  decode(a: Attributes): TunInfo {
    const bool = (t: number) => (a.u8(t) ?? 0) !== 0;
    const type = a.u8(IFLA_TUN_TYPE) ?? 0;
    const info: TunInfo = {
      mode: type === IFF_TUN ? 'tun' : type === IFF_TAP ? 'tap' : String(type),
      pi: bool(IFLA_TUN_PI),
      vnetHdr: bool(IFLA_TUN_VNET_HDR),
      multiQueue: bool(IFLA_TUN_MULTI_QUEUE),
      persist: bool(IFLA_TUN_PERSIST),
    };
    const owner = a.u32(IFLA_TUN_OWNER);
    if (owner !== undefined) info.owner = owner;
    const group = a.u32(IFLA_TUN_GROUP);
    if (group !== undefined) info.ownerGroup = group;
    const nq = a.u32(IFLA_TUN_NUM_QUEUES);
    if (nq !== undefined) info.numQueues = nq;
    const nd = a.u32(IFLA_TUN_NUM_DISABLED_QUEUES);
    if (nd !== undefined) info.numDisabledQueues = nd;
    return info;
  },
};
