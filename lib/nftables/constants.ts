/**
 * nf_tables wire constants, transcribed from linux/netfilter/nf_tables.h and
 * linux/netfilter/nfnetlink.h. Only numbers live here; names and meaning are
 * attached where they are used.
 * @module
 */

/** nfnetlink framing (subsystems, batch delimiters, nfgenmsg) is the netlink core's; re-exported for `C.` users. */
export {
  NFGENMSG_LEN,
  NFNETLINK_V0,
  NFNL_BATCH_GENID,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_CTNETLINK,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_UNSPEC,
} from '../netlink/nfnetlink';

/** Multicast group carrying ruleset change notifications. */
export const NFNLGRP_NFTABLES = 7;

/** enum nf_tables_msg_types */
export const NFT_MSG_NEWTABLE = 0;
export const NFT_MSG_GETTABLE = 1;
export const NFT_MSG_DELTABLE = 2;
export const NFT_MSG_NEWCHAIN = 3;
export const NFT_MSG_GETCHAIN = 4;
export const NFT_MSG_DELCHAIN = 5;
export const NFT_MSG_NEWRULE = 6;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_DELRULE = 8;
export const NFT_MSG_NEWSET = 9;
export const NFT_MSG_GETSET = 10;
export const NFT_MSG_DELSET = 11;
export const NFT_MSG_NEWSETELEM = 12;
export const NFT_MSG_GETSETELEM = 13;
export const NFT_MSG_DELSETELEM = 14;
export const NFT_MSG_NEWGEN = 15;
export const NFT_MSG_GETGEN = 16;
export const NFT_MSG_TRACE = 17;
export const NFT_MSG_NEWOBJ = 18;
export const NFT_MSG_GETOBJ = 19;
export const NFT_MSG_DELOBJ = 20;
export const NFT_MSG_GETOBJ_RESET = 21;
export const NFT_MSG_NEWFLOWTABLE = 22;
export const NFT_MSG_GETFLOWTABLE = 23;
export const NFT_MSG_DELFLOWTABLE = 24;
export const NFT_MSG_GETRULE_RESET = 25;
/** Newer kernels (6.3+): deletes that do not fail on ENOENT (nft `destroy`). */
export const NFT_MSG_DESTROYTABLE = 26;
export const NFT_MSG_DESTROYCHAIN = 27;
export const NFT_MSG_DESTROYRULE = 28;
export const NFT_MSG_DESTROYSET = 29;
export const NFT_MSG_DESTROYSETELEM = 30;
export const NFT_MSG_DESTROYOBJ = 31;

/** nftables families (NFPROTO_*). */
export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_ARP = 3;
export const NFPROTO_NETDEV = 5;
export const NFPROTO_BRIDGE = 7;
export const NFPROTO_IPV6 = 10;

/** enum nft_list_attributes */
export const NFTA_LIST_ELEM = 1;

/** enum nft_hook_attributes */
export const NFTA_HOOK_HOOKNUM = 1;
export const NFTA_HOOK_PRIORITY = 2;
export const NFTA_HOOK_DEV = 3;
export const NFTA_HOOK_DEVS = 4;
export const NFTA_DEVICE_NAME = 1;

/** Tables. */
export const NFT_TABLE_F_DORMANT = 0x1;
export const NFT_TABLE_F_OWNER = 0x2;
export const NFTA_TABLE_NAME = 1;
export const NFTA_TABLE_FLAGS = 2;
export const NFTA_TABLE_USE = 3;
export const NFTA_TABLE_HANDLE = 4;
export const NFTA_TABLE_USERDATA = 6;
export const NFTA_TABLE_OWNER = 7;

/** Chains. */
export const NFT_CHAIN_BASE = 0x1;
export const NFT_CHAIN_HW_OFFLOAD = 0x2;
export const NFT_CHAIN_BINDING = 0x4;
export const NFTA_CHAIN_TABLE = 1;
export const NFTA_CHAIN_HANDLE = 2;
export const NFTA_CHAIN_NAME = 3;
export const NFTA_CHAIN_HOOK = 4;
export const NFTA_CHAIN_POLICY = 5;
export const NFTA_CHAIN_USE = 6;
export const NFTA_CHAIN_TYPE = 7;
export const NFTA_CHAIN_COUNTERS = 8;
export const NFTA_CHAIN_FLAGS = 10;
export const NFTA_CHAIN_ID = 11;
export const NFTA_CHAIN_USERDATA = 12;

/** Rules. */
export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_HANDLE = 3;
export const NFTA_RULE_EXPRESSIONS = 4;
export const NFTA_RULE_COMPAT = 5;
export const NFTA_RULE_POSITION = 6;
export const NFTA_RULE_USERDATA = 7;
export const NFTA_RULE_ID = 9;
export const NFTA_RULE_POSITION_ID = 10;
export const NFTA_RULE_CHAIN_ID = 11;

/** Sets. */
export const NFT_SET_ANONYMOUS = 0x1;
export const NFT_SET_CONSTANT = 0x2;
export const NFT_SET_INTERVAL = 0x4;
export const NFT_SET_MAP = 0x8;
export const NFT_SET_TIMEOUT = 0x10;
export const NFT_SET_EVAL = 0x20;
export const NFT_SET_OBJECT = 0x40;
export const NFT_SET_CONCAT = 0x80;
export const NFT_SET_EXPR = 0x100;
export const NFT_SET_POL_PERFORMANCE = 0;
export const NFT_SET_POL_MEMORY = 1;
export const NFTA_SET_DESC_SIZE = 1;
export const NFTA_SET_DESC_CONCAT = 2;
export const NFTA_SET_FIELD_LEN = 1;
export const NFTA_SET_TABLE = 1;
export const NFTA_SET_NAME = 2;
export const NFTA_SET_FLAGS = 3;
export const NFTA_SET_KEY_TYPE = 4;
export const NFTA_SET_KEY_LEN = 5;
export const NFTA_SET_DATA_TYPE = 6;
export const NFTA_SET_DATA_LEN = 7;
export const NFTA_SET_POLICY = 8;
export const NFTA_SET_DESC = 9;
export const NFTA_SET_ID = 10;
export const NFTA_SET_TIMEOUT = 11;
export const NFTA_SET_GC_INTERVAL = 12;
export const NFTA_SET_USERDATA = 13;
export const NFTA_SET_OBJ_TYPE = 15;
export const NFTA_SET_HANDLE = 16;
export const NFTA_SET_EXPR = 17;
export const NFTA_SET_EXPRESSIONS = 18;

/** Set elements. */
export const NFT_SET_ELEM_INTERVAL_END = 0x1;
export const NFT_SET_ELEM_CATCHALL = 0x2;
export const NFTA_SET_ELEM_KEY = 1;
export const NFTA_SET_ELEM_DATA = 2;
export const NFTA_SET_ELEM_FLAGS = 3;
export const NFTA_SET_ELEM_TIMEOUT = 4;
export const NFTA_SET_ELEM_EXPIRATION = 5;
export const NFTA_SET_ELEM_USERDATA = 6;
export const NFTA_SET_ELEM_EXPR = 7;
export const NFTA_SET_ELEM_OBJREF = 9;
export const NFTA_SET_ELEM_KEY_END = 10;
export const NFTA_SET_ELEM_EXPRESSIONS = 11;
export const NFTA_SET_ELEM_LIST_TABLE = 1;
export const NFTA_SET_ELEM_LIST_SET = 2;
export const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
export const NFTA_SET_ELEM_LIST_SET_ID = 4;

/** Data (values and verdicts). */
export const NFT_DATA_VALUE = 0;
export const NFT_DATA_VERDICT = 0xffffff00;
export const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;
export const NFT_DATA_VALUE_MAXLEN = 64;
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;
export const NFTA_VERDICT_CHAIN_ID = 3;

/** Netfilter verdicts (NF_*) and nf_tables verdicts (NFT_*), one number space. */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NF_STOLEN = 2;
export const NF_QUEUE = 3;
export const NF_REPEAT = 4;
export const NF_STOP = 5;
export const NFT_CONTINUE = -1;
export const NFT_BREAK = -2;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
export const NFT_RETURN = -5;

/** Expressions. */
export const NFTA_EXPR_NAME = 1;
export const NFTA_EXPR_DATA = 2;

/** Registers: 0 is the verdict, 1-4 are the legacy 16-byte ones, 8-23 the 4-byte ones. */
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG32_00 = 8;

/** Named objects. */
export const NFT_OBJECT_COUNTER = 1;
export const NFT_OBJECT_QUOTA = 2;
export const NFT_OBJECT_CT_HELPER = 3;
export const NFT_OBJECT_LIMIT = 4;
export const NFT_OBJECT_CONNLIMIT = 5;
export const NFT_OBJECT_TUNNEL = 6;
export const NFT_OBJECT_CT_TIMEOUT = 7;
export const NFT_OBJECT_SECMARK = 8;
export const NFT_OBJECT_CT_EXPECT = 9;
export const NFT_OBJECT_SYNPROXY = 10;
export const NFTA_OBJ_TABLE = 1;
export const NFTA_OBJ_NAME = 2;
export const NFTA_OBJ_TYPE = 3;
export const NFTA_OBJ_DATA = 4;
export const NFTA_OBJ_USE = 5;
export const NFTA_OBJ_HANDLE = 6;
export const NFTA_OBJ_USERDATA = 8;

/** Generation. */
export const NFTA_GEN_ID = 1;
export const NFTA_GEN_PROC_PID = 2;
export const NFTA_GEN_PROC_NAME = 3;

/** Netfilter hooks (NF_INET_*, NF_NETDEV_*). */
export const NF_INET_PRE_ROUTING = 0;
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_LOCAL_OUT = 3;
export const NF_INET_POST_ROUTING = 4;
export const NF_INET_INGRESS = 5;
export const NF_NETDEV_INGRESS = 0;
export const NF_NETDEV_EGRESS = 1;

/** Userdata (comments and hints) is at most this many bytes. */
export const NFT_USERDATA_MAXLEN = 256;
