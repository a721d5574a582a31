// Bridge port VLANs (h.bridgeVlans) and the multicast database (h.mdb).
//
// VLANs by bytes: this kernel is built without bridge VLAN filtering (`ip
// link add type bridge vlan_filtering 1` and `bridge vlan add` say "Operation
// not supported"), so nlkit's requests are compared byte for byte with what
// `bridge vlan ...` sends (test/fixtures/bridge/bridge-requests.json,
// captured under strace by test/fixtures/capture-ip-requests.mjs), the kernel
// is shown to refuse both alike, and listing is decoded from a reply written
// as the kernel writes it. MDB against the kernel: entries added by nlkit
// read back through `bridge -j mdb show` and the other way round; its
// requests are compared with `bridge mdb`'s bytes too.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bridgeVlanOps, mdbOps, NetlinkError, NotFoundError, ValidationError } from '../../lib';
import type { Operation } from '../../lib/netlink/operation';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { parseMessages } from '../../lib/netlink/parser';
import { decodeBridgeVlans } from '../../lib/rtnetlink/bridge-vlan';
import { useNetns } from '../helpers/netns';
import { asCaptured, requestOf } from '../helpers/request-of';

interface Case {
  name: string;
  request: string;
  messageType?: number;
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/bridge/bridge-requests.json'), 'utf8')) as { cases: Case[]; messageType: number };

/** nlkit's operation for each captured `bridge vlan` / `bridge mdb` command. */
const VLAN_CASES: Record<string, Operation<unknown>> = {
  'add-pvid-untagged': bridgeVlanOps.add({ link: 'lo', vid: 10, pvid: true, untagged: true }),
  'add-range-master': bridgeVlanOps.add({ link: 'lo', vid: 20, vidEnd: 25, master: true }),
  'add-range-untagged': bridgeVlanOps.add({ link: 'lo', vid: 30, vidEnd: 32, untagged: true }),
  'add-self': bridgeVlanOps.add({ link: 'lo', vid: 10, self: true }),
  'add-self-master-untagged': bridgeVlanOps.add({ link: 1, vid: 4094, untagged: true, self: true, master: true }),
  del: bridgeVlanOps.delete({ link: 'lo', vid: 10 }),
  // a listed entry's flags do not change what is deleted
  'del-range-self': bridgeVlanOps.delete({ link: 'lo', vid: 20, vidEnd: 25, self: true, pvid: false, untagged: true, linkName: 'lo' }),
  show: bridgeVlanOps.list(),
  'mdb-add-permanent': mdbOps.add({ bridge: 'lo', port: 'lo', group: '239.1.1.1', state: 'permanent' }),
  'mdb-add-temp-vid': mdbOps.add({ bridge: 'lo', port: 1, group: 'ff0e::1', vid: 5 }),
  'mdb-add-mac': mdbOps.add({ bridge: 1, port: 'lo', group: '01:00:5e:01:01:05', state: 'permanent' }),
  'mdb-del': mdbOps.delete({ bridge: 'lo', port: 'lo', group: '239.1.1.1', state: 'temp', flags: [], protocol: 4, timer: 0 }),
  'mdb-show': mdbOps.list(),
};

describe('bridge VLANs and MDB by bytes: nlkit sends what bridge vlan / bridge mdb send', () => {
  const box = useNetns('bv');

  it('every captured command has an nlkit operation', () => {
    expect(fixture.cases.map((c) => c.name).sort()).toEqual(Object.keys(VLAN_CASES).sort());
  });

  for (const c of fixture.cases) {
    it(`${c.name}`, async () => {
      const theirs = Buffer.from(c.request, 'hex');
      const ours = asCaptured(await box.h('bv').run(requestOf(c.messageType ?? fixture.messageType, VLAN_CASES[c.name])));
      expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    });
  }

  it('the kernel here refuses VLANs as it refuses bridge (no VLAN filtering), and a listing has none', async () => {
    const h = box.h('bv');
    await h.links.add({ name: 'br0', kind: 'bridge' });
    await h.links.add({ name: 'p0', kind: 'veth', peer: { name: 'p1' }, master: 'br0' });
    const e = await h.bridgeVlans.add({ link: 'p0', vid: 10, pvid: true, untagged: true }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).code).toBe('EOPNOTSUPP');
    expect(String(e)).toContain('add bridge vlan 10 on p0');
    await expect(h.links.set('br0', { bridge: { vlanFiltering: true } })).rejects.toThrow(NetlinkError);
    expect(await h.bridgeVlans.list()).toEqual([]);
    expect(await h.bridgeVlans.find({ link: 'p0', vid: 10 })).toBeUndefined();
    await expect(h.bridgeVlans.get({ link: 'p0', vid: 10 })).rejects.toThrow(NotFoundError);
    expect(await h.bridgeVlans.find({ link: 'nope', vid: 10 })).toBeUndefined();
    expect(await h.bridgeVlans.delete({ link: 'nope', vid: 10 }, { missingOk: true })).toBe(false);
  });

  it('decodes a listing as the kernel writes it (one entry per VLAN, or a compressed range)', () => {
    const w = new NetlinkWriter().begin(16, 2);
    const off = w.struct(16);
    w.view.writeUInt8(7, off); // AF_BRIDGE
    w.view.writeInt32LE(4, off + 4);
    w.u32(10, 2); // IFLA_MASTER
    const spec = w.nest(26);
    const info = (flags: number, vid: number) => Buffer.from([flags & 0xff, flags >> 8, vid & 0xff, vid >> 8]);
    w.attr(2, info(2 | 4, 1)); // pvid untagged
    w.attr(2, info(4 | 8, 20)); // untagged, range begin
    w.attr(2, info(4 | 16, 25)); // range end
    w.attr(2, info(0, 100));
    w.endNest(spec);
    const [m] = parseMessages(w.end().finish());
    expect(decodeBridgeVlans(m)).toEqual([
      { link: 4, vid: 1, pvid: true, untagged: true },
      { link: 4, vid: 20, vidEnd: 25, pvid: false, untagged: true },
      { link: 4, vid: 100, pvid: false, untagged: false },
    ]);
  });

  it('refuses bad keys and options before sending (ValidationError naming the field)', async () => {
    const h = box.h('bv');
    const bad: Array<[() => Promise<unknown>, string]> = [
      [() => h.bridgeVlans.add({ link: 'p0', vid: 0 }), 'vid'],
      [() => h.bridgeVlans.add({ link: 'p0', vid: 4095 }), 'vid'],
      [() => h.bridgeVlans.add({ link: 'p0', vid: 10, vidEnd: 5 }), 'vidEnd'],
      [() => h.bridgeVlans.add({ link: 'p0', vid: 10, vidEnd: 12, pvid: true }), 'pvid'],
      [() => h.bridgeVlans.add({ link: 'p0', vid: 10, untagged: 'yes' as never }), 'untagged'],
      [() => h.bridgeVlans.add({ link: 'p0', vid: 10, tagged: true } as never), 'bridge vlan options'],
      [() => h.bridgeVlans.delete({ link: 'p0', vid: 1.5 }), 'vid'],
      [() => h.bridgeVlans.list({ port: 'p0' } as never), 'bridge vlan filter'],
    ];
    for (const [call, field] of bad) {
      const e = await call().catch((x: unknown) => x);
      expect(e, field).toBeInstanceOf(ValidationError);
      expect(String(e), field).toContain(field);
    }
  });
});

/** `bridge -j -d mdb show` in a namespace, the entries added by hand: [group, port, state, vid]. */
function bridgeMdb(ns: string): Array<[string, string, string, number | undefined]> {
  const out = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, 'bridge', '-j', '-d', 'mdb', 'show'], { encoding: 'utf8' })) as Array<{
    mdb: Array<{ grp: string; port: string; state: string; vid?: number; protocol?: string }>;
  }>;
  return out
    .flatMap((b) => b.mdb)
    .filter((e) => e.protocol === 'static')
    .map((e): [string, string, string, number | undefined] => [e.grp, e.port, e.state, e.vid])
    .sort();
}

describe('bridge multicast database (against the kernel)', () => {
  const box = useNetns('mdb');

  it('adds, lists, gets and deletes entries; bridge mdb reads the same, and nlkit reads what bridge added', async () => {
    const h = box.h('mdb');
    const ns = box.ns('mdb');
    await h.links.add({ name: 'br0', kind: 'bridge' });
    await h.links.add({ name: 'p0', kind: 'veth', peer: { name: 'p1' }, master: 'br0' });
    for (const l of ['br0', 'p0', 'p1']) await h.links.set(l, { up: true });
    await h.mdb.add({ bridge: 'br0', port: 'p0', group: '239.1.1.1', state: 'permanent' });
    await h.mdb.add({ bridge: 'br0', port: 'p0', group: 'ff0e::1', state: 'permanent' });
    await h.mdb.add({ bridge: 'br0', port: 'p0', group: '01:00:5e:01:01:05', state: 'permanent' });
    await h.mdb.add({ bridge: 'br0', port: 'p0', group: '239.1.1.2', vid: 5 });
    // foreign state: an entry bridge(8) adds
    execFileSync('ip', ['netns', 'exec', ns, 'bridge', 'mdb', 'add', 'dev', 'br0', 'port', 'p0', 'grp', '239.9.9.9', 'permanent']);
    expect(bridgeMdb(ns)).toEqual([
      ['01:00:5e:01:01:05', 'p0', 'permanent', undefined],
      ['239.1.1.1', 'p0', 'permanent', undefined],
      ['239.1.1.2', 'p0', 'temp', 5],
      ['239.9.9.9', 'p0', 'permanent', undefined],
      ['ff0e::1', 'p0', 'permanent', undefined],
    ]);
    const listed = (await h.mdb.list({ bridge: 'br0', port: 'p0' })).filter((e) => e.protocol === 4);
    expect(listed.map((e) => [e.group, e.portName, e.state, e.vid]).sort()).toEqual(bridgeMdb(ns));
    expect(listed.every((e) => e.bridgeName === 'br0')).toBe(true);
    expect(await h.mdb.get({ bridge: 'br0', port: 'p0', group: '239.1.1.2', vid: 5 })).toMatchObject({ state: 'temp', vid: 5, flags: [] });
    expect(await h.mdb.find({ bridge: 'br0', port: 'p0', group: '239.1.1.2' })).toBeUndefined(); // no vid: another entry
    await expect(h.mdb.add({ bridge: 'br0', port: 'p0', group: '239.1.1.1', state: 'permanent' })).rejects.toMatchObject({ code: 'EEXIST' });

    // a listed entry is a key
    const foreign = listed.find((e) => e.group === '239.9.9.9')!;
    expect(await h.mdb.delete(foreign)).toBe(true);
    expect(await h.mdb.delete({ bridge: 'br0', port: 'p0', group: 'ff0e::1' })).toBe(true);
    expect(bridgeMdb(ns).map((e) => e[0])).toEqual(['01:00:5e:01:01:05', '239.1.1.1', '239.1.1.2']);
    await expect(h.mdb.delete({ bridge: 'br0', port: 'p0', group: 'ff0e::1' })).rejects.toThrow(NotFoundError);
    expect(await h.mdb.delete({ bridge: 'br0', port: 'p0', group: 'ff0e::1' }, { missingOk: true })).toBe(false);
    expect(await h.mdb.delete({ bridge: 'nope', port: 'p0', group: 'ff0e::1' }, { missingOk: true })).toBe(false);
    expect(await h.mdb.list({ bridge: 'br0', vid: 5 })).toMatchObject([{ group: '239.1.1.2' }]);
  });

  it('refuses bad entries before sending (ValidationError naming the field)', async () => {
    const h = box.h('mdb');
    const bad: Array<[() => Promise<unknown>, string]> = [
      [() => h.mdb.add({ bridge: 'br0', port: 'p0', group: '10.0.0.1' }), 'group'],
      [() => h.mdb.add({ bridge: 'br0', port: 'p0', group: '02:00:00:00:00:01' }), 'group'],
      [() => h.mdb.add({ bridge: 'br0', port: 'p0', group: 'x' }), 'group'],
      [() => h.mdb.add({ bridge: 'br0', port: 'p0', group: '239.1.1.1', vid: 4095 }), 'vid'],
      [() => h.mdb.add({ bridge: 'br0', port: 'p0', group: '239.1.1.1', state: 'static' as never }), 'state'],
      [() => h.mdb.add({ bridge: 'br0', group: '239.1.1.1' } as never), 'port'],
      [() => h.mdb.add({ bridge: 'br0', port: 'p0', group: '239.1.1.1', grp: 1 } as never), 'mdb entry options'],
      [() => h.mdb.list({ dev: 'br0' } as never), 'mdb filter'],
    ];
    for (const [call, field] of bad) {
      const e = await call().catch((x: unknown) => x);
      expect(e, field).toBeInstanceOf(ValidationError);
      expect(String(e), field).toContain(field);
    }
  });
});
