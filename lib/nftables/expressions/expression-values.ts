/**
 * The values each raw expression object may hold, checked before anything is
 * encoded: registers (1-4 and 8-23, 0 the verdict register where a load may
 * target it), u8/u16/u32 fields, 64-bit counts, byte strings (1 to 64 bytes),
 * names, enum names or numbers, flag lists, verdicts and the attributes a
 * listing kept verbatim. The encoders write u32 fields with `>>> 0`: -1
 * became 0xffffffff, 1.5 became 1, a missing offset or a string became 0,
 * and a register of 99 reached the kernel as ERANGE for the whole batch.
 *
 * A bad value is a ValidationError naming its path, the expression type and
 * the field (`rule expressions[2] payload offset`). What a listing returns always
 * passes: the checks take every value the decoders produce.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import type { NameTable, FlagTable } from '../../validate/name-table';
import { isObject } from '../../validate/options';
import * as C from '../constants';
import { validateVerdict } from '../data';
import { familyNumber, type NftFamily } from '../message';
import { OBJECT_TYPES } from '../object-types';
import { MAX_TIMEOUT_MS, validateCounterValue } from '../ranges';
import { BITWISE_OPS } from './bitwise';
import { BYTEORDER_OPS } from './byteorder';
import { CMP_OPS } from './cmp';
import { CT_DIRECTIONS, CT_KEYS } from './ct';
import { DYNSET_OPS } from './dynset';
import type { Expression } from './expression';
import { EXTHDR_FLAGS, EXTHDR_OPS } from './exthdr';
import { FIB_FLAGS, FIB_RESULTS } from './fib';
import { FWD_FAMILIES } from './fwd';
import { HASH_TYPES } from './hash';
import { LIMIT_TYPES } from './limit';
import { LOG_FLAGS, LOG_LEVELS } from './log';
import { META_KEYS } from './meta';
import { NAT_TYPES } from './nat';
import { NAT_FLAGS } from './nat-flags';
import { NUMGEN_MODES } from './numgen';
import { OSF_TTLS } from './osf';
import { CSUM_TYPES, PAYLOAD_BASES } from './payload';
import { QUEUE_FLAGS } from './queue';
import { RANGE_OPS } from './range';
import { REJECT_TYPES } from './reject';
import { RT_KEYS } from './rt';
import { SOCKET_KEYS } from './socket';
import { SYNPROXY_FLAGS } from './synproxy';
import { TPROXY_FAMILIES } from './tproxy';
import { XFRM_DIRECTIONS, XFRM_KEYS } from './xfrm';

/** Checks one value; throws a ValidationError naming `field`. */
type Check = (v: unknown, field: string) => void;

const integer =
  (min: number, max: number): Check =>
  (v, field) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ValidationError(field, v, `must be an integer from ${min} to ${max}`);
  };

const u8 = integer(0, 0xff);
const u16 = integer(0, 0xffff);
const u32 = integer(0, 0xffffffff);
/** A u64 the API holds as a number (limit rates and units): exact up to 2^53 - 1. */
const u64 = integer(0, Number.MAX_SAFE_INTEGER);
const timeout = integer(0, MAX_TIMEOUT_MS);
/** Packets and bytes: a bigint (or an integer number) from 0 to 2^64 - 1. */
const count: Check = (v, field) => void validateCounterValue(v, field);

/** A register an expression reads: NFT_REG_1..4 (1-4) or NFT_REG32_00..15 (8-23), what nft_parse_register takes. */
const sreg: Check = (v, field) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || !((v >= 1 && v <= 4) || (v >= 8 && v <= 23)))
    throw new ValidationError(field, v, 'must be a register: 1 to 4, or 8 to 23');
};
/** A register an expression writes: those, or 0 (the verdict register: immediate verdicts, verdict map lookups). */
const dreg: Check = (v, field) => {
  if (v !== 0) sreg(v, field);
};

const bool: Check = (v, field) => {
  if (typeof v !== 'boolean') throw new ValidationError(field, v, 'must be true or false');
};

const text: Check = (v, field) => {
  if (typeof v !== 'string') throw new ValidationError(field, v, 'must be a string');
};

/** A set, object or flowtable name: a string here; its encoder checks the text (naming it "dynset set", "object name", ...). */
const name = text;

/** Constant bytes (cmp data, bitwise masks, immediate data, range ends): 1 to NFT_DATA_VALUE_MAXLEN. */
const data: Check = (v, field) => {
  if (!(v instanceof Uint8Array)) throw new ValidationError(field, v, 'must be a Buffer');
  if (v.length === 0 || v.length > C.NFT_DATA_VALUE_MAXLEN)
    throw new ValidationError(field, Buffer.from(v).toString('hex'), `must be 1 to ${C.NFT_DATA_VALUE_MAXLEN} bytes`);
};

/** The bytes of an attribute: at most what a netlink attribute holds. */
const MAX_ATTRIBUTE_DATA = 0xffff - 4;

const bytes: Check = (v, field) => {
  if (!(v instanceof Uint8Array)) throw new ValidationError(field, v, 'must be a Buffer');
  if (v.length > MAX_ATTRIBUTE_DATA) throw new ValidationError(field, `${v.length} bytes`, `must be at most ${MAX_ATTRIBUTE_DATA} bytes`);
};

/** A name of `table`, or a number of at most `max` (a u8 field takes 0-255). */
const oneOf =
  (table: NameTable<string>, max = 0xffffffff): Check =>
  (v, field) => {
    if (typeof v === 'number') integer(0, max)(v, field);
    else table.number(v as string, field);
  };

/** A list of names of `table` (or "0x..." bits, as listings return unnamed bits). */
const flagsOf =
  (table: FlagTable<string>): Check =>
  (v, field) => {
    if (!Array.isArray(v)) throw new ValidationError(field, v, 'must be an array of flag names');
    table.number(v as string[], field);
  };

const family: Check = (v, field) => void familyNumber(v as NftFamily, field);

const verdict: Check = (v, field) => {
  validateVerdict(v as never, field);
  const { code, chainId } = v as { code: unknown; chainId?: unknown };
  if (typeof code === 'number') integer(-0x80000000, 0x7fffffff)(code, `${field}.code`);
  if (chainId !== undefined) u32(chainId, `${field}.chainId`);
};

/** Attributes a listing kept verbatim (`unknownAttributes`): types of 14 bits, their bytes. */
const rawAttributes: Check = (v, field) => {
  if (!Array.isArray(v)) throw new ValidationError(field, v, 'must be an array of attributes, as a listing returns them');
  v.forEach((a: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(a)) throw new ValidationError(at, a, 'must be { type, nested, netByteOrder, data }');
    const { type, nested, netByteOrder, data: payload } = a as Record<string, unknown>;
    integer(0, 0x3fff)(type, `${at}.type`);
    if (nested !== undefined) bool(nested, `${at}.nested`);
    if (netByteOrder !== undefined) bool(netByteOrder, `${at}.netByteOrder`);
    bytes(payload, `${at}.data`);
  });
};

/** A field's check, and whether it must be there. */
type Field = readonly [Check, boolean];
const R = (c: Check): Field => [c, true];
const O = (c: Check): Field => [c, false];

/**
 * The fields of each expression type (the keys are expression-keys.ts's; a
 * dynset's nested expressions are checked as expressions of their own).
 */
const FIELDS: Readonly<Record<Expression['type'], Readonly<Record<string, Field>>>> = {
  bitwise: { sreg: R(sreg), dreg: R(dreg), len: R(u32), op: O(oneOf(BITWISE_OPS)), mask: O(data), xor: O(data), data: O(data) },
  byteorder: { sreg: R(sreg), dreg: R(dreg), op: R(oneOf(BYTEORDER_OPS)), len: R(u32), size: R(u32) },
  cmp: { sreg: R(sreg), op: R(oneOf(CMP_OPS)), data: R(data) },
  connlimit: { count: R(u32), invert: O(bool) },
  counter: { packets: O(count), bytes: O(count) },
  ct: { key: R(oneOf(CT_KEYS)), dreg: O(dreg), sreg: O(sreg), direction: O(oneOf(CT_DIRECTIONS, 0xff)) },
  dup: { regAddr: O(sreg), regDev: O(sreg) },
  dynset: { set: R(name), setId: O(u32), op: R(oneOf(DYNSET_OPS)), sregKey: R(sreg), sregData: O(sreg), timeout: O(timeout), invert: O(bool) },
  exthdr: {
    op: R(oneOf(EXTHDR_OPS)),
    headerType: R(u8),
    offset: R(u32),
    len: R(u32),
    dreg: O(dreg),
    sreg: O(sreg),
    flags: O(flagsOf(EXTHDR_FLAGS)),
  },
  fib: { dreg: R(dreg), result: R(oneOf(FIB_RESULTS)), flags: R(flagsOf(FIB_FLAGS)) },
  flow_offload: { flowtable: R(name) },
  fwd: { regDev: R(sreg), regAddr: O(sreg), family: O(oneOf(FWD_FAMILIES)) },
  hash: { hashType: R(oneOf(HASH_TYPES)), dreg: R(dreg), sreg: O(sreg), len: O(u32), modulus: R(u32), seed: O(u32), offset: O(u32) },
  immediate: { dreg: R(dreg), data: O(data), verdict: O(verdict) },
  last: { used: O(u64) },
  limit: { rate: R(u64), unit: R(u64), burst: R(u32), limitType: R(oneOf(LIMIT_TYPES)), invert: O(bool) },
  log: {
    prefix: O(text),
    level: O(oneOf(LOG_LEVELS)),
    flags: O(flagsOf(LOG_FLAGS)),
    group: O(u16),
    snaplen: O(u32),
    queueThreshold: O(u16),
  },
  lookup: { set: R(name), setId: O(u32), sreg: R(sreg), dreg: O(dreg), invert: O(bool), otherFlags: O(u32) },
  masq: { flags: O(flagsOf(NAT_FLAGS)), regProtoMin: O(sreg), regProtoMax: O(sreg) },
  meta: { key: R(oneOf(META_KEYS)), dreg: O(dreg), sreg: O(sreg) },
  nat: {
    nat: R(oneOf(NAT_TYPES)),
    family: R(family),
    regAddrMin: O(sreg),
    regAddrMax: O(sreg),
    regProtoMin: O(sreg),
    regProtoMax: O(sreg),
    flags: O(flagsOf(NAT_FLAGS)),
  },
  notrack: {},
  numgen: { dreg: R(dreg), mode: R(oneOf(NUMGEN_MODES)), modulus: R(u32), offset: O(u32) },
  objref: { objectType: O(oneOf(OBJECT_TYPES)), name: O(name), sreg: O(sreg), set: O(name), setId: O(u32) },
  osf: { dreg: R(dreg), ttl: R(oneOf(OSF_TTLS, 0xff)), version: O(bool) },
  payload: {
    base: R(oneOf(PAYLOAD_BASES)),
    offset: R(u32),
    len: R(u32),
    dreg: O(dreg),
    sreg: O(sreg),
    csumType: O(oneOf(CSUM_TYPES)),
    csumOffset: O(u32),
    csumFlags: O(u32),
  },
  queue: { num: O(u16), total: O(u16), sregQnum: O(sreg), flags: R(flagsOf(QUEUE_FLAGS)) },
  quota: { bytes: R(count), consumed: O(count), invert: O(bool), depleted: O(bool) },
  range: { sreg: R(sreg), op: R(oneOf(RANGE_OPS)), from: R(data), to: R(data) },
  redir: { regProtoMin: O(sreg), regProtoMax: O(sreg), flags: O(flagsOf(NAT_FLAGS)) },
  reject: { rejectType: R(oneOf(REJECT_TYPES)), code: O(u8) },
  rt: { key: R(oneOf(RT_KEYS)), dreg: R(dreg) },
  socket: { key: R(oneOf(SOCKET_KEYS)), dreg: R(dreg), level: O(u32) },
  synproxy: { mss: R(u16), wscale: R(u8), flags: R(flagsOf(SYNPROXY_FLAGS)) },
  tproxy: { family: R(oneOf(TPROXY_FAMILIES)), regAddr: O(sreg), regPort: O(sreg) },
  xfrm: { direction: R(oneOf(XFRM_DIRECTIONS, 0xff)), key: R(oneOf(XFRM_KEYS)), spnum: R(u32), dreg: R(dreg) },
  opaque: { name: R(text), data: R(bytes) },
};

/**
 * Refuses a value of a raw expression (its keys already checked) that its
 * field cannot hold, naming it as `at type field`.
 * @example
 * checkExpressionValues({ type: 'payload', base: 'network', offset: -1, len: 4, dreg: 1 }, 'rule expressions[0]');
 * // ValidationError: invalid rule expressions[0] payload offset -1: must be an integer from 0 to 4294967295
 */
export function checkExpressionValues(e: { type: Expression['type'] }, at: string): void {
  const fields = FIELDS[e.type];
  const values = e as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const [check, required] = fields[key];
    const v = values[key];
    const field = `${at} ${e.type} ${key}`;
    if (v === undefined) {
      if (required) throw new ValidationError(field, v, 'is required');
    } else check(v, field);
  }
  const unknown = values.unknownAttributes;
  if (unknown !== undefined) rawAttributes(unknown, `${at} ${e.type} unknownAttributes`);
}
