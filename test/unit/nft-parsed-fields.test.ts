// Parsed element fields kept for the next elements: the same bytes as a fresh
// parse, one parse per (type, length, value); raw bytes are parsed each time.
import { describe, expect, it } from 'vitest';
import { dataTypeByName, type DataType, type Scalar } from '../../lib/nftables/datatypes';
import { parsedField } from '../../lib/nftables/parsed-fields';

describe('parsed element fields', () => {
  it('parses a repeated value once and gives the same bytes as a fresh parse', () => {
    const addr = dataTypeByName('ipv4_addr', 'test');
    const calls: Scalar[] = [];
    const parse = (t: DataType | undefined, len: number, v: Scalar, field: string) => {
      calls.push(v);
      return (t as DataType).parse(v, len, field);
    };
    const a = parsedField(addr, 4, '10.1.2.3', 'key', parse);
    const b = parsedField(addr, 4, '10.1.2.3', 'key', parse);
    expect(b).toBe(a);
    expect([...a]).toEqual([10, 1, 2, 3]);
    expect([...parsedField(addr, 4, '10.1.2.4', 'key', parse)]).toEqual([10, 1, 2, 4]);
    expect(calls).toEqual(['10.1.2.3', '10.1.2.4']);
  });

  it('does not cache raw bytes or fields of unknown type', () => {
    const mark = dataTypeByName('mark', 'test');
    const parse = (t: DataType | undefined, len: number, v: Scalar, field: string) => (t ? t.parse(v, len, field) : Buffer.from(v as Buffer));
    const four = parsedField(mark, 4, 7, 'key', parse);
    expect(four.length).toBe(4);
    const raw = Buffer.from([1, 2]);
    const copy = parsedField(undefined, 2, raw, 'key', parse);
    expect(copy).not.toBe(raw);
    expect(parsedField(undefined, 2, raw, 'key', parse)).not.toBe(copy);
  });
});
