/**
 * LINKMODES: speed, duplex, autonegotiation and the link modes a device
 * supports, advertises and sees its partner advertise (`ethtool DEV`'s
 * "Speed", "Duplex", "Supported link modes", ...).
 * @module
 */
import type { Operation } from '../../netlink/operation';
import { genlCall, genlDump, type GenlMessage } from '../message';
import { decodeBitset } from './bitset';
import * as C from './constants';
import { ethtoolFamily } from './family';
import { aboutDevice, checkLinkRef, describeLink, onlyReply, readReplyHeader, writeRequestHeader, type EthtoolDevice, type EthtoolLinkRef } from './header';

/** A device's link settings, as ETHTOOL_MSG_LINKMODES_GET reports them. */
export interface EthtoolLinkModes extends EthtoolDevice {
  /** Autonegotiation is on. */
  autoneg: boolean;
  /** Speed in Mb/s; undefined while unknown (no link, or the driver cannot tell). */
  speed?: number;
  /** Duplex; undefined while unknown. */
  duplex?: 'half' | 'full';
  /** Lanes in use, when the driver reports them. */
  lanes?: number;
  /** Link modes the device supports ("10000baseT/Full", ...). */
  supported: string[];
  /** Link modes it advertises. */
  advertised: string[];
  /** Link modes the link partner advertises. */
  partner: string[];
}

function decodeLinkModes(m: GenlMessage): EthtoolLinkModes {
  const a = m.attributes;
  const ours = decodeBitset(a.nested(C.ETHTOOL_A_LINKMODES_OURS));
  const out: EthtoolLinkModes = {
    ...readReplyHeader(a, C.ETHTOOL_A_LINKMODES_HEADER),
    autoneg: a.u8(C.ETHTOOL_A_LINKMODES_AUTONEG) === C.AUTONEG_ENABLE,
    supported: ours.listed,
    advertised: ours.set,
    partner: decodeBitset(a.nested(C.ETHTOOL_A_LINKMODES_PEER)).set,
  };
  const speed = a.u32(C.ETHTOOL_A_LINKMODES_SPEED);
  if (speed !== undefined && speed !== C.SPEED_UNKNOWN && speed !== 0) out.speed = speed;
  const duplex = a.u8(C.ETHTOOL_A_LINKMODES_DUPLEX);
  if (duplex === C.DUPLEX_FULL) out.duplex = 'full';
  else if (duplex === C.DUPLEX_HALF) out.duplex = 'half';
  const lanes = a.u32(C.ETHTOOL_A_LINKMODES_LANES);
  if (lanes !== undefined && lanes !== 0) out.lanes = lanes;
  return out;
}

/** `genl.ethtool.linkModes`: speed, duplex, autonegotiation and link modes. */
export const linkModesOps = {
  /**
   * The link settings of one device. A device that does not exist is a `NotFoundError` (code ENODEV).
   * @example
   * const m = await genl.ethtool.linkModes.get('veth0');
   * console.log(m.speed, m.duplex, m.autoneg); // 10000 'full' false
   */
  *get(link: EthtoolLinkRef): Operation<EthtoolLinkModes> {
    const ref = checkLinkRef(link);
    const family = yield* ethtoolFamily();
    const replies = yield* aboutDevice(
      genlCall(family, C.ETHTOOL_MSG_LINKMODES_GET, {
        attributes: (w) => {
          writeRequestHeader(w, C.ETHTOOL_A_LINKMODES_HEADER, ref);
        },
        operation: `ethtool get link modes of ${describeLink(ref)}`,
      }),
    );
    const reply = onlyReply(replies, 'ethtool link modes');
    return decodeLinkModes(reply);
  },

  /**
   * The link settings of every device that has them (a dump; devices whose
   * driver has no link settings, like loopback, are left out).
   * @example
   * for (const m of await genl.ethtool.linkModes.list()) console.log(m.name, m.speed);
   */
  *list(): Operation<EthtoolLinkModes[]> {
    const family = yield* ethtoolFamily();
    const replies = yield* genlDump(family, C.ETHTOOL_MSG_LINKMODES_GET, {
      attributes: (w) => {
        writeRequestHeader(w, C.ETHTOOL_A_LINKMODES_HEADER);
      },
      operation: 'ethtool list link modes',
    });
    return replies.filter((r) => r.command === C.ETHTOOL_MSG_LINKMODES_GET_REPLY).map(decodeLinkModes);
  },
};
