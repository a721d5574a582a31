// Single route writes of the common shapes are written in place, by one flat
// function (lib/rtnetlink/route-in-place.ts): the bytes and the operation named
// in an error must be the general path's, and anything that is not one of those
// shapes or not valid must be left to the general path (which names the error).
import { describe, expect, it } from 'vitest';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../../lib/netlink/constants';
import { ValidationError } from '../../lib/netlink/errors';
import type { NetlinkCall } from '../../lib/netlink/operation';
import * as C from '../../lib/rtnetlink/constants';
import { ROUTE_IN_PLACE_MAX_BYTES, writeRouteAt } from '../../lib/rtnetlink/route-in-place';
import type { RouteOptions } from '../../lib/rtnetlink/route-types';
import { RouteRequest } from '../../lib/rtnetlink/route-write';

const WRITES: Array<[string, number, number]> = [
  ['add', C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL],
  ['replace', C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE],
  ['delete', C.RTM_DELROUTE, 0],
];

const op = (verb: string, type: number, flags: number, r: RouteOptions) => new RouteRequest(type, flags, r, verb);

/** The request and operation of the general path (start(): plan, writer, operation string). */
function general(verb: string, type: number, flags: number, r: RouteOptions): NetlinkCall {
  return op(verb, type, flags, r).next().value as NetlinkCall;
}

/** The request written in place at an odd offset of a dirty buffer (nothing may rely on zeroes). */
function inPlace(type: number, flags: number, r: unknown): Buffer | undefined {
  const buf = Buffer.alloc(8 + ROUTE_IN_PLACE_MAX_BYTES, 0xa5);
  const end = writeRouteAt(buf, 8, type, flags, r);
  return end < 0 ? undefined : buf.subarray(8, end);
}

/** Common shapes whose other options the general path reads through the prototype: defaults by Object.create, a class's getter. */
function optionsNotOwn(): RouteOptions[] {
  class WithMetric {
    dst = '10.0.0.0/24';
    link = 2;
    get metric(): number {
      return 7;
    }
  }
  return [
    Object.assign(Object.create({ table: 100 }) as RouteOptions, { dst: '10.0.0.0/24', link: 2 }),
    Object.assign(Object.create({ table: 100 }) as RouteOptions, { dst: '10.0.0.0/24', gateway: '10.0.0.1' }),
    new WithMetric() as RouteOptions,
  ];
}

describe('route writes of the common shapes, written in place', () => {
  const common: RouteOptions[] = [
    { dst: '10.0.0.0/24', link: 2 },
    { dst: '10.1.2.3', link: 7 },
    { dst: '10.1.2.3/32', gateway: '10.0.0.1' },
    { dst: '172.16.0.0/12', gateway: '10.0.0.1', link: 5 },
    { dst: 'default', gateway: '192.168.1.254' },
    { dst: 'default', link: 3 },
    { dst: '0.0.0.0/0', gateway: '10.0.0.1' },
    { dst: '255.255.255.255', link: 0x7fffffff },
    { dst: '1.0.0.0/8', gateway: '255.255.255.255', link: 1 },
  ];

  it.each(WRITES)('%s: the bytes and the operation of the general path', (verb, type, flags) => {
    for (const r of common) {
      const c = general(verb, type, flags, r);
      expect(inPlace(type, flags, r)?.toString('hex'), JSON.stringify(r)).toBe(c.message.toString('hex'));
      const o = op(verb, type, flags, { ...r });
      expect(o.writeAt(Buffer.alloc(ROUTE_IN_PLACE_MAX_BYTES), 0)).toBe(c.message.length);
      expect(o.describe()).toBe(c.operation);
    }
  });

  it('leaves every other shape and every invalid route to the general path', () => {
    const others: unknown[] = [
      { dst: 'fd00::/64', link: 2 }, // IPv6
      { dst: '10.0.0.1', link: 2, metric: 5 },
      { dst: '10.0.0.1', link: 2, metric: undefined },
      { dst: '10.0.0.1', link: 'eth0' }, // a name: looked up first
      { dst: '10.0.0.1' }, // neither link nor gateway
      { dst: '10.0.0.1', gateway: 'fe80::1' },
      Object.assign(Object.create({ dst: '10.0.0.1' }) as object, { link: 2 }), // dst inherited
      ...optionsNotOwn(),
      null,
      '10.0.0.1',
    ];
    for (const r of others) for (const [, type, flags] of WRITES) expect(inPlace(type, flags, r), JSON.stringify(r)).toBeUndefined();

    const invalid: RouteOptions[] = [
      { dst: '10.0.0.1/24', link: 2 }, // host bits
      { dst: '010.0.0.1', link: 2 },
      { dst: '10.0.0.256', link: 2 },
      { dst: '10.0.0.1/33', link: 2 },
      { dst: '10.0.0.0/08', link: 2 },
      { dst: '10.0.0.0/', link: 2 },
      { dst: '10.0.0', link: 2 },
      { dst: '10.0.0.1.', link: 2 },
      { dst: '10.0.0.1', link: 0 },
      { dst: '10.0.0.1', link: 1.5 },
      { dst: '10.0.0.1', link: -3 },
      { dst: '10.0.0.1', gateway: '10.0.0.01' },
      { dst: '10.0.0.1', gateway: '10.0.0.1/32' },
      { dst: '10.0.0.1', gateway: 7 as never },
      { dst: 7 as never, link: 2 },
    ];
    for (const r of invalid) {
      for (const [verb, type, flags] of WRITES) {
        expect(inPlace(type, flags, r), JSON.stringify(r)).toBeUndefined();
        expect(() => general(verb, type, flags, r), JSON.stringify(r)).toThrow(ValidationError);
      }
    }
  });

  it('leaves a route whose options come through its prototype to the general path (its table, its metric)', () => {
    for (const [verb, type, flags] of WRITES) {
      for (const r of optionsNotOwn()) {
        const o = op(verb, type, flags, r);
        expect(o.writeAt(Buffer.alloc(ROUTE_IN_PLACE_MAX_BYTES), 0)).toBe(-1);
        // What the general path writes for them: table 100 in the rtmsg, or RTA_PRIORITY 7.
        const m = general(verb, type, flags, r).message;
        expect(m[16 + 4] === 100 || m.includes(Buffer.from([8, 0, C.RTA_PRIORITY, 0, 7, 0, 0, 0])), verb).toBe(true);
      }
    }
  });

  it('is not used by a delete whose options are invalid (the general path throws them)', () => {
    const d = new RouteRequest(C.RTM_DELROUTE, 0, { dst: '10.0.0.1', link: 2 }, 'delete', { missingOk: 1 } as never);
    expect(d.writeAt(Buffer.alloc(ROUTE_IN_PLACE_MAX_BYTES), 0)).toBe(-1);
    expect(() => d.next()).toThrow(ValidationError);
  });
});
