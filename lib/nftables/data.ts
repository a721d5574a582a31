/**
 * nf_tables data: the NFTA_DATA_* nest that carries either a value (bytes)
 * or a verdict (accept, drop, jump to a chain, ...). Used by cmp, range,
 * bitwise, immediate and by set elements.
 * @module
 */
import { endianness } from 'node:os';
import { ValidationError } from '../netlink/errors';
import { Attributes, type RawAttribute } from '../netlink/parser';
import { validateNftName } from '../validate/names';
import type { NetlinkWriter } from '../netlink/writer';
import * as C from './constants';
import { isObject } from '../validate/options';

/** A verdict code by name; numbers cover codes nlkit has no name for. */
export type VerdictCode = 'accept' | 'drop' | 'continue' | 'break' | 'return' | 'jump' | 'goto' | 'queue' | 'stolen' | 'repeat' | 'stop';

/** A verdict: what happens to the packet. `chain` is set for jump and goto. */
export interface Verdict {
  /** The verdict. */
  code: VerdictCode | number;
  /** Target chain of jump and goto. */
  chain?: string;
  /** Chain added in the same transaction, referenced by its NFTA_CHAIN_ID. */
  chainId?: number;
}

const CODES: Array<[VerdictCode, number]> = [
  ['drop', C.NF_DROP],
  ['accept', C.NF_ACCEPT],
  ['stolen', C.NF_STOLEN],
  ['queue', C.NF_QUEUE],
  ['repeat', C.NF_REPEAT],
  ['stop', C.NF_STOP],
  ['continue', C.NFT_CONTINUE],
  ['break', C.NFT_BREAK],
  ['jump', C.NFT_JUMP],
  ['goto', C.NFT_GOTO],
  ['return', C.NFT_RETURN],
];

export function verdictNumber(code: VerdictCode | number): number {
  if (typeof code === 'number') return code;
  const hit = CODES.find(([n]) => n === code);
  if (!hit) throw new ValidationError('verdict', code, `must be one of ${CODES.map(([n]) => n).join(', ')}`);
  return hit[1];
}

export function verdictName(n: number): VerdictCode | number {
  return CODES.find(([, v]) => v === n)?.[0] ?? n;
}

/** Checks a verdict and that jump/goto name a chain. */
export function validateVerdict(v: Verdict, field = 'verdict'): Verdict {
  if (!isObject(v)) throw new ValidationError(field, v, 'must be { code, chain? }');
  verdictNumber(v.code);
  if ((v.code === 'jump' || v.code === 'goto') && v.chain === undefined && v.chainId === undefined) {
    throw new ValidationError(field, v, `${v.code} needs a chain`);
  }
  if (v.chain !== undefined) validateNftName(v.chain, `${typeof v.code === 'string' ? v.code : 'verdict'} target`);
  return v;
}

/** Writes `type` as an NFTA_DATA nest holding a value. */
export function writeValue(w: NetlinkWriter, type: number, value: Uint8Array): void {
  if (value.length === 0 || value.length > C.NFT_DATA_VALUE_MAXLEN) {
    throw new ValidationError('data', Buffer.from(value).toString('hex'), `must be 1-${C.NFT_DATA_VALUE_MAXLEN} bytes`);
  }
  const n = w.nest(type);
  w.attr(C.NFTA_DATA_VALUE, value);
  w.endNest(n);
}

/** Writes `type` as an NFTA_DATA nest holding a verdict. */
export function writeVerdict(w: NetlinkWriter, type: number, v: Verdict): void {
  validateVerdict(v);
  const n = w.nest(type);
  const inner = w.nest(C.NFTA_DATA_VERDICT);
  w.be32(C.NFTA_VERDICT_CODE, verdictNumber(v.code) >>> 0);
  if (v.chain !== undefined) w.string(C.NFTA_VERDICT_CHAIN, v.chain);
  if (v.chainId !== undefined) w.be32(C.NFTA_VERDICT_CHAIN_ID, v.chainId);
  w.endNest(inner);
  w.endNest(n);
}

/** What an NFTA_DATA nest held. */
export interface DataContents {
  value?: Buffer;
  verdict?: Verdict;
}

/** Reads an NFTA_DATA nest (the nest's own payload, or the nest already parsed). */
export function readData(nest: Buffer | Attributes | undefined): DataContents {
  if (!nest) return {};
  const a = nest instanceof Attributes ? nest : new Attributes(nest);
  const value = a.copy(C.NFTA_DATA_VALUE);
  if (value) return { value };
  const v = a.nested(C.NFTA_DATA_VERDICT);
  if (!v) return {};
  const code = v.read(C.NFTA_VERDICT_CODE, (b, off, len) => (len >= 4 ? b.readInt32BE(off) : 0)) ?? 0;
  const out: Verdict = { code: verdictName(code) };
  const chain = v.string(C.NFTA_VERDICT_CHAIN);
  if (chain !== undefined) out.chain = chain;
  const chainId = v.be32(C.NFTA_VERDICT_CHAIN_ID);
  if (chainId !== undefined) out.chainId = chainId;
  return { verdict: out };
}

/** Reads a value nest, or an empty buffer when absent. */
export function readValue(nest: Buffer | Attributes | undefined): Buffer {
  if (nest instanceof Attributes) return nest.copy(C.NFTA_DATA_VALUE) ?? Buffer.alloc(0);
  return readData(nest).value ?? Buffer.alloc(0);
}

/** True on little-endian hosts: nf_tables keeps meta/ct scalars in host order. */
export const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/** A u32 in host byte order, as meta mark and ct state/mark/status registers hold it. */
export function hostU32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (HOST_LITTLE_ENDIAN) b.writeUInt32LE(v >>> 0, 0);
  else b.writeUInt32BE(v >>> 0, 0);
  return b;
}

export function readHostU32(b: Buffer, off = 0): number {
  return HOST_LITTLE_ENDIAN ? b.readUInt32LE(off) : b.readUInt32BE(off);
}

/** Re-emits attributes a decoder did not understand, so decode → encode is lossless. */
export function writeRawAttributes(w: NetlinkWriter, attrs: RawAttribute[] | undefined): void {
  if (!attrs) return;
  for (const a of attrs) {
    let type = a.type;
    if (a.nested) type |= 0x8000;
    if (a.netByteOrder) type |= 0x4000;
    w.attr(type, a.data);
  }
}

const knownSets = new WeakMap<readonly number[], ReadonlySet<number>>();

/** Attributes of `a` whose type is not in `known`, copied; undefined when none. */
export function unknownAttributes(a: Attributes, known: readonly number[]): RawAttribute[] | undefined {
  // Runs for every decoded expression: look for unknown types without making a view of each attribute.
  let set = knownSets.get(known);
  if (!set) knownSets.set(known, (set = new Set(known)));
  const rest = a.unknown(set);
  return rest.length ? rest.map((x) => ({ ...x, data: Buffer.from(x.data) })) : undefined;
}
