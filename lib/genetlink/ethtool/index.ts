/**
 * ethtool over generic netlink, typed: each part of a device's settings is
 * a small table of operations (`genl.ethtool.linkModes.get('eth0')`).
 * @module
 */
export { channelsOps, type EthtoolChannelCounts, type EthtoolChannels } from './channels';
export { linkInfoOps, type EthtoolLinkInfo, type EthtoolMdix, type EthtoolPort, type EthtoolTransceiver } from './link-info';
export { linkModesOps, type EthtoolLinkModes } from './link-modes';
export { linkStateOps, type EthtoolLinkState } from './link-state';
export type { EthtoolDevice, EthtoolLinkRef } from './header';
export * as ethtoolConstants from './constants';
