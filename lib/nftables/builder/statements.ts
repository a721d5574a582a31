/**
 * Lowering of the builder's statements that are neither matches nor NAT:
 * log, limit, reject, verdicts and verdict maps.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { validateVerdict, type Verdict } from '../data';
import type { Scalar } from '../datatypes';
import type { SetElement } from '../elements';
import { LIMIT_UNITS } from '../expressions/limit';
import type { Expression } from '../expressions/registry';
import { ICMPX_CODES } from '../expressions/reject';
import { validateInteger } from '../../validate/integers';
import { validateNftName, validateNftText } from '../../validate/names';
import { isObject } from '../../validate/options';
import type { BuildContext, Step } from './context';
import { fieldByName, l4Dep, type FieldName } from './fields';
import { hasInterval, keyTypeOf, loadFields, namedSet } from './match';
import type { LimitOptions, LogOptions, QuotaOptions, RejectOptions, VerdictSpec } from './options';

/** ICMP "port unreachable": code 3 for IPv4, 4 for ICMPv6 (what reject sends by default). */
const ICMP_PORT_UNREACHABLE = 3;
const ICMPV6_PORT_UNREACHABLE = 4;

/** NF_LOG_PREFIXLEN (128) less the NUL: the kernel refuses a longer prefix. */
const MAX_LOG_PREFIX_BYTES = 127;

/** A verdict from its short form ("accept", { jump: "x" }) or a full Verdict. */
export function verdictOf(v: VerdictSpec): Verdict {
  if (typeof v === 'string') return validateVerdict({ code: v });
  if ('jump' in v) return validateVerdict({ code: 'jump', chain: v.jump });
  if ('goto' in v) return validateVerdict({ code: 'goto', chain: v.goto });
  return validateVerdict(v);
}

/** `log`: to the kernel log at a level, or to an nflog group. */
export function log(ctx: BuildContext, o: LogOptions): void {
  const e: Expression = { type: 'log' };
  if (o.prefix !== undefined) e.prefix = validateNftText(o.prefix, 'log prefix', MAX_LOG_PREFIX_BYTES);
  if (o.group !== undefined) {
    e.group = validateInteger(o.group, 'log group', 0, 0xffff);
    if (o.snaplen) e.snaplen = o.snaplen;
    if (o.queueThreshold) e.queueThreshold = o.queueThreshold;
  } else {
    e.level = o.level ?? 'warn';
    if (o.flags?.length) e.flags = o.flags;
  }
  ctx.push(e);
}

/** `limit rate [over] N/unit burst B`. */
export function limit(ctx: BuildContext, o: LimitOptions): void {
  if (!Number.isInteger(o.rate) || o.rate <= 0) throw new ValidationError('limit rate', o.rate, 'must be a positive integer');
  const e: Expression = {
    type: 'limit',
    rate: o.rate,
    unit: LIMIT_UNITS.number(o.per ?? 'second', 'limit per'),
    burst: o.burst ?? (o.bytes ? 0 : 5),
    limitType: o.bytes ? 'bytes' : 'packets',
  };
  if (o.over) e.invert = true;
  ctx.push(e);
}

/** `reject`: an ICMP error (icmpx in inet tables) or a TCP reset. */
export function reject(ctx: BuildContext, o: RejectOptions): void {
  const kind = o.with ?? (ctx.family === 'ip' || ctx.family === 'ip6' ? 'icmp' : 'icmpx');
  if (kind === 'tcp reset') {
    ctx.needFirst([l4Dep(6)]);
    ctx.push({ type: 'reject', rejectType: 'tcp reset' });
    return;
  }
  let code: number;
  if (typeof o.code === 'number') code = validateInteger(o.code, 'reject code', 0, 0xff);
  else if (kind === 'icmpx') code = ICMPX_CODES.number(o.code ?? 'port-unreachable');
  else if (o.code !== undefined) throw new ValidationError('reject code', o.code, 'with icmp, give the numeric ICMP code');
  else code = ctx.family === 'ip6' ? ICMPV6_PORT_UNREACHABLE : ICMP_PORT_UNREACHABLE;
  ctx.push({ type: 'reject', rejectType: kind, code });
}

/** A verdict map: the verdict is looked up by field(s), in inline entries or a named map. */
export function vmap(ctx: BuildContext, fields: FieldName | FieldName[], map: string | Array<{ key: Scalar | Scalar[]; verdict: VerdictSpec }>): void {
  const fs = (Array.isArray(fields) ? fields : [fields]).map(fieldByName);
  loadFields(ctx, fs);
  const keyType = keyTypeOf(fs);
  if (typeof map === 'string') {
    ctx.push({ type: 'lookup', set: namedSet(map), sreg: 1, dreg: 0 });
    return;
  }
  const elements: SetElement[] = map.map((e) => ({ key: e.key, verdict: verdictOf(e.verdict) }));
  const s = ctx.anonymous({ keyType, dataType: 'verdict', interval: elements.some((e) => hasInterval(fs, e.key)) }, elements);
  ctx.push({ type: 'lookup', ...s, sreg: 1, dreg: 0 });
}

/** `counter name "x"`, `limit name "x"`, `quota name "x"`: a reference to an object of the table. */
export function objectRef(objectType: 'counter' | 'limit' | 'quota', o: { name: string }): Step {
  if (!isObject(o)) throw new ValidationError(objectType, o, 'must be { name }');
  const name = validateNftName(o.name, `${objectType} name`);
  return (ctx) => ctx.push({ type: 'objref', objectType, name });
}

/** `quota [over] N bytes` or `quota name "x"`. */
export function quota(o: QuotaOptions): Step {
  if (!isObject(o)) throw new ValidationError('quota', o, 'must be { bytes, over } or { name }');
  if ('name' in o) return objectRef('quota', o);
  if ((typeof o.bytes !== 'number' && typeof o.bytes !== 'bigint') || (typeof o.bytes === 'number' && !Number.isSafeInteger(o.bytes)) || o.bytes < 0) {
    throw new ValidationError('quota bytes', String(o.bytes), 'must be a non-negative integer');
  }
  const bytes = BigInt(o.bytes);
  if (bytes > 0xffffffffffffffffn) throw new ValidationError('quota bytes', String(o.bytes), 'must fit in 64 bits');
  const over = o.over === true;
  return (ctx) => ctx.push({ type: 'quota', bytes, consumed: 0n, ...(over ? { invert: true } : {}) });
}
