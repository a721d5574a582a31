/**
 * ctnetlink wire constants, from linux/netfilter/nfnetlink_conntrack.h and
 * nf_conntrack_common.h.
 * @module
 */

export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
export const IPCTNL_MSG_CT_GET_STATS = 5;

/** enum nfnetlink_groups: conntrack notifications of new, changed and destroyed entries. */
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;

/** enum ctattr_stats_global */
export const CTA_STATS_GLOBAL_ENTRIES = 1;

/** enum ctattr_type */
export const CTA_TUPLE_ORIG = 1;
export const CTA_TUPLE_REPLY = 2;
export const CTA_STATUS = 3;
export const CTA_PROTOINFO = 4;
export const CTA_HELP = 5;
export const CTA_TIMEOUT = 7;
export const CTA_MARK = 8;
export const CTA_COUNTERS_ORIG = 9;
export const CTA_COUNTERS_REPLY = 10;
export const CTA_USE = 11;
export const CTA_ID = 12;
export const CTA_ZONE = 18;
export const CTA_MARK_MASK = 21;
export const CTA_LABELS = 22;
export const CTA_LABELS_MASK = 23;
export const CTA_FILTER = 25;
export const CTA_STATUS_MASK = 26;

/** enum ctattr_filter: which fields of CTA_TUPLE_ORIG / CTA_TUPLE_REPLY a dump filters on. */
export const CTA_FILTER_ORIG_FLAGS = 1;
export const CTA_FILTER_REPLY_FLAGS = 2;

/** CTA_FILTER_F_* bits of those flags (net/netfilter/nf_internals.h). */
export const CTA_FILTER_F_IP_SRC = 1 << 0;
export const CTA_FILTER_F_IP_DST = 1 << 1;
export const CTA_FILTER_F_PROTO_NUM = 1 << 3;
export const CTA_FILTER_F_PROTO_SRC_PORT = 1 << 4;
export const CTA_FILTER_F_PROTO_DST_PORT = 1 << 5;

/** enum ctattr_tuple */
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_TUPLE_ZONE = 3;

/** enum ctattr_ip */
export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V4_DST = 2;
export const CTA_IP_V6_SRC = 3;
export const CTA_IP_V6_DST = 4;

/** enum ctattr_l4proto */
export const CTA_PROTO_NUM = 1;
export const CTA_PROTO_SRC_PORT = 2;
export const CTA_PROTO_DST_PORT = 3;
export const CTA_PROTO_ICMP_ID = 4;
export const CTA_PROTO_ICMP_TYPE = 5;
export const CTA_PROTO_ICMP_CODE = 6;
export const CTA_PROTO_ICMPV6_ID = 7;
export const CTA_PROTO_ICMPV6_TYPE = 8;
export const CTA_PROTO_ICMPV6_CODE = 9;

/** enum ctattr_protoinfo / ctattr_protoinfo_tcp */
export const CTA_PROTOINFO_TCP = 1;
export const CTA_PROTOINFO_TCP_STATE = 1;

/** enum ctattr_help */
export const CTA_HELP_NAME = 1;

/** enum ctattr_counters */
export const CTA_COUNTERS_PACKETS = 1;
export const CTA_COUNTERS_BYTES = 2;

/** IPS_* status bits by conntrack-tools' names. */
export const STATUS_BITS: Array<[string, number]> = [
  ['expected', 1 << 0],
  ['seen-reply', 1 << 1],
  ['assured', 1 << 2],
  ['confirmed', 1 << 3],
  ['snat', 1 << 4],
  ['dnat', 1 << 5],
  ['seq-adjust', 1 << 6],
  ['snat-done', 1 << 7],
  ['dnat-done', 1 << 8],
  ['dying', 1 << 9],
  ['fixed-timeout', 1 << 10],
  ['template', 1 << 11],
  ['untracked', 1 << 12],
  ['helper', 1 << 13],
  ['offload', 1 << 14],
  ['hw-offload', 1 << 15],
];

/** enum tcp_conntrack, by conntrack-tools' names. */
export const TCP_STATES = ['none', 'syn-sent', 'syn-recv', 'established', 'fin-wait', 'close-wait', 'last-ack', 'time-wait', 'close', 'syn-sent2'];
