/**
 * HTB, the hierarchical token bucket (`tc qdisc ... htb`, `tc class ...
 * htb`): classes with a guaranteed rate and a ceiling. Encoded as
 * iproute2's q_htb.c does.
 * @module
 */
import { ValidationError } from '../../../netlink/errors';
import type { Attributes } from '../../../netlink/parser';
import type { NetlinkWriter } from '../../../netlink/writer';
import { keysOf } from '../../../validate/options';
import * as C from '../constants';
import { parseRate, parseSize, psHz, rateTable, readRate, xmitSize, xmitTime } from '../units';
import type { TcKind } from './kind';

/** HTB qdisc options (`tc qdisc add ... htb default 10 r2q 10`). */
export interface HtbQdiscOptions {
  /** The class (its minor number) unclassified traffic goes to: 0x10 or "10" (hex, as tc reads it) for 1:10. Default 0: sent unshaped. */
  default?: number | string;
  /** Divides a class's rate into its default quantum (tc's `r2q`, default 10). */
  r2q?: number;
  /** Packets the queue of unclassified traffic holds (tc's `direct_qlen`). */
  directQlen?: number;
}

/** An HTB qdisc as the kernel reports it. */
export interface HtbQdiscInfo {
  /** The default class's minor number (0: none). */
  default: number;
  /** Rate to quantum divisor. */
  r2q: number;
  /** Direct queue length in packets, when the kernel reports it. */
  directQlen?: number;
  /** Packets sent unclassified (tc's `direct_packets_stat`; read only). */
  directPackets: number;
}

/** HTB class options (`tc class add ... htb rate 5mbit ceil 10mbit`): rates in bits per second or tc notation, sizes in bytes or tc notation. */
export interface HtbClassOptions {
  /** The guaranteed rate. */
  rate: number | string;
  /** The most the class may borrow up to (default: `rate`). */
  ceil?: number | string;
  /** Bytes that may leave at once at the rate (default as tc: rate / HZ + mtu). */
  burst?: number | string;
  /** Bytes that may leave at once at the ceiling (default as tc: ceil / HZ + mtu). */
  cburst?: number | string;
  /** Priority 0 (first) to 7 for borrowing spare bandwidth. */
  prio?: number;
  /** Bytes served per round (default: rate / r2q, as the kernel computes it). */
  quantum?: number;
  /** The largest packet the rate tables cover (default 1600, as tc). */
  mtu?: number | string;
}

/** An HTB class as the kernel reports it; rates in bits per second, sizes in bytes. */
export interface HtbClassInfo {
  rate: number;
  ceil: number;
  burst: number;
  cburst: number;
  prio: number;
  quantum: number;
  /** 0 for a leaf, higher for inner classes (read only). */
  level: number;
}

function u32Option(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new ValidationError(field, value, `must be an integer from ${min} to ${max}`);
  return value;
}

/** `default` as tc reads it: a hex string ("10", "0x10") or a number. */
function parseDefaultClass(value: unknown): number {
  if (typeof value === 'string' && /^(0x)?[0-9a-f]{1,8}$/i.test(value)) return parseInt(value.replace(/^0x/i, ''), 16);
  if (typeof value === 'number') return u32Option(value, 'default', 0, 0xffffffff);
  throw new ValidationError('default', value, 'must be the default class minor number: a number, or hex as tc reads it ("10" for 1:10)');
}

export const htbQdisc: TcKind<HtbQdiscOptions, HtbQdiscInfo> = {
  kind: 'htb',
  optionKeys: keysOf<HtbQdiscOptions>()(['default', 'r2q', 'directQlen']),
  readOnlyKeys: ['directPackets'],
  optionsRequired: false,
  prepare(o) {
    const defcls = o.default !== undefined ? parseDefaultClass(o.default) : 0;
    const r2q = o.r2q !== undefined ? u32Option(o.r2q, 'r2q', 1, 0xffffffff) : 10;
    const directQlen = o.directQlen !== undefined ? u32Option(o.directQlen, 'directQlen', 0, 0xfffffffe) : undefined;
    return (w: NetlinkWriter) => {
      const glob = Buffer.alloc(C.TC_HTB_GLOB_LEN);
      glob.writeUInt32LE(C.TC_HTB_PROTOVER, 0);
      glob.writeUInt32LE(r2q, 4);
      glob.writeUInt32LE(defcls, 8);
      w.attr(C.TCA_HTB_INIT, glob);
      if (directQlen !== undefined) w.u32(C.TCA_HTB_DIRECT_QLEN, directQlen);
    };
  },
  decode(a: Attributes): HtbQdiscInfo {
    const g = a.get(C.TCA_HTB_INIT);
    const info: HtbQdiscInfo = {
      default: g && g.length >= 12 ? g.readUInt32LE(8) : 0,
      r2q: g && g.length >= 8 ? g.readUInt32LE(4) : 0,
      directPackets: g && g.length >= 20 ? g.readUInt32LE(16) : 0,
    };
    const qlen = a.u32(C.TCA_HTB_DIRECT_QLEN);
    if (qlen !== undefined) info.directQlen = qlen;
    return info;
  },
};

export const htbClass: TcKind<HtbClassOptions, HtbClassInfo> = {
  kind: 'htb',
  optionKeys: keysOf<HtbClassOptions>()(['rate', 'ceil', 'burst', 'cburst', 'prio', 'quantum', 'mtu']),
  readOnlyKeys: ['level'],
  optionsRequired: true,
  prepare(o) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (o.rate === undefined) throw new ValidationError('rate', o.rate, 'an HTB class needs a rate');
    const rate = parseRate(o.rate, 'rate');
    const ceil = o.ceil !== undefined ? parseRate(o.ceil, 'ceil') : rate;
    const mtu = o.mtu !== undefined ? parseSize(o.mtu, 'mtu') : 1600;
    // q_htb.c: the smallest burst the rate allows, plus an mtu of safety.
    const hz = BigInt(psHz());
    const burst = o.burst !== undefined ? parseSize(o.burst, 'burst') : Number(rate / hz) + mtu;
    const cburst = o.cburst !== undefined ? parseSize(o.cburst, 'cburst') : Number(ceil / hz) + mtu;
    const prio = o.prio !== undefined ? u32Option(o.prio, 'prio', 0, 7) : 0;
    const quantum = o.quantum !== undefined ? u32Option(o.quantum, 'quantum', 1, 0xffffffff) : 0;
    return (w: NetlinkWriter) => {
      const parms = Buffer.alloc(C.TC_HTB_OPT_LEN);
      const rtab = rateTable(parms, 0, rate, mtu);
      const ctab = rateTable(parms, 12, ceil, mtu);
      parms.writeUInt32LE(xmitTime(rate, burst), 24);
      parms.writeUInt32LE(xmitTime(ceil, cburst), 28);
      parms.writeUInt32LE(quantum, 32);
      parms.writeUInt32LE(prio, 40);
      if (rate >= 0x100000000n) w.u64(C.TCA_HTB_RATE64, rate);
      if (ceil >= 0x100000000n) w.u64(C.TCA_HTB_CEIL64, ceil);
      w.attr(C.TCA_HTB_PARMS, parms);
      w.attr(C.TCA_HTB_RTAB, rtab);
      w.attr(C.TCA_HTB_CTAB, ctab);
    };
  },
  decode(a: Attributes): HtbClassInfo {
    const p = a.get(C.TCA_HTB_PARMS);
    if (!p || p.length < C.TC_HTB_OPT_LEN) return { rate: 0, ceil: 0, burst: 0, cburst: 0, prio: 0, quantum: 0, level: 0 };
    const rate = readRate(p, 0, a.u64(C.TCA_HTB_RATE64));
    const ceil = readRate(p, 12, a.u64(C.TCA_HTB_CEIL64));
    return {
      rate: Number(rate) * 8,
      ceil: Number(ceil) * 8,
      burst: xmitSize(rate, p.readUInt32LE(24)),
      cburst: xmitSize(ceil, p.readUInt32LE(28)),
      quantum: p.readUInt32LE(32),
      level: p.readUInt32LE(36),
      prio: p.readUInt32LE(40),
    };
  },
};
