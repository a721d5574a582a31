/**
 * The keys each raw expression object may have: its fields, and
 * `unknownAttributes` (what a listing returns for attributes nlkit does not
 * decode, written back verbatim). A rule's `expressions`, a set's and an
 * element's are checked against these before anything is queued: a
 * misspelt field (`regAdrMin` in a `nat`) would otherwise be dropped by the
 * encoder without a word. Expressions read back from a listing have only
 * these keys, so they write back.
 *
 * Each list is checked against its type by `keysOf`: a field added to an
 * expression's type and not listed here does not compile.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { isObject, keysOf, rejectUnknownKeys } from '../../validate/options';
import type { DynsetExpression, Expression } from './expression';
import { checkExpressionValues } from './expression-values';

/** The expression of type `T`. */
type Of<T extends Expression['type']> = Extract<Expression, { type: T }>;

/** Allowed keys by expression `type`. */
export const EXPRESSION_KEYS: Readonly<Record<Expression['type'], readonly string[]>> = {
  bitwise: keysOf<Of<'bitwise'>>()(['type', 'sreg', 'dreg', 'len', 'op', 'mask', 'xor', 'data', 'unknownAttributes']),
  byteorder: keysOf<Of<'byteorder'>>()(['type', 'sreg', 'dreg', 'op', 'len', 'size', 'unknownAttributes']),
  cmp: keysOf<Of<'cmp'>>()(['type', 'sreg', 'op', 'data', 'unknownAttributes']),
  connlimit: keysOf<Of<'connlimit'>>()(['type', 'count', 'invert', 'unknownAttributes']),
  counter: keysOf<Of<'counter'>>()(['type', 'packets', 'bytes', 'unknownAttributes']),
  ct: keysOf<Of<'ct'>>()(['type', 'key', 'dreg', 'sreg', 'direction', 'unknownAttributes']),
  dup: keysOf<Of<'dup'>>()(['type', 'regAddr', 'regDev', 'unknownAttributes']),
  dynset: keysOf<DynsetExpression>()(['type', 'set', 'setId', 'op', 'sregKey', 'sregData', 'timeout', 'expressions', 'invert', 'unknownAttributes']),
  exthdr: keysOf<Of<'exthdr'>>()(['type', 'op', 'headerType', 'offset', 'len', 'dreg', 'sreg', 'flags', 'unknownAttributes']),
  fib: keysOf<Of<'fib'>>()(['type', 'dreg', 'result', 'flags', 'unknownAttributes']),
  flow_offload: keysOf<Of<'flow_offload'>>()(['type', 'flowtable', 'unknownAttributes']),
  fwd: keysOf<Of<'fwd'>>()(['type', 'regDev', 'regAddr', 'family', 'unknownAttributes']),
  hash: keysOf<Of<'hash'>>()(['type', 'hashType', 'dreg', 'sreg', 'len', 'modulus', 'seed', 'offset', 'unknownAttributes']),
  immediate: keysOf<Of<'immediate'>>()(['type', 'dreg', 'data', 'verdict', 'unknownAttributes']),
  last: keysOf<Of<'last'>>()(['type', 'used', 'unknownAttributes']),
  limit: keysOf<Of<'limit'>>()(['type', 'rate', 'unit', 'burst', 'limitType', 'invert', 'unknownAttributes']),
  log: keysOf<Of<'log'>>()(['type', 'prefix', 'level', 'flags', 'group', 'snaplen', 'queueThreshold', 'unknownAttributes']),
  lookup: keysOf<Of<'lookup'>>()(['type', 'set', 'setId', 'sreg', 'dreg', 'invert', 'otherFlags', 'unknownAttributes']),
  masq: keysOf<Of<'masq'>>()(['type', 'flags', 'regProtoMin', 'regProtoMax', 'unknownAttributes']),
  meta: keysOf<Of<'meta'>>()(['type', 'key', 'dreg', 'sreg', 'unknownAttributes']),
  nat: keysOf<Of<'nat'>>()(['type', 'nat', 'family', 'regAddrMin', 'regAddrMax', 'regProtoMin', 'regProtoMax', 'flags', 'unknownAttributes']),
  notrack: keysOf<Of<'notrack'>>()(['type', 'unknownAttributes']),
  numgen: keysOf<Of<'numgen'>>()(['type', 'dreg', 'mode', 'modulus', 'offset', 'unknownAttributes']),
  objref: keysOf<Of<'objref'>>()(['type', 'objectType', 'name', 'sreg', 'set', 'setId', 'unknownAttributes']),
  osf: keysOf<Of<'osf'>>()(['type', 'dreg', 'ttl', 'version', 'unknownAttributes']),
  payload: keysOf<Of<'payload'>>()(['type', 'base', 'offset', 'len', 'dreg', 'sreg', 'csumType', 'csumOffset', 'csumFlags', 'unknownAttributes']),
  queue: keysOf<Of<'queue'>>()(['type', 'num', 'total', 'sregQnum', 'flags', 'unknownAttributes']),
  quota: keysOf<Of<'quota'>>()(['type', 'bytes', 'consumed', 'invert', 'depleted', 'unknownAttributes']),
  range: keysOf<Of<'range'>>()(['type', 'sreg', 'op', 'from', 'to', 'unknownAttributes']),
  redir: keysOf<Of<'redir'>>()(['type', 'regProtoMin', 'regProtoMax', 'flags', 'unknownAttributes']),
  reject: keysOf<Of<'reject'>>()(['type', 'rejectType', 'code', 'unknownAttributes']),
  rt: keysOf<Of<'rt'>>()(['type', 'key', 'dreg', 'unknownAttributes']),
  socket: keysOf<Of<'socket'>>()(['type', 'key', 'dreg', 'level', 'unknownAttributes']),
  synproxy: keysOf<Of<'synproxy'>>()(['type', 'mss', 'wscale', 'flags', 'unknownAttributes']),
  tproxy: keysOf<Of<'tproxy'>>()(['type', 'family', 'regAddr', 'regPort', 'unknownAttributes']),
  xfrm: keysOf<Of<'xfrm'>>()(['type', 'direction', 'key', 'spnum', 'dreg', 'unknownAttributes']),
  opaque: keysOf<Of<'opaque'>>()(['type', 'name', 'data']),
};

/**
 * Refuses an expression list that is not an array, an item that is not an
 * expression object of a known type, a key its type does not have, and a
 * value its field cannot hold (expression-values.ts), a dynset's own
 * expressions included. `field` names the list
 * (`rule expressions`, `set expressions`, `element expressions`).
 * @example
 * checkExpressionKeys([{ type: 'counter' }], 'rule expressions'); // fine
 * checkExpressionKeys([{ type: 'nat', nat: 'snat', family: 'ip', regAdrMin: 1 }], 'rule expressions'); // ValidationError naming "regAdrMin"
 * checkExpressionKeys([{ type: 'cmp', sreg: 1, op: 'eq', data: 'x' }], 'rule expressions'); // ValidationError naming rule expressions[0] cmp data
 */
export function checkExpressionKeys(list: unknown, field: string): void {
  if (!Array.isArray(list)) throw new ValidationError(field, list, 'must be an array of expressions');
  for (let i = 0; i < list.length; i++) {
    const e: unknown = list[i];
    const at = `${field}[${i}]`;
    if (!isObject(e) || Array.isArray(e)) throw new ValidationError(at, e, 'must be an expression object');
    const type: unknown = (e as { type?: unknown }).type;
    const keys = typeof type === 'string' && Object.hasOwn(EXPRESSION_KEYS, type) ? EXPRESSION_KEYS[type as Expression['type']] : undefined;
    if (keys === undefined) throw new ValidationError(`${at} type`, type, `unknown expression type (known: ${Object.keys(EXPRESSION_KEYS).join(', ')})`);
    rejectUnknownKeys(e, keys, `${at} (${String(type)} expression)`);
    checkExpressionValues(e as { type: Expression['type'] }, at);
    const nested = (e as { expressions?: unknown }).expressions;
    if (type === 'dynset' && nested !== undefined) checkExpressionKeys(nested, `${at}.expressions`);
  }
}
