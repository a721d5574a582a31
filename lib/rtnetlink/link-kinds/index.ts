/**
 * The registry of link kinds nlkit can create and decode. Kinds not listed
 * here still read back, with their IFLA_INFO_DATA kept raw.
 * @module
 */
import type { LinkKind } from './kind';
import { bridge, type BridgeInfo, type BridgeOptions } from './bridge';
import { veth, type VethInfo, type VethOptions } from './veth';

export type { BridgeInfo, BridgeOptions, BridgeSettings } from './bridge';
export type { VethInfo, VethOptions, VethPeerOptions } from './veth';
export type { EncodeContext, LinkKind } from './kind';

/** Creation options of every supported kind, discriminated by `kind`. */
export type KindOptions = VethOptions | BridgeOptions;

/** Decoded kind data, by kind name. */
export interface KindInfoMap {
  veth: VethInfo;
  bridge: BridgeInfo;
}

export const LINK_KINDS: Record<string, LinkKind<any, any>> = {
  [veth.kind]: veth,
  [bridge.kind]: bridge,
};
