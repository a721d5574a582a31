/**
 * LINKSTATE: whether the device has a link (carrier), and the signal
 * quality and extended state where the driver reports them.
 * @module
 */
import type { Operation } from '../../netlink/operation';
import { genlCall } from '../message';
import * as C from './constants';
import { ethtoolFamily } from './family';
import { aboutDevice, checkLinkRef, describeLink, onlyReply, readReplyHeader, writeRequestHeader, type EthtoolDevice, type EthtoolLinkRef } from './header';

/** A device's link state, as ETHTOOL_MSG_LINKSTATE_GET reports it. */
export interface EthtoolLinkState extends EthtoolDevice {
  /** Link detected (carrier up); undefined when the driver cannot tell. */
  link?: boolean;
  /** Signal quality index, where the PHY measures it. */
  sqi?: number;
  /** Highest possible signal quality index. */
  sqiMax?: number;
  /** Why there is no link (ETHTOOL_LINK_EXT_STATE_*), where the driver says. */
  extendedState?: number;
  /** Detail of `extendedState`. */
  extendedSubstate?: number;
}

/** `genl.ethtool.linkState`: link detection. */
export const linkStateOps = {
  /**
   * The link state of one device (`ethtool DEV`'s "Link detected").
   * @example
   * const s = await genl.ethtool.linkState.get('veth0');
   * console.log(s.link); // true once both ends are up
   */
  *get(link: EthtoolLinkRef): Operation<EthtoolLinkState> {
    const ref = checkLinkRef(link);
    const family = yield* ethtoolFamily();
    const replies = yield* aboutDevice(
      genlCall(family, C.ETHTOOL_MSG_LINKSTATE_GET, {
        attributes: (w) => {
          writeRequestHeader(w, C.ETHTOOL_A_LINKSTATE_HEADER, ref);
        },
        operation: `ethtool get link state of ${describeLink(ref)}`,
      }),
    );
    const reply = onlyReply(replies, 'ethtool link state');
    const a = reply.attributes;
    const out: EthtoolLinkState = readReplyHeader(a, C.ETHTOOL_A_LINKSTATE_HEADER);
    const link_ = a.u8(C.ETHTOOL_A_LINKSTATE_LINK);
    if (link_ !== undefined) out.link = link_ !== 0;
    const sqi = a.u32(C.ETHTOOL_A_LINKSTATE_SQI);
    if (sqi !== undefined) out.sqi = sqi;
    const sqiMax = a.u32(C.ETHTOOL_A_LINKSTATE_SQI_MAX);
    if (sqiMax !== undefined) out.sqiMax = sqiMax;
    const ext = a.u8(C.ETHTOOL_A_LINKSTATE_EXT_STATE);
    if (ext !== undefined) out.extendedState = ext;
    const sub = a.u8(C.ETHTOOL_A_LINKSTATE_EXT_SUBSTATE);
    if (sub !== undefined) out.extendedSubstate = sub;
    return out;
  },
};
