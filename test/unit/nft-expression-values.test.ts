/**
 * Raw expressions (a rule's `expressions`, a set's, an element's, a dynset's
 * own) have their values checked, not only their keys: u32 fields, registers,
 * byte strings, u8/u16 fields, enum names and numbers, flag lists, booleans,
 * 64-bit counts, names, verdicts and kept attributes. The encoders wrote u32
 * fields with `>>> 0` (-1 became 0xffffffff, 1.5 became 1, a string or a
 * missing offset 0) and registers as given (99 failed the whole batch with
 * ERANGE). Each is a ValidationError naming the path, the expression type and
 * the field, and nothing is queued.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import type { Expression } from '../../lib/nftables/expressions/registry';
import { Transaction } from '../../lib/nftables/transaction';
import { refused } from '../helpers/refused';

const R = { family: 'inet', table: 't', chain: 'c' } as const;
const load = { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 };

/** Asserts a rule with `expr` as its second expression is refused, naming `rule expressions[1] <type> <field>` and the reason. */
function bad(expr: Record<string, unknown>, field: string, reason: string): void {
  const tx = new Transaction();
  refused(() => tx.addRule({ ...R, expressions: [{ type: 'counter' }, expr] as never }), `rule expressions[1] ${String(expr.type)} ${field}`, reason);
  expect(tx.size).toBe(0);
}

describe('nftables raw expressions: values', () => {
  it('refuses u32 fields that are negative, fractional, above 2^32 - 1, not numbers, or missing', () => {
    const U32 = 'must be an integer from 0 to 4294967295';
    bad({ ...load, offset: -1 }, 'offset', U32);
    bad({ ...load, len: 1.5 }, 'len', U32);
    bad({ ...load, offset: 2 ** 32 }, 'offset', U32);
    bad({ ...load, offset: '12' }, 'offset', U32);
    bad({ ...load, offset: NaN }, 'offset', U32);
    bad({ type: 'payload', base: 'network', len: 4, dreg: 1 }, 'offset', 'is required');
    bad({ type: 'numgen', dreg: 1, mode: 'incremental', modulus: -2 }, 'modulus', U32);
    bad({ type: 'lookup', set: 's', sreg: 1, otherFlags: 2 ** 40 }, 'otherFlags', U32);
    bad({ type: 'xfrm', direction: 'in', key: 'spi', spnum: -1, dreg: 1 }, 'spnum', U32);
  });

  it('refuses registers the kernel has not (5-7, above 23, negative), 0 where a register is read, and non-numbers', () => {
    const REG = 'must be a register: 1 to 4, or 8 to 23';
    bad({ ...load, dreg: 5 }, 'dreg', REG);
    bad({ ...load, dreg: 24 }, 'dreg', REG);
    bad({ ...load, dreg: -1 }, 'dreg', REG);
    bad({ ...load, dreg: '1' }, 'dreg', REG);
    bad({ type: 'cmp', sreg: 0, op: 'eq', data: Buffer.from([1]) }, 'sreg', REG);
    bad({ type: 'cmp', sreg: 99, op: 'eq', data: Buffer.from([1]) }, 'sreg', REG);
    bad({ type: 'nat', nat: 'snat', family: 'ip', regAddrMin: 7 }, 'regAddrMin', REG);
    bad({ type: 'dynset', set: 's', op: 'update', sregKey: 2.5 }, 'sregKey', REG);
    bad({ type: 'meta', key: 'mark', sreg: 1e9 }, 'sreg', REG);
  });

  it('refuses byte strings that are no Buffer, empty, or longer than 64 bytes', () => {
    bad({ type: 'cmp', sreg: 1, op: 'eq', data: '0a000001' }, 'data', 'must be a Buffer');
    bad({ type: 'cmp', sreg: 1, op: 'eq', data: [10, 0, 0, 1] }, 'data', 'must be a Buffer');
    bad({ type: 'cmp', sreg: 1, op: 'eq', data: Buffer.alloc(0) }, 'data', 'must be 1 to 64 bytes');
    bad({ type: 'range', sreg: 1, op: 'eq', from: Buffer.alloc(1), to: Buffer.alloc(65) }, 'to', 'must be 1 to 64 bytes');
    bad({ type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: 0xff, xor: Buffer.alloc(4) }, 'mask', 'must be a Buffer');
    bad({ type: 'opaque', name: 'x', data: 'ab' }, 'data', 'must be a Buffer');
  });

  it('refuses u8 and u16 fields out of range', () => {
    bad({ type: 'reject', rejectType: 'icmp', code: 256 }, 'code', 'must be an integer from 0 to 255');
    bad({ type: 'log', group: 65536 }, 'group', 'must be an integer from 0 to 65535');
    bad({ type: 'synproxy', mss: 1460, wscale: -1, flags: [] }, 'wscale', 'must be an integer from 0 to 255');
    bad({ type: 'exthdr', op: 'ipv6', headerType: 300, offset: 0, len: 1, dreg: 1 }, 'headerType', 'must be an integer from 0 to 255');
  });

  it('refuses enum values that are no name of theirs or a number beyond their field, flags that are no list of names', () => {
    bad({ type: 'cmp', sreg: 1, op: 'equals', data: Buffer.from([1]) }, 'op', 'must be one of eq, neq');
    bad({ type: 'cmp', sreg: 1, op: -1, data: Buffer.from([1]) }, 'op', 'must be an integer from 0 to 4294967295');
    bad({ type: 'ct', key: 'state', dreg: 1, direction: 256 }, 'direction', 'must be an integer from 0 to 255');
    bad({ type: 'meta', key: 2 ** 32, dreg: 1 }, 'key', 'must be an integer from 0 to 4294967295');
    bad({ type: 'fib', dreg: 1, result: 'oif', flags: 'daddr' }, 'flags', 'must be an array of flag names');
    bad({ type: 'fib', dreg: 1, result: 'oif', flags: ['dadr'] }, 'flags', 'must be one of');
    bad({ type: 'nat', nat: 'snat', family: 'ipv4' }, 'family', 'must be one of');
  });

  it('refuses booleans, 64-bit counts, names and verdicts of the wrong kind', () => {
    bad({ type: 'lookup', set: 's', sreg: 1, invert: 'yes' }, 'invert', 'must be true or false');
    bad({ type: 'quota', bytes: '1000' }, 'bytes', 'must be a bigint from 0 to 2^64 - 1');
    bad({ type: 'counter', packets: -1n }, 'packets', 'must be a bigint from 0 to 2^64 - 1');
    bad({ type: 'limit', rate: 10, unit: 1.5, burst: 5, limitType: 'pkts' }, 'unit', 'must be an integer from 0 to');
    bad({ type: 'dynset', set: 7, op: 'add', sregKey: 1 }, 'set', 'must be a string');
    bad({ type: 'dynset', set: 's', op: 'add', sregKey: 1, timeout: -5 }, 'timeout', 'must be an integer from 0 to');
    bad({ type: 'immediate', dreg: 0, verdict: { code: 1.5 } }, 'verdict.code', 'must be an integer');
    bad({ type: 'immediate', dreg: 0, verdict: { code: 'jump' } }, 'verdict', 'jump needs a chain');
  });

  it('refuses kept attributes (unknownAttributes) that are not as a listing returns them', () => {
    bad(
      { type: 'notrack', unknownAttributes: [{ type: 0x4001, nested: false, netByteOrder: false, data: Buffer.alloc(1) }] },
      'unknownAttributes[0].type',
      '0 to 16383',
    );
    bad({ type: 'notrack', unknownAttributes: [{ type: 9, nested: false, netByteOrder: false, data: 'x' }] }, 'unknownAttributes[0].data', 'must be a Buffer');
    bad({ type: 'notrack', unknownAttributes: {} }, 'unknownAttributes', 'must be an array');
  });

  it('names the path of a set’s, an element’s and a dynset’s own expressions', () => {
    const tx = new Transaction();
    const limit = { type: 'limit', rate: 10, unit: 1, burst: -1, limitType: 'pkts' };
    refused(
      () => tx.addRule({ ...R, expressions: [{ type: 'dynset', set: 's', op: 'update', sregKey: 1, expressions: [limit] }] as never }),
      'rule expressions[0].expressions[0] limit burst',
    );
    refused(() => tx.addSet({ family: 'inet', table: 't', name: 's', keyType: 'ipv4_addr', expressions: [limit] as never }), 'set expressions[0] limit burst');
    refused(
      () => tx.addElements({ family: 'inet', table: 't', name: 's' }, [{ key: '10.0.0.1', expressions: [limit] as never }]),
      'element expressions[0] limit burst',
    );
    expect(tx.size).toBe(0);
  });

  it('takes the edges: registers 1-4, 8-23 and 0 for a verdict, u32 limits, 64-byte data, numbers for enums', () => {
    const tx = new Transaction();
    const ok: Expression[] = [
      { type: 'payload', base: 'network', offset: 0xffffffff, len: 4, dreg: 23 },
      { type: 'cmp', sreg: 8, op: 'eq', data: Buffer.alloc(64) },
      { type: 'meta', key: 3, dreg: 4 },
      { type: 'lookup', set: 'm', sreg: 1, dreg: 0 },
      { type: 'immediate', dreg: 0, verdict: { code: 'accept' } },
      { type: 'ct', key: 'state', dreg: 1, direction: 255 },
    ];
    tx.addRule({ ...R, expressions: ok });
    expect(tx.size).toBe(1);
    expect(() => tx.encode()).not.toThrow(ValidationError);
  });
});
