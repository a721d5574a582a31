/**
 * Lowering of the statements that send a packet elsewhere: to a local
 * transparent socket (`tproxy`), to a userspace queue (`queue`), a copy to
 * another host or interface (`dup`), or out of another interface at ingress
 * (`fwd`). Options are checked when the builder method is called; what
 * depends on the table's family when the rule is built (before sending).
 * An interface given by name (as nft takes it) is resolved to its index in
 * the handle's namespace when the transaction is committed.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { validateInteger } from '../../validate/integers';
import { parseIp } from '../../validate/ip';
import { validateInterfaceName } from '../../validate/names';
import { isObject, keysOf, rejectUnknownKeys } from '../../validate/options';
import { hostU32 } from '../data';
import type { Step } from './context';
import type { DupOptions, QueueOptions, TproxyOptions } from './options';

const TPROXY_KEYS = keysOf<TproxyOptions>()(['to', 'port']);
const QUEUE_KEYS = keysOf<QueueOptions>()(['num', 'bypass', 'fanout']);
const DUP_KEYS = keysOf<DupOptions>()(['to', 'device']);

/** An options object with only the keys of its type (`devcie` would otherwise be dropped silently). */
function options<T extends object>(o: T, keys: readonly string[], field: string): T {
  if (!isObject(o)) throw new ValidationError(field, o, 'must be an options object');
  rejectUnknownKeys(o, keys, field);
  return o;
}

/** An interface: its index now (host-order u32), or its name to resolve at commit. */
function deviceOf(device: number | string, field: string): Buffer | string {
  if (typeof device === 'string') return validateInterfaceName(device, field);
  return hostU32(validateInteger(device, field, 1, 0x7fffffff));
}

function portBytes(port: number, field: string): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(validateInteger(port, field, 1, 0xffff), 0);
  return b;
}

/** `tproxy [ip|ip6] to [addr][:port]`; nft requires a tcp or udp match before it. */
export function tproxy(o: TproxyOptions): Step {
  options(o, TPROXY_KEYS, 'tproxy');
  if (o.to === undefined && o.port === undefined) throw new ValidationError('tproxy', o, 'give to, port or both');
  const addr = o.to === undefined ? undefined : parseIp(o.to, 'tproxy to');
  const port = o.port === undefined ? undefined : portBytes(o.port, 'tproxy port');
  return (ctx) => {
    if (ctx.family !== 'ip' && ctx.family !== 'ip6' && ctx.family !== 'inet')
      throw new ValidationError('tproxy', ctx.family, 'works in ip, ip6 and inet tables');
    const family = addr ? (addr.family === 4 ? 'ip' : 'ip6') : 'unspec';
    if (addr && ctx.family !== 'inet' && ctx.family !== family) throw new ValidationError('tproxy to', o.to, `is not an address of a ${ctx.family} table`);
    ctx.requireTransport('tproxy');
    let reg = 1;
    const e: { type: 'tproxy'; family: 'ip' | 'ip6' | 'unspec'; regAddr?: number; regPort?: number } = { type: 'tproxy', family };
    if (addr) {
      ctx.push({ type: 'immediate', dreg: reg, data: Buffer.from(addr.bytes) });
      e.regAddr = reg++;
    }
    if (port) {
      ctx.push({ type: 'immediate', dreg: reg, data: port });
      e.regPort = reg;
    }
    ctx.push(e);
  };
}

/** `queue [num N|N-M] [bypass] [fanout]`. */
export function queue(o: QueueOptions): Step {
  options(o, QUEUE_KEYS, 'queue');
  let num = 0;
  let total = 1;
  if (typeof o.num === 'string' && o.num.includes('-')) {
    const [lo, hi] = o.num.split('-').map((x) => validateInteger(/^\d+$/.test(x.trim()) ? Number(x) : x, 'queue num', 0, 0xffff));
    if (hi < lo) throw new ValidationError('queue num', o.num, 'range start is above its end');
    [num, total] = [lo, hi - lo + 1];
  } else if (o.num !== undefined) {
    num = validateInteger(o.num, 'queue num', 0, 0xffff);
  }
  if (o.fanout && total === 1) throw new ValidationError('queue fanout', o.fanout, 'needs a range of queues (num: "1-3")');
  const flags: Array<'bypass' | 'fanout'> = [];
  if (o.bypass) flags.push('bypass');
  if (o.fanout) flags.push('fanout');
  return (ctx) => ctx.push({ type: 'queue', num, total, flags });
}

/** `dup to addr [device dev]` (ip, ip6 tables) or `dup to dev` (netdev tables). */
export function dup(o: DupOptions): Step {
  options(o, DUP_KEYS, 'dup');
  const addr = o.to === undefined ? undefined : parseIp(o.to, 'dup to');
  const dev = o.device === undefined ? undefined : deviceOf(o.device, 'dup device');
  return (ctx) => {
    if (ctx.family === 'netdev') {
      if (addr || dev === undefined) throw new ValidationError('dup', o, 'in a netdev table, give only the device');
      ctx.pushDevice(1, dev, 'dup device');
      ctx.push({ type: 'dup', regDev: 1 });
      return;
    }
    if (ctx.family !== 'ip' && ctx.family !== 'ip6') throw new ValidationError('dup', ctx.family, 'works in ip, ip6 and netdev tables (as in nft)');
    if (!addr) throw new ValidationError('dup to', o.to, 'needs the address the copy is sent to');
    if ((addr.family === 4 ? 'ip' : 'ip6') !== ctx.family) throw new ValidationError('dup to', o.to, `is not an address of a ${ctx.family} table`);
    ctx.push({ type: 'immediate', dreg: 1, data: Buffer.from(addr.bytes) });
    if (dev === undefined) {
      ctx.push({ type: 'dup', regAddr: 1 });
      return;
    }
    ctx.pushDevice(2, dev, 'dup device');
    ctx.push({ type: 'dup', regAddr: 1, regDev: 2 });
  };
}

/** `fwd to dev`: egress through another interface (index or name), from a netdev ingress chain. */
export function fwd(device: number | string): Step {
  const dev = deviceOf(device, 'fwd device');
  return (ctx) => {
    if (ctx.family !== 'netdev') throw new ValidationError('fwd', ctx.family, 'works only in netdev tables');
    ctx.pushDevice(1, dev, 'fwd device');
    ctx.push({ type: 'fwd', regDev: 1 });
  };
}
