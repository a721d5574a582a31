// reconcile()'s reattach of a sandbox that lost its veth: when the rebuild
// fails halfway (here the sandbox refuses the IPv6 address: IPv6 is disabled
// for its new interfaces), what the reattach made is undone (the new veth pair),
// the attachment stays recorded, and check() still reports it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ip, ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

describe('network manager: a reattach that fails halfway', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let stateDir: string;
  const sb = uniqueNetnsName('ra');

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-ra-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'ra', subnet: '10.67.0.0/24', subnet6: 'fd00:67::/64' });
    await nets.attach('ra', { sandbox: sb, create: true });
  });
  afterAll(async () => {
    await nets?.delete('ra').catch(() => undefined);
    nets?.close();
    await deleteNetns(sb, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('leaves no new veth behind and keeps the attachment for the next reconcile', async () => {
    const att = (await nets.state()).attachments.ra[sb];
    ip(box.ns('host'), 'link', 'del', att.hostIfname); // the pair goes (its sandbox end with it)
    // New interfaces in the sandbox get IPv6 disabled: the reattach's IPv6 address is refused.
    execFileSync('ip', ['netns', 'exec', sb, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    expect((await nets.check()).map((d) => d.kind)).toEqual(['veth-missing']);

    await expect(nets.reconcile()).rejects.toThrow();
    const hostLinks = ipJson(box.ns('host'), 'link', 'show').map((l: { ifname: string }) => l.ifname);
    expect(hostLinks).not.toContain(att.hostIfname);
    expect(ipJson(sb, 'link', 'show').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
    expect(Object.keys((await nets.state()).attachments.ra)).toEqual([sb]);
    expect((await nets.check()).map((d) => d.kind)).toEqual(['veth-missing']);
  });
});
