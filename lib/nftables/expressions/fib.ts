/**
 * fib: a FIB (routing table) lookup for the packet — the output interface
 * for an address, or the address type (`fib daddr type local`).
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { FlagTable, NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_FIB_DREG = 1;
const NFTA_FIB_RESULT = 2;
const NFTA_FIB_FLAGS = 3;
const KNOWN = [1, 2, 3];

/** What a fib lookup returns. */
export type FibResult = 'oif' | 'oifname' | 'type';
export const FIB_RESULTS = new NameTable<FibResult>('fib result', [
  ['oif', 1],
  ['oifname', 2],
  ['type', 3],
]);

/** What a fib lookup takes from the packet, and how it is done. */
export type FibFlag = 'saddr' | 'daddr' | 'mark' | 'iif' | 'oif' | 'present';
export const FIB_FLAGS = new FlagTable<FibFlag>('fib flag', [
  ['saddr', 1 << 0],
  ['daddr', 1 << 1],
  ['mark', 1 << 2],
  ['iif', 1 << 3],
  ['oif', 1 << 4],
  ['present', 1 << 5],
]);

/** Route types (RTN_*) that `fib ... type` yields, by nft's names. */
export const FIB_ADDRESS_TYPES = new NameTable<string>('fib address type', [
  ['unspec', 0],
  ['unicast', 1],
  ['local', 2],
  ['broadcast', 3],
  ['anycast', 4],
  ['multicast', 5],
  ['blackhole', 6],
  ['unreachable', 7],
  ['prohibit', 8],
]);

/** `fib`: looks the packet up in the routing table (`fib daddr type local`). */
export interface FibExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'fib';
  /** Destination register. */
  dreg: number;
  /** What the lookup returns. */
  result: FibResult | number;
  /** Lookup inputs and options. */
  flags: Array<FibFlag | (string & {})>;
}

export const fibCodec: ExpressionCodec<FibExpression> = {
  name: 'fib',
  type: 'fib',
  encode(w, e) {
    w.be32(NFTA_FIB_DREG, e.dreg);
    w.be32(NFTA_FIB_RESULT, FIB_RESULTS.number(e.result));
    w.be32(NFTA_FIB_FLAGS, FIB_FLAGS.number(e.flags));
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: FibExpression = {
      type: 'fib',
      dreg: be32Or0(a, NFTA_FIB_DREG),
      result: FIB_RESULTS.name(be32Or0(a, NFTA_FIB_RESULT)),
      flags: FIB_FLAGS.names(be32Or0(a, NFTA_FIB_FLAGS)),
    };
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
