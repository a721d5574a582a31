/**
 * Generic netlink constants from linux/genetlink.h: the protocol, the
 * header every message carries, and the controller ("nlctrl") family that
 * resolves family names to ids.
 * @module
 */

/** The generic netlink protocol (linux/netlink.h). */
export const NETLINK_GENERIC = 16;

/** Family names are at most GENL_NAMSIZ - 1 bytes. */
export const GENL_NAMSIZ = 16;
/** struct genlmsghdr { u8 cmd; u8 version; u16 reserved; } */
export const GENL_HDRLEN = 4;
/** Family ids are allocated from GENL_MIN_ID (NLMSG_MIN_TYPE) to GENL_MAX_ID. */
export const GENL_MIN_ID = 0x10;
export const GENL_MAX_ID = 1023;

/** Capabilities of a family's command (CTRL_ATTR_OP_FLAGS). */
export const GENL_ADMIN_PERM = 0x01;
export const GENL_CMD_CAP_DO = 0x02;
export const GENL_CMD_CAP_DUMP = 0x04;
export const GENL_CMD_CAP_HASPOL = 0x08;
export const GENL_UNS_ADMIN_PERM = 0x10;

/** The controller's fixed family id. */
export const GENL_ID_CTRL = 0x10;
/** The controller's name. */
export const GENL_CTRL_NAME = 'nlctrl';
/** The controller's version (as it reports it). */
export const GENL_CTRL_VERSION = 2;
/** The controller's multicast group of family changes. */
export const GENL_CTRL_GROUP_NOTIFY = 'notify';

/** Controller commands (enum in genetlink.h). */
export const CTRL_CMD_UNSPEC = 0;
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_DELFAMILY = 2;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_CMD_NEWOPS = 4;
export const CTRL_CMD_DELOPS = 5;
export const CTRL_CMD_GETOPS = 6;
export const CTRL_CMD_NEWMCAST_GRP = 7;
export const CTRL_CMD_DELMCAST_GRP = 8;
export const CTRL_CMD_GETMCAST_GRP = 9;
export const CTRL_CMD_GETPOLICY = 10;

/** Controller attributes. */
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_HDRSIZE = 4;
export const CTRL_ATTR_MAXATTR = 5;
export const CTRL_ATTR_OPS = 6;
export const CTRL_ATTR_MCAST_GROUPS = 7;
export const CTRL_ATTR_POLICY = 8;
export const CTRL_ATTR_OP_POLICY = 9;
export const CTRL_ATTR_OP = 10;

/** Attributes of one command inside CTRL_ATTR_OPS. */
export const CTRL_ATTR_OP_ID = 1;
export const CTRL_ATTR_OP_FLAGS = 2;

/** Attributes of one multicast group inside CTRL_ATTR_MCAST_GROUPS. */
export const CTRL_ATTR_MCAST_GRP_NAME = 1;
export const CTRL_ATTR_MCAST_GRP_ID = 2;
