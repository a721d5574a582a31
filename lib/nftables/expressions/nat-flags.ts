/**
 * NF_NAT_RANGE_* flags shared by nat, masq and redir (linux/netfilter/nf_nat.h).
 * @module
 */
import { FlagTable } from '../names';

/** NAT range flags (NF_NAT_RANGE_*). */
export type NatFlag = 'map-ips' | 'proto-specified' | 'random' | 'persistent' | 'fully-random' | 'proto-offset' | 'netmap';

export const NAT_FLAGS = new FlagTable<NatFlag>('nat flag', [
  ['map-ips', 1 << 0],
  ['proto-specified', 1 << 1],
  ['random', 1 << 2],
  ['persistent', 1 << 3],
  ['fully-random', 1 << 4],
  ['proto-offset', 1 << 5],
  ['netmap', 1 << 6],
]);
