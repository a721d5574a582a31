/**
 * TBF, the token bucket filter (`tc qdisc ... tbf`): what the CNI bandwidth
 * plugin puts on a container's interface. Encoded as iproute2's q_tbf.c does.
 * @module
 */
import { ValidationError } from '../../../netlink/errors';
import type { Attributes } from '../../../netlink/parser';
import type { NetlinkWriter } from '../../../netlink/writer';
import { keysOf } from '../../../validate/options';
import * as C from '../constants';
import { parseRate, parseSize, parseTime, rate32, rateTable, readRate, xmitSize, xmitTime } from '../units';
import type { TcKind } from './kind';

/**
 * TBF options. Rates are bits per second (a number) or tc notation
 * ("8mbit"); sizes bytes or tc notation ("32kb"); times microseconds or tc
 * notation ("50ms").
 */
export interface TbfOptions {
  /** The rate packets leave at. */
  rate: number | string;
  /** The bucket: bytes that may leave at once at full speed (tc's `burst`, `buffer`, `maxburst`). */
  burst: number | string;
  /** Bytes that may wait in the queue; give this or `latency`. */
  limit?: number | string;
  /** The longest a packet may wait, from which tc computes `limit`; give this or `limit`. */
  latency?: number | string;
  /** The peak rate the bucket drains at (tc's `peakrate`); needs `mtu`. */
  peakrate?: number | string;
  /** The size of the peak-rate bucket (tc's `mtu` or `minburst`), in bytes. */
  mtu?: number | string;
}

/** A TBF as the kernel reports it (`options` of a `tbf` qdisc); rates in bits per second, sizes in bytes. */
export interface TbfInfo {
  /** Rate in bits per second. */
  rate: number;
  /** Burst in bytes, as tc shows it (computed back from the kernel's time). */
  burst: number;
  /** Queue limit in bytes. */
  limit: number;
  /** Peak rate in bits per second, when set. */
  peakrate?: number;
  /** Peak-rate bucket in bytes, when a peak rate is set. */
  mtu?: number;
}

export const tbf: TcKind<TbfOptions, TbfInfo> = {
  kind: 'tbf',
  optionKeys: keysOf<TbfOptions>()(['rate', 'burst', 'limit', 'latency', 'peakrate', 'mtu']),
  optionsRequired: true,
  prepare(o) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (o.rate === undefined) throw new ValidationError('rate', o.rate, 'a TBF needs a rate');
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers are not held to the type
    if (o.burst === undefined) throw new ValidationError('burst', o.burst, 'a TBF needs a burst');
    const rate = parseRate(o.rate, 'rate');
    const burst = parseSize(o.burst, 'burst');
    if (o.limit !== undefined && o.latency !== undefined) throw new ValidationError('latency', o.latency, 'give limit or latency, not both');
    if (o.limit === undefined && o.latency === undefined) throw new ValidationError('limit', o.limit, 'a TBF needs a limit or a latency');
    const peak = o.peakrate !== undefined ? parseRate(o.peakrate, 'peakrate') : undefined;
    const mtu = o.mtu !== undefined ? parseSize(o.mtu, 'mtu') : 0;
    if (peak !== undefined && mtu === 0) throw new ValidationError('mtu', o.mtu, 'a peak rate needs an mtu (the peak bucket size)');
    if (peak === undefined && o.mtu !== undefined) throw new ValidationError('mtu', o.mtu, 'mtu is the peak-rate bucket: give peakrate with it');
    let limit: number;
    if (o.limit !== undefined) limit = parseSize(o.limit, 'limit');
    else {
      // q_tbf.c: what arrives at the rate during the latency, plus the bucket.
      const latency = parseTime(o.latency, 'latency');
      let lim = (Number(rate) * latency) / 1e6 + burst;
      if (peak !== undefined) lim = Math.min(lim, (Number(peak) * latency) / 1e6 + mtu);
      limit = Math.min(Math.trunc(lim), 0xffffffff);
    }
    return (w: NetlinkWriter) => {
      const parms = Buffer.alloc(C.TC_TBF_QOPT_LEN);
      const rtab = rateTable(parms, 0, rate, mtu);
      const ptab = peak !== undefined ? rateTable(parms, 12, peak, mtu) : undefined;
      parms.writeUInt32LE(limit, 24);
      parms.writeUInt32LE(xmitTime(BigInt(rate32(rate)), burst), 28);
      if (peak !== undefined) parms.writeUInt32LE(xmitTime(BigInt(rate32(peak)), mtu), 32);
      w.attr(C.TCA_TBF_PARMS, parms);
      w.u32(C.TCA_TBF_BURST, burst);
      if (rate >= 0x100000000n) w.u64(C.TCA_TBF_RATE64, rate);
      w.attr(C.TCA_TBF_RTAB, rtab);
      if (peak !== undefined && ptab) {
        if (peak >= 0x100000000n) w.u64(C.TCA_TBF_PRATE64, peak);
        w.u32(C.TCA_TBF_PBURST, mtu);
        w.attr(C.TCA_TBF_PTAB, ptab);
      }
    };
  },
  decode(a: Attributes): TbfInfo {
    const p = a.get(C.TCA_TBF_PARMS);
    if (!p || p.length < C.TC_TBF_QOPT_LEN) return { rate: 0, burst: 0, limit: 0 };
    const rate = readRate(p, 0, a.u64(C.TCA_TBF_RATE64));
    const info: TbfInfo = { rate: Number(rate) * 8, burst: xmitSize(rate, p.readUInt32LE(28)), limit: p.readUInt32LE(24) };
    const peak = readRate(p, 12, a.u64(C.TCA_TBF_PRATE64));
    if (peak > 0n) {
      info.peakrate = Number(peak) * 8;
      info.mtu = xmitSize(peak, p.readUInt32LE(32));
    }
    return info;
  },
};
