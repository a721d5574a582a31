// A ValidationError shows the value it refused. Whatever a caller passes, the
// error must be made and say what was passed: JSON.stringify threw for a
// BigInt, a cycle or a throwing toJSON (the constructor threw that TypeError
// instead), and wrote "undefined" for a Symbol or a function.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/netlink/errors';
import { MAX_RENDERED, renderValue } from '../../lib/netlink/render-value';

const messageOf = (value: unknown) => new ValidationError('field', value, 'reason').message;

describe('renderValue', () => {
  it('writes JSON values as JSON, as before', () => {
    expect(renderValue('eth0')).toBe('"eth0"');
    expect(renderValue(5)).toBe('5');
    expect(renderValue(null)).toBe('null');
    expect(renderValue(true)).toBe('true');
    expect(renderValue(['10.0.0.2', 80])).toBe('["10.0.0.2",80]');
    expect(renderValue({ a: [1, { b: 'c' }] })).toBe('{"a":[1,{"b":"c"}]}');
    expect(messageOf({ mtu: -5 })).toBe('invalid field {"mtu":-5}: reason');
  });

  it('writes what JSON cannot as JavaScript would', () => {
    expect(renderValue(10n)).toBe('10n');
    expect(renderValue(Symbol('x'))).toBe('Symbol(x)');
    expect(renderValue(undefined)).toBe('undefined');
    expect(renderValue(NaN)).toBe('NaN');
    expect(renderValue(-Infinity)).toBe('-Infinity');
    expect(renderValue(-0)).toBe('-0');
    expect(renderValue(function named() {})).toBe('[function named]');
    expect(renderValue({ big: 2n ** 64n, s: Symbol.iterator })).toBe('{"big":18446744073709551616n,"s":Symbol(Symbol.iterator)}');
    expect(renderValue(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
    expect(renderValue(Buffer.from([1, 2, 3]))).toBe('<Buffer 01 02 03>');
    expect(renderValue(new Uint16Array(0))).toBe('<Uint16Array>');
    expect(renderValue(Buffer.alloc(40, 255))).toBe(`<Buffer ${Array(32).fill('ff').join(' ')} ... 8 more bytes>`);
  });

  it('never throws, and the ValidationError is made for any value', () => {
    const circular: Record<string, unknown> = { name: 'x' };
    circular.self = circular;
    const nullProto = Object.assign(Object.create(null) as object, { a: 1 });
    const throwing = {
      toString() {
        throw new Error('toString');
      },
      toJSON() {
        throw new Error('toJSON');
      },
      [Symbol.toPrimitive]() {
        throw new Error('toPrimitive');
      },
    };
    const getter = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys');
        },
      },
    );
    const nullProtoFn = Object.setPrototypeOf(() => undefined, null) as unknown;

    expect(renderValue(circular)).toBe('{"name":"x","self":[Circular]}');
    expect(renderValue(nullProto)).toBe('{"a":1}');
    expect(renderValue(throwing)).toBe('{"toString":[function toString],"toJSON":[function toJSON]}');
    expect(renderValue(getter)).toBe('{"boom":[getter]}');
    expect(renderValue(revoked.proxy)).toBe('[unprintable]');
    expect(renderValue(trap)).toBe('[unprintable]');
    for (const v of [10n, Symbol('s'), circular, nullProto, throwing, getter, revoked.proxy, trap, nullProtoFn]) {
      const e = new ValidationError('link', v, 'bad');
      expect(e).toBeInstanceOf(ValidationError);
      expect(e.value).toBe(v);
      expect(e.message).toMatch(/^invalid link .+: bad$/);
      expect(e.message).not.toContain('undefined:');
    }
    expect(messageOf(10n)).toBe('invalid field 10n: reason');
    expect(messageOf(Symbol('s'))).toBe('invalid field Symbol(s): reason');
  });

  it('keeps messages short: long strings, wide and deep values are cut', () => {
    expect(renderValue('x'.repeat(1000))).toHaveLength(MAX_RENDERED);
    expect(renderValue('x'.repeat(1000)).endsWith('...')).toBe(true);
    expect(renderValue(Array.from({ length: 100 }, () => 1))).toBe(`[${Array(20).fill('1').join(',')},...]`);
    expect(renderValue({ a: { b: { c: { d: 1 } } } })).toBe('{"a":{"b":{"c":{...}}}}');
  });
});
