// Attach enslaves the host end to the network's bridge as it is now, looked up
// by name in the same sendmsg as the veth is created: a bridge reconcile()
// re-made gets the port, and a link of another kind that took the bridge's
// name is never made a master (the attach is refused with a ForeignBridgeError
// and undone, its namespace included). A bridge someone made under the name:
// network-attach-foreign-bridge.test.ts.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, ForeignBridgeError, NETNS_RUN_DIR } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

describe('attach: the bridge is looked up with the veth add, never assumed', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let stateDir: string;
  const sandboxes = [uniqueNetnsName('b1'), uniqueNetnsName('b2')];
  const hostLinks = () => ipJson(box.ns('host'), 'link', 'show') as Array<{ ifname: string; ifindex: number; master?: string }>;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'brx', subnet: '10.89.0.0/24' });
  });
  afterAll(async () => {
    await nets?.delete('brx').catch(() => undefined);
    nets?.close();
    for (const s of sandboxes) await deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('enslaves the port to a bridge reconcile() re-made since the last attach', async () => {
    await nets.attach('brx', { sandbox: sandboxes[0], create: true });
    const before = hostLinks().find((l) => l.ifname === 'nlk-brx');
    const h = box.h('host');
    await h.links.delete('nlk-brx');
    await nets.reconcile();
    const after = hostLinks().find((l) => l.ifname === 'nlk-brx');
    expect(after?.ifindex).not.toBe(before?.ifindex);
    const a = await nets.attach('brx', { sandbox: sandboxes[1], create: true });
    const port = hostLinks().find((l) => l.ifname === a.hostIfname);
    expect(port?.master).toBe('nlk-brx');
    await nets.detach('brx', [sandboxes[0], sandboxes[1]], { missingOk: true });
  });

  it("refuses a link of another kind under the bridge's name, leaving no veth and no lease", async () => {
    const h = box.h('host');
    await h.links.delete('nlk-brx');
    await h.links.add({ name: 'nlk-brx', kind: 'veth', peer: { name: 'nlk-brx-p' } });
    const err = await nets.attach('brx', { sandbox: sandboxes[0], create: true, ip: '10.89.0.40' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignBridgeError);
    expect(err).toMatchObject({ network: 'brx', bridge: 'nlk-brx' });
    expect((err as Error).message).toMatch(/nlk-brx \(index \d+\) is a veth, not nlkit's bridge/);
    // Nothing enslaved to the impostor, no host end left, nothing in the sandbox, nothing recorded.
    const links = hostLinks();
    expect(links.filter((l) => l.master === 'nlk-brx')).toEqual([]);
    expect(links.map((l) => l.ifname).sort()).toEqual(['lo', 'nlk-brx', 'nlk-brx-p']);
    expect(fs.existsSync(path.join(NETNS_RUN_DIR, sandboxes[0]))).toBe(false); // the namespace attach made is gone too
    expect((await nets.get('brx')).attachments).toEqual([]);
    // With the bridge back the sandbox gets the address it asked for: the failed attempt's lease was released.
    await h.links.delete('nlk-brx');
    await nets.reconcile();
    const a = await nets.attach('brx', { sandbox: sandboxes[0], create: true, ip: '10.89.0.40' });
    expect(a.ipv4).toBe('10.89.0.40/24');
    expect(hostLinks().find((l) => l.ifname === a.hostIfname)?.master).toBe('nlk-brx');
    await nets.detach('brx', sandboxes[0], { missingOk: true });
  });

  it("refuses another bridge that carries the bridge's name as an altname", async () => {
    const h = box.h('host');
    await h.links.delete('nlk-brx');
    await h.links.add({ name: 'nlk-imp', kind: 'bridge', up: true });
    execFileSync('ip', ['-n', box.ns('host'), 'link', 'property', 'add', 'dev', 'nlk-imp', 'altname', 'nlk-brx']);
    // The kernel resolves the network's bridge name to the impostor (what the attach's lookup asks).
    expect((await h.links.get('nlk-brx')).name).toBe('nlk-imp');
    const err = await nets.attach('brx', { sandbox: sandboxes[1], create: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignBridgeError);
    expect((err as Error).message).toMatch(/nlk-imp \(index \d+\) carries the name as an altname/);
    const links = hostLinks();
    expect(links.filter((l) => l.master === 'nlk-imp')).toEqual([]);
    expect(links.map((l) => l.ifname).sort()).toEqual(['lo', 'nlk-imp']);
    expect(fs.existsSync(path.join(NETNS_RUN_DIR, sandboxes[1]))).toBe(false);
    expect((await nets.get('brx')).attachments).toEqual([]);
    await h.links.delete('nlk-imp');
    await nets.reconcile();
  });
});
