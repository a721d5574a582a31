// The bridge has a MAC of its own: it does not follow its lowest port's, so a
// sandbox detaching does not change the gateway MAC the others have cached.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, listenTcp, type TcpServer } from '../../lib';
import { networks, type Attachment, type NetworkManager } from '../../lib/network/manager';
import { ip, ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

describe('network manager: the bridge MAC', () => {
  const box = useNetns('host');
  const sandboxes = [uniqueNetnsName('mac1'), uniqueNetnsName('mac2')];
  let stateDir: string;
  let nets: NetworkManager;
  let server: TcpServer;
  const bridgeMac = (): string => ipJson(box.ns('host'), 'link', 'show', 'nlk-mac')[0].address;
  const gatewayNeighbour = (netns: string): { lladdr?: string; state?: string[] } | undefined => ipJson(netns, 'neigh', 'show', '10.52.0.1', 'dev', 'eth0')[0];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-mac-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    server = await listenTcp({ netns: box.ns('host'), host: '0.0.0.0', port: 7100 }, (s) => s.end('gw'));
  });
  afterAll(async () => {
    server?.close();
    await nets?.delete('mac').catch(() => undefined);
    nets?.close();
    for (const s of sandboxes) await deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('keeps the bridge MAC when the port with the lowest MAC leaves, and the survivor keeps its gateway entry', async () => {
    const rec = await nets.create({ name: 'mac', subnet: '10.52.0.0/24' });
    expect(rec.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(parseInt(rec.mac?.slice(0, 2) ?? '', 16) & 0x03).toBe(0x02); // locally administered unicast
    expect(bridgeMac()).toBe(rec.mac);

    const atts: Attachment[] = [];
    for (const s of sandboxes) atts.push(await nets.attach('mac', { sandbox: s, create: true }));
    // Both reach the gateway: their neighbour tables now hold the bridge's MAC.
    for (const s of sandboxes) expect(await hello(s, '10.52.0.1', 7100)).toBe('gw');
    expect(bridgeMac()).toBe(rec.mac);

    // The sandbox whose host veth has the lowest MAC: the one an unconfigured bridge would copy.
    const hostMac = (a: Attachment): string => ipJson(box.ns('host'), 'link', 'show', a.hostIfname)[0].address;
    const [lowest, survivor] = [...atts].sort((a, b) => hostMac(a).localeCompare(hostMac(b)));
    const sandboxOf = (a: Attachment) => sandboxes[atts.indexOf(a)];
    expect(gatewayNeighbour(sandboxOf(survivor))?.lladdr).toBe(rec.mac);

    await nets.detach('mac', sandboxOf(lowest));
    expect(bridgeMac()).toBe(rec.mac);
    // The survivor's cached entry is still right (no new ARP needed), and traffic flows.
    expect(gatewayNeighbour(sandboxOf(survivor))?.lladdr).toBe(rec.mac);
    expect(await hello(sandboxOf(survivor), '10.52.0.1', 7100)).toBe('gw');
  });

  it('restores the recorded MAC when reconcile rebuilds the bridge', async () => {
    const { mac } = await nets.get('mac');
    ip(box.ns('host'), 'link', 'del', 'nlk-mac');
    expect((await nets.check()).map((d) => d.kind)).toContain('bridge-missing');
    await nets.reconcile();
    expect(bridgeMac()).toBe(mac);
    expect(await nets.check()).toEqual([]);
  });
});
