/**
 * The registry of link kinds nlkit can create and decode. Kinds not listed
 * here still read back, with their IFLA_INFO_DATA kept raw.
 * @module
 */
import type { LinkKind } from './kind';
import { bridge, type BridgeInfo, type BridgeOptions } from './bridge';
import { macvlan, type MacvlanInfo, type MacvlanOptions } from './macvlan';
import { tun, type TunInfo, type TunOptions } from './tun';
import { veth, type VethInfo, type VethOptions } from './veth';
import { vxlan, type VxlanInfo, type VxlanOptions } from './vxlan';

export type { BridgeInfo, BridgeOptions, BridgeSettings } from './bridge';
export type { MacvlanInfo, MacvlanMode, MacvlanOptions } from './macvlan';
export type { TunInfo, TunOptions } from './tun';
export type { VethInfo, VethOptions, VethPeerOptions } from './veth';
export type { VxlanInfo, VxlanOptions } from './vxlan';
export type { EncodeContext, LinkKind } from './kind';

/** Creation options of every supported kind, discriminated by `kind`. */
export type KindOptions = VethOptions | BridgeOptions | MacvlanOptions | VxlanOptions | TunOptions;

/** Decoded kind data, by kind name. */
export interface KindInfoMap {
  veth: VethInfo;
  bridge: BridgeInfo;
  macvlan: MacvlanInfo;
  vxlan: VxlanInfo;
  tun: TunInfo;
}

// Without a prototype: a kind named "constructor" or "__proto__" (sent by the
// kernel or given by a caller) finds no codec instead of Object's members.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one table for every kind; each kind's options and info are typed where it is defined
export const LINK_KINDS: Record<string, LinkKind<any, any>> = Object.assign(Object.create(null) as Record<string, LinkKind<any, any>>, {
  [veth.kind]: veth,
  [bridge.kind]: bridge,
  [macvlan.kind]: macvlan,
  [vxlan.kind]: vxlan,
  [tun.kind]: tun,
});
