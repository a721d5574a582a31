/**
 * Traffic control constants from linux/rtnetlink.h (RTM_*QDISC, RTM_*TCLASS,
 * TCA_*), linux/pkt_sched.h (TC_H_*, tc_ratespec, TBF and HTB attributes)
 * and linux/gen_stats.h (TCA_STATS_*).
 * @module
 */

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTCLASS = 40;
export const RTM_DELTCLASS = 41;
export const RTM_GETTCLASS = 42;

/** struct tcmsg: family u8, 3 pad bytes, ifindex s32, handle u32, parent u32, info u32. */
export const TCMSG_LEN = 20;

export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;
export const TCA_STATS = 3;
export const TCA_XSTATS = 4;
export const TCA_RATE = 5;
export const TCA_STATS2 = 7;
export const TCA_STAB = 8;
export const TCA_CHAIN = 11;
export const TCA_HW_OFFLOAD = 12;
export const TCA_INGRESS_BLOCK = 13;
export const TCA_EGRESS_BLOCK = 14;

// TCA_STATS2 nest (gen_stats.h)
export const TCA_STATS_BASIC = 1;
export const TCA_STATS_QUEUE = 3;

// Handles (pkt_sched.h): major:minor, 16 bits each.
export const TC_H_ROOT = 0xffffffff;
export const TC_H_INGRESS = 0xfffffff1;
export const TC_H_CLSACT = TC_H_INGRESS;
export const TC_H_UNSPEC = 0;
export const TC_H_MAJ_MASK = 0xffff0000;
export const TC_H_MIN_MASK = 0x0000ffff;

/** enum tc_link_layer: what tc sends unless told otherwise (ethernet). */
export const TC_LINKLAYER_ETHERNET = 1;

/** struct tc_ratespec: cell_log u8, linklayer u8, overhead u16, cell_align s16, mpu u16, rate u32. */
export const TC_RATESPEC_LEN = 12;

// TBF (sch_tbf.c)
export const TCA_TBF_PARMS = 1;
export const TCA_TBF_RTAB = 2;
export const TCA_TBF_PTAB = 3;
export const TCA_TBF_RATE64 = 4;
export const TCA_TBF_PRATE64 = 5;
export const TCA_TBF_BURST = 6;
export const TCA_TBF_PBURST = 7;
/** struct tc_tbf_qopt: rate, peakrate (tc_ratespec), limit, buffer, mtu (u32). */
export const TC_TBF_QOPT_LEN = 36;

// HTB (sch_htb.c)
export const TCA_HTB_PARMS = 1;
export const TCA_HTB_INIT = 2;
export const TCA_HTB_CTAB = 3;
export const TCA_HTB_RTAB = 4;
export const TCA_HTB_DIRECT_QLEN = 5;
export const TCA_HTB_RATE64 = 6;
export const TCA_HTB_CEIL64 = 7;
export const TCA_HTB_OFFLOAD = 9;
/** struct tc_htb_glob: version, rate2quantum, defcls, debug, direct_pkts (u32). */
export const TC_HTB_GLOB_LEN = 20;
/** struct tc_htb_opt: rate, ceil (tc_ratespec), buffer, cbuffer, quantum, level, prio (u32). */
export const TC_HTB_OPT_LEN = 44;
/** The HTB protocol version tc announces (TC_HTB_PROTOVER). */
export const TC_HTB_PROTOVER = 3;
