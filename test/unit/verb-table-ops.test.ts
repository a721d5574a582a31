// The verb table's behaviour, without a kernel: operations are driven with
// made-up replies. A missing object is a NotFoundError keeping the kernel's
// errno (or false with { missingOk }); get/find by key; interface names on
// read objects and what they cost in requests; the FDB `bridge`; and one
// test per deprecated alias showing it still works.
// (The same against the kernel: test/integration/verb-table.test.ts.)
import { describe, expect, it } from 'vitest';
import { conntrackOps } from '../../lib/conntrack/conntrack';
import { NLM_F_DUMP } from '../../lib/netlink/constants';
import { NetlinkError, NotFoundError, ValidationError } from '../../lib/netlink/errors';
import type { NetlinkCall, Operation } from '../../lib/netlink/operation';
import { Attributes, parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { addressOps } from '../../lib/rtnetlink/address';
import * as C from '../../lib/rtnetlink/constants';
import { decodeFdbEntry, fdbOps } from '../../lib/rtnetlink/fdb';
import { linkOps } from '../../lib/rtnetlink/link';
import { decodeNeighbour, neighbourOps } from '../../lib/rtnetlink/neighbour';
import { decodeRoute, routeOps } from '../../lib/rtnetlink/route';
import { ruleOps } from '../../lib/rtnetlink/rule';
import { AF_INET } from '../../lib/validate/ip';
import { drive, type Answer } from '../helpers/drive';

function refusal(errno: number): (request: NetlinkMessage, call: NetlinkCall) => Answer {
  return (_r, c) => new NetlinkError({ errno, operation: c.operation });
}

/** An RTM_NEWLINK message as the kernel reports a link. */
function linkMessage(index: number, name: string, extra: { master?: number; kind?: string } = {}): NetlinkMessage {
  const w = new NetlinkWriter().begin(C.RTM_NEWLINK, 0);
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeInt32LE(index, off + 4);
  w.string(C.IFLA_IFNAME, name);
  if (extra.master !== undefined) w.u32(C.IFLA_MASTER, extra.master);
  if (extra.kind !== undefined) {
    const li = w.nest(C.IFLA_LINKINFO);
    w.string(C.IFLA_INFO_KIND, extra.kind);
    w.endNest(li);
  }
  return parseMessages(w.end().finish())[0];
}

/** An RTM_NEWROUTE message (main table, IPv4) as the kernel reports a route. */
function routeMessage(dst: string, length: number, oif: number, metric?: number): NetlinkMessage {
  const w = new NetlinkWriter().begin(C.RTM_NEWROUTE, 0);
  const off = w.struct(C.RTMSG_LEN);
  w.view.writeUInt8(AF_INET, off);
  w.view.writeUInt8(length, off + 1);
  w.view.writeUInt8(C.RT_TABLE_MAIN, off + 4);
  w.view.writeUInt8(1, off + 7); // unicast
  if (length > 0) w.attr(C.RTA_DST, Buffer.from(dst.split('.').map(Number)));
  w.u32(C.RTA_TABLE, C.RT_TABLE_MAIN);
  w.u32(C.RTA_OIF, oif);
  if (metric !== undefined) w.u32(C.RTA_PRIORITY, metric);
  return parseMessages(w.end().finish())[0];
}

const isDump = (r: NetlinkMessage) => (r.flags & NLM_F_DUMP) === NLM_F_DUMP;

describe('missing objects', () => {
  it.each([
    ['links.delete', () => linkOps.delete('veth9'), 19, 'ENODEV', 'link'],
    ['links.set', () => linkOps.set(9, { up: true }), 19, 'ENODEV', 'link'],
    ['links.deleteGroup', () => linkOps.deleteGroup(9), 19, 'ENODEV', 'link'],
    ['addresses.delete', () => addressOps.delete(3, '10.0.0.9/24'), 99, 'EADDRNOTAVAIL', 'address'],
    ['routes.delete', () => routeOps.delete({ dst: '10.9.0.0/16' }), 3, 'ESRCH', 'route'],
    ['neighbours.delete', () => neighbourOps.delete({ link: 3, address: '10.0.0.9' }), 2, 'ENOENT', 'neighbour'],
    ['neighbours.get', () => neighbourOps.get({ link: 3, address: '10.0.0.9' }), 2, 'ENOENT', 'neighbour'],
    ['fdb.delete', () => fdbOps.delete({ link: 3, mac: '02:00:00:00:00:09' }), 2, 'ENOENT', 'fdb entry'],
    ['rules.delete', () => ruleOps.delete({ priority: 9 }), 2, 'ENOENT', 'ip rule'],
    [
      'conntrack.delete',
      () => conntrackOps.delete({ family: 4, protocol: 'udp', original: { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 } }),
      2,
      'ENOENT',
      'conntrack entry',
    ],
  ] as const)('%s: a NotFoundError keeping the errno (%s)', (_name, op, errno, code, what) => {
    let err: unknown;
    try {
      drive(op() as Operation<unknown>, refusal(errno));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toBeInstanceOf(NetlinkError); // `err.code === 'ENODEV'` checks keep working
    expect(err).toMatchObject({ code, errno, what, name: 'NotFoundError' });
  });

  it('a missing link named by a delete is "link", whatever is deleted', () => {
    expect(() => drive(routeOps.delete({ dst: '10.9.0.0/16', link: 'eth9' }), refusal(19))).toThrow(expect.objectContaining({ what: 'link', code: 'ENODEV' }));
  });

  it('{ missingOk: true } resolves to false instead; a delete that removed something resolves to true', () => {
    expect(drive(linkOps.delete('veth9', { missingOk: true }), refusal(19)).result).toBe(false);
    expect(drive(linkOps.delete('veth9', { missingOk: true })).result).toBe(true);
    expect(drive(addressOps.delete(3, '10.0.0.9/24', { missingOk: true }), refusal(99)).result).toBe(false);
    expect(drive(routeOps.delete({ dst: '10.9.0.0/16' }, { missingOk: true }), refusal(3)).result).toBe(false);
    expect(drive(ruleOps.delete({ priority: 9 }, { missingOk: true }), refusal(2)).result).toBe(false);
    expect(drive(fdbOps.delete({ link: 3, mac: '02:00:00:00:00:09' }, { missingOk: true }), refusal(2)).result).toBe(false);
    expect(drive(neighbourOps.delete({ link: 3, address: '10.0.0.9' }, { missingOk: true }), refusal(2)).result).toBe(false);
    expect(drive(linkOps.deleteGroup(9, { missingOk: true }), refusal(19)).result).toBe(false);
  });

  it('other refusals stay what they are, also with missingOk', () => {
    expect(() => drive(linkOps.delete('lo', { missingOk: true }), refusal(95))).toThrow(expect.objectContaining({ code: 'EOPNOTSUPP', name: 'NetlinkError' }));
  });

  it('delete options are checked before anything is sent', () => {
    for (const bad of [{ missingok: true }, { missingOk: 'yes' }, null, 'missingOk']) {
      expect(() => linkOps.delete('veth0', bad as never).next(), JSON.stringify(bad)).toThrow(ValidationError);
      expect(() => routeOps.delete({ dst: '10.0.0.0/8' }, bad as never).next(), JSON.stringify(bad)).toThrow(ValidationError);
    }
    expect(() => addressOps.delete('eth0', '10.0.0.1/24', { peer: '10.0.0.2', force: true } as never).next()).toThrow(ValidationError);
  });

  it('links.find is undefined for a missing link, links.get a NotFoundError', () => {
    expect(drive(linkOps.find('veth9'), refusal(19)).result).toBeUndefined();
    expect(() => drive(linkOps.get('veth9'), refusal(19))).toThrow(NotFoundError);
  });
});

describe('routes: get and find by key, lookup', () => {
  const table = [routeMessage('10.1.0.0', 16, 2, 200), routeMessage('10.1.0.0', 16, 3, 100), routeMessage('10.2.0.0', 16, 2)];
  const kernel = (r: NetlinkMessage): Answer => (r.type === C.RTM_GETROUTE ? table : r.type === C.RTM_GETLINK ? [linkMessage(3, 'eth1')] : []);

  it('get picks the route of the key, the lowest metric when the key leaves a choice', () => {
    const { result, requests } = drive(routeOps.get({ dst: '10.1.0.0/16' }), kernel);
    expect(result).toMatchObject({ dst: '10.1.0.0/16', metric: 100, link: 3, linkName: 'eth1' });
    expect(requests.map((r) => [r.type, isDump(r)])).toEqual([
      [C.RTM_GETROUTE, true],
      [C.RTM_GETLINK, false],
    ]);
    expect(
      drive(routeOps.get({ dst: '10.1.0.0/16', metric: 200 }), (r) => (r.type === C.RTM_GETROUTE ? table : [linkMessage(2, 'eth0')])).result,
    ).toMatchObject({ link: 2, linkName: 'eth0' });
  });

  it('a listed route is a key', () => {
    const listed = decodeRoute(table[1]);
    expect(drive(routeOps.get(listed), kernel).result).toMatchObject({ metric: 100 });
  });

  it('get of no such route is a NotFoundError (ESRCH), find is undefined', () => {
    expect(() => drive(routeOps.get({ dst: '10.3.0.0/16' }), kernel)).toThrow(expect.objectContaining({ name: 'NotFoundError', code: 'ESRCH', what: 'route' }));
    expect(drive(routeOps.find({ dst: '10.3.0.0/16' }), kernel).result).toBeUndefined();
    expect(drive(routeOps.find({ dst: '10.1.0.0/16', metric: 7 }), kernel).result).toBeUndefined();
  });

  it('lookup asks the kernel (RTM_GETROUTE, not a dump) and names the link', () => {
    const { result, requests } = drive(routeOps.lookup('10.1.2.3'), (r) =>
      r.type === C.RTM_GETROUTE ? [routeMessage('10.1.2.3', 32, 3)] : [linkMessage(3, 'eth1')],
    );
    expect(isDump(requests[0])).toBe(false);
    expect(result).toMatchObject({ dst: '10.1.2.3/32', link: 3, linkName: 'eth1' });
  });
});

describe('interface names on read objects', () => {
  it('links.list names masters from its own dump: no extra request', () => {
    const { result, requests } = drive(linkOps.list(), () => [
      linkMessage(1, 'lo'),
      linkMessage(2, 'br0', { kind: 'bridge' }),
      linkMessage(3, 'veth0', { master: 2 }),
    ]);
    expect(requests).toHaveLength(1);
    expect(result.find((l) => l.name === 'veth0')).toMatchObject({ master: 2, masterName: 'br0' });
  });

  it('a filtered list looks up a few missing names with one get each, more with one dump', () => {
    const one = drive(linkOps.list({ kind: 'veth' }), (r) => (isDump(r) ? [linkMessage(3, 'veth0', { master: 2, kind: 'veth' })] : [linkMessage(2, 'br0')]));
    expect(one.requests.map(isDump)).toEqual([true, false]);
    expect(one.result[0].masterName).toBe('br0');
    const links = Array.from({ length: 9 }, (_, i) => linkMessage(i + 2, `eth${i}`));
    const byIndex = (r: NetlinkMessage) => links.filter((l) => l.payload.readInt32LE(4) === r.payload.readInt32LE(4));
    const routes = (n: number) => Array.from({ length: n }, (_, i) => routeMessage(`10.${i}.0.0`, 16, i + 2));
    const few = drive(routeOps.list(), (r) => (r.type === C.RTM_GETROUTE ? routes(8) : byIndex(r)));
    expect(few.requests.map((r) => [r.type, isDump(r)])).toEqual([[C.RTM_GETROUTE, true], ...Array(8).fill([C.RTM_GETLINK, false])]);
    expect(few.result.map((r) => r.linkName)).toEqual(links.slice(0, 8).map((_, i) => `eth${i}`));
    const many = drive(routeOps.list(), (r) => (r.type === C.RTM_GETROUTE ? routes(9) : links));
    expect(many.requests.map((r) => [r.type, isDump(r)])).toEqual([
      [C.RTM_GETROUTE, true],
      [C.RTM_GETLINK, true],
    ]);
    expect(many.result.map((r) => r.linkName)).toEqual(links.map((_, i) => `eth${i}`));
  });

  it('a link gone before its name was read leaves the name out', () => {
    const { result } = drive(routeOps.list(), (r) =>
      r.type === C.RTM_GETROUTE ? [routeMessage('10.1.0.0', 16, 7)] : new NetlinkError({ errno: 19, operation: 'get link #7' }),
    );
    expect(result[0].link).toBe(7);
    expect(result[0].linkName).toBeUndefined();
  });

  it('Link is typed by kind: unknown kinds have an empty info, known ones their decoded options', () => {
    const { result } = drive(linkOps.list(), () => [linkMessage(1, 'lo'), linkMessage(2, 'br0', { kind: 'bridge' }), linkMessage(4, 'd0', { kind: 'dummy' })]);
    expect(result[0].info).toEqual({});
    expect(result[2]).toMatchObject({ kind: 'dummy', info: {} });
    const br = result[1];
    if (br.kind !== 'bridge') throw new Error('not a bridge');
    expect(br.info.stp).toBe(false);
  });
});

describe('FDB entries in a bridge', () => {
  const port =
    (master: number) =>
    (r: NetlinkMessage): Answer =>
      r.type === C.RTM_GETLINK ? [linkMessage(4, 'veth1', { master })] : [];

  it('bridge: the entry goes to the bridge the link is a port of (checked), NTF_MASTER', () => {
    const { requests } = drive(fdbOps.add({ mac: '02:00:00:00:00:01', link: 4, bridge: 2, state: 'static', vlan: 10 }), port(2));
    expect(requests.map((r) => r.type)).toEqual([C.RTM_GETLINK, C.RTM_NEWNEIGH]);
    expect(decodeFdbEntry(requests[1])).toMatchObject({ flags: ['master'], state: 'static', vlan: 10 });
  });

  it('a bridge the link is not a port of is refused before the entry is sent', () => {
    expect(() => drive(fdbOps.add({ mac: '02:00:00:00:00:01', link: 4, bridge: 2 }), port(9))).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'bridge' }),
    );
  });

  it("the bridge's own entries (link is the bridge) are its own table's: NTF_SELF", () => {
    const { requests } = drive(fdbOps.delete({ mac: '02:00:00:00:00:01', link: 2, bridge: 2 }));
    expect(requests).toHaveLength(1);
    expect(decodeFdbEntry(requests[0]).flags).toEqual(['self']);
  });

  it('a listed entry passes to delete as it is', () => {
    const listed = decodeFdbEntry(drive(fdbOps.add({ mac: '02:00:00:00:00:01', link: 4, bridge: 2 }), port(2)).requests[1]);
    const withBridge = { ...listed, bridge: 2 }; // a dump carries NDA_MASTER, a request does not
    const { requests } = drive(fdbOps.delete(withBridge), port(2));
    expect(requests[1].type).toBe(C.RTM_DELNEIGH);
    expect(decodeFdbEntry(requests[1])).toMatchObject({ mac: '02:00:00:00:00:01', link: 4, flags: ['master'] });
  });
});

describe('deprecated aliases still work', () => {
  it('routes.get(destination) is the lookup (routes.lookup)', () => {
    const answer = (r: NetlinkMessage): Answer => (r.type === C.RTM_GETROUTE ? [routeMessage('10.1.2.3', 32, 3)] : [linkMessage(3, 'eth1')]);
    const old = drive(routeOps.get('10.1.2.3', { mark: 5 }), answer);
    const now = drive(routeOps.lookup('10.1.2.3', { mark: 5 }), answer);
    expect(old.result).toEqual(now.result);
    expect(old.requests[0].payload.equals(now.requests[0].payload)).toBe(true);
  });

  it('dev is the old name of link (routes, next hops, route filters, neighbours, fdb)', () => {
    const payload = (op: Operation<unknown>) => drive(op).requests[0].payload;
    expect(payload(routeOps.add({ dst: '10.0.0.0/8', dev: 3 })).equals(payload(routeOps.add({ dst: '10.0.0.0/8', link: 3 })))).toBe(true);
    const hops = (key: 'dev' | 'link') =>
      routeOps.add({
        dst: '10.0.0.0/8',
        multipath: [
          { gateway: '10.1.0.1', [key]: 3 },
          { gateway: '10.2.0.1', [key]: 4 },
        ],
      });
    expect(payload(hops('dev')).equals(payload(hops('link')))).toBe(true);
    expect(payload(routeOps.list({ dev: 3 })).equals(payload(routeOps.list({ link: 3 })))).toBe(true);
    expect(decodeNeighbour(drive(neighbourOps.add({ dev: 3, address: '10.0.0.2', mac: '02:00:00:00:00:02' })).requests[0])).toMatchObject({ link: 3 });
    expect(decodeFdbEntry(drive(fdbOps.add({ dev: 4, mac: '02:00:00:00:00:02' })).requests[0])).toMatchObject({ link: 4 });
    expect(() => routeOps.add({ dst: '10.0.0.0/8', dev: 3, link: 4 }).next()).toThrow(ValidationError);
  });

  it("FdbOptions.master: true still programs the port's bridge (NTF_MASTER), unchecked", () => {
    const { requests } = drive(fdbOps.add({ mac: '02:00:00:00:00:01', link: 4, master: true }));
    expect(requests).toHaveLength(1);
    expect(decodeFdbEntry(requests[0]).flags).toEqual(['master']);
  });

  it('read objects keep index (the same number as link)', () => {
    const r = decodeRoute(routeMessage('10.1.0.0', 16, 3));
    expect(r.index).toBe(r.link);
    const n = decodeNeighbour(drive(neighbourOps.add({ link: 3, address: '10.0.0.2', mac: '02:00:00:00:00:02' })).requests[0]);
    expect(n.index).toBe(3);
  });

  it('conntrack.deleteEntry is delete(entry, { missingOk: true })', () => {
    const entry = { family: 4 as const, protocol: 'udp', original: { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 } };
    expect(drive(conntrackOps.deleteEntry(entry), refusal(2)).result).toBe(false);
    expect(drive(conntrackOps.deleteEntry(entry)).result).toBe(true);
  });

  it('conntrack.delete(filter) is flush(filter); flush(4) is flush({ family: 4 })', () => {
    // The stats request answers 0 entries: both return 0 without a dump.
    const stats = (): Answer => {
      const w = new NetlinkWriter().begin((1 << 8) | 5, 0);
      const off = w.struct(4);
      w.view.writeUInt8(AF_INET, off);
      w.be32(1, 0);
      return parseMessages(w.end().finish());
    };
    const old = drive(conntrackOps.delete({ protocol: 'udp', original: { dport: 5353 } }), stats);
    expect(old.result).toBe(0);
    expect(old.requests).toHaveLength(1);
    expect(drive(conntrackOps.flush(4), stats).result).toBe(0);
    expect(() => conntrackOps.flush('4' as never).next()).toThrow(ValidationError);
  });
});

describe('ip rules', () => {
  it('an action nlkit does not name reads and writes as its number', () => {
    const m = drive(ruleOps.add({ priority: 5, action: '4' })).requests[0];
    expect(m.payload[7]).toBe(4);
    expect(() => ruleOps.add({ priority: 5, action: '256' as never }).next()).toThrow(ValidationError);
    expect(new Attributes(m.payload, C.FIB_RULE_HDR_LEN).u32(C.FRA_PRIORITY)).toBe(5);
  });
});
