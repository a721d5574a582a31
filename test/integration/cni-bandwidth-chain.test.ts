// The documented way to an egress limit a pod cannot lift (see
// docs/guides/kubernetes-and-cni.md, bandwidth caveat): the reference
// bandwidth plugin chained after nlkit-cni shapes egress on the host side
// (ingress qdisc on the host veth, redirect to an IFB device with a TBF).
// A container that deletes every qdisc inside its namespace keeps the limit.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniScratch, REFERENCE_PLUGINS, runPlugin, type CniScratch, type PluginCall } from '../helpers/cni';
import { ipJson, useNetns } from '../helpers/netns';

const tc = (ns: string, ...args: string[]) => JSON.parse(execFileSync('tc', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]') as any[];

describe('nlkit-cni chained with the reference bandwidth plugin', () => {
  const box = useNetns('host', 'c1');
  let scratch: CniScratch;
  const conf = () => ({ cniVersion: '1.0.0', name: 'bwc', type: 'nlkit-cni', bridge: 'nlkbwc0', stateDir: scratch.stateDir, ipam: { subnet: '10.89.0.0/24' } });
  const bandwidth = (prevResult: unknown) => ({
    cniVersion: '1.0.0',
    name: 'bwc',
    type: 'bandwidth',
    runtimeConfig: { bandwidth: { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 400_000 } },
    prevResult,
  });
  const run = (command: string, config: unknown, plugin?: string) => {
    const c: PluginCall = { command, containerId: 'ctr-bwc', netns: `/run/netns/${box.ns('c1')}`, ifname: 'eth0', cniPath: REFERENCE_PLUGINS };
    if (plugin === undefined) return runPlugin(box.ns('host'), c, config);
    const env = { ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: c.containerId, CNI_NETNS: c.netns, CNI_IFNAME: c.ifname, CNI_PATH: REFERENCE_PLUGINS };
    const r = execFileSync('ip', ['netns', 'exec', box.ns('host'), `${REFERENCE_PLUGINS}/${plugin}`], { input: JSON.stringify(config), env, encoding: 'utf8' });
    return { status: 0, stdout: r, stderr: '', json: r.trim() ? JSON.parse(r) : undefined };
  };

  beforeAll(() => {
    scratch = cniScratch();
  });
  afterAll(() => scratch.remove());

  it('shapes egress on an IFB device in the host namespace, out of the container’s reach', () => {
    const added = run('ADD', conf());
    expect(added.status, added.stdout + added.stderr).toBe(0);
    const chained = run('ADD', bandwidth(added.json), 'bandwidth');
    const hostVeth: string = added.json.interfaces[1].name;
    try {
      const ifb = (chained.json.interfaces as Array<{ name: string; sandbox?: string }>).find((i) => i.name.startsWith('bwp'));
      expect(ifb, JSON.stringify(chained.json)).toBeDefined();
      expect(ipJson(box.ns('host'), '-d', 'link', 'show', ifb!.name)[0].linkinfo.info_kind).toBe('ifb');
      expect(tc(box.ns('host'), 'qdisc', 'show', 'dev', hostVeth).map((q) => q.kind)).toEqual(expect.arrayContaining(['tbf', 'ingress']));
      // the container removes what it can: its own qdiscs (a pod with CAP_NET_ADMIN could)
      spawnSync('tc', ['-n', box.ns('c1'), 'qdisc', 'del', 'dev', 'eth0', 'root'], { stdio: 'ignore' }); // may have none to delete
      const egress = tc(box.ns('host'), 'qdisc', 'show', 'dev', ifb!.name).find((q) => q.kind === 'tbf');
      expect(egress?.options.rate).toBe(500_000); // 4 Mbit/s in bytes/s, as tc -j prints it
    } finally {
      run('DEL', bandwidth(added.json), 'bandwidth');
      expect(run('DEL', conf()).status).toBe(0);
    }
    const left = ipJson<Array<{ ifname: string }>>(box.ns('host'), 'link', 'show').map((l) => l.ifname);
    expect(left).not.toContain(hostVeth);
    expect(left.filter((n) => n.startsWith('bwp'))).toEqual([]);
  });
});
