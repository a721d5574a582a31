/**
 * nlkit: a netlink-native networking SDK for Node.js.
 *
 * Start with {@link open} to get a {@link Handle} bound to a network
 * namespace; namespaces themselves are managed with {@link createNetns} and
 * friends; {@link listenTcp}, {@link connectTcp} and {@link bindUdp} put
 * Node sockets inside any namespace.
 * @module nlkit
 */
import { assertLinux } from './native/binding';

assertLinux();

export { open, openSync, Handle, SyncHandle, type OpenOptions } from './handle';
export {
  AttachmentConflictError,
  BatchError,
  ClosedError,
  DecodeError,
  DumpInterruptedError,
  NetlinkError,
  NetlinkOverrunError,
  NlkitError,
  NotFoundError,
  SystemError,
  UnsafeStateDirError,
  ValidationError,
  errnoName,
  type DeleteOptions,
  type NetlinkErrorDetails,
  type NotFoundDetails,
} from './netlink/errors';
export { NoReplyError } from './netlink/no-reply-error';
export type { LocalStep, NetlinkCall, Operation, OperationEnv } from './netlink/operation';
export type { NetlinkMessage, RawAttribute } from './netlink/parser';
export type { AsyncOps, SyncOps } from './netlink/bind';
export type { CloseOptions } from './netlink/connection';
export {
  NETNS_RUN_DIR,
  NetworkNamespace,
  createAnonymousNetns,
  createNetns,
  createNetnsSync,
  deleteNetns,
  deleteNetnsSync,
  listNetns,
  netnsExists,
  openNetns,
  openNetnsSync,
  type CreateNetnsOptions,
  type DeleteNetnsOptions,
  type NetnsRef,
} from './netns/namespace';
export { getSysctl, getSysctlSync, setSysctl, setSysctlSync } from './netns/sysctl';
export { bindUdp, connectTcp, listenTcp, type BindOptions, type ConnectOptions, type ListenOptions, type UdpBindOptions } from './sockets/inet';
export { httpGet, type HttpGetOptions, type HttpResponse } from './sockets/http';
export type {
  BridgeLink,
  KindLink,
  KindLinkKind,
  KindLinks,
  Link,
  LinkAdded,
  LinkAddOptions,
  LinkBase,
  LinkCommonOptions,
  LinkFilter,
  LinkRef,
  LinkSetOptions,
  LinkStats,
  MacvlanLink,
  OperState,
  OtherLink,
  TunLink,
  UnknownKindInfo,
  VethLink,
  VxlanLink,
} from './rtnetlink/link';
export { linkOps } from './rtnetlink/link';
export { linkStatsOps, type LinkStatsEntry } from './rtnetlink/link-stats';
export { addressOps } from './rtnetlink/address';
export { addressLabelOps, type AddressLabel, type AddressLabelFilter, type AddressLabelKey, type AddressLabelOptions } from './rtnetlink/address-label';
export { routeOps } from './rtnetlink/route';
export type {
  BondHashPolicy,
  BondInfo,
  BondMode,
  BondOptions,
  BondSettings,
  BridgeInfo,
  BridgeOptions,
  BridgeSettings,
  DummyInfo,
  DummyOptions,
  GeneveInfo,
  GeneveOptions,
  GreInfo,
  GreOptions,
  GreSettings,
  GretapOptions,
  Ip4TunnelSettings,
  Ip6tnlOptions,
  IpipOptions,
  IpTunnelInfo,
  IpTunnelSettings,
  IpvlanChanges,
  IpvlanInfo,
  IpvlanIsolation,
  IpvlanMode,
  IpvlanOptions,
  KindOptions,
  MacvlanInfo,
  MacvlanMode,
  MacvlanOptions,
  TunInfo,
  TunOptions,
  VethInfo,
  VethOptions,
  VethPeerOptions,
  SitOptions,
  VlanChanges,
  VlanFlags,
  VlanInfo,
  VlanOptions,
  VlanProtocol,
  VrfInfo,
  VrfOptions,
  VxlanChanges,
  VxlanInfo,
  VxlanOptions,
  MacvlanChanges,
  KindInfoMap,
} from './rtnetlink/link-kinds';
export type { BridgePortInfo, BridgePortSettings, BridgePortState } from './rtnetlink/bridge-port';
export { neighbourOps } from './rtnetlink/neighbour';
export { fdbOps } from './rtnetlink/fdb';
export { ruleOps } from './rtnetlink/rule';
export { nexthopOps } from './rtnetlink/nexthop';
export { nsidOps, type NetnsId, type NetnsIdOptions } from './rtnetlink/nsid';
export { netconfOps, type Netconf, type NetconfFilter, type NetconfKey, type RpFilterMode } from './rtnetlink/netconf';
export type {
  NexthopGroupMember,
  NexthopGroupType,
  NexthopObject,
  NexthopObjectFilter,
  NexthopObjectKey,
  NexthopObjectOptions,
  ResilientGroupInfo,
  ResilientGroupSettings,
} from './rtnetlink/nexthop';
export type {
  Neighbour,
  NeighbourFilter,
  NeighbourKey,
  NeighbourOperations,
  NeighbourOptions,
  NeighbourState,
  NeighbourSyncOperations,
  NeighbourWrite,
  WithLegacyDev,
} from './rtnetlink/neighbour';
export type { FdbEntry, FdbFilter, FdbKey, FdbOptions, FdbState, FdbWrite } from './rtnetlink/fdb';
export { bridgeVlanOps, type BridgeVlan, type BridgeVlanFilter, type BridgeVlanKey, type BridgeVlanOptions } from './rtnetlink/bridge-vlan';
export { mdbOps, type MdbEntry, type MdbFilter, type MdbKey, type MdbOptions, type MdbState } from './rtnetlink/mdb';
// Traffic control (`tc qdisc`, `tc class`): h.qdiscs and h.classes.
export { qdiscOps } from './rtnetlink/tc/qdisc';
export { tcClassOps } from './rtnetlink/tc/class';
export type {
  HtbClass,
  HtbQdisc,
  IngressQdisc,
  OtherClass,
  OtherQdisc,
  Qdisc,
  QdiscFilter,
  QdiscKey,
  QdiscOptions,
  TbfQdisc,
  TcClass,
  TcClassFilter,
  TcClassKey,
  TcClassOptions,
  TcHandle,
  TcStats,
  QdiscPlace,
} from './rtnetlink/tc/types';
export type { HtbClassInfo, HtbClassOptions, HtbQdiscInfo, HtbQdiscOptions, NoOptions, TbfInfo, TbfOptions } from './rtnetlink/tc/kinds';
// Policy-routing rules (`ip rule`) are IpRule*: `rule()` and `nft.Rule` are nftables.
export type {
  Range,
  Rule as IpRule,
  RuleAction as IpRuleAction,
  RuleActionNumber as IpRuleActionNumber,
  RuleFilter as IpRuleFilter,
  RuleOptions as IpRuleOptions,
} from './rtnetlink/rule';
/** @deprecated use {@link IpRule} (`Rule` is easily taken for an nftables rule, `nft.Rule`) */
export type Rule = import('./rtnetlink/rule').Rule;
/** @deprecated use {@link IpRuleAction} */
export type RuleAction = import('./rtnetlink/rule').RuleAction;
/** @deprecated use {@link IpRuleFilter} */
export type RuleFilter = import('./rtnetlink/rule').RuleFilter;
/** @deprecated use {@link IpRuleOptions} */
export type RuleOptions = import('./rtnetlink/rule').RuleOptions;
export type {
  AddressEvent,
  BridgePortEvent,
  EventAction,
  EventGroup,
  EventStream,
  FdbEvent,
  LinkEvent,
  NeighbourEvent,
  OverrunEvent,
  RouteEvent,
  RtnetlinkEvent,
  RtnetlinkEvents,
  IpRuleEvent,
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias forwards to IpRuleEvent
  RuleEvent,
  SubscribeOptions,
  SyncedEvent,
} from './rtnetlink/events';
export type { StreamOptions } from './netlink/event-stream';
export type { Address, AddressDeleteOptions, AddressFilter, AddressOptions, AddressWrite, AddressWriteArgs } from './rtnetlink/address';
export type {
  Nexthop,
  NexthopOptions,
  Route,
  RouteFilter,
  RouteKey,
  RouteLookupOptions,
  RouteOptions,
  RouteOperations,
  RoutePref,
  RouteSyncOperations,
} from './rtnetlink/route';
export type { IpFamily } from './validate/ip';
// nftables (h.nft) and connection tracking (h.conntrack); every nftables type is under `nft.`.
export * as nft from './nftables';
export { rule, not, NftCommandError, GenerationMismatchError, type Nftables } from './nftables';
// A rule read back, as nft text (logs, debugging).
export { describe as describeNftRule, type DescribableRule, type DescribeOptions as DescribeNftRuleOptions } from './nftables/describe';
export {
  conntrackOps,
  type ConntrackEntry,
  type ConntrackFilter,
  type ConntrackTupleFilter,
  type ConntrackKey,
  type ConntrackOperations,
  type ConntrackSyncOperations,
  type ConntrackTuple,
  type ConntrackChanges,
} from './conntrack';
export type {
  ConntrackEvent,
  ConntrackEventKind,
  ConntrackEventStream,
  ConntrackEvents,
  ConntrackStreamEvent,
  ConntrackSubscribeOptions,
  ConntrackSyncEvents,
} from './conntrack/events';
// Sockets of a namespace as `ss` lists them (h.sockets).
export { socketDiagOps, type InetSocket, type SocketEndpoint, type SocketFilter, type SocketState } from './sockdiag/sockets';
// Container networks: bridges, attachments, IPAM, NAT and published ports.
export {
  networks,
  NetworkManager,
  CorruptStateError,
  ForeignBridgeError,
  InternalNetworkPublishError,
  NetworkOperationError,
  PortInUseError,
  type Attachment,
  type AttachOptions,
  type NetworkDetails,
  type NetworkInfo,
  type NetworkManagerOptions,
  type NetworkSpec,
  type PublicationFilter,
  type Publications,
  type SetBackendsOptions,
  type UnpublishOptions,
  type SandboxRef,
} from './network/manager';
export type { BackendSpec, Publication, PublicationRef, PublishSpec } from './network/publication';
export type { Drift } from './network/reconcile';
export type { AttachmentRecord, BackendRecord, NamespaceIdentity, NetworkRecord, PublicationRecord } from './network/state';
export { AddressInUseError, IpamExhaustedError } from './network/ipam';

// Sidecars: the original destination of an intercepted connection, and
// transparent interception of a pod's traffic (REDIRECT / TPROXY).
export { originalDestination, type OriginalDestination } from './sockets/original-destination';
export { listenUdp, UdpListener, type UdpDatagram, type UdpEndpoint, type UdpListenOptions } from './sockets/udp-listener';
export { intercept, Interception, type InterceptionDrift } from './sidecar/intercept';
export type { InterceptOptions, InterceptExclusions, InterceptSpec, InterceptUdp } from './sidecar/options';

// Cross-host overlays (flannel-style VXLAN or host-gw), fed by a membership store.
export { createOverlay, Overlay, type OverlayChanges } from './overlay/overlay';
export type { OverlayMode, OverlayPeer, OverlaySpec } from './overlay/spec';
export type { OverlayDrift } from './overlay/drift';
export { overlayMtu } from './overlay/mtu';
export { OVERLAY_ROUTE_PROTOCOL } from './overlay/peer-entries';
// Service discovery: the embedded DNS responder for networks' names.
export { dnsResponder, DnsResponder, type ResolvConf } from './dns/responder';
export type { DnsRateLimit, DnsResponderOptions, DnsTcpLimits } from './dns/options';
export type { DnsStats } from './dns/handler';
export { networkNames, type NameRecord, type NameSource, type NamedPort } from './dns/name-source';
export type { UpstreamServer } from './dns/upstream';
// Services: virtual IPs spread over endpoints (kube-proxy's nftables design, in-process).
export {
  services,
  ServiceManager,
  type ApplyResult,
  type ServiceChangeOptions,
  type ServiceChanges,
  type ServiceDrift,
  type ServiceManagerOptions,
} from './services/manager';
export type { EndpointRecord, EndpointSpec, Service, ServicePortRecord, ServicePortSpec, ServiceProtocol, ServiceRecord, ServiceSpec } from './services/spec';
export {
  ServiceEvents,
  type DriftEvent,
  type EndpointChange,
  type NoEndpointsEvent,
  type ServiceDelta,
  type ServiceEvent,
  type ServiceEventStream,
  type ServiceManagerEvent,
  type ServiceStreamEvent,
  type ServiceSubscribeOptions,
} from './services/events';
