// The kernel's lookup of a link by name matches altnames too. Once a network's bridge is gone, another
// link that carries the bridge's name as an altname is not the network's: delete() and reconcile() leave
// it alone (never deleted, brought up or given the gateway; check() and reconcile() report it as
// bridge-foreign and go on with the other networks), and so does the recovery of a dead attach
// for a host veth's name. A leftover of this state directory carrying it is one reconcile() deletes
// anyway: it goes first, and the bridge is rebuilt.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { bridgeMark, ownerTag } from '../../lib/network/names';
import { ipJson, useNetns } from '../helpers/netns';
import { warningsDuring } from '../helpers/reconcile-context';

describe("a link carrying a network's bridge name as an altname is not its bridge", () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let stateDir: string;
  const altname = (dev: string, name: string) => execFileSync('ip', ['-n', box.ns('host'), 'link', 'property', 'add', 'dev', dev, 'altname', name]);
  const link = (name: string) =>
    (ipJson(box.ns('host'), 'addr', 'show') as Array<{ ifname: string; operstate: string; flags: string[]; addr_info: Array<{ local: string }> }>).find(
      (l) => l.ifname === name,
    );

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
    nets = await networks({ host: box.ns('host'), stateDir });
  });
  afterAll(async () => {
    nets?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('delete() leaves the other link alone', async () => {
    await nets.create({ name: 'alta', subnet: '10.92.0.0/24' });
    const h = box.h('host');
    await h.links.delete('nlk-alta');
    await h.links.add({ name: 'other-a', kind: 'bridge' });
    altname('other-a', 'nlk-alta');
    expect(await nets.delete('alta')).toBe(true);
    expect(link('other-a')).toBeDefined();
    expect(await nets.list()).toEqual([]);
    await h.links.delete('other-a');
  });

  it('reconcile() leaves it (not brought up, no gateway address), reports it as bridge-foreign and repairs the other networks', async () => {
    await nets.create({ name: 'altb', subnet: '10.92.1.0/24' });
    await nets.create({ name: 'altf', subnet: '10.92.5.0/24' });
    const h = box.h('host');
    await h.links.delete('nlk-altb');
    await h.links.add({ name: 'other-b', kind: 'bridge' });
    altname('other-b', 'nlk-altb');
    await h.links.set('nlk-altf', { up: false });
    const index = (await h.links.get('other-b')).index;
    const why = `other-b (index ${index}, bridge) carries the name as an altname; nlkit did not make it (alias "")`;
    const checked = await nets.check();
    expect(checked.filter((d) => d.network === 'altb')).toEqual([
      { network: 'altb', kind: 'bridge-foreign', link: 'nlk-altb', detail: `${why}: remove the altname (reconcile leaves it alone)` },
    ]);
    let drift: Awaited<ReturnType<NetworkManager['reconcile']>> = [];
    const warnings = await warningsDuring(async () => {
      drift = await nets.reconcile();
    });
    expect(drift.map((d) => `${d.network} ${d.kind}`).sort()).toEqual(['altb bridge-foreign', 'altf bridge-down']);
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toEqual(['NLKIT_FOREIGN_LINK_LEFT']);
    expect(warnings[0].message).toContain(`nlk-altb, network altb's bridge name, reaches a link nlkit left untouched: ${why}`);
    const other = link('other-b');
    expect(other?.flags).not.toContain('UP');
    expect(other?.addr_info.map((a) => a.local)).toEqual([]);
    // The other network was repaired in the same call.
    expect(link('nlk-altf')?.flags).toContain('UP');
    expect((await nets.check()).map((d) => `${d.network} ${d.kind}`)).toEqual(['altb bridge-foreign']);
    // With the altname gone, reconcile makes the bridge again.
    execFileSync('ip', ['-n', box.ns('host'), 'link', 'property', 'del', 'dev', 'other-b', 'altname', 'nlk-altb']);
    expect((await nets.reconcile()).map((d) => d.kind)).toEqual(['bridge-missing']);
    expect(link('nlk-altb')?.addr_info.map((a) => a.local)).toEqual(['10.92.1.1']);
    expect(await nets.check()).toEqual([]);
    await nets.delete('altb');
    await nets.delete('altf');
    await h.links.delete('other-b');
  });

  it('reconcile() deletes a leftover of this state directory carrying the name first, then rebuilds the bridge', async () => {
    await nets.create({ name: 'altc', subnet: '10.92.2.0/24' });
    const h = box.h('host');
    await h.links.delete('nlk-altc');
    // A lost network's bridge (this state directory's mark, a network no longer recorded).
    await h.links.add({ name: 'nlk-lost', kind: 'bridge' });
    await h.links.set('nlk-lost', { alias: bridgeMark(ownerTag(fs.realpathSync(stateDir)), 'lost') });
    altname('nlk-lost', 'nlk-altc');
    const drift = await nets.reconcile();
    expect(drift.map((d) => d.kind)).toEqual(expect.arrayContaining(['bridge-missing', 'leftover-bridge']));
    expect(link('nlk-lost')).toBeUndefined();
    expect(link('nlk-altc')?.addr_info.map((a) => a.local)).toEqual(['10.92.2.1']);
    expect(await nets.check()).toEqual([]);
    await nets.delete('altc');
  });

  it("reconcile() does not delete another network's bridge carrying the name; the drift says whose it is", async () => {
    await nets.create({ name: 'altd', subnet: '10.92.3.0/24' });
    await nets.create({ name: 'alte', subnet: '10.92.4.0/24' });
    const h = box.h('host');
    await h.links.delete('nlk-altd');
    altname('nlk-alte', 'nlk-altd');
    const index = (await h.links.get('nlk-alte')).index;
    const drift = await nets.reconcile();
    expect(drift).toEqual([
      {
        network: 'altd',
        kind: 'bridge-foreign',
        link: 'nlk-altd',
        detail: `nlk-alte (index ${index}, bridge) carries the name as an altname; it is network alte's bridge: remove the altname (reconcile leaves it alone)`,
      },
    ]);
    expect(link('nlk-alte')?.addr_info.map((a) => a.local)).toEqual(['10.92.4.1']);
    execFileSync('ip', ['-n', box.ns('host'), 'link', 'property', 'del', 'dev', 'nlk-alte', 'altname', 'nlk-altd']);
    await nets.reconcile();
    expect(link('nlk-altd')?.addr_info.map((a) => a.local)).toEqual(['10.92.3.1']);
    await nets.delete('altd');
    await nets.delete('alte');
  });
});
