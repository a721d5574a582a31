// The kernel's lookup of a link by name matches altnames too. Once a network's bridge is gone, another
// link that carries the bridge's name as an altname is not the network's: delete() and reconcile() leave
// it alone (never deleted, brought up or given the gateway), and so does the recovery of a dead attach
// for a host veth's name. A leftover of this state directory carrying it is one reconcile() deletes
// anyway: it goes first, and the bridge is rebuilt.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { bridgeMark, ownerTag } from '../../lib/network/names';
import { ipJson, useNetns } from '../helpers/netns';

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

  it('reconcile() refuses to rebuild the bridge onto it: not brought up, no gateway address', async () => {
    await nets.create({ name: 'altb', subnet: '10.92.1.0/24' });
    const h = box.h('host');
    await h.links.delete('nlk-altb');
    await h.links.add({ name: 'other-b', kind: 'bridge' });
    altname('other-b', 'nlk-altb');
    const index = (await h.links.get('other-b')).index;
    const err = await nets.reconcile().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'bridge', value: 'nlk-altb' });
    expect((err as Error).message).toContain(`is an altname of other-b (index ${index}, bridge), which nlkit did not make (alias "")`);
    const other = link('other-b');
    expect(other?.flags).not.toContain('UP');
    expect(other?.addr_info.map((a) => a.local)).toEqual([]);
    // With the altname gone, reconcile makes the bridge again.
    execFileSync('ip', ['-n', box.ns('host'), 'link', 'property', 'del', 'dev', 'other-b', 'altname', 'nlk-altb']);
    await nets.reconcile();
    expect(link('nlk-altb')?.addr_info.map((a) => a.local)).toEqual(['10.92.1.1']);
    await nets.delete('altb');
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

  it("reconcile() does not delete another network's bridge carrying the name; the error says whose it is", async () => {
    await nets.create({ name: 'altd', subnet: '10.92.3.0/24' });
    await nets.create({ name: 'alte', subnet: '10.92.4.0/24' });
    const h = box.h('host');
    await h.links.delete('nlk-altd');
    altname('nlk-alte', 'nlk-altd');
    const index = (await h.links.get('nlk-alte')).index;
    const err = await nets.reconcile().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain(`is an altname of nlk-alte (index ${index}, bridge), network alte's bridge`);
    expect(link('nlk-alte')?.addr_info.map((a) => a.local)).toEqual(['10.92.4.1']);
    execFileSync('ip', ['-n', box.ns('host'), 'link', 'property', 'del', 'dev', 'nlk-alte', 'altname', 'nlk-altd']);
    await nets.reconcile();
    expect(link('nlk-altd')?.addr_info.map((a) => a.local)).toEqual(['10.92.3.1']);
    await nets.delete('altd');
    await nets.delete('alte');
  });
});
