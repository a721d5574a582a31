// Keys of the verb table without a kernel (made-up replies, as in
// verb-table-ops.test.ts): addresses.delete takes a listed Address as it is
// (and the positional form still works); get/find by key of addresses, FDB
// entries and ip rules, each one dump; and the interface names event streams
// put on their objects from their own index → name map.
// (The same against the kernel: test/integration/verb-table-keys.test.ts.)
import { describe, expect, it } from 'vitest';
import { NLM_F_DUMP } from '../../lib/netlink/constants';
import { NetlinkError, ValidationError } from '../../lib/netlink/errors';
import type { NetlinkCall, Operation } from '../../lib/netlink/operation';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { addressOps, decodeAddress } from '../../lib/rtnetlink/address';
import * as C from '../../lib/rtnetlink/constants';
import { EventLinkNames } from '../../lib/rtnetlink/event-names';
import { decodeEvent, RtnetlinkEvents } from '../../lib/rtnetlink/events';
import { decodeFdbEntry, fdbOps } from '../../lib/rtnetlink/fdb';
import { decodeRule, ruleOps } from '../../lib/rtnetlink/rule';
import { AF_INET6 } from '../../lib/validate/ip';
import { drive, type Answer } from '../helpers/drive';

const isDump = (r: NetlinkMessage) => (r.flags & NLM_F_DUMP) === NLM_F_DUMP;
const kinds = (requests: NetlinkMessage[]) => requests.map((r) => [r.type, isDump(r)]);

function linkMessage(index: number, name: string, type = C.RTM_NEWLINK, master?: number): NetlinkMessage {
  const w = new NetlinkWriter().begin(type, 0);
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeInt32LE(index, off + 4);
  w.string(C.IFLA_IFNAME, name);
  if (master !== undefined) w.u32(C.IFLA_MASTER, master);
  return parseMessages(w.end().finish())[0];
}

/** An RTM_NEWADDR as the kernel reports it: the add request has the same shape. */
function addressMessage(index: number, cidr: string, peer?: string): NetlinkMessage {
  return drive(addressOps.add(index, cidr, peer !== undefined ? { peer } : {})).requests[0];
}

/** An AF_BRIDGE RTM_NEWNEIGH; `bridge` as the kernel adds it to dumps (NDA_MASTER). */
function fdbMessage(index: number, mac: string, extra: { bridge?: number; vlan?: number; dst?: string } = {}, type = C.RTM_NEWNEIGH): NetlinkMessage {
  const request = drive(fdbOps.add({ mac, link: index, vlan: extra.vlan, dst: extra.dst })).requests[0];
  const w = new NetlinkWriter().begin(type, 0);
  const off = w.struct(request.payload.length);
  request.payload.copy(w.view, off);
  if (extra.bridge !== undefined) w.u32(C.NDA_MASTER, extra.bridge);
  return parseMessages(w.end().finish())[0];
}

describe('addresses: delete takes a listed address; get and find by key', () => {
  const table = [
    addressMessage(3, '10.0.0.2/24'),
    addressMessage(3, '10.0.0.3/24'),
    addressMessage(3, 'fd00::2/64'),
    addressMessage(3, '10.9.0.1/32', '10.9.0.2'),
  ];
  const kernel = (r: NetlinkMessage): Answer => (r.type === C.RTM_GETADDR ? table : r.type === C.RTM_GETLINK ? [linkMessage(3, 'eth1')] : []);

  it('a listed Address passes to delete as it is: the same request as the positional form', () => {
    const listed = decodeAddress(table[1]);
    const byKey = drive(addressOps.delete(listed)).requests;
    const positional = drive(addressOps.delete(3, '10.0.0.3/24')).requests;
    expect(byKey).toHaveLength(1);
    expect(byKey[0].type).toBe(C.RTM_DELADDR);
    expect(byKey[0].payload.equals(positional[0].payload)).toBe(true);
  });

  it('a listed point-to-point address names its peer (IFA_ADDRESS) in the delete', () => {
    const ptp = decodeAddress(table[3]);
    expect(ptp.peer).toBe('10.9.0.2');
    const byKey = drive(addressOps.delete(ptp)).requests[0];
    expect(byKey.payload.equals(drive(addressOps.delete(3, '10.9.0.1/32', { peer: '10.9.0.2' })).requests[0].payload)).toBe(true);
  });

  it('the key form takes { missingOk } only, resolves to false when missing; bad keys are ValidationErrors', () => {
    const missing = (_r: NetlinkMessage, c: NetlinkCall) => new NetlinkError({ errno: 99, operation: c.operation });
    expect(drive(addressOps.delete({ link: 3, cidr: '10.0.0.9/24' }, { missingOk: true }), missing).result).toBe(false);
    expect(() => drive(addressOps.delete({ link: 3, cidr: '10.0.0.9/24' }), missing)).toThrow(
      expect.objectContaining({ name: 'NotFoundError', code: 'EADDRNOTAVAIL' }),
    );
    expect(() => addressOps.delete({ link: 3, cidr: '10.0.0.9/24' }, { missingOk: true, peer: '10.0.0.1' } as never).next()).toThrow(ValidationError);
    expect(() => addressOps.delete({ link: 3 } as never).next()).toThrow(expect.objectContaining({ field: 'cidr' }));
    expect(() => addressOps.delete({ cidr: '10.0.0.9/24' } as never).next()).toThrow(expect.objectContaining({ field: 'link' }));
    expect(() => addressOps.delete(null as never).next()).toThrow(ValidationError);
  });

  it('get is one dump the kernel filters by link and family, then the name of the link', () => {
    const { result, requests } = drive(addressOps.get({ link: 3, cidr: '10.0.0.3/24' }), kernel);
    expect(result).toMatchObject({ cidr: '10.0.0.3/24', link: 3, linkName: 'eth1' });
    expect(kinds(requests)).toEqual([
      [C.RTM_GETADDR, true],
      [C.RTM_GETLINK, false],
    ]);
    expect(requests[0].payload[0]).toBe(2); // AF_INET
    expect(requests[0].payload.readUInt32LE(4)).toBe(3); // ifa_index
  });

  it('a key naming the link by name costs the name lookup only; IPv6 keys compare as the kernel prints them', () => {
    const { result, requests } = drive(addressOps.get({ link: 'eth1', cidr: 'fd00:0::2/64' }), kernel);
    expect(result).toMatchObject({ cidr: 'fd00::2/64', linkName: 'eth1' });
    expect(kinds(requests)).toEqual([
      [C.RTM_GETLINK, false],
      [C.RTM_GETADDR, true],
    ]);
    expect(requests[1].payload[0]).toBe(AF_INET6);
  });

  it('a listed address is a key; another prefix length is another address', () => {
    expect(drive(addressOps.get(decodeAddress(table[0])), kernel).result.cidr).toBe('10.0.0.2/24');
    expect(drive(addressOps.find({ link: 3, cidr: '10.0.0.2/16' }), kernel).result).toBeUndefined();
  });

  it('get of no such address is a NotFoundError (EADDRNOTAVAIL); find is undefined, also for a missing link', () => {
    expect(() => drive(addressOps.get({ link: 3, cidr: '10.0.0.9/24' }), kernel)).toThrow(
      expect.objectContaining({ name: 'NotFoundError', code: 'EADDRNOTAVAIL', what: 'address' }),
    );
    expect(drive(addressOps.find({ link: 3, cidr: '10.0.0.9/24' }), kernel).result).toBeUndefined();
    const noLink = (_r: NetlinkMessage, c: NetlinkCall) => new NetlinkError({ errno: 19, operation: c.operation });
    expect(drive(addressOps.find({ link: 'eth9', cidr: '10.0.0.2/24' }), noLink).result).toBeUndefined();
    expect(() => drive(addressOps.get({ link: 'eth9', cidr: '10.0.0.2/24' }), noLink)).toThrow(expect.objectContaining({ what: 'link', code: 'ENODEV' }));
  });
});

describe('fdb: get and find by key', () => {
  const entries = [
    fdbMessage(4, '02:00:00:00:00:01', { bridge: 2 }),
    fdbMessage(4, '02:00:00:00:00:01', { bridge: 2, vlan: 10 }),
    fdbMessage(4, '02:00:00:00:00:02'), // the port's own table
    fdbMessage(4, '02:00:00:00:00:02', { bridge: 2 }),
    fdbMessage(4, '00:00:00:00:00:00', { dst: '10.0.0.2' }),
    fdbMessage(4, '00:00:00:00:00:00', { dst: '10.0.0.3' }),
  ];
  const names: Record<number, string> = { 2: 'br0', 4: 'veth1' };
  const kernel = (r: NetlinkMessage): Answer => {
    if (r.type === C.RTM_GETNEIGH) return entries;
    const index = r.payload.readInt32LE(4) || 4; // by name: only veth1 is asked for by name
    return [linkMessage(index, names[index])];
  };

  it('get is one FDB dump the kernel filters by port, then the names of its entries', () => {
    const { result, requests } = drive(fdbOps.get({ mac: '02:00:00:00:00:01', link: 4, bridge: 2 }), kernel);
    expect(result).toMatchObject({ mac: '02:00:00:00:00:01', link: 4, linkName: 'veth1', bridge: 2, bridgeName: 'br0' });
    expect(result.vlan).toBeUndefined();
    expect(requests[0].type).toBe(C.RTM_GETNEIGH);
    expect(isDump(requests[0])).toBe(true);
    expect(requests[0].payload.readInt32LE(4)).toBe(4);
    expect(requests.slice(1).map((r) => [r.type, isDump(r)])).toEqual([
      [C.RTM_GETLINK, false],
      [C.RTM_GETLINK, false],
    ]);
  });

  it('the VLAN is part of the key; upper-case MACs match', () => {
    expect(drive(fdbOps.get({ mac: '02:00:00:00:00:01', link: 4, bridge: 2, vlan: 10 }), kernel).result.vlan).toBe(10);
    expect(drive(fdbOps.find({ mac: '02:00:00:00:00:01', link: 4, vlan: 20 }), kernel).result).toBeUndefined();
    expect(drive(fdbOps.find({ mac: '02:00:00:00:00:0A', link: 4 }), kernel).result).toBeUndefined();
  });

  it("without bridge, the device's own entry where both tables hold the MAC; a listed entry names itself", () => {
    expect(drive(fdbOps.get({ mac: '02:00:00:00:00:02', link: 'veth1' }), kernel).result.bridge).toBeUndefined();
    expect(drive(fdbOps.get(decodeFdbEntry(entries[3])), kernel).result.bridge).toBe(2);
    expect(drive(fdbOps.get(decodeFdbEntry(entries[1])), kernel).result).toMatchObject({ vlan: 10, bridge: 2 });
  });

  it('a VXLAN remote by dst; without dst the first remote', () => {
    expect(drive(fdbOps.get({ mac: '00:00:00:00:00:00', link: 4, dst: '10.0.0.3' }), kernel).result.dst).toBe('10.0.0.3');
    expect(drive(fdbOps.get({ mac: '00:00:00:00:00:00', link: 4 }), kernel).result.dst).toBe('10.0.0.2');
    expect(drive(fdbOps.find({ mac: '00:00:00:00:00:00', link: 4, dst: '10.0.0.4' }), kernel).result).toBeUndefined();
  });

  it('no such entry: get is a NotFoundError (ENOENT), find undefined; bad keys are ValidationErrors before anything is sent', () => {
    expect(() => drive(fdbOps.get({ mac: '02:00:00:00:00:09', link: 4 }), kernel)).toThrow(
      expect.objectContaining({ name: 'NotFoundError', code: 'ENOENT', what: 'fdb entry' }),
    );
    expect(drive(fdbOps.find({ mac: '02:00:00:00:00:09', link: 4 }), kernel).result).toBeUndefined();
    expect(() => fdbOps.get({ mac: 'nope', link: 4 }).next()).toThrow(expect.objectContaining({ field: 'mac' }));
    expect(() => fdbOps.find({ mac: '02:00:00:00:00:09', link: 4, vlan: 5000 }).next()).toThrow(expect.objectContaining({ field: 'vlan' }));
    expect(() => fdbOps.find(null as never).next()).toThrow(ValidationError);
  });
});

describe('ip rules: get and find by key', () => {
  const rule = (o: Parameters<typeof ruleOps.add>[0]) => drive(ruleOps.add(o)).requests[0];
  const table = [
    rule({ priority: 0, table: 'local' }),
    rule({ priority: 100, src: '10.1.0.0/16', table: 100 }),
    rule({ priority: 100, src: '10.2.0.0/16', table: 200 }),
    rule({ priority: 200, fwmark: 0x10, fwmask: 0xff, action: 'blackhole' }),
  ];
  const kernel = (): Answer => table;

  it('get is one dump of the family (the kernel has no get, and filters rule dumps by family only)', () => {
    const { result, requests } = drive(ruleOps.get({ priority: 100 }), kernel);
    expect(result).toMatchObject({ priority: 100, src: '10.1.0.0/16', table: '100' });
    expect(kinds(requests)).toEqual([[C.RTM_GETRULE, true]]);
    expect(requests[0].payload[0]).toBe(2); // AF_INET
  });

  it('every field the key gives must match; a listed rule names itself', () => {
    expect(drive(ruleOps.get({ priority: 100, table: 200 }), kernel).result.src).toBe('10.2.0.0/16');
    expect(drive(ruleOps.get({ src: '10.2.0.0/16' }), kernel).result.priority).toBe(100);
    expect(drive(ruleOps.get({ fwmark: 0x10 }), kernel).result.action).toBe('blackhole');
    expect(drive(ruleOps.get({ priority: 0, table: 'local' }), kernel).result.tableId).toBe(255);
    for (const m of table) expect(drive(ruleOps.get(decodeRule(m)), kernel).result).toEqual(decodeRule(m));
    expect(drive(ruleOps.find({ priority: 100, table: 300 }), kernel).result).toBeUndefined();
    expect(drive(ruleOps.find({ priority: 200, fwmask: 0xf }), kernel).result).toBeUndefined();
  });

  it('the family is the key’s or its prefixes’ (IPv6 dumps AF_INET6)', () => {
    const { requests } = drive(ruleOps.find({ src: 'fd00::/64' }), () => []);
    expect(requests[0].payload[0]).toBe(AF_INET6);
  });

  it('no such rule: get is a NotFoundError (ENOENT, "ip rule"), find undefined; bad keys are ValidationErrors', () => {
    expect(() => drive(ruleOps.get({ priority: 999 }), kernel)).toThrow(expect.objectContaining({ name: 'NotFoundError', code: 'ENOENT', what: 'ip rule' }));
    expect(drive(ruleOps.find({ priority: 999 }), kernel).result).toBeUndefined();
    expect(() => ruleOps.get({ priority: -1 }).next()).toThrow(expect.objectContaining({ field: 'priority' }));
    expect(() => ruleOps.get({ table: 'nosuch' }).next()).toThrow(expect.objectContaining({ field: 'table' }));
    expect(() => ruleOps.get({ src: 'nope' }).next()).toThrow(ValidationError);
    expect(() => ruleOps.get(null as never).next()).toThrow(ValidationError);
  });
});

describe('event streams name interfaces from their own map', () => {
  /** A handle's run() against made-up replies, counting requests. */
  function runner(kernel: (r: NetlinkMessage) => Answer) {
    const requests: NetlinkMessage[] = [];
    const run = <T>(op: Operation<T>): Promise<T> => {
      try {
        const d = drive(op, kernel);
        requests.push(...d.requests);
        return Promise.resolve(d.result);
      } catch (e) {
        return Promise.reject(e as Error);
      }
    };
    return { run, requests };
  }
  const event = (m: NetlinkMessage) => {
    const ev = decodeEvent(m);
    if (!ev) throw new Error('not an event');
    return ev;
  };

  it('one link dump at the start names every later event; no request per event', async () => {
    const k = runner(() => [linkMessage(2, 'br0'), linkMessage(3, 'eth1'), linkMessage(4, 'veth1', C.RTM_NEWLINK, 2)]);
    const names = new EventLinkNames(k.run);
    const a = await names.name(event(addressMessage(3, '10.0.0.2/24')));
    expect(a).toMatchObject({ type: 'address', address: { link: 3, linkName: 'eth1' } });
    const f = await names.name(event(fdbMessage(4, '02:00:00:00:00:01', { bridge: 2 })));
    expect(f).toMatchObject({ type: 'fdb', entry: { linkName: 'veth1', bridgeName: 'br0' } });
    const l = await names.name(event(linkMessage(4, 'veth1', C.RTM_NEWLINK, 2)));
    expect(l).toMatchObject({ type: 'link', link: { masterName: 'br0' } });
    expect(kinds(k.requests)).toEqual([[C.RTM_GETLINK, true]]);
  });

  it('kept current from the link events the stream sees: new links, renames, deletions', async () => {
    const k = runner(() => [linkMessage(3, 'eth1')]);
    const names = new EventLinkNames(k.run);
    await names.name(event(linkMessage(5, 'new0')));
    expect(await names.name(event(addressMessage(5, '10.5.0.1/24')))).toMatchObject({ address: { linkName: 'new0' } });
    await names.name(event(linkMessage(3, 'renamed')));
    expect(await names.name(event(addressMessage(3, '10.3.0.1/24')))).toMatchObject({ address: { linkName: 'renamed' } });
    await names.name(event(linkMessage(3, 'renamed', C.RTM_DELLINK)));
    const after = await names.name(event(addressMessage(3, '10.3.0.1/24')));
    expect(after.type === 'address' && after.address.linkName).toBeUndefined();
    expect(k.requests).toHaveLength(1);
  });

  it('resolveNames is checked with the other subscribe options', () => {
    const events = new RtnetlinkEvents({ netnsFd: () => -1, run: () => Promise.reject(new Error('not used')) });
    expect(() => events.subscribe({ resolveNames: 'yes' as never })).toThrow(expect.objectContaining({ name: 'ValidationError', field: 'resolveNames' }));
    expect(() => events.subscribe({ resolvenames: true } as never)).toThrow(ValidationError);
  });
});
