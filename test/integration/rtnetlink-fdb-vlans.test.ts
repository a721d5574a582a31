// FDB entries with a VLAN (NDA_VLAN, a u16). This kernel has no bridge VLAN
// filtering (`ip link add type bridge vlan_filtering 1` is refused), so no
// entry with a VLAN can be made here: nlkit's requests are compared byte for
// byte with what `bridge fdb add|replace|del ... vlan N` sends
// (test/fixtures/bridge/fdb-requests.json, captured under strace by
// test/fixtures/capture-ip-requests.mjs), the kernel is shown to refuse
// nlkit's and bridge's alike on a port of a bridge, and a listed entry is
// decoded from a reply written as the kernel writes it, then written back
// with its VLAN.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fdbOps, NetlinkError, ValidationError } from '../../lib';
import * as C from '../../lib/rtnetlink/constants';
import type { Operation } from '../../lib/netlink/operation';
import { parseMessages } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { decodeFdbEntry } from '../../lib/rtnetlink/fdb';
import { ndmsg } from '../../lib/rtnetlink/neighbour';
import { ip, useNetns } from '../helpers/netns';
import { asCaptured, requestOf } from '../helpers/request-of';

interface Case {
  name: string;
  request: string;
  messageType?: number;
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/bridge/fdb-requests.json'), 'utf8')) as { cases: Case[]; messageType: number };

/** nlkit's operation for each captured `bridge fdb` command. */
const FDB_CASES: Record<string, Operation<unknown>> = {
  'add-self-static-vlan': fdbOps.add({ mac: '02:00:00:00:0f:01', link: 'lo', self: true, state: 'static', vlan: 10 }),
  // `master` is what `bridge fdb ... master` sends (NTF_MASTER on the port itself)
  'add-master-vlan-top': fdbOps.add({ mac: '02:00:00:00:0f:02', link: 'lo', master: true, state: 'static', vlan: 4094 }),
  'replace-dynamic-vlan': fdbOps.replace({ mac: '02:00:00:00:0f:03', link: 1, state: 'dynamic', vlan: 1 }),
  'del-vlan': fdbOps.delete({ mac: '02:00:00:00:0f:01', link: 'lo', vlan: 20 }),
  'del-master-vlan': fdbOps.delete({ mac: '02:00:00:00:0f:02', link: 'lo', master: true, vlan: 300 }),
};

/** ndm_state of a delete: `bridge fdb del` sends NUD_NOARP|NUD_PERMANENT, nlkit 0; the kernel reads no state on a delete. */
function stateCleared(request: Buffer, messageType: number): Buffer {
  if (messageType === C.RTM_DELNEIGH) request.writeUInt16LE(0, 16 + 8);
  return request;
}

describe('fdb entries with a VLAN', () => {
  const box = useNetns('fv');

  it('every captured command has an nlkit operation', () => {
    expect(fixture.cases.map((c) => c.name).sort()).toEqual(Object.keys(FDB_CASES).sort());
  });

  for (const c of fixture.cases) {
    it(`sends what bridge fdb sends: ${c.name}`, async () => {
      const type = c.messageType ?? fixture.messageType;
      const ours = asCaptured(await box.h('fv').run(requestOf(type, FDB_CASES[c.name])));
      expect(stateCleared(ours, type).toString('hex')).toBe(stateCleared(Buffer.from(c.request, 'hex'), type).toString('hex'));
    });
  }

  it("the kernel here refuses an entry with a VLAN on a bridge's port as it refuses bridge fdb's (EINVAL), and none is made", async () => {
    const ns = box.ns('fv');
    const h = box.h('fv');
    ip(ns, 'link', 'add', 'br0', 'type', 'bridge');
    ip(ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    ip(ns, 'link', 'set', 'p0', 'master', 'br0');
    const mac = '02:00:00:00:0f:04';
    const theirs = spawnSync('bridge', ['-n', ns, 'fdb', 'add', mac, 'dev', 'p0', 'master', 'static', 'vlan', '10'], { encoding: 'utf8' });
    expect(theirs.status).not.toBe(0);
    expect(theirs.stderr).toMatch(/Invalid argument/);
    const e = await h.fdb.add({ mac, link: 'p0', bridge: 'br0', state: 'static', vlan: 10 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).code).toBe('EINVAL');
    expect(String(e)).toContain(`add fdb entry ${mac} on p0`);
    // Without a VLAN the same entry is made: the refusal is the VLAN's.
    await h.fdb.add({ mac, link: 'p0', bridge: 'br0', state: 'static' });
    const rows = JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'p0'], { encoding: 'utf8' })) as Array<{
      mac: string;
      vlan?: number;
    }>;
    expect(rows.filter((r) => r.mac === mac)).toEqual([expect.not.objectContaining({ vlan: expect.anything() })]);
    expect((await h.fdb.list({ link: 'p0' })).filter((x) => x.mac === mac).map((x) => x.vlan)).toEqual([undefined]);
    expect(await h.fdb.find({ mac, link: 'p0', bridge: 'br0', vlan: 10 })).toBeUndefined();
  });

  it('decodes the VLAN of a listed entry (a u16, up to 4094), which a write-back and a delete of it send again', async () => {
    const w = new NetlinkWriter().begin(C.RTM_NEWNEIGH, 2);
    ndmsg(w, C.AF_BRIDGE, 1, C.NUD_NOARP | C.NUD_REACHABLE, C.NTF_MASTER);
    w.attr(C.NDA_LLADDR, Buffer.from([2, 0, 0, 0, 0x0f, 5]));
    w.u16(C.NDA_VLAN, 4094);
    w.u32(C.NDA_MASTER, 1);
    const [m] = parseMessages(w.end().finish());
    const e = decodeFdbEntry(m);
    expect(e).toMatchObject({ mac: '02:00:00:00:0f:05', link: 1, bridge: 1, vlan: 4094, state: 'static', unknownAttributes: [] });
    const vlanAttr = '06000500fe0f0000'; // nla_len 6, NDA_VLAN, 4094 in host order, padded
    const h = box.h('fv');
    expect((await h.run(requestOf(C.RTM_NEWNEIGH, fdbOps.replace(e)))).toString('hex')).toContain(vlanAttr);
    expect((await h.run(requestOf(C.RTM_DELNEIGH, fdbOps.delete(e)))).toString('hex')).toContain(vlanAttr);
    // Not a VLAN: refused before anything is sent.
    for (const vlan of [0, 4095, 1.5]) {
      await expect(h.fdb.add({ mac: '02:00:00:00:0f:06', link: 'lo', vlan })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
