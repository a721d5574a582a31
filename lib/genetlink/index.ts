/**
 * `nlkit/genetlink`: generic netlink — the netlink protocol most newer
 * kernel subsystems speak (ethtool, WireGuard, devlink, nl80211, MPTCP,
 * taskstats, ...). Families are looked up by name through the controller
 * ("nlctrl"); requests, dumps and multicast groups then go to the id it
 * returns.
 *
 * - {@link openGenetlink} opens a socket in a namespace: `families.get/find/list`,
 *   `request`/`dump`/`subscribe` by family name, and the typed families.
 * - Typed ethtool: `genl.ethtool.linkInfo/linkModes/linkState/channels`.
 * - Write a new family the same way: operations built from {@link genlCall}
 *   and {@link genlDump}, run with `genl.run(op)` (or blocking on
 *   `openNetlinkSync(NETLINK_GENERIC)`). This is the path WireGuard, more of
 *   ethtool and devlink will take.
 *
 * See docs/guides/low-level.md.
 * @example
 * import { openGenetlink } from 'nlkit/genetlink';
 * const genl = await openGenetlink({ netns: 'c1' });
 * try {
 *   console.log((await genl.families.list()).map((f) => `${f.name} (${f.id})`));
 *   console.log(await genl.ethtool.linkModes.get('veth0')); // { speed: 10000, duplex: 'full', ... }
 * } finally {
 *   genl.close();
 * }
 * @module nlkit/genetlink
 */
import { assertLinux } from '../native/binding';

assertLinux();

export * from './constants';
export { GenericNetlink, openGenetlink, type EthtoolApi, type GenlFamilyRef, type GenlMessageStream, type GenlSubscribeOptions } from './connection';
export { familyOps, type GenlCommand, type GenlCommandFlag, type GenlFamily, type GenlMulticastGroup } from './family';
export { beginGenl, decodeGenl, genlCall, genlDump, genlRequest, type GenlMessage, type GenlRequestOptions, type GenlTarget } from './message';
export * from './ethtool';
