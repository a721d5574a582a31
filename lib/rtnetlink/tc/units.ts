/**
 * Rates, sizes and times as tc reads them (iproute2's get_rate64, get_size,
 * get_time), and the kernel's time base: psched ticks, transmit times and
 * rate tables computed exactly as iproute2's tc_core.c does, so a qdisc added
 * by nlkit reads back identical to one added by tc.
 * @module
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../../netlink/errors';
import { TC_LINKLAYER_ETHERNET, TC_RATESPEC_LEN } from './constants';

/** tc's time unit: microseconds. */
const TIME_UNITS_PER_SEC = 1_000_000;

/** Rate suffixes (iproute2 utils.c), compared case-insensitively; the value is bits per second per unit. */
const RATE_UNITS: ReadonlyArray<[string, number]> = [
  ['bit', 1],
  ['kibit', 1024],
  ['kbit', 1000],
  ['mibit', 1024 ** 2],
  ['mbit', 1e6],
  ['gibit', 1024 ** 3],
  ['gbit', 1e9],
  ['tibit', 1024 ** 4],
  ['tbit', 1e12],
  ['bps', 8],
  ['kibps', 8 * 1024],
  ['kbps', 8000],
  ['mibps', 8 * 1024 ** 2],
  ['mbps', 8e6],
  ['gibps', 8 * 1024 ** 3],
  ['gbps', 8e9],
  ['tibps', 8 * 1024 ** 4],
  ['tbps', 8e12],
];

const SIZE_UNITS: ReadonlyArray<[string[], number]> = [
  [['b', ''], 1],
  [['kb', 'k'], 1024],
  [['mb', 'm'], 1024 ** 2],
  [['gb', 'g'], 1024 ** 3],
  [['kbit'], 1024 / 8],
  [['mbit'], (1024 * 1024) / 8],
  [['gbit'], (1024 * 1024 * 1024) / 8],
];

const TIME_UNITS: ReadonlyArray<[string[], number]> = [
  [['s', 'sec', 'secs'], TIME_UNITS_PER_SEC],
  [['ms', 'msec', 'msecs'], TIME_UNITS_PER_SEC / 1000],
  [['us', 'usec', 'usecs', ''], 1],
];

/** A rate in bits per second (number) or tc notation ("8mbit", "1gbit", "100kbps" = bytes), as bytes per second. */
export function parseRate(value: unknown, field: string): bigint {
  let bits: number;
  if (typeof value === 'number') bits = value;
  else if (typeof value === 'string') {
    const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)$/i.exec(value);
    const unit = m ? RATE_UNITS.find(([u]) => u === m[2].toLowerCase()) : undefined;
    if (!m || (!unit && m[2] !== '')) throw new ValidationError(field, value, `must be bits per second, or tc notation such as "8mbit", "1gbit", "500kbit"`);
    bits = Number(m[1]) * (unit ? unit[1] : 1);
  } else throw new ValidationError(field, value, 'must be bits per second (a number) or tc notation such as "8mbit"');
  const bytes = Math.floor(bits / 8);
  if (!Number.isFinite(bits) || bytes < 1 || !Number.isSafeInteger(bytes)) throw new ValidationError(field, value, 'must be at least 8 bits per second');
  return BigInt(bytes);
}

/** A size in bytes (number) or tc notation ("32kb", "1600b", "1mbit"). */
export function parseSize(value: unknown, field: string): number {
  let bytes: number;
  if (typeof value === 'number') bytes = value;
  else if (typeof value === 'string') {
    const m = /^\s*([0-9]*\.?[0-9]+)\s*([a-z]*)$/i.exec(value);
    const unit = m ? SIZE_UNITS.find(([names]) => names.includes(m[2].toLowerCase())) : undefined;
    if (!m || !unit) throw new ValidationError(field, value, 'must be bytes, or tc notation such as "32kb", "1600b", "1mb"');
    bytes = Math.floor(Number(m[1]) * unit[1]);
  } else throw new ValidationError(field, value, 'must be bytes (a number) or tc notation such as "32kb"');
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 0xffffffff) throw new ValidationError(field, value, 'must be a whole number of bytes from 1 to 2^32-1');
  return bytes;
}

/** A time in microseconds (number) or tc notation ("50ms", "1s", "400us"), as microseconds. */
export function parseTime(value: unknown, field: string): number {
  let us: number;
  if (typeof value === 'number') us = value;
  else if (typeof value === 'string') {
    const m = /^\s*([0-9]*\.?[0-9]+)\s*([a-z]*)$/i.exec(value);
    const unit = m ? TIME_UNITS.find(([names]) => names.includes(m[2].toLowerCase())) : undefined;
    if (!m || !unit) throw new ValidationError(field, value, 'must be microseconds, or tc notation such as "50ms", "1s"');
    us = Math.floor(Number(m[1]) * unit[1]);
  } else throw new ValidationError(field, value, 'must be microseconds (a number) or tc notation such as "50ms"');
  if (!Number.isInteger(us) || us < 1 || us > 0xffffffff) throw new ValidationError(field, value, 'must be from 1 microsecond to about 71 minutes');
  return us;
}

/** The kernel's clock as /proc/net/psched tells it (the same in every namespace). */
interface Psched {
  tickInUsec: number;
  hz: number;
}

let psched: Psched | undefined;

/**
 * tc_core_init and get_hz of iproute2. Without /proc/net/psched the values
 * every kernel since 2.6.31 reports (1000 64 1000000 1000000000) are used.
 */
function clock(): Psched {
  if (psched) return psched;
  let fields = [0x3e8, 0x40, 0xf4240, 0x3b9aca00];
  try {
    const read = readFileSync('/proc/net/psched', 'utf8')
      .trim()
      .split(/\s+/)
      .map((f) => parseInt(f, 16));
    if (read.length >= 3 && read.every((n) => Number.isFinite(n) && n > 0)) fields = read;
  } catch {
    // keep the defaults
  }
  const [t2usRead, us2t, clockRes, hzRead] = fields;
  // iproute2's compatibility hack: a nanosecond clock advertises a multiplier of 1000 meaning 1.
  const t2us = clockRes === 1_000_000_000 ? us2t : t2usRead;
  const clockFactor = clockRes / TIME_UNITS_PER_SEC;
  psched = { tickInUsec: (t2us / us2t) * clockFactor, hz: clockRes === 1_000_000 && hzRead ? hzRead : 100 };
  return psched;
}

/** C's conversion of a double to unsigned int (truncation; what tc's arithmetic does). */
const u32 = (x: number): number => (x >= 0xffffffff ? 0xffffffff : Math.trunc(x) >>> 0);

/** tc_calc_xmittime: the psched ticks to send `size` bytes at `rate` bytes per second. */
export function xmitTime(rate: bigint, size: number): number {
  const time = u32(TIME_UNITS_PER_SEC * (size / Number(rate)));
  return u32(time * clock().tickInUsec);
}

/** tc_calc_xmitsize: the bytes sent at `rate` bytes per second in `ticks` psched ticks (how tc shows bursts). */
export function xmitSize(rate: bigint, ticks: number): number {
  const time = u32(ticks / clock().tickInUsec);
  return u32((Number(rate) * time) / TIME_UNITS_PER_SEC);
}

/** The kernel's HZ as tc reads it (get_hz): HTB's default burst is rate / HZ + mtu. */
export function psHz(): number {
  return clock().hz;
}

/** A rate as 32 bits: rates from 2^32 bytes/s on travel in a *_RATE64 attribute, the ratespec says ~0. */
export function rate32(rate: bigint): number {
  return rate >= 0x100000000n ? 0xffffffff : Number(rate);
}

/**
 * tc_calc_rtable: fills a tc_ratespec at `off` and returns the 1024-byte
 * rate table (the time to send each size cell), as tc sends it.
 * @param mtu the largest packet (tc's default 2047 when 0)
 */
export function rateTable(view: Buffer, off: number, rate: bigint, mtu: number): Buffer {
  const m = mtu === 0 ? 2047 : mtu;
  let cellLog = 0;
  while (m >> cellLog > 255) cellLog++;
  // tc computes the table from the 32-bit rate of the ratespec.
  const bps = BigInt(rate32(rate));
  const table = Buffer.alloc(1024);
  for (let i = 0; i < 256; i++) table.writeUInt32LE(xmitTime(bps, (i + 1) << cellLog), i * 4);
  view.fill(0, off, off + TC_RATESPEC_LEN);
  view.writeUInt8(cellLog, off);
  view.writeUInt8(TC_LINKLAYER_ETHERNET, off + 1);
  view.writeInt16LE(-1, off + 4); // cell_align
  view.writeUInt32LE(rate32(rate), off + 8);
  return table;
}

/** The rate of a tc_ratespec at `off`, or of its 64-bit attribute when there is one, in bytes per second. */
export function readRate(view: Buffer, off: number, rate64: bigint | undefined): bigint {
  return rate64 ?? BigInt(view.readUInt32LE(off + 8));
}
