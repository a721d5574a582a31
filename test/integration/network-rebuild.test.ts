// reconcile() rebuilding a network's missing bridge. A record of 0.1.0 has no MAC: the bridge is made with
// one recorded first (a bridge without one follows its lowest port's MAC), and a process that dies in between
// leaves the MAC recorded and no bridge; a 0.1.0 bridge still there (proven by its gateway) keeps the kernel's MAC
// and the record stays without one (network-reconcile-foreign-bridge.test.ts: one without the gateway is left). The gateway goes to the bridge found or made, by index: if the bridge is gone and another link
// carries its name as an altname by the time the address is given (the fault hook stops a reconcile there),
// that link gets nothing and the reconcile fails. Links are made and read back with `ip` in a test namespace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { networks } from '../../lib/network/manager';
import { bridgeMark, ownerTag } from '../../lib/network/names';
import { oldNetworkState } from '../helpers/old-network-state';
import { useForeignLinkHost } from '../helpers/foreign-links';
import { ipJson } from '../helpers/netns';
import { exitOf, runCrashFixture, waitUntilStopped } from '../helpers/stopped-child';

describe("reconcile() rebuilding a network's bridge", () => {
  const lab = useForeignLinkHost('t11', ['rx']);
  type IpLink = { ifname: string; ifindex: number; address: string; ifalias?: string; flags: string[] };
  const linkNamed = (name: string) => (ipJson(lab.host(), 'link', 'show') as IpLink[]).find((l) => l.ifname === name);
  const addressesOf = (name: string): string[] =>
    ((ipJson(lab.host(), '-4', 'address', 'show', 'dev', name) as Array<{ addr_info: Array<{ local: string }> }>)[0]?.addr_info ?? []).map((a) => a.local);

  /** A 0.1.0 state directory (no `mac`) with networks `t11-<name>` on 10.96.<third>.0/24; removed by the caller. */
  const oldState = (...nets: Array<{ name: string; third: number }>): string =>
    oldNetworkState(...nets.map(({ name, third }) => ({ name, bridge: `t11-${name}`, net24: `10.96.${third}`, group: 0x4e4c0000 + third })));
  /** The networks as the state file holds them now. */
  const recordedIn = (dir: string): Record<string, { mac?: string }> => JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).networks;
  /** A bridge as 0.1.0 made it (unmarked, the kernel's MAC), with the network's gateway. */
  const oldBridge = (name: string, gateway: string) => {
    lab.ipHost('link', 'add', name, 'up', 'type', 'bridge');
    lab.ipHost('address', 'add', gateway, 'dev', name);
  };

  it("gives a 0.1.0 network's rebuilt bridge a MAC, recorded in the state, that a port coming and going does not change", async () => {
    const dir = oldState({ name: 'o1', third: 1 }, { name: 'o2', third: 2 });
    oldBridge('t11-o1', '10.96.1.1/24');
    oldBridge('t11-o2', '10.96.2.1/24');
    lab.ipHost('link', 'del', 't11-o1'); // o1's bridge goes
    lab.ipHost('link', 'set', 't11-o2', 'down'); // o2's stays, down, with the gateway that proves it nlkit's
    const o2Mac = linkNamed('t11-o2')?.address;
    const old = await networks({ host: lab.host(), stateDir: dir });
    try {
      const bridgeDrift = (await old.check()).filter((d) => d.kind.startsWith('bridge-') || d.kind === 'gateway-missing');
      expect(bridgeDrift.map((d) => `${d.network}:${d.kind}`).sort()).toEqual(['o1:bridge-missing', 'o2:bridge-down']);
      await old.reconcile();

      const mac = recordedIn(dir).o1.mac;
      expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect((await old.get('o1')).mac).toBe(mac);
      expect(linkNamed('t11-o1')).toMatchObject({ address: mac, ifalias: bridgeMark(ownerTag(fs.realpathSync(dir)), 'o1') });
      expect(addressesOf('t11-o1')).toEqual(['10.96.1.1']);
      // A port with the lowest MAC there is comes and goes: a bridge without a MAC of its own would take it.
      lab.ipHost('link', 'add', 't11-p0', 'address', '00:00:00:00:00:01', 'type', 'veth', 'peer', 'name', 't11-p1');
      lab.ipHost('link', 'set', 't11-p0', 'master', 't11-o1', 'up');
      expect(linkNamed('t11-o1')?.address).toBe(mac);
      lab.ipHost('link', 'del', 't11-p0');
      expect(linkNamed('t11-o1')?.address).toBe(mac);

      // The bridge that was there is not re-made: its MAC stays the kernel's, and none is recorded for it.
      expect(linkNamed('t11-o2')?.address).toBe(o2Mac);
      expect(linkNamed('t11-o2')?.flags).toContain('UP');
      expect(addressesOf('t11-o2')).toEqual(['10.96.2.1']);
      expect(recordedIn(dir).o2.mac).toBeUndefined();
      expect(await old.check()).toEqual([]);
      expect(await old.delete('o1')).toBe(true);
      expect(await old.delete('o2')).toBe(true);
      expect(linkNamed('t11-o1')).toBeUndefined();
      expect(linkNamed('t11-o2')).toBeUndefined(); // still proven by its gateway
    } finally {
      old.close();
      for (const name of ['t11-o1', 't11-o2', 't11-p0']) if (linkNamed(name)) lab.ipHost('link', 'del', name);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // Killed (the fault hook) between recording the MAC and making the bridge: the MAC is in the state, no bridge
  // was made; the next reconcile makes it with that MAC.
  it('a reconcile killed after recording the MAC leaves no bridge; the next makes it with the recorded MAC', async () => {
    const dir = oldState({ name: 'o3', third: 3 });
    try {
      const run = await exitOf(runCrashFixture(lab.host(), dir, 'reconcile', 'unused', 'rebuildmac:1'));
      expect(run.status, run.stderr).toBeNull(); // killed by the hook
      const mac = recordedIn(dir).o3.mac;
      expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(linkNamed('t11-o3')).toBeUndefined();

      const old = await networks({ host: lab.host(), stateDir: dir });
      try {
        await old.reconcile();
        expect(linkNamed('t11-o3')?.address).toBe(mac);
        expect(recordedIn(dir).o3.mac).toBe(mac);
        expect(await old.delete('o3')).toBe(true);
      } finally {
        old.close();
      }
    } finally {
      if (linkNamed('t11-o3')) lab.ipHost('link', 'del', 't11-o3');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // A reconcile stopped (the fault hook's `:stop`) right after it made the missing bridge, or found the one that
  // lacks its gateway; meanwhile that bridge goes and another link takes its name as an altname. The address
  // request names the bridge by index: the other link gets no gateway, and the reconcile fails.
  it.each([
    ['made', () => lab.ipHost('link', 'del', 't11-rx')],
    ['found', () => lab.ipHost('address', 'del', '10.96.9.1/24', 'dev', 't11-rx')],
  ])('a bridge it %s, replaced by an altname holder before its gateway is given: that link gets nothing, reconcile fails', async (_, drift) => {
    await lab.nets.create({ name: 'rx', subnet: '10.96.9.0/24', bridge: 't11-rx' });
    drift();
    const child = runCrashFixture(lab.host(), lab.stateDir, 'reconcile', 'unused', 'rebuild:1:stop');
    const exited = exitOf(child);
    try {
      await waitUntilStopped(child.pid as number);
      expect(linkNamed('t11-rx')?.ifalias).toBe(bridgeMark(ownerTag(fs.realpathSync(lab.stateDir)), 'rx'));
      lab.ipHost('link', 'del', 't11-rx');
      lab.ipHost('link', 'add', 't11-fy', 'type', 'bridge'); // someone's, unmarked
      lab.ipHost('link', 'property', 'add', 'dev', 't11-fy', 'altname', 't11-rx');
      const index = linkNamed('t11-fy')?.ifindex;
      child.kill('SIGCONT');
      const run = await exited;
      expect(addressesOf('t11-fy')).toEqual([]);
      expect(linkNamed('t11-fy')).toMatchObject({ ifindex: index });
      expect(linkNamed('t11-fy')?.flags).not.toContain('UP');
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^NetlinkError: replace address 10\.96\.9\.1\/24 on #\d+: ENODEV/); // the bridge, by its index
    } finally {
      child.kill('SIGKILL');
      child.kill('SIGCONT');
      await exited;
      if (linkNamed('t11-fy')) lab.ipHost('link', 'del', 't11-fy');
      await lab.nets.delete('rx');
    }
  });
});
