/**
 * LINKINFO: the physical port of a device — connector type, PHY address,
 * MDI/MDI-X status, transceiver (`ethtool eth0`'s "Port", "PHYAD", ...).
 * @module
 */
import type { Operation } from '../../netlink/operation';
import { genlCall } from '../message';
import * as C from './constants';
import { ethtoolFamily } from './family';
import { aboutDevice, checkLinkRef, describeLink, onlyReply, readReplyHeader, writeRequestHeader, type EthtoolDevice, type EthtoolLinkRef } from './header';

/** Connector types (PORT_* in linux/ethtool.h). */
export type EthtoolPort = 'tp' | 'aui' | 'mii' | 'fibre' | 'bnc' | 'da' | 'none' | 'other';
const PORTS: Record<number, EthtoolPort> = { 0x00: 'tp', 0x01: 'aui', 0x02: 'mii', 0x03: 'fibre', 0x04: 'bnc', 0x05: 'da', 0xef: 'none', 0xff: 'other' };

/** MDI/MDI-X status or control (ETH_TP_MDI_*). */
export type EthtoolMdix = 'unknown' | 'mdi' | 'mdi-x' | 'auto';
const MDIX: Record<number, EthtoolMdix> = { 0: 'unknown', 1: 'mdi', 2: 'mdi-x', 3: 'auto' };

/** Where the PHY is (XCVR_*). */
export type EthtoolTransceiver = 'internal' | 'external';
const TRANSCEIVERS: Record<number, EthtoolTransceiver> = { 0: 'internal', 1: 'external' };

/** A device's port, as ETHTOOL_MSG_LINKINFO_GET reports it. Unknown values stay numbers. */
export interface EthtoolLinkInfo extends EthtoolDevice {
  /** Connector type. */
  port?: EthtoolPort | number;
  /** PHY address on the MDIO bus. */
  phyAddress?: number;
  /** Twisted pair: MDI/MDI-X status. */
  mdix?: EthtoolMdix | number;
  /** Twisted pair: MDI/MDI-X control. */
  mdixControl?: EthtoolMdix | number;
  /** Where the transceiver is. */
  transceiver?: EthtoolTransceiver | number;
}

const named = <T extends string>(table: Record<number, T>, v: number | undefined): T | number | undefined => (v === undefined ? undefined : (table[v] ?? v));

/** `genl.ethtool.linkInfo`: the port of a device. */
export const linkInfoOps = {
  /**
   * The port of one device (`ethtool DEV`: Port, PHYAD, MDI-X, Transceiver).
   * A device that does not exist is a `NotFoundError` (code ENODEV).
   * @example
   * const info = await genl.ethtool.linkInfo.get('veth0');
   * console.log(info.port); // 'tp' for a veth
   */
  *get(link: EthtoolLinkRef): Operation<EthtoolLinkInfo> {
    const ref = checkLinkRef(link);
    const family = yield* ethtoolFamily();
    const replies = yield* aboutDevice(
      genlCall(family, C.ETHTOOL_MSG_LINKINFO_GET, {
        attributes: (w) => {
          writeRequestHeader(w, C.ETHTOOL_A_LINKINFO_HEADER, ref);
        },
        operation: `ethtool get link info of ${describeLink(ref)}`,
      }),
    );
    const reply = onlyReply(replies, 'ethtool link info');
    const a = reply.attributes;
    const info: EthtoolLinkInfo = readReplyHeader(a, C.ETHTOOL_A_LINKINFO_HEADER);
    const set = <K extends keyof EthtoolLinkInfo>(k: K, v: EthtoolLinkInfo[K] | undefined) => {
      if (v !== undefined) info[k] = v;
    };
    set('port', named(PORTS, a.u8(C.ETHTOOL_A_LINKINFO_PORT)));
    set('phyAddress', a.u8(C.ETHTOOL_A_LINKINFO_PHYADDR));
    set('mdix', named(MDIX, a.u8(C.ETHTOOL_A_LINKINFO_TP_MDIX)));
    set('mdixControl', named(MDIX, a.u8(C.ETHTOOL_A_LINKINFO_TP_MDIX_CTRL)));
    set('transceiver', named(TRANSCEIVERS, a.u8(C.ETHTOOL_A_LINKINFO_TRANSCEIVER)));
    return info;
  },
};
