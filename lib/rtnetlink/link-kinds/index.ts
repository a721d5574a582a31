/**
 * The registry of link kinds nlkit can create and decode. Kinds not listed
 * here still read back, with their IFLA_INFO_DATA kept raw.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import type { NetlinkWriter } from '../../netlink/writer';
import { rejectUnknownKeys } from '../../validate/options';
import { IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO } from '../constants';
import type { LinkKind } from './kind';
import { bridge, type BridgeInfo, type BridgeOptions } from './bridge';
import { macvlan, type MacvlanInfo, type MacvlanOptions } from './macvlan';
import { tun, type TunInfo, type TunOptions } from './tun';
import { veth, type VethInfo, type VethOptions } from './veth';
import { vxlan, type VxlanInfo, type VxlanOptions } from './vxlan';
import { bond, type BondInfo, type BondOptions } from './bond';
import { dummy, type DummyInfo, type DummyOptions } from './dummy';
import { geneve, type GeneveInfo, type GeneveOptions } from './geneve';
import { gre, gretap, type GreInfo, type GreOptions, type GretapOptions } from './gre';
import { ip6tnl, ipip, sit, type Ip6tnlOptions, type IpipOptions, type IpTunnelInfo, type SitOptions } from './ip-tunnel';
import { ipvlan, type IpvlanInfo, type IpvlanOptions } from './ipvlan';
import { vlan, type VlanInfo, type VlanOptions } from './vlan';
import { vrf, type VrfInfo, type VrfOptions } from './vrf';

export type { BridgeInfo, BridgeOptions, BridgeSettings } from './bridge';
export type { MacvlanChanges, MacvlanInfo, MacvlanMode, MacvlanOptions } from './macvlan';
export type { TunInfo, TunOptions } from './tun';
export type { VethInfo, VethOptions, VethPeerOptions } from './veth';
export type { VxlanChanges, VxlanInfo, VxlanOptions } from './vxlan';
export type { BondHashPolicy, BondInfo, BondMode, BondOptions, BondSettings } from './bond';
export type { DummyInfo, DummyOptions } from './dummy';
export type { GeneveInfo, GeneveOptions } from './geneve';
export type { GreInfo, GreOptions, GreSettings, GretapOptions } from './gre';
export type { Ip4TunnelSettings, Ip6tnlOptions, IpipOptions, IpTunnelInfo, IpTunnelSettings, SitOptions } from './ip-tunnel';
export type { IpvlanChanges, IpvlanInfo, IpvlanIsolation, IpvlanMode, IpvlanOptions } from './ipvlan';
export type { VlanChanges, VlanFlags, VlanInfo, VlanOptions, VlanProtocol } from './vlan';
export type { VrfInfo, VrfOptions } from './vrf';
export type { EncodeContext, LinkKind } from './kind';

/** Creation options of every supported kind, discriminated by `kind`. */
export type KindOptions =
  | VethOptions
  | BridgeOptions
  | MacvlanOptions
  | VxlanOptions
  | TunOptions
  | VlanOptions
  | IpvlanOptions
  | DummyOptions
  | BondOptions
  | VrfOptions
  | GeneveOptions
  | GreOptions
  | GretapOptions
  | IpipOptions
  | SitOptions
  | Ip6tnlOptions;

/** Decoded kind data, by kind name. */
export interface KindInfoMap {
  veth: VethInfo;
  bridge: BridgeInfo;
  macvlan: MacvlanInfo;
  vxlan: VxlanInfo;
  tun: TunInfo;
  vlan: VlanInfo;
  ipvlan: IpvlanInfo;
  dummy: DummyInfo;
  bond: BondInfo;
  vrf: VrfInfo;
  geneve: GeneveInfo;
  gre: GreInfo;
  gretap: GreInfo;
  ipip: IpTunnelInfo;
  sit: IpTunnelInfo;
  ip6tnl: IpTunnelInfo;
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
  [vlan.kind]: vlan,
  [ipvlan.kind]: ipvlan,
  [dummy.kind]: dummy,
  [bond.kind]: bond,
  [vrf.kind]: vrf,
  [geneve.kind]: geneve,
  [gre.kind]: gre,
  [gretap.kind]: gretap,
  [ipip.kind]: ipip,
  [sit.kind]: sit,
  [ip6tnl.kind]: ip6tnl,
});

/** The kinds whose settings `links.set` can change, by the option key that names them. */
const CHANGEABLE_KINDS = ['bridge', 'vxlan', 'macvlan', 'vlan', 'ipvlan', 'bond'] as const;

/**
 * Writes IFLA_LINKINFO for the kind settings a `links.set` changes (at most
 * one kind; the kernel refuses a kind the link is not). Nothing when none.
 */
export function writeKindChanges(w: NetlinkWriter, changes: Partial<Record<(typeof CHANGEABLE_KINDS)[number], unknown>>): void {
  const given = CHANGEABLE_KINDS.filter((k) => changes[k] !== undefined);
  if (given.length === 0) return;
  if (given.length > 1) throw new ValidationError(given[1], changes[given[1]], `a link has one kind: change ${given[0]} or ${given[1]} settings, not both`);
  const codec = LINK_KINDS[given[0]];
  const settings = rejectUnknownKeys(changes[given[0]] as Record<string, unknown>, codec.changeKeys ?? [], `${given[0]} settings`);
  const li = w.nest(IFLA_LINKINFO);
  w.string(IFLA_INFO_KIND, codec.kind);
  const data = w.nest(IFLA_INFO_DATA);
  codec.encodeChange?.(w, settings ?? {});
  w.endNest(data);
  w.endNest(li);
}
