// Two ADDs of the same host port at once. The early host-port check of ADD
// reads without a lock, so both may pass it; the loser then finds the port
// taken when it publishes. The race is made certain with the fault hook: the
// loser is stopped (`attach:1:stop`) after its check and before its veth,
// the winner's ADD runs whole, then the loser goes on. The loser must fail
// with the same CNI error the early check gives (code 7, naming the field
// and the holder), and leave nothing: no veth, lease, attachment record,
// map element (also of its other, free mapping) or open intent; its DEL
// then succeeds and the winner's publication is untouched. An ADD killed
// between its map element and recording it: the runtime's DEL removes the
// element, and the next ADD of the port succeeds.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networks } from '../../lib';
import { cniScratch, leases, root, runPlugin, type CniScratch, type PluginCall } from '../helpers/cni';
import { ipJson, useNetns } from '../helpers/netns';
import { nftJson } from '../helpers/nft';
import { exitOf, waitUntilStopped } from '../helpers/stopped-child';

describe('nlkit-cni: host ports of ADDs at once, and of an ADD that died', () => {
  const box = useNetns('host', 'c1', 'c2');
  let scratch: CniScratch;
  const netns = (label: string) => `/run/netns/${box.ns(label)}`;
  const conf = (portMappings: Array<Record<string, unknown>>) => ({
    cniVersion: '1.1.0',
    name: 'race',
    type: 'nlkit-cni',
    bridge: 'nlkrace0',
    stateDir: scratch.stateDir,
    ipam: { subnet: '10.79.0.0/24' },
    runtimeConfig: { portMappings },
  });
  const keys = (label: string): PluginCall => ({ command: 'ADD', containerId: `ctr-${label}`, netns: netns(label), ifname: 'eth0' });
  const call = (c: PluginCall, config: unknown) => runPlugin(box.ns('host'), c, config);
  const hostVeths = () =>
    ipJson<Array<{ ifname: string; master?: string }>>(box.ns('host'), 'link', 'show')
      .filter((l) => l.master === 'nlkrace0')
      .map((l) => l.ifname);
  const elements = () =>
    nftJson(box.ns('host'))
      .filter((o) => o.map?.table === 'nlkit')
      .flatMap((o) => (o.map.elem ?? []) as unknown[])
      .map((e) => JSON.stringify(e));

  beforeAll(() => {
    scratch = cniScratch();
  });
  afterAll(() => scratch.remove());

  it('the loser fails with code 7 naming the holder, leaves nothing, and its DEL succeeds', async () => {
    const web = { hostPort: 9500, containerPort: 80, protocol: 'tcp' };
    const free = { hostPort: 9501, containerPort: 81, protocol: 'tcp' };
    // the network exists first: the loser's stop then falls in its attach, after its early check
    const warm = call(keys('c1'), conf([]));
    expect(warm.status, warm.stdout).toBe(0);
    expect(call({ ...keys('c1'), command: 'DEL' }, conf([])).status).toBe(0);

    const loser = spawn('ip', ['netns', 'exec', box.ns('host'), process.execPath, path.join(root, 'bin', 'nlkit-cni.js')], {
      env: {
        ...process.env,
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'ctr-c2',
        CNI_NETNS: netns('c2'),
        CNI_IFNAME: 'eth0',
        CNI_PATH: scratch.cniPath,
        NLKIT_FAULT_AFTER_STEP: 'attach:1:stop',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    loser.stdout.on('data', (d) => (stdout += String(d)));
    const exited = exitOf(loser);
    loser.stdin.end(JSON.stringify(conf([free, web])));
    try {
      await waitUntilStopped(loser.pid as number);
      const winner = call(keys('c1'), conf([web]));
      expect(winner.status, winner.stdout + winner.stderr).toBe(0);
      const before = elements();
      loser.kill('SIGCONT');
      const run = await exited;
      expect(run.status, stdout + run.stderr).toBe(1);
      expect(JSON.parse(stdout)).toEqual({
        cniVersion: '1.1.0',
        code: 7,
        msg: 'invalid runtimeConfig.portMappings[1]: tcp host port 9500 is already published (tcp:*:9500 on network race, to ctr-c1/eth0)',
        details: 'field: runtimeConfig.portMappings[1].hostPort',
      });
      // nothing of the loser: one veth (the winner's), one lease, one attachment, the winner's map element only
      expect(hostVeths()).toHaveLength(1);
      expect(ipJson(box.ns('c2'), 'link', 'show').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
      expect(leases(scratch.stateDir, 'race')).toEqual({ [Object.keys(leases(scratch.stateDir, 'race'))[0]]: 'ctr-c1/eth0' });
      expect(elements()).toEqual(before);
      expect(elements().join()).not.toContain('9501');
      const nets = await networks({ host: box.ns('host'), stateDir: scratch.stateDir });
      try {
        expect((await nets.get('race')).attachments.map((a) => a.id)).toEqual(['ctr-c1/eth0']);
        expect((await nets.publications.list()).map((p) => [p.key, p.backends.map((b) => b.id)])).toEqual([['tcp:*:9500', ['ctr-c1/eth0']]]);
        expect(await nets.check()).toEqual([]); // no open intent, no drift
      } finally {
        nets.close();
      }
      // the runtime's DEL after the failed ADD succeeds and removes nothing of the winner's
      expect(call({ ...keys('c2'), command: 'DEL' }, conf([free, web]))).toMatchObject({ status: 0, stdout: '' });
      expect(elements()).toEqual(before);
      expect(call({ ...keys('c1'), command: 'CHECK' }, { ...conf([web]), prevResult: winner.json }).status).toBe(0);
    } finally {
      loser.kill('SIGKILL');
      loser.kill('SIGCONT');
      await exited;
      for (const l of ['c1', 'c2']) expect(call({ ...keys(l), command: 'DEL' }, conf([])).status, l).toBe(0);
    }
    expect(hostVeths()).toEqual([]);
    expect(elements()).toEqual([]);
  });

  it('an ADD killed after its map element and before recording it: DEL removes the element, the port is free again', () => {
    const web = { hostPort: 9510, containerPort: 80, protocol: 'tcp' };
    // publish's second step boundary: the nftables transaction applied, the state not written
    const killed = call({ ...keys('c1'), env: { NLKIT_FAULT_AFTER_STEP: 'publish:2' } }, conf([web]));
    expect(killed.status, killed.stdout + killed.stderr).toBeNull();
    expect(elements().join()).toContain('9510');
    // the runtime's DEL after the failed ADD: nothing of the attachment stays, its DNAT included
    expect(call({ ...keys('c1'), command: 'DEL' }, conf([web]))).toMatchObject({ status: 0, stdout: '' });
    expect(elements()).toEqual([]);
    expect(hostVeths()).toEqual([]);
    // and the retried ADD publishes the port (no EEXIST from the dead one's element)
    const again = call(keys('c1'), conf([web]));
    expect(again.status, again.stdout).toBe(0);
    expect(elements().join()).toContain('9510');
    expect(call({ ...keys('c1'), command: 'DEL' }, conf([web])).status).toBe(0);
    expect(elements()).toEqual([]);
  });
});
