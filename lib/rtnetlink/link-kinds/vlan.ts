/**
 * 802.1Q / 802.1ad VLAN devices (IFLA_VLAN_*): a tagged view of a parent
 * link (`ip link add link eth0 name eth0.5 type vlan id 5`).
 * @module
 */
import { keysOf } from '../../validate/options';
import { ValidationError } from '../../netlink/errors';
import type { Attributes } from '../../netlink/parser';
import type { NetlinkWriter } from '../../netlink/writer';
import type { LinkKind } from './kind';

const IFLA_VLAN_ID = 1;
const IFLA_VLAN_FLAGS = 2;
const IFLA_VLAN_PROTOCOL = 5;

/** VLAN_FLAG_* by option name. */
const FLAGS = { reorderHeader: 0x1, gvrp: 0x2, looseBinding: 0x4, mvrp: 0x8, bridgeBinding: 0x10 } as const;

/** Ethertypes by the names `ip` uses. */
const PROTOCOLS: Record<string, number> = { '802.1Q': 0x8100, '802.1ad': 0x88a8 };

/** The VLAN protocol: "802.1Q" (C-tag, the default) or "802.1ad" (S-tag, QinQ). */
export type VlanProtocol = '802.1Q' | '802.1ad';

/** VLAN flags, each on or off (`ip link ... type vlan reorder_hdr on gvrp off ...`); unset ones keep the kernel's default. */
export interface VlanFlags {
  /** Reorder the tag into the packet on receive (kernel default on). */
  reorderHeader?: boolean;
  /** GARP VLAN Registration Protocol. */
  gvrp?: boolean;
  /** Multiple VLAN Registration Protocol. */
  mvrp?: boolean;
  /** The VLAN's state does not follow the parent's. */
  looseBinding?: boolean;
  /** The VLAN's state follows the bridge VLAN's ports, not the bridge. */
  bridgeBinding?: boolean;
}

/** `kind: 'vlan'` options of {@link linkOps.add}. */
export interface VlanOptions extends VlanFlags {
  /** The link kind. */
  kind: 'vlan';
  /** The link the VLAN is on (IFLA_LINK). */
  parent: string | number;
  /** VLAN id, 0-4095. */
  id: number;
  /** Default "802.1Q". */
  protocol?: VlanProtocol;
}

/** A VLAN's options as the kernel reports them (`Link.info` of a vlan). */
export interface VlanInfo extends Required<VlanFlags> {
  /** VLAN id. */
  id: number;
  /** "802.1Q", "802.1ad", or the ethertype in hex ("0x9100") for others. */
  protocol: VlanProtocol | (string & {});
}

/** What `links.set(ref, { vlan })` may change on an existing VLAN: its flags. */
export type VlanChanges = VlanFlags;

const FLAG_KEYS = Object.keys(FLAGS) as Array<keyof VlanFlags>;

/** struct ifla_vlan_flags { flags, mask }: only the flags given are in the mask. */
function writeFlags(w: NetlinkWriter, o: VlanFlags): void {
  let flags = 0;
  let mask = 0;
  for (const k of FLAG_KEYS) {
    const v = o[k];
    if (v === undefined) continue;
    mask |= FLAGS[k];
    if (v) flags |= FLAGS[k];
  }
  if (mask === 0) return;
  const b = Buffer.alloc(8);
  b.writeUInt32LE(flags, 0);
  b.writeUInt32LE(mask, 4);
  w.attr(IFLA_VLAN_FLAGS, b);
}

export const vlan: LinkKind<VlanOptions, VlanInfo> = {
  kind: 'vlan',
  optionKeys: keysOf<VlanOptions>()(['kind', 'parent', 'id', 'protocol', 'reorderHeader', 'gvrp', 'mvrp', 'looseBinding', 'bridgeBinding']),
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
  references: (o) => (o.parent !== undefined ? [o.parent] : []),
  parent: (o) => o.parent,
  encode(w, o) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (o.parent === undefined) throw new ValidationError('parent', o.parent, 'a vlan needs a parent link');
    if (o.protocol !== undefined) {
      const p = Object.hasOwn(PROTOCOLS, o.protocol) ? PROTOCOLS[o.protocol] : undefined;
      if (p === undefined) throw new ValidationError('protocol', o.protocol, 'one of 802.1Q, 802.1ad');
      w.be16(IFLA_VLAN_PROTOCOL, p);
    }
    if (!Number.isInteger(o.id) || o.id < 0 || o.id > 4095) throw new ValidationError('id', o.id, 'must be an integer 0-4095');
    w.u16(IFLA_VLAN_ID, o.id);
    writeFlags(w, o);
  },
  changeKeys: FLAG_KEYS,
  encodeChange: writeFlags,
  decode(a: Attributes): VlanInfo {
    const f = a.get(IFLA_VLAN_FLAGS);
    const flags = f && f.length >= 4 ? f.readUInt32LE(0) : 0;
    const proto = a.be16(IFLA_VLAN_PROTOCOL) ?? 0x8100;
    const info = {
      id: a.u16(IFLA_VLAN_ID) ?? 0,
      protocol: Object.keys(PROTOCOLS).find((k) => PROTOCOLS[k] === proto) ?? `0x${proto.toString(16)}`,
    } as VlanInfo;
    for (const k of FLAG_KEYS) info[k] = (flags & FLAGS[k]) !== 0;
    return info;
  },
};
