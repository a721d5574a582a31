/**
 * ethtool's generic netlink interface (linux/ethtool_netlink.h and the
 * values it uses from linux/ethtool.h): the message and attribute numbers
 * of the parts nlkit types.
 * @module
 */

/** The family name to resolve, its version and its multicast group. */
export const ETHTOOL_GENL_NAME = 'ethtool';
export const ETHTOOL_GENL_VERSION = 1;
export const ETHTOOL_MCGRP_MONITOR_NAME = 'monitor';

/** Requests (userspace to kernel). */
export const ETHTOOL_MSG_STRSET_GET = 1;
export const ETHTOOL_MSG_LINKINFO_GET = 2;
export const ETHTOOL_MSG_LINKINFO_SET = 3;
export const ETHTOOL_MSG_LINKMODES_GET = 4;
export const ETHTOOL_MSG_LINKMODES_SET = 5;
export const ETHTOOL_MSG_LINKSTATE_GET = 6;
export const ETHTOOL_MSG_CHANNELS_GET = 17;
export const ETHTOOL_MSG_CHANNELS_SET = 18;

/** Replies and notifications (kernel to userspace). */
export const ETHTOOL_MSG_LINKINFO_GET_REPLY = 2;
export const ETHTOOL_MSG_LINKINFO_NTF = 3;
export const ETHTOOL_MSG_LINKMODES_GET_REPLY = 4;
export const ETHTOOL_MSG_LINKMODES_NTF = 5;
export const ETHTOOL_MSG_LINKSTATE_GET_REPLY = 6;
export const ETHTOOL_MSG_CHANNELS_GET_REPLY = 18;
export const ETHTOOL_MSG_CHANNELS_NTF = 19;

/** The request/reply header every message nests first. */
export const ETHTOOL_A_HEADER_DEV_INDEX = 1;
export const ETHTOOL_A_HEADER_DEV_NAME = 2;
export const ETHTOOL_A_HEADER_FLAGS = 3;
/** ETHTOOL_A_HEADER_FLAGS bits. */
export const ETHTOOL_FLAG_COMPACT_BITSETS = 1 << 0;
export const ETHTOOL_FLAG_OMIT_REPLY = 1 << 1;
export const ETHTOOL_FLAG_STATS = 1 << 2;

/** Bit sets (verbose form: one nest per bit, with its name). */
export const ETHTOOL_A_BITSET_NOMASK = 1;
export const ETHTOOL_A_BITSET_SIZE = 2;
export const ETHTOOL_A_BITSET_BITS = 3;
export const ETHTOOL_A_BITSET_VALUE = 4;
export const ETHTOOL_A_BITSET_MASK = 5;
export const ETHTOOL_A_BITSET_BITS_BIT = 1;
export const ETHTOOL_A_BITSET_BIT_INDEX = 1;
export const ETHTOOL_A_BITSET_BIT_NAME = 2;
export const ETHTOOL_A_BITSET_BIT_VALUE = 3;

/** LINKINFO */
export const ETHTOOL_A_LINKINFO_HEADER = 1;
export const ETHTOOL_A_LINKINFO_PORT = 2;
export const ETHTOOL_A_LINKINFO_PHYADDR = 3;
export const ETHTOOL_A_LINKINFO_TP_MDIX = 4;
export const ETHTOOL_A_LINKINFO_TP_MDIX_CTRL = 5;
export const ETHTOOL_A_LINKINFO_TRANSCEIVER = 6;

/** LINKMODES */
export const ETHTOOL_A_LINKMODES_HEADER = 1;
export const ETHTOOL_A_LINKMODES_AUTONEG = 2;
export const ETHTOOL_A_LINKMODES_OURS = 3;
export const ETHTOOL_A_LINKMODES_PEER = 4;
export const ETHTOOL_A_LINKMODES_SPEED = 5;
export const ETHTOOL_A_LINKMODES_DUPLEX = 6;
export const ETHTOOL_A_LINKMODES_MASTER_SLAVE_CFG = 7;
export const ETHTOOL_A_LINKMODES_MASTER_SLAVE_STATE = 8;
export const ETHTOOL_A_LINKMODES_LANES = 9;

/** LINKSTATE */
export const ETHTOOL_A_LINKSTATE_HEADER = 1;
export const ETHTOOL_A_LINKSTATE_LINK = 2;
export const ETHTOOL_A_LINKSTATE_SQI = 3;
export const ETHTOOL_A_LINKSTATE_SQI_MAX = 4;
export const ETHTOOL_A_LINKSTATE_EXT_STATE = 5;
export const ETHTOOL_A_LINKSTATE_EXT_SUBSTATE = 6;

/** CHANNELS */
export const ETHTOOL_A_CHANNELS_HEADER = 1;
export const ETHTOOL_A_CHANNELS_RX_MAX = 2;
export const ETHTOOL_A_CHANNELS_TX_MAX = 3;
export const ETHTOOL_A_CHANNELS_OTHER_MAX = 4;
export const ETHTOOL_A_CHANNELS_COMBINED_MAX = 5;
export const ETHTOOL_A_CHANNELS_RX_COUNT = 6;
export const ETHTOOL_A_CHANNELS_TX_COUNT = 7;
export const ETHTOOL_A_CHANNELS_OTHER_COUNT = 8;
export const ETHTOOL_A_CHANNELS_COMBINED_COUNT = 9;

/** linux/ethtool.h values. */
export const SPEED_UNKNOWN = 0xffffffff;
export const DUPLEX_HALF = 0x00;
export const DUPLEX_FULL = 0x01;
export const DUPLEX_UNKNOWN = 0xff;
export const AUTONEG_ENABLE = 0x01;
