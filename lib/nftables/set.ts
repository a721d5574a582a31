/**
 * Sets and maps: typed collections the rules look packets up in. A set has a
 * key type (one data type, or a concatenation such as
 * `ipv4_addr . inet_service`); a map adds a data type (`verdict` for verdict
 * maps, or any data type / concatenation for data maps) or an object type.
 * Encoding of NEWSET / DELSET and decoding of set messages.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { Attributes, type NetlinkMessage } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { validateInteger } from '../validate/integers';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { alignedLength, concatTypeId, dataTypeById, dataTypeByName, splitTypeId, type DataType, type DataTypeName } from './datatypes';
import { readExpressionBody, readExpressionList, writeExpressionBody, writeExpressionList, type Expression } from './expressions/registry';
import { hostU32 } from './data';
import { beginNft, familyName, familyNumber, messageAttributes, messageFamily, type NftFamily } from './message';
import { OBJECT_TYPES, type ObjectType } from './object-types';
import { validateHandle, validateTimeout } from './ranges';
import { FlagTable } from './names';
import {
  BYTEORDER_BIG_ENDIAN,
  BYTEORDER_HOST,
  UDATA_SET_COMMENT,
  UDATA_SET_DATABYTEORDER,
  UDATA_SET_DATA_INTERVAL,
  UDATA_SET_KEYBYTEORDER,
  buildUdata,
  joinComment,
  parseUdata,
  splitComment,
  type UdataTlv,
} from './userdata';

/** A key or data type: one data type name, a concatenation (array), or a raw nft type id. */
export type SetDataType = DataTypeName | DataTypeName[] | number;

/** Set flags that are chosen by the caller; map/object/concat follow from the types. */
export type SetFlag = 'constant' | 'interval' | 'timeout' | 'dynamic' | 'anonymous' | 'expr';

const SET_FLAGS = new FlagTable<SetFlag | 'map' | 'object' | 'concat'>('set flag', [
  ['anonymous', C.NFT_SET_ANONYMOUS],
  ['constant', C.NFT_SET_CONSTANT],
  ['interval', C.NFT_SET_INTERVAL],
  ['map', C.NFT_SET_MAP],
  ['timeout', C.NFT_SET_TIMEOUT],
  ['dynamic', C.NFT_SET_EVAL],
  ['object', C.NFT_SET_OBJECT],
  ['concat', C.NFT_SET_CONCAT],
  ['expr', C.NFT_SET_EXPR],
]);
const DERIVED_FLAGS = C.NFT_SET_MAP | C.NFT_SET_OBJECT | C.NFT_SET_CONCAT;

/** A set or map as written and as listed. */
export interface NftSet {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Set name. */
  name: string;
  /** e.g. "ipv4_addr", or ["ipv4_addr", "inet_service"] for `ipv4_addr . inet_service`. */
  keyType: SetDataType;
  /** Key bytes (1 to 64); needed only for "integer" or raw type ids. */
  keyLength?: number;
  /** Maps: "verdict", or the data type(s) of the mapped values. */
  dataType?: SetDataType | 'verdict';
  /** Data bytes (1 to 64, to 32 with `dataInterval`); needed only for "integer" or raw type ids. */
  dataLength?: number;
  /**
   * Map data are ranges (`type ipv4_addr : interval ipv4_addr`, prefix NAT
   * and netmap): each value is a prefix or "from-to" and travels as start and end.
   */
  dataInterval?: boolean;
  /** Object maps: the type of the named objects mapped to. */
  objectType?: ObjectType;
  /** Set flags ("interval", "timeout", ...); "map", "objmap" and "concat" follow from the types. */
  flags?: Array<SetFlag | (string & {})>;
  /** Default element timeout in milliseconds (sets with the "timeout" flag; at most 18,446,744,073,708). */
  timeout?: number;
  /** Garbage-collection interval in milliseconds (sets with the "timeout" flag; a u32). */
  gcInterval?: number;
  /** Set implementation preference: "performance" or "memory". */
  policy?: 'performance' | 'memory';
  /** Maximum number of elements (1 to 2^32 - 1). */
  size?: number;
  /** Every element gets a counter (`counter` in the set definition). */
  counter?: boolean;
  /** Other per-element expressions (besides `counter`). */
  expressions?: Expression[];
  /** Shown by `nft list` as `comment "..."`. */
  comment?: string;
  /** Kernel-assigned; set when listed or echoed (read-only: accepted when passed back to an add, not written). */
  handle?: number;
  /** Userdata other than the comment (nft's byte-order and typeof hints), kept verbatim. */
  userdata?: Buffer;
}

/** Identifies a set. */
export interface SetRef {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Set name. */
  name: string;
}

/**
 * Identifies a set or map by its kernel handle (`deleteSet`); with a `name`
 * too (a listed set), the handle decides.
 */
export interface SetHandleRef {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Kernel-assigned handle (as listed: `nft -a list sets`). */
  handle: number;
  /** Set name (not written: the handle decides). */
  name?: string;
}

/** What encoding elements needs to know about a set. */
export interface SetShape {
  /** One entry per key field; undefined for a type nlkit cannot parse (raw bytes only). */
  keyFields: Array<DataType | undefined>;
  /** Bytes of each key field (unaligned). */
  keyFieldLengths: number[];
  keyLength: number;
  map: 'none' | 'data' | 'verdict' | 'object';
  dataFields: Array<DataType | undefined>;
  dataFieldLengths: number[];
  dataLength: number;
  /** Data values are ranges: start and end, each of `dataFieldLengths[0]` bytes. */
  dataInterval: boolean;
  interval: boolean;
}

interface ResolvedType {
  id: number;
  fields: Array<DataType | undefined>;
  fieldLengths: number[];
  length: number;
}

function resolveType(t: SetDataType, len: number | undefined, field: string): ResolvedType {
  if (typeof t === 'number') {
    if (len === undefined) throw new ValidationError(field, t, 'a raw type id needs an explicit length');
    const ids = splitTypeId(t);
    const known = ids.map((id) => dataTypeById(id));
    if (ids.length > 1 && known.every((k): k is DataType => k !== undefined && k.size > 0)) {
      return { id: t, fields: known, fieldLengths: known.map((k) => k.size), length: len };
    }
    return { id: t, fields: [known.length === 1 ? known[0] : undefined], fieldLengths: [len], length: len };
  }
  const names = Array.isArray(t) ? t : [t];
  if (names.length === 0) throw new ValidationError(field, t, 'needs at least one type');
  const types = names.map((n) => dataTypeByName(n, field));
  if (types.length === 1) {
    const size = types[0].size || len;
    if (!size) throw new ValidationError(field, t, `"${names[0]}" has no fixed size: give a length`);
    return { id: types[0].id, fields: types, fieldLengths: [size], length: len ?? size };
  }
  const lengths = types.map((x) => x.size || 4);
  return { id: concatTypeId(types.map((x) => x.id)), fields: types, fieldLengths: lengths, length: lengths.reduce((s, l) => s + alignedLength(l), 0) };
}

/** Works out the element layout of a set definition. */
export function shapeOf(s: Pick<NftSet, 'keyType' | 'keyLength' | 'dataType' | 'dataLength' | 'dataInterval' | 'objectType' | 'flags'>): SetShape {
  const key = resolveType(s.keyType, s.keyLength, 'keyType');
  const shape: SetShape = {
    keyFields: key.fields,
    keyFieldLengths: key.fieldLengths,
    keyLength: key.length,
    map: 'none',
    dataFields: [],
    dataFieldLengths: [],
    dataLength: 0,
    dataInterval: false,
    interval: (s.flags ?? []).includes('interval'),
  };
  if (s.dataType === 'verdict') shape.map = 'verdict';
  else if (s.dataType !== undefined) {
    const data = resolveType(s.dataType, s.dataLength, 'dataType');
    shape.map = 'data';
    shape.dataFields = data.fields;
    shape.dataFieldLengths = data.fieldLengths;
    shape.dataLength = data.length;
    if (s.dataInterval) {
      if (data.fields.length !== 1) throw new ValidationError('dataInterval', s.dataType, 'interval data needs a single data type');
      shape.dataInterval = true;
      shape.dataLength = 2 * data.length;
    }
  } else if (s.objectType !== undefined) shape.map = 'object';
  return shape;
}

/** Writes NFT_MSG_NEWSET; `setId` lets elements and rules of the same batch refer to it. */
export function writeNewSet(w: NetlinkWriter, s: NftSet, flags: number, setId: number): void {
  validateNftName(s.table, 'table name');
  validateNftName(s.name, 'set name');
  validateSetNumbers(s);
  const key = resolveType(s.keyType, s.keyLength, 'keyType');
  let setFlags = SET_FLAGS.number(s.flags);
  if (setFlags & DERIVED_FLAGS)
    throw new ValidationError('set flags', s.flags, 'map, object and concat follow from dataType/objectType/keyType; do not pass them');
  if (s.dataType !== undefined) setFlags |= C.NFT_SET_MAP;
  if (s.objectType !== undefined) setFlags |= C.NFT_SET_OBJECT;
  if (key.fields.length > 1 && setFlags & C.NFT_SET_INTERVAL) setFlags |= C.NFT_SET_CONCAT;

  if (s.timeout !== undefined && !(setFlags & C.NFT_SET_TIMEOUT)) {
    throw new ValidationError('timeout', s.timeout, 'a default timeout needs the "timeout" flag');
  }
  if (s.gcInterval !== undefined && !(setFlags & C.NFT_SET_TIMEOUT)) {
    throw new ValidationError('gcInterval', s.gcInterval, 'a garbage-collection interval needs the "timeout" flag');
  }
  beginNft(w, C.NFT_MSG_NEWSET, flags, familyNumber(s.family));
  w.string(C.NFTA_SET_TABLE, s.table);
  w.string(C.NFTA_SET_NAME, s.name);
  w.be32(C.NFTA_SET_FLAGS, setFlags);
  w.be32(C.NFTA_SET_KEY_TYPE, key.id);
  w.be32(C.NFTA_SET_KEY_LEN, key.length);
  if (s.dataType === 'verdict') {
    w.be32(C.NFTA_SET_DATA_TYPE, C.NFT_DATA_VERDICT);
  } else if (s.dataType !== undefined) {
    const data = resolveType(s.dataType, s.dataLength, 'dataType');
    w.be32(C.NFTA_SET_DATA_TYPE, data.id);
    w.be32(C.NFTA_SET_DATA_LEN, s.dataInterval ? 2 * data.length : data.length);
  }
  if (s.objectType !== undefined) {
    if (s.dataType !== undefined) throw new ValidationError('objectType', s.objectType, 'a set maps to data or to objects, not both');
    w.be32(C.NFTA_SET_OBJ_TYPE, OBJECT_TYPES.number(s.objectType));
  }
  if (s.policy !== undefined) w.be32(C.NFTA_SET_POLICY, SET_POLICIES[s.policy]);
  // Field lengths are only for concatenated intervals (the kernel refuses them elsewhere).
  const describeFields = (setFlags & C.NFT_SET_CONCAT) !== 0;
  if (s.size !== undefined || describeFields) {
    const desc = w.nest(C.NFTA_SET_DESC);
    if (s.size !== undefined) w.be32(C.NFTA_SET_DESC_SIZE, s.size);
    if (describeFields) {
      const concat = w.nest(C.NFTA_SET_DESC_CONCAT);
      for (const len of key.fieldLengths) {
        const el = w.nest(C.NFTA_LIST_ELEM);
        w.be32(C.NFTA_SET_FIELD_LEN, len);
        w.endNest(el);
      }
      w.endNest(concat);
    }
    w.endNest(desc);
  }
  w.be32(C.NFTA_SET_ID, setId);
  if (s.timeout !== undefined) w.be64(C.NFTA_SET_TIMEOUT, BigInt(s.timeout));
  if (s.gcInterval !== undefined) w.be32(C.NFTA_SET_GC_INTERVAL, s.gcInterval);
  const ud = joinComment(s.comment, withHints(s, key), UDATA_SET_COMMENT);
  if (ud) w.attr(C.NFTA_SET_USERDATA, ud);
  const exprs: Expression[] = [...(s.counter ? [{ type: 'counter' } as Expression] : []), ...(s.expressions ?? [])];
  if (exprs.length === 1) {
    const n = w.nest(C.NFTA_SET_EXPR);
    writeExpressionBody(w, exprs[0]);
    w.endNest(n);
  } else if (exprs.length > 1) {
    writeExpressionList(w, C.NFTA_SET_EXPRESSIONS, exprs);
  }
  w.end();
}

/** Set policies by name. */
const SET_POLICIES: Record<string, number> = { performance: C.NFT_SET_POL_PERFORMANCE, memory: C.NFT_SET_POL_MEMORY };

/**
 * Checks the numbers of a set definition against what the kernel takes
 * (a size of 2^32 wrapped to 0, a policy other than the two was written as
 * "performance", a key length above 64 reached the kernel as EINVAL).
 */
export function validateSetNumbers(s: NftSet): void {
  if (s.keyLength !== undefined) validateInteger(s.keyLength, 'keyLength', 1, C.NFT_DATA_VALUE_MAXLEN);
  if (s.dataLength !== undefined) validateInteger(s.dataLength, 'dataLength', 1, s.dataInterval ? C.NFT_DATA_VALUE_MAXLEN / 2 : C.NFT_DATA_VALUE_MAXLEN);
  if (s.size !== undefined) validateInteger(s.size, 'size', 1, 0xffffffff);
  if (s.timeout !== undefined) validateTimeout(s.timeout, 'timeout');
  if (s.gcInterval !== undefined) validateInteger(s.gcInterval, 'gcInterval', 0, 0xffffffff);
  if (s.policy !== undefined && (typeof s.policy !== 'string' || !Object.hasOwn(SET_POLICIES, s.policy)))
    throw new ValidationError('policy', s.policy, 'a set policy is "performance" or "memory"');
  if (s.handle !== undefined) validateHandle(s.handle, 'set handle');
}

/**
 * The byte-order hints nft stores with a set (and needs to print host-order
 * keys such as marks correctly): one u32 per single-field key and data type.
 */
function byteOrderHints(s: NftSet, key: ResolvedType): Buffer | undefined {
  const tlvs: UdataTlv[] = [];
  const order = (t: DataType | undefined) => hostU32(t?.hostOrder ? BYTEORDER_HOST : BYTEORDER_BIG_ENDIAN);
  if (key.fields.length === 1 && typeof s.keyType === 'string') tlvs.push({ type: UDATA_SET_KEYBYTEORDER, value: order(key.fields[0]) });
  if (typeof s.dataType === 'string' && s.dataType !== 'verdict') tlvs.push({ type: UDATA_SET_DATABYTEORDER, value: order(dataTypeByName(s.dataType)) });
  // nft prints range data as ranges only with this flag.
  if (s.dataInterval) tlvs.push({ type: UDATA_SET_DATA_INTERVAL, value: hostU32(1) });
  return tlvs.length ? buildUdata(tlvs) : undefined;
}

/**
 * The set's userdata with the byte-order hints added where it has none of
 * its own: a listed set keeps only userdata nlkit would not write itself
 * (see {@link withoutDefaultHints}), and losing the hints on the way back
 * makes nft print host-order keys and data byte-swapped.
 */
function withHints(s: NftSet, key: ResolvedType): Buffer | undefined {
  const hints = byteOrderHints(s, key);
  if (!s.userdata) return hints;
  const own = parseUdata(s.userdata);
  if (!own || !hints) return s.userdata; // not nft's TLV format: written as given
  const missing = (parseUdata(hints) ?? []).filter((h) => !own.some((t) => t.type === h.type));
  return missing.length ? buildUdata([...missing, ...own]) : s.userdata;
}

/** Whether nft marked the set's data as ranges (a host-order u32 flag in its userdata). */
function hasDataInterval(ud: Buffer | undefined): boolean {
  const t = ud ? parseUdata(ud)?.find((x) => x.type === UDATA_SET_DATA_INTERVAL) : undefined;
  return t?.value.length === 4 && t.value.readUInt32LE(0) !== 0;
}

/** Drops the byte-order hints nlkit would write itself, so they do not show up as custom userdata. */
function withoutDefaultHints(s: NftSet, ud: Buffer): Buffer | undefined {
  const tlvs = parseUdata(ud);
  if (!tlvs) return ud;
  let defaults: UdataTlv[] = [];
  try {
    defaults = parseUdata(byteOrderHints(s, resolveType(s.keyType, s.keyLength ?? 0, 'keyType')) ?? Buffer.alloc(0)) ?? [];
  } catch {
    return ud;
  }
  const rest = tlvs.filter((t) => !defaults.some((d) => d.type === t.type && d.value.equals(t.value)));
  return rest.length === tlvs.length ? ud : rest.length ? buildUdata(rest) : undefined;
}

/** Writes NFT_MSG_DELSET (or DESTROYSET), by name or handle (the handle decides when both are given). */
export function writeDeleteSet(w: NetlinkWriter, s: SetRef | SetHandleRef, msg: number = C.NFT_MSG_DELSET): void {
  beginNft(w, msg, 0, familyNumber(s.family));
  w.string(C.NFTA_SET_TABLE, validateNftName(s.table, 'table name'));
  const handle = 'handle' in s ? s.handle : undefined;
  if (handle !== undefined) w.be64(C.NFTA_SET_HANDLE, BigInt(validateHandle(handle, 'set handle')));
  else w.string(C.NFTA_SET_NAME, validateNftName(s.name, 'set name'));
  w.end();
}

function typeFromId(id: number, len: number): { type: SetDataType; explicitLength: boolean } {
  const ids = splitTypeId(id);
  const known = ids.map((x) => dataTypeById(x));
  if (!known.every((k) => k !== undefined)) return { type: id, explicitLength: true };
  if (known.length === 1) return { type: known[0].name as DataTypeName, explicitLength: known[0].size === 0 || known[0].size !== len };
  const names = known.map((k) => k.name as DataTypeName);
  const natural = known.reduce((s, k) => s + alignedLength(k.size || 4), 0);
  return { type: names, explicitLength: natural !== len };
}

/** Decodes a NEWSET/DELSET message. */
export function decodeSet(m: NetlinkMessage): NftSet {
  const a = messageAttributes(m);
  const keyLen = a.be32(C.NFTA_SET_KEY_LEN) ?? 0;
  const key = typeFromId(a.be32(C.NFTA_SET_KEY_TYPE) ?? 0, keyLen);
  const s: NftSet = {
    family: familyName(messageFamily(m)),
    table: a.string(C.NFTA_SET_TABLE) ?? '',
    name: a.string(C.NFTA_SET_NAME) ?? '',
    keyType: key.type,
  };
  if (key.explicitLength) s.keyLength = keyLen;
  const flags = a.be32(C.NFTA_SET_FLAGS) ?? 0;
  const dataType = a.be32(C.NFTA_SET_DATA_TYPE);
  if (dataType !== undefined) {
    if (dataType === C.NFT_DATA_VERDICT) s.dataType = 'verdict';
    else {
      let dataLen = a.be32(C.NFTA_SET_DATA_LEN) ?? 0;
      if (hasDataInterval(a.get(C.NFTA_SET_USERDATA)) && dataLen % 2 === 0) {
        s.dataInterval = true;
        dataLen /= 2;
      }
      const d = typeFromId(dataType, dataLen);
      s.dataType = d.type;
      if (d.explicitLength) s.dataLength = dataLen;
    }
  }
  const objType = a.be32(C.NFTA_SET_OBJ_TYPE);
  if (objType !== undefined) s.objectType = OBJECT_TYPES.name(objType) as ObjectType;
  const timeout = a.be64(C.NFTA_SET_TIMEOUT);
  if (timeout !== undefined) s.timeout = Number(timeout);
  const userFlags = flags & ~DERIVED_FLAGS;
  if (userFlags) s.flags = SET_FLAGS.names(userFlags);
  const gc = a.be32(C.NFTA_SET_GC_INTERVAL);
  if (gc !== undefined) s.gcInterval = gc;
  const policy = a.be32(C.NFTA_SET_POLICY);
  if (policy !== undefined) s.policy = policy === C.NFT_SET_POL_MEMORY ? 'memory' : 'performance';
  const desc = a.nested(C.NFTA_SET_DESC);
  const size = desc?.be32(C.NFTA_SET_DESC_SIZE);
  if (size !== undefined) s.size = size;
  const exprs: Expression[] = [];
  const one = a.get(C.NFTA_SET_EXPR);
  if (one) exprs.push(readExpressionBody(one));
  exprs.push(...readExpressionList(a.get(C.NFTA_SET_EXPRESSIONS)));
  if (exprs.length && exprs[0].type === 'counter') {
    s.counter = true;
    exprs.shift();
  }
  if (exprs.length) s.expressions = exprs;
  const { comment, rest } = splitComment(a.get(C.NFTA_SET_USERDATA), UDATA_SET_COMMENT);
  if (comment !== undefined) s.comment = comment;
  const extra = rest && withoutDefaultHints(s, rest);
  if (extra) s.userdata = extra;
  const handle = a.be64(C.NFTA_SET_HANDLE);
  if (handle !== undefined) s.handle = Number(handle);
  return s;
}

/** Reads the concatenation field lengths a set message carries (NFTA_SET_DESC_CONCAT), if any. */
export function decodeFieldLengths(m: NetlinkMessage): number[] | undefined {
  const desc = messageAttributes(m).nested(C.NFTA_SET_DESC);
  const concat = desc?.get(C.NFTA_SET_DESC_CONCAT);
  if (!concat) return undefined;
  return new Attributes(concat).all(C.NFTA_LIST_ELEM).map((b) => new Attributes(b).be32(C.NFTA_SET_FIELD_LEN) ?? 0);
}

export function describeSet(s: SetRef | SetHandleRef): string {
  return `${s.family} ${s.table} ${s.name ?? `#${'handle' in s ? s.handle : ''}`}`;
}
