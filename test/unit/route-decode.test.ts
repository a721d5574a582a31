/**
 * decodeRoute reads received messages in place (splitMessages, the receive
 * path) and plain ones (parseMessages, callers' own buffers): both give the
 * same object, properties in the same order, for every attribute it knows
 * and for the ones it does not.
 */
import { describe, expect, it } from 'vitest';
import { NLA_F_NESTED } from '../../lib/netlink/constants';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { ReceivedMessage, splitMessages } from '../../lib/netlink/received-message';
import { NetlinkWriter } from '../../lib/netlink/writer';
import * as C from '../../lib/rtnetlink/constants';
import { decodeRoute, isClonedRoute } from '../../lib/rtnetlink/route-decode';

const RTA_EXPIRES = 23;

/** Two routes behind a message of another type, as one received datagram. */
function datagram(): Buffer {
  const w = new NetlinkWriter();
  w.begin(C.RTM_NEWLINK, 0).struct(C.IFINFOMSG_LEN);
  w.end();
  w.begin(C.RTM_NEWROUTE, 0);
  let off = w.struct(C.RTMSG_LEN);
  w.view.writeUInt8(2, off); // AF_INET
  w.view.writeUInt8(24, off + 1);
  w.view.writeUInt8(C.RT_TABLE_MAIN, off + 4);
  w.view.writeUInt8(4, off + 5); // static
  w.view.writeUInt8(1, off + 7); // unicast
  w.view.writeUInt32LE(C.RTNH_F_ONLINK | C.RTM_F_CLONED, off + 8);
  w.u32(C.RTA_TABLE, 1000);
  w.attr(C.RTA_DST, Buffer.from([10, 64, 3, 0]));
  w.attr(C.RTA_DST, Buffer.from([10, 99, 99, 0])); // a repeat: the first counts, and it is not unknown
  w.u32(RTA_EXPIRES, 77); // unknown to nlkit: kept
  w.attr(C.RTA_GATEWAY, Buffer.from([10, 64, 0, 1]));
  w.u32(C.RTA_OIF, 7);
  w.u32(C.RTA_PRIORITY, 0xfffffff0);
  const metrics = w.nest(C.RTA_METRICS);
  w.u32(C.RTAX_MTU, 1400);
  w.u32(8, 1300); // RTAX_ADVMSS
  w.u16(9, 5); // too short for a metric: skipped
  w.endNest(metrics);
  w.attr(C.RTA_CACHEINFO, Buffer.alloc(32)); // known, not decoded
  w.end();
  w.begin(C.RTM_NEWROUTE, 0);
  off = w.struct(C.RTMSG_LEN);
  w.view.writeUInt8(10, off); // AF_INET6
  w.view.writeUInt8(64, off + 1);
  w.view.writeUInt8(64, off + 2);
  w.view.writeUInt8(C.RT_TABLE_MAIN, off + 4);
  w.attr(C.RTA_DST, Buffer.from('fd000000000000010000000000000000', 'hex'));
  w.attr(C.RTA_SRC, Buffer.from('fd010000000000000000000000000000', 'hex'));
  w.attr(C.RTA_PREFSRC, Buffer.from('fd000000000000000000000000000001', 'hex'));
  w.u8(C.RTA_PREF, 3);
  w.u32(C.RTA_NH_ID, 9);
  const hops = Buffer.alloc(2 * 16);
  for (const [i, gw] of [
    [0, 1],
    [16, 2],
  ]) {
    hops.writeUInt16LE(16, i); // rtnexthop + one RTA_GATEWAY of 4 bytes
    hops.writeUInt8(i === 0 ? 1 : 0, i + 3); // weight - 1
    hops.writeInt32LE(3 + gw, i + 4);
    hops.writeUInt16LE(8, i + 8);
    hops.writeUInt16LE(C.RTA_GATEWAY, i + 10);
    hops.set([10, 0, 0, gw], i + 12);
  }
  w.attr(C.RTA_MULTIPATH, hops);
  w.attr(C.RTA_MULTIPATH | NLA_F_NESTED, Buffer.alloc(0)); // a repeat with a flag bit: ignored
  w.end();
  return w.finish();
}

const expected = [
  {
    family: 4,
    dst: '10.64.3.0/24',
    dstLength: 24,
    table: '1000',
    tableId: 1000,
    protocol: 'static',
    scope: 'global',
    type: 'unicast',
    flags: ['onlink'],
    unknownAttributes: [{ type: RTA_EXPIRES, nested: false, netByteOrder: false, data: Buffer.from([77, 0, 0, 0]) }],
    gateway: '10.64.0.1',
    link: 7,
    index: 7,
    metric: 0xfffffff0,
    mtu: 1400,
    metrics: { 8: 1300 },
  },
  {
    family: 6,
    dst: 'fd00:0:0:1::/64',
    dstLength: 64,
    table: 'main',
    tableId: 254,
    protocol: 'unspec',
    scope: 'global',
    type: 'unspec',
    flags: [],
    unknownAttributes: [],
    src: 'fd01::/64',
    prefsrc: 'fd00::1',
    multipath: [
      { weight: 2, link: 4, index: 4, flags: [], gateway: '10.0.0.1' },
      { weight: 1, link: 5, index: 5, flags: [], gateway: '10.0.0.2' },
    ],
    nhid: 9,
    pref: 'low',
  },
];

const routes = (messages: NetlinkMessage[]) => messages.filter((m) => m.type === C.RTM_NEWROUTE);

describe('route decoding', () => {
  it('received in place and from a plain message: the same objects, in the same property order', () => {
    const received = routes(splitMessages(datagram()));
    const plain = routes(parseMessages(datagram()));
    expect(received[0]).toBeInstanceOf(ReceivedMessage);
    expect(received.map(decodeRoute)).toEqual(expected);
    expect(plain.map(decodeRoute)).toEqual(expected);
    expect(JSON.stringify(received.map(decodeRoute))).toBe(JSON.stringify(plain.map(decodeRoute)));
    expect(Object.keys(decodeRoute(received[0]))).toEqual(Object.keys(expected[0]));
    expect(received.map(isClonedRoute)).toEqual([true, false]);
    expect(plain.map(isClonedRoute)).toEqual([true, false]);
  });

  it('received messages carry the same header and payload as parsed ones', () => {
    const received = splitMessages(datagram());
    const plain = parseMessages(datagram());
    expect(received.map((m) => [m.type, m.flags, m.seq, m.pid, m.payload])).toEqual(plain.map((m) => [m.type, m.flags, m.seq, m.pid, m.payload]));
    expect(splitMessages(datagram().subarray(0, datagram().length - 4)).length).toBe(plain.length - 1);
  });

  it('a short header reads as zeros, as before', () => {
    const w = new NetlinkWriter().begin(C.RTM_NEWROUTE, 0);
    w.bytes(Buffer.from([2, 0]));
    const [m] = splitMessages(w.end().finish());
    expect(decodeRoute(m)).toMatchObject({ family: 4, dst: 'default', table: '0', tableId: 0, unknownAttributes: [] });
    expect(isClonedRoute(m)).toBe(false);
  });
});

describe('locked MTU and IPv6 expiry', () => {
  /** An IPv6 route with RTAX_LOCK `lock` (if given) and RTA_CACHEINFO's rta_expires `expires` (clock_t, if given). */
  function route(lock: number | undefined, expires: number | undefined): NetlinkMessage {
    const w = new NetlinkWriter();
    w.begin(C.RTM_NEWROUTE, 0);
    const off = w.struct(C.RTMSG_LEN);
    w.view.writeUInt8(10, off); // AF_INET6
    w.view.writeUInt8(64, off + 1);
    w.view.writeUInt8(C.RT_TABLE_MAIN, off + 4);
    w.view.writeUInt8(1, off + 7);
    w.attr(C.RTA_DST, Buffer.from('fd600000000000000000000000000000', 'hex'));
    const m = w.nest(C.RTA_METRICS);
    if (lock !== undefined) w.u32(C.RTAX_LOCK, lock);
    w.u32(C.RTAX_MTU, 1300);
    w.endNest(m);
    if (expires !== undefined) {
      const ci = Buffer.alloc(32);
      ci.writeInt32LE(expires, 8);
      w.attr(C.RTA_CACHEINFO, ci);
    }
    w.end();
    return parseMessages(w.finish())[0];
  }

  it('reads the MTU bit of RTAX_LOCK as mtuLocked, and rta_expires as whole seconds (ip: expires 299sec)', () => {
    expect(decodeRoute(route(1 << C.RTAX_MTU, 29_987))).toMatchObject({ mtu: 1300, mtuLocked: true, expires: 299 });
    // Past its time, not yet collected: ip prints the negative seconds too.
    expect(decodeRoute(route(undefined, -120)).expires).toBe(-1);
  });

  it('has neither for a lock of another metric and a route that does not expire', () => {
    const r = decodeRoute(route(1 << 8, 0));
    expect(r.mtuLocked).toBeUndefined();
    expect(r.metrics).toEqual({ [C.RTAX_LOCK]: 1 << 8 });
    expect(r.expires).toBeUndefined();
    expect('expires' in decodeRoute(route(undefined, undefined))).toBe(false);
  });
});
