// What a failing nlkit-cni call leaves behind, and what it says about it: a
// delegated IPAM lease is given back whatever step of ADD fails after the
// IPAM plugin's ADD (an unsafe state directory is refused before the plugin
// runs at all), a rollback that fails itself is named in the error's
// details, and a GC whose IPAM plugin fails reports it (only a plugin too old
// to know GC is ignored). The delegate is the reference host-local plugin,
// or a scripted stand-in where a failure of the plugin itself is needed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniScratch, runPlugin, type CniScratch, type PluginCall } from '../helpers/cni';
import { ip, ipJson, useNetns } from '../helpers/netns';

/** An IPAM plugin whose answers the test sets: FAKE_IPAM_<COMMAND>_CODE makes that command fail with the code; ADD else hands out 10.87.0.9. */
const FAKE_IPAM = `#!/bin/sh
cat >/dev/null
eval "code=\\$FAKE_IPAM_\${CNI_COMMAND}_CODE"
if [ -n "$code" ]; then
  printf '{"cniVersion":"1.1.0","code":%s,"msg":"fake %s failure","details":"scripted"}' "$code" "$CNI_COMMAND"
  exit 1
fi
[ "$CNI_COMMAND" = ADD ] && printf '{"cniVersion":"1.1.0","ips":[{"address":"10.87.0.9/24","gateway":"10.87.0.1"}]}'
exit 0
`;

describe('nlkit-cni: failures leave nothing unsaid or behind', () => {
  const box = useNetns('host', 'c1');
  let scratch: CniScratch;
  let unsafeStateDir: string;
  const netns = () => `/run/netns/${box.ns('c1')}`;
  const call = (c: PluginCall, config: unknown) => runPlugin(box.ns('host'), c, config);
  const add = (config: unknown, env: Record<string, string> = {}) =>
    call({ command: 'ADD', containerId: 'ctr-rb', netns: netns(), ifname: 'eth0', cniPath: scratch.cniPath, env }, config);
  const conf = (extra: Record<string, unknown>) => ({
    cniVersion: '1.1.0',
    name: 'rb',
    type: 'nlkit-cni',
    bridge: 'nlkrb0',
    stateDir: scratch.stateDir,
    ...extra,
  });

  beforeAll(() => {
    scratch = cniScratch();
    fs.writeFileSync(path.join(scratch.binDir, 'fake-ipam'), FAKE_IPAM, { mode: 0o755 });
    // group- and world-writable: nlkit refuses it as a state directory
    unsafeStateDir = path.join(scratch.dir, 'unsafe');
    fs.mkdirSync(unsafeStateDir);
    fs.chmodSync(unsafeStateDir, 0o777);
  });
  afterAll(() => scratch.remove());

  it('refuses an unsafe state directory before the IPAM plugin runs: no lease to give back', () => {
    const dataDir = path.join(scratch.dir, 'host-local-unsafe');
    const out = add(conf({ cniVersion: '1.0.0', stateDir: unsafeStateDir, ipam: { type: 'host-local', subnet: '10.86.0.0/24', dataDir } }));
    expect(out.status, out.stdout + out.stderr).toBe(1);
    expect(out.json).toMatchObject({ code: 5 });
    expect(out.json.msg).toMatch(/unsafe|writable/i);
    expect(fs.existsSync(dataDir)).toBe(false); // host-local never ran
    expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'veth')).toEqual([]);
  });

  // A failure after the IPAM plugin's ADD: the network's bridge name is taken by a bridge nlkit did not make.
  const foreignBridge = 'nlkrbx0';

  it('gives a host-local lease back when ADD fails after the IPAM ADD (the bridge name taken)', () => {
    ip(box.ns('host'), 'link', 'add', foreignBridge, 'type', 'bridge');
    try {
      const dataDir = path.join(scratch.dir, 'host-local');
      const out = add(conf({ cniVersion: '1.0.0', bridge: foreignBridge, ipam: { type: 'host-local', subnet: '10.86.0.0/24', dataDir } }));
      expect(out.status, out.stdout + out.stderr).toBe(1);
      expect(out.json.msg).toMatch(/nlkrbx0.*does not take over/);
      // host-local ran (its range directory exists) and holds no address for the container
      const leases = fs.readdirSync(path.join(dataDir, 'rb')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
      expect(leases).toEqual([]);
      expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'veth')).toEqual([]);
    } finally {
      ip(box.ns('host'), 'link', 'del', foreignBridge);
    }
  });

  it('names a failed IPAM DEL of the rollback in the error details', () => {
    ip(box.ns('host'), 'link', 'add', foreignBridge, 'type', 'bridge');
    try {
      const out = add(conf({ bridge: foreignBridge, ipam: { type: 'fake-ipam', subnet: '10.87.0.0/24' } }), { FAKE_IPAM_DEL_CODE: '11' });
      expect(out.status, out.stdout + out.stderr).toBe(1);
      expect(out.json.msg).toMatch(/nlkrbx0.*does not take over/); // the failure that matters stays the error
      expect(out.json.details).toMatch(/IPAM DEL failed: IPAM plugin fake-ipam: fake DEL failure/);
    } finally {
      ip(box.ns('host'), 'link', 'del', foreignBridge);
    }
  });

  it('GC reports an IPAM plugin failure, and ignores only a plugin that does not know GC', () => {
    const gc = (env: Record<string, string>) =>
      call({ command: 'GC', cniPath: scratch.cniPath, env }, conf({ ipam: { type: 'fake-ipam', subnet: '10.87.0.0/24' }, 'cni.dev/valid-attachments': [] }));
    const failed = gc({ FAKE_IPAM_GC_CODE: '5' });
    expect(failed.status, failed.stdout + failed.stderr).toBe(1);
    expect(failed.json).toMatchObject({ code: 5, msg: 'IPAM plugin fake-ipam: fake GC failure' });
    for (const code of ['1', '4']) expect(gc({ FAKE_IPAM_GC_CODE: code }), `code ${code}`).toMatchObject({ status: 0, stdout: '' });
    expect(gc({})).toMatchObject({ status: 0, stdout: '' });
  });

  it('creates the network under the lifecycle lock of the networks layer, with no lock file of its own', () => {
    const out = add(conf({ ipam: { subnet: '10.88.7.0/24' } }));
    expect(out.status, out.stdout + out.stderr).toBe(0);
    expect(fs.existsSync(path.join(scratch.stateDir, 'cni-create.lock'))).toBe(false);
    expect(fs.existsSync(path.join(scratch.stateDir, 'locks', 'networks.lock'))).toBe(true);
    expect(call({ command: 'DEL', containerId: 'ctr-rb', netns: netns(), ifname: 'eth0' }, conf({ ipam: { subnet: '10.88.7.0/24' } })).status).toBe(0);
    expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'veth')).toEqual([]);
  });
});
