/**
 * VRF devices (IFLA_VRF_*): an L3 domain bound to a routing table; links
 * enslaved to it (`links.set(x, { master: 'vrf0' })`) route in that table.
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { Attributes } from '../../netlink/parser';
import type { LinkKind } from './kind';

const IFLA_VRF_TABLE = 1;

/** `kind: 'vrf'` options of {@link linkOps.add}. */
export interface VrfOptions {
  /** The link kind. */
  kind: 'vrf';
  /** The routing table of the VRF, 1-4294967295 (required, as for `ip`). */
  table: number;
}

/** A VRF's options as the kernel reports them (`Link.info` of a vrf). */
export interface VrfInfo {
  /** The routing table of the VRF. */
  table: number;
}

export const vrf: LinkKind<VrfOptions, VrfInfo> = {
  kind: 'vrf',
  optionKeys: keysOf<VrfOptions>()(['kind', 'table']),
  encode(w, o) {
    if (!Number.isInteger(o.table) || o.table < 1 || o.table > 0xffffffff)
      throw new ValidationError('table', o.table, 'a vrf needs its table: an integer 1-4294967295');
    w.u32(IFLA_VRF_TABLE, o.table);
  },
  decode(a: Attributes): VrfInfo {
    return { table: a.u32(IFLA_VRF_TABLE) ?? 0 };
  },
};
