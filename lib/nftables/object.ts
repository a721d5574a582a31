/**
 * Named stateful objects: counters, quotas, limits, conntrack helpers,
 * timeouts and expectations, SYN proxies and security marks that several
 * rules (or an object map) share, referenced with the objref expression.
 * Types without a typed form (connlimit, tunnel) are kept as raw NFTA_OBJ_DATA.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { NetlinkMessage } from '../netlink/parser';
import { Attributes } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import type { NestedExpressions } from './expressions/codec';
import { counterCodec } from './expressions/counter';
import { limitCodec, type LimitExpression } from './expressions/limit';
import { quotaCodec } from './expressions/quota';
import { readExpressionBody, writeExpressionBody } from './expressions/registry';
import {
  ctExpectationObjectCodec,
  ctHelperObjectCodec,
  ctTimeoutObjectCodec,
  type CtExpectationFields,
  type CtHelperFields,
  type CtTimeoutFields,
} from './object-ct';
import { secmarkObjectCodec, type SecmarkFields } from './object-secmark';
import { synproxyObjectCodec, type SynproxyFields } from './object-synproxy';
import { beginNft, familyName, familyNumber, messageAttributes, messageFamily, type NftFamily } from './message';
import { OBJECT_TYPES, type ObjectType } from './object-types';
import { validateCounterValue, validateHandle } from './ranges';
import { UDATA_COMMENT, joinComment, splitComment } from './userdata';

/** Fields every named object has. */
interface ObjectBase {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Object name. */
  name: string;
  /** Shown by `nft list` as `comment "..."`. */
  comment?: string;
  /** Kernel-assigned; set when listed or echoed (read-only: accepted when passed back to an add, not written). */
  handle?: number;
  /** Number of rules and elements referencing it (listed only: accepted when passed back to an add, not written). */
  use?: number;
  /** Userdata other than the comment, kept verbatim. */
  userdata?: Buffer;
}

/** A named counter (`counter name { packets 0 bytes 0 }`). */
export interface CounterObject extends ObjectBase {
  /** The object type. */
  type: 'counter';
  /** Packets counted (starting value when added: 0 to 2^64 - 1). */
  packets?: bigint;
  /** Bytes counted (starting value when added: 0 to 2^64 - 1). */
  bytes?: bigint;
}

/** A named quota (`quota name { over 100 mbytes }`). */
export interface QuotaObject extends ObjectBase {
  /** The object type. */
  type: 'quota';
  /** The quota in bytes. */
  bytes: bigint;
  /** Bytes used so far. */
  consumed?: bigint;
  /** Match once exceeded (`quota over`). */
  invert?: boolean;
  /** Reported by the kernel once the quota ran out (listed only: accepted when passed back in, and not written). */
  depleted?: boolean;
}

/** A named rate limit (`limit name { rate 10/second }`). */
export interface LimitObject extends ObjectBase, Omit<LimitExpression, 'type' | 'unknownAttributes'> {
  /** The object type. */
  type: 'limit';
}

/** A conntrack helper assignment (`ct helper ftp-std { type "ftp" protocol tcp; }`), set on connections with `ct helper set "ftp-std"`. */
export interface CtHelperObject extends ObjectBase, CtHelperFields {
  /** The object type. */
  type: 'ct helper';
}

/** A conntrack timeout policy (`ct timeout short { protocol tcp; policy = { established: 100 } }`), set with `ct timeout set`. */
export interface CtTimeoutObject extends ObjectBase, CtTimeoutFields {
  /** The object type. */
  type: 'ct timeout';
}

/** A conntrack expectation (`ct expectation e { protocol tcp; dport 5000; timeout 1s; size 12 }`), set with `ct expectation set`. */
export interface CtExpectationObject extends ObjectBase, CtExpectationFields {
  /** The object type. */
  type: 'ct expectation';
}

/** A SYN proxy's announced options (`synproxy sp { mss 1460 wscale 7 timestamp sack-perm }`), used with `synproxy name`. */
export interface SynproxyObject extends ObjectBase, SynproxyFields {
  /** The object type. */
  type: 'synproxy';
}

/** An SELinux security context (`secmark ssh { "system_u:..." }`), set with `meta secmark set`; needs SELinux in the kernel. */
export interface SecmarkObject extends ObjectBase, SecmarkFields {
  /** The object type. */
  type: 'secmark';
}

/** Typed object types. */
type TypedObjectType = 'counter' | 'quota' | 'limit' | 'ct helper' | 'ct timeout' | 'ct expectation' | 'synproxy' | 'secmark';

/** Any other object type, with its NFTA_OBJ_DATA kept as raw bytes. */
export interface OpaqueObject extends ObjectBase {
  /** The object type (name or number). */
  type: Exclude<ObjectType, TypedObjectType> | number;
  /** The attributes inside NFTA_OBJ_DATA, as received. */
  data: Buffer;
}

/** A named stateful object. */
export type NftObject =
  CounterObject | QuotaObject | LimitObject | CtHelperObject | CtTimeoutObject | CtExpectationObject | SynproxyObject | SecmarkObject | OpaqueObject;

/** Which named object. */
export interface ObjectRef {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Object name. */
  name: string;
  /** Object type (name or number). */
  type: ObjectType | number;
}

/**
 * Identifies a named object by its kernel handle (`deleteObject`); the type
 * is needed as well (the kernel looks handles up per type). With a `name`
 * too (a listed object), the handle decides.
 */
export interface ObjectHandleRef {
  /** Family of its table. */
  family: NftFamily;
  /** Name of its table. */
  table: string;
  /** Object type (name or number). */
  type: ObjectType | number;
  /** Kernel-assigned handle (as listed: `nft -a list counters`). */
  handle: number;
  /** Object name (not written: the handle decides). */
  name?: string;
}

const nested: NestedExpressions = { writeBody: writeExpressionBody, readBody: readExpressionBody };

/** Writes NFT_MSG_NEWOBJ. */
export function writeNewObject(w: NetlinkWriter, o: NftObject, flags: number): void {
  validateNftName(o.table, 'table name');
  validateNftName(o.name, 'object name');
  beginNft(w, C.NFT_MSG_NEWOBJ, flags, familyNumber(o.family));
  w.string(C.NFTA_OBJ_TABLE, o.table);
  w.string(C.NFTA_OBJ_NAME, o.name);
  w.be32(C.NFTA_OBJ_TYPE, OBJECT_TYPES.number(o.type, 'object type'));
  const data = w.nest(C.NFTA_OBJ_DATA);
  switch (o.type) {
    case 'counter':
      counterCodec.encode(w, { type: 'counter', packets: o.packets, bytes: o.bytes }, nested);
      break;
    case 'quota':
      if (typeof o.bytes !== 'bigint' || o.bytes < 0n || o.bytes >= 2n ** 64n)
        throw new ValidationError('quota bytes', String(o.bytes), 'must be a bigint from 0 to 2^64 - 1');
      if (o.consumed !== undefined) validateCounterValue(o.consumed, 'quota consumed');
      quotaCodec.encode(w, { type: 'quota', bytes: o.bytes, consumed: o.consumed, invert: o.invert }, nested);
      break;
    case 'limit':
      limitCodec.encode(w, { type: 'limit', rate: o.rate, unit: o.unit, burst: o.burst, limitType: o.limitType, invert: o.invert }, nested);
      break;
    case 'ct helper':
      ctHelperObjectCodec.encode(w, o);
      break;
    case 'ct timeout':
      ctTimeoutObjectCodec.encode(w, o);
      break;
    case 'ct expectation':
      ctExpectationObjectCodec.encode(w, o);
      break;
    case 'synproxy':
      synproxyObjectCodec.encode(w, o);
      break;
    case 'secmark':
      secmarkObjectCodec.encode(w, o);
      break;
    default:
      if (!Buffer.isBuffer(o.data)) throw new ValidationError('object data', o.type, 'objects of this type need raw data bytes');
      w.bytes(o.data);
  }
  w.endNest(data);
  const ud = joinComment(o.comment, o.userdata, UDATA_COMMENT);
  if (ud) w.attr(C.NFTA_OBJ_USERDATA, ud);
  w.end();
}

/** Writes NFT_MSG_DELOBJ (or DESTROYOBJ), by name or handle (the handle decides when both are given). */
export function writeDeleteObject(w: NetlinkWriter, o: ObjectRef | ObjectHandleRef, msg: number = C.NFT_MSG_DELOBJ): void {
  beginNft(w, msg, 0, familyNumber(o.family));
  w.string(C.NFTA_OBJ_TABLE, validateNftName(o.table, 'table name'));
  const handle = 'handle' in o ? o.handle : undefined;
  if (handle !== undefined) w.be64(C.NFTA_OBJ_HANDLE, BigInt(validateHandle(handle, 'object handle')));
  else w.string(C.NFTA_OBJ_NAME, validateNftName(o.name, 'object name'));
  w.be32(C.NFTA_OBJ_TYPE, OBJECT_TYPES.number(o.type, 'object type'));
  w.end();
}

/** Decodes a NEWOBJ/DELOBJ message. */
export function decodeObject(m: NetlinkMessage): NftObject {
  const a = messageAttributes(m);
  const base: ObjectBase = { family: familyName(messageFamily(m)), table: a.string(C.NFTA_OBJ_TABLE) ?? '', name: a.string(C.NFTA_OBJ_NAME) ?? '' };
  const { comment, rest } = splitComment(a.get(C.NFTA_OBJ_USERDATA), UDATA_COMMENT);
  if (comment !== undefined) base.comment = comment;
  if (rest) base.userdata = rest;
  const handle = a.be64(C.NFTA_OBJ_HANDLE);
  if (handle !== undefined) base.handle = Number(handle);
  const use = a.be32(C.NFTA_OBJ_USE);
  if (use !== undefined) base.use = use;
  const type = OBJECT_TYPES.name(a.be32(C.NFTA_OBJ_TYPE) ?? 0);
  const raw = a.get(C.NFTA_OBJ_DATA) ?? Buffer.alloc(0);
  const data = new Attributes(raw);
  switch (type) {
    case 'counter': {
      const c = counterCodec.decode(data, nested);
      return { ...base, type, packets: c.packets ?? 0n, bytes: c.bytes ?? 0n };
    }
    case 'quota': {
      const { type: _t, unknownAttributes: _u, ...q } = quotaCodec.decode(data, nested);
      return { ...base, type, ...q };
    }
    case 'limit': {
      const { type: _t, unknownAttributes: _u, ...l } = limitCodec.decode(data, nested);
      return { ...base, type, ...l };
    }
    case 'ct helper':
      return { ...base, type, ...ctHelperObjectCodec.decode(data) };
    case 'ct timeout':
      return { ...base, type, ...ctTimeoutObjectCodec.decode(data) };
    case 'ct expectation':
      return { ...base, type, ...ctExpectationObjectCodec.decode(data) };
    case 'synproxy':
      return { ...base, type, ...synproxyObjectCodec.decode(data) };
    case 'secmark':
      return { ...base, type, ...secmarkObjectCodec.decode(data) };
    default:
      return { ...base, type, data: Buffer.from(raw) };
  }
}

export function describeObject(o: { family: NftFamily; table: string; name?: string; handle?: number; type: ObjectType | number }): string {
  return `${o.type} ${o.family} ${o.table} ${o.name ?? `#${o.handle}`}`;
}
