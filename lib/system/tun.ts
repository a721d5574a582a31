/**
 * Creating a persistent tun/tap device: open /dev/net/tun inside a network
 * namespace, TUNSETIFF (plus owner and group), TUNSETPERSIST, close. The
 * kernel only makes these by ioctl, so this is a system call, not netlink.
 * @internal
 * @module
 */
import { native } from '../native/binding';
import { ValidationError, fromNative } from '../netlink/errors';
import { validateInterfaceName } from '../validate/names';
import { validateNetnsFd } from './fd';

/** How the device is made (IFF_* flags and ownership). */
export interface TunDeviceOptions {
  /** A tap (Ethernet) device instead of tun (layer 3). */
  tap: boolean;
  /** Packets carry no packet-information header (IFF_NO_PI). */
  noPi: boolean;
  /** Packets carry a virtio-net header (IFF_VNET_HDR). */
  vnetHdr: boolean;
  /** Several queues allowed (IFF_MULTI_QUEUE). */
  multiQueue: boolean;
  /** uid allowed to attach (TUNSETOWNER). */
  owner?: number;
  /** gid allowed to attach (TUNSETGROUP). */
  group?: number;
}

function checkId(field: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  // (uid_t)-1 means "no owner" to the kernel: not a value a caller can set.
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= 0xffffffff) throw new ValidationError(field, v, 'must be a uid/gid');
  return v as number;
}

/**
 * Creates a persistent tun/tap device named `name` in the namespace of
 * `netnsFd` (-1: the process's own). ValidationError before anything
 * happens; SystemError (errno, failing syscall) when the kernel refuses.
 * @internal
 * @example
 * createTunDevice(-1, 'tun0', { tap: false, noPi: true, vnetHdr: false, multiQueue: false });
 */
export function createTunDevice(netnsFd: number, name: string, o: TunDeviceOptions): void {
  validateNetnsFd(netnsFd);
  validateInterfaceName(name, 'name');
  const options = {
    tap: o.tap,
    noPi: o.noPi,
    vnetHdr: o.vnetHdr,
    multiQueue: o.multiQueue,
    owner: checkId('owner', o.owner),
    group: checkId('group', o.group),
  };
  try {
    native().tunCreate(netnsFd, name, options);
  } catch (e) {
    throw fromNative(`create ${o.tap ? 'tap' : 'tun'} device ${name}`, e);
  }
}
