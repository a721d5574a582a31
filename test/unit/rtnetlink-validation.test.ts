// rtnetlink options the kernel or the writer would refuse late (a TypeError,
// a RangeError, EINVAL) are ValidationErrors naming the field, before anything is sent.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/netlink/errors';
import { Attributes } from '../../lib/netlink/parser';
import * as C from '../../lib/rtnetlink/constants';
import { addressOps } from '../../lib/rtnetlink/address';
import { fdbOps } from '../../lib/rtnetlink/fdb';
import { linkOps } from '../../lib/rtnetlink/link';
import { neighbourOps } from '../../lib/rtnetlink/neighbour';
import { routeOps } from '../../lib/rtnetlink/route';
import { ruleOps } from '../../lib/rtnetlink/rule';
import { drive } from '../helpers/drive';

describe('links: alias and netns', () => {
  it('sends a 255-byte alias without a NUL, as ip does (the kernel caps the attribute at 255 bytes)', () => {
    const alias = 'a'.repeat(255);
    const [request] = drive(linkOps.set(3, { alias })).requests;
    const attrs = new Attributes(request.payload, C.IFINFOMSG_LEN);
    const sent = attrs.get(C.IFLA_IFALIAS);
    expect(sent?.length).toBe(255);
    expect(sent?.toString('utf8')).toBe(alias);
  });

  it('refuses a 256-byte alias', () => {
    expect(() => drive(linkOps.set(3, { alias: 'a'.repeat(256) }))).toThrow(expect.objectContaining({ name: 'ValidationError', field: 'alias' }));
  });

  it('refuses a number or null as netns, naming the field', () => {
    for (const netns of [5, null, {}]) {
      expect(() => drive(linkOps.set(3, { netns } as never))).toThrow(expect.objectContaining({ name: 'ValidationError', field: 'netns' }));
    }
    expect(() => drive(linkOps.add({ name: 'v0', kind: 'veth', peer: { name: 'v1', netns: 7 } } as never))).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'peer.netns' }),
    );
  });
});

describe('routes: multipath size', () => {
  const hops = (n: number) => Array.from({ length: n }, (_, i) => ({ gateway: `10.${i >> 8}.${i & 255}.1`, link: 2 }));

  it('refuses next hops that do not fit one attribute (65535 bytes), before sending', () => {
    // 16 bytes a hop with an IPv4 gateway: 4096 hops are 65540 bytes with the header.
    const { requests } = drive(routeOps.add({ dst: '10.200.0.0/16', multipath: hops(4095) }));
    expect(requests).toHaveLength(1);
    let thrown: unknown;
    try {
      drive(routeOps.add({ dst: '10.200.0.0/16', multipath: hops(4096) }));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect(thrown).toMatchObject({ field: 'multipath' });
  });
});

describe('unknown option keys are ValidationErrors, before anything is sent', () => {
  const refused = (run: () => unknown, field: string, key: string) =>
    expect(run).toThrow(expect.objectContaining({ name: 'ValidationError', field, value: key }));

  it('routes: add, replace, delete, get, find, list and lookup', () => {
    refused(() => drive(routeOps.delete({ dst: '10.1.0.0/16', tabel: 100 } as never)), 'route', 'tabel');
    refused(() => drive(routeOps.add({ dst: '10.1.0.0/16', link: 2, metrc: 5 } as never)), 'route', 'metrc');
    refused(() => drive(routeOps.replace({ dst: '10.1.0.0/16', multipath: [{ gateway: '10.0.0.1', wieght: 2 }] } as never)), 'multipath[0]', 'wieght');
    refused(() => drive(routeOps.get({ dst: '10.1.0.0/16', tabel: 100 } as never)), 'route key', 'tabel');
    refused(() => drive(routeOps.find({ dst: '10.1.0.0/16', tabel: 100 } as never)), 'route key', 'tabel');
    refused(() => drive(routeOps.list({ tabel: 100 } as never)), 'route filter', 'tabel');
    refused(() => drive(routeOps.lookup('10.0.0.1', { fibmatch: true } as never)), 'lookup options', 'fibmatch');
  });

  it('routes: a listed route passes as it is (fields only the kernel reports are known keys)', () => {
    const listed = {
      dst: '10.1.0.0/16',
      dstLength: 16,
      family: 4,
      table: 'main',
      tableId: 254,
      protocol: 'static',
      scope: 'universe',
      type: 'unicast',
      flags: [],
      link: 2,
      linkName: 'eth0',
      index: 2,
      unknownAttributes: [],
    };
    expect(drive(routeOps.delete(listed as never)).requests).toHaveLength(1);
  });
});

describe('unknown rule keys are ValidationErrors', () => {
  const refused = (run: () => unknown, field: string, key: string) =>
    expect(run).toThrow(expect.objectContaining({ name: 'ValidationError', field, value: key }));

  it('rules: add, delete, get, find and list', () => {
    refused(() => drive(ruleOps.add({ priority: 100, tabel: 100 } as never)), 'rule', 'tabel');
    refused(() => drive(ruleOps.delete({ priority: 100, tabel: 100 } as never)), 'rule', 'tabel');
    refused(() => drive(ruleOps.get({ priority: 100, tabel: 100 } as never)), 'rule key', 'tabel');
    refused(() => drive(ruleOps.find({ priority: 100, tabel: 100 } as never)), 'rule key', 'tabel');
    refused(() => drive(ruleOps.list({ familly: 4 } as never)), 'rule filter', 'familly');
  });
});

describe('unknown address keys are ValidationErrors', () => {
  const refused = (run: () => unknown, field: string, key: string) =>
    expect(run).toThrow(expect.objectContaining({ name: 'ValidationError', field, value: key }));

  it('addresses: add, replace, delete, get, find and list', () => {
    refused(() => drive(addressOps.add(3, '10.0.0.2/24', { nodadd: true } as never)), 'address options', 'nodadd');
    refused(() => drive(addressOps.replace(3, '10.0.0.2/24', { lable: 'x' } as never)), 'address options', 'lable');
    refused(() => drive(addressOps.delete({ link: 3, cidr: '10.0.0.2/24', peeer: '10.0.0.1' } as never)), 'address key', 'peeer');
    refused(() => drive(addressOps.get({ link: 3, cidr: '10.0.0.2/24', peeer: '10.0.0.1' } as never)), 'address key', 'peeer');
    refused(() => drive(addressOps.find({ link: 3, cidr: '10.0.0.2/24', peeer: '10.0.0.1' } as never)), 'address key', 'peeer');
    refused(() => drive(addressOps.list({ lnk: 3 } as never)), 'address filter', 'lnk');
  });
});

describe('unknown neighbour keys are ValidationErrors', () => {
  const refused = (run: () => unknown, field: string, key: string) =>
    expect(run).toThrow(expect.objectContaining({ name: 'ValidationError', field, value: key }));

  it('neighbours: add, replace, delete, get, find and list', () => {
    const n = { link: 3, address: '10.0.0.9', mac: '02:00:00:00:00:09' };
    refused(() => drive(neighbourOps.add({ ...n, stat: 'reachable' } as never)), 'neighbour', 'stat');
    refused(() => drive(neighbourOps.replace({ ...n, routr: true } as never)), 'neighbour', 'routr');
    refused(() => drive(neighbourOps.delete({ ...n, prxy: true } as never)), 'neighbour', 'prxy');
    refused(() => drive(neighbourOps.get({ ...n, prxy: true } as never)), 'neighbour key', 'prxy');
    refused(() => drive(neighbourOps.find({ ...n, prxy: true } as never)), 'neighbour key', 'prxy');
    refused(() => drive(neighbourOps.list({ famliy: 4 } as never)), 'neighbour filter', 'famliy');
  });
});

describe('unknown FDB keys are ValidationErrors', () => {
  const refused = (run: () => unknown, field: string, key: string) =>
    expect(run).toThrow(expect.objectContaining({ name: 'ValidationError', field, value: key }));

  it('fdb: add, replace, delete, get, find and list', () => {
    const e = { mac: '02:00:00:00:00:09', link: 3 };
    refused(() => drive(fdbOps.add({ ...e, vlna: 10 } as never)), 'fdb entry', 'vlna');
    refused(() => drive(fdbOps.replace({ ...e, stiky: true } as never)), 'fdb entry', 'stiky');
    refused(() => drive(fdbOps.delete({ ...e, vlna: 10 } as never)), 'fdb entry', 'vlna');
    refused(() => drive(fdbOps.get({ ...e, vlna: 10 } as never)), 'fdb entry', 'vlna');
    refused(() => drive(fdbOps.find({ ...e, vlna: 10 } as never)), 'fdb entry', 'vlna');
    refused(() => drive(fdbOps.list({ brige: 'br0' } as never)), 'fdb filter', 'brige');
  });
});

describe('unknown link keys are ValidationErrors', () => {
  const refused = (run: () => unknown, field: string, key: string) =>
    expect(run).toThrow(expect.objectContaining({ name: 'ValidationError', field, value: key }));

  it('links: set (and its bridge port settings) and list', () => {
    refused(() => drive(linkOps.set(3, { mtu: 1400, masterr: 'br0' } as never)), 'link changes', 'masterr');
    refused(() => drive(linkOps.set(3, { port: { hairpn: true } } as never)), 'port', 'hairpn');
    refused(() => drive(linkOps.list({ knd: 'veth' } as never)), 'link filter', 'knd');
  });
});

describe('unknown links.add keys are ValidationErrors', () => {
  const refused = (run: () => unknown, field: string, key: string) =>
    expect(run).toThrow(expect.objectContaining({ name: 'ValidationError', field, value: key }));

  it('links.add: the common options and each kind its own; a veth peer its own', () => {
    refused(() => drive(linkOps.add({ name: 'br0', kind: 'bridge', stpp: true } as never)), 'link options', 'stpp');
    refused(() => drive(linkOps.add({ name: 'br0', kind: 'bridge', vni: 5 } as never)), 'link options', 'vni');
    refused(() => drive(linkOps.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' }, mtuu: 1400 } as never)), 'link options', 'mtuu');
    refused(() => drive(linkOps.add({ name: 'v0', kind: 'veth', peer: { name: 'v1', nets: 'x' } } as never)), 'peer', 'nets');
    // A kernel that echoes the create (the request's own bytes stand in for it): no read-back.
    expect(drive(linkOps.add({ name: 'br0', kind: 'bridge', stp: true, mtu: 1400 }), (r) => [r]).requests).toHaveLength(1);
  });
});
