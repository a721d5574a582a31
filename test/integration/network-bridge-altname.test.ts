// The kernel's lookup of a link by name matches altnames too. Once a network's bridge is gone, another
// link that carries the bridge's name as an altname is not the network's: delete() and reconcile() leave
// it alone (never deleted, brought up or given the gateway), and so does the recovery of a dead attach
// for a host veth's name.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
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
    const err = await nets.reconcile().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'bridge', value: 'nlk-altb' });
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
});
