// What each CNI command checks, and that ADD refuses before it makes a link.
// GC and STATUS read the network configuration (and GC its list of valid
// attachments), never what only an attachment's ADD is given (CNI_ARGS,
// runtimeConfig, args, prevResult): those are not refused there. The spec's
// network name pattern is enforced (code 7) before anything is done. An ADD
// asking for an address another container holds, or for a host port another
// container publishes, is refused before any veth exists: link events in the
// host and in the container's namespace show none come and go. The ipRanges
// capability is served or refused by nlkit's IPAM, and reaches host-local.
// The dns capability is laid over the configuration's dns in ADD's result,
// and a malformed one is refused before anything is made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStream, RtnetlinkEvent } from '../../lib';
import { cniScratch, leases, runPlugin, type CniScratch, type PluginCall, type PluginOutput } from '../helpers/cni';
import { ipJson, useNetns } from '../helpers/netns';
import { nftJson } from '../helpers/nft';

type LinkEvent = Extract<RtnetlinkEvent, { type: 'link' }>;

/** Reads link events until the marker link appears; returns the ones before it. */
async function untilMarker(stream: EventStream, marker: string): Promise<LinkEvent[]> {
  const seen: LinkEvent[] = [];
  for (;;) {
    const r = await stream.next();
    if (r.done) throw new Error('event stream ended before the marker link appeared');
    if (r.value.type !== 'link') continue;
    if (r.value.link.name === marker) return seen;
    seen.push(r.value);
  }
}

describe('nlkit-cni: what each command checks, and refusing before any link is made', () => {
  const box = useNetns('host', 'c1', 'c2');
  let scratch: CniScratch;
  const netns = (label: string) => `/run/netns/${box.ns(label)}`;
  const conf = (extra: Record<string, unknown> = {}) => ({
    cniVersion: '1.1.0',
    name: 'chk',
    type: 'nlkit-cni',
    bridge: 'nlkchk0',
    stateDir: scratch.stateDir,
    ipam: { subnet: '10.77.0.0/24' },
    ...extra,
  });
  const call = (c: PluginCall, config: unknown) => runPlugin(box.ns('host'), c, config);
  const add = (label: string, config: unknown, more: Partial<PluginCall> = {}) =>
    call({ command: 'ADD', containerId: `ctr-${label}`, netns: netns(label), ifname: 'eth0', ...more }, config);
  const del = (label: string, config: unknown) => call({ command: 'DEL', containerId: `ctr-${label}`, netns: netns(label), ifname: 'eth0' }, config);
  const links = (label: string) => ipJson<Array<{ ifname: string }>>(box.ns(label), 'link', 'show').map((l) => l.ifname);
  const hostVeths = () =>
    ipJson<Array<{ ifname: string; master?: string }>>(box.ns('host'), 'link', 'show')
      .filter((l) => l.master === 'nlkchk0')
      .map((l) => l.ifname);
  const published = () => JSON.stringify(nftJson(box.ns('host')).filter((o) => o.map?.table === 'nlkit'));

  /**
   * Runs `fn` (a plugin call) and returns the link events it caused: in the
   * container's namespace every one, in the host's those of veths (the
   * network's bridge may be looked at). A bridge made after `fn` marks
   * the end of each stream.
   */
  async function vethEventsDuring(container: string, fn: () => PluginOutput): Promise<{ out: PluginOutput; host: LinkEvent[]; container: LinkEvent[] }> {
    const streams = ['host', container].map((l) => box.h(l).events.subscribe({ groups: ['link'] }));
    try {
      await Promise.all(streams.map((s) => s.ready));
      const out = fn();
      const seen: LinkEvent[][] = [];
      for (const [i, l] of ['host', container].entries()) {
        await box.h(l).links.add({ name: 'nlkmark0', kind: 'bridge' });
        seen.push(await untilMarker(streams[i], 'nlkmark0'));
        await box.h(l).links.delete('nlkmark0');
      }
      const veth = (e: LinkEvent) => e.link.kind === 'veth' || e.link.name.startsWith('nv');
      return { out, host: seen[0].filter(veth), container: seen[1] };
    } finally {
      for (const s of streams) s.close();
    }
  }

  beforeAll(() => {
    scratch = cniScratch();
  });
  afterAll(() => scratch.remove());

  it('GC and STATUS do not refuse what only ADD reads (CNI_ARGS, runtimeConfig, args, prevResult), and GC still removes', () => {
    for (const l of ['c1', 'c2']) expect(add(l, conf()).status, l).toBe(0);
    try {
      // what a runtime may leave in a configuration it also uses for ADD: values only ADD reads, some it would refuse
      const addOnly = {
        runtimeConfig: { bandwidth: { egressRate: -1 }, portMappings: [{ hostPort: 0, containerPort: 80 }], ips: '10.77.0.9/24', mac: 2 },
        args: { cni: { ips: '10.77.0.9' } },
        prevResult: { ips: 'none' },
        // libcni adds the list under this (misspelt) key as well; the spec reserves cni.dev/ keys to the runtime
        'cni.dev/attachments': [{ containerID: 'ctr-c2', ifname: 'eth0' }],
      };
      const env = { args: 'FOO=1;IP=not-an-address' };
      const status = call({ command: 'STATUS', ...env }, conf(addOnly));
      expect([status.status, status.stdout]).toEqual([0, '']);
      const gc = call({ command: 'GC', ...env }, conf({ ...addOnly, 'cni.dev/valid-attachments': [{ containerID: 'ctr-c2', ifname: 'eth0' }] }));
      expect([gc.status, gc.stdout]).toEqual([0, '']);
      // GC did its work: c1's veth and lease are gone, c2's stay
      expect(hostVeths()).toHaveLength(1);
      expect(Object.values(leases(scratch.stateDir, 'chk'))).toEqual(['ctr-c2/eth0']);
      expect(links('c1')).toEqual(['lo']);
      expect(links('c2')).toContain('eth0');
    } finally {
      for (const l of ['c1', 'c2']) expect(del(l, conf()).status, l).toBe(0);
    }
  });

  it('GC and STATUS still refuse a malformed configuration with the spec code, and GC then removes nothing', () => {
    expect(add('c1', conf()).status).toBe(0);
    try {
      const valid = { 'cni.dev/valid-attachments': [] };
      const cases: Array<[string, unknown, number, RegExp]> = [
        ['not JSON', '{', 6, /not JSON/],
        ['no name', { ...conf(valid), name: undefined }, 7, /name/],
        ['name against the spec pattern', conf({ ...valid, name: 'chk net' }), 7, /name/],
        ['version without GC and STATUS', conf({ ...valid, cniVersion: '1.0.0' }), 1, /1\.0\.0/],
        ['state directory not a string', conf({ ...valid, stateDir: 7 }), 7, /stateDir/],
        ['unknown key', conf({ ...valid, vlanId: 3 }), 2, /vlanId/],
        ['ipam not an object', conf({ ...valid, ipam: 'nlkit' }), 7, /ipam/],
        ['mtu not a number', conf({ ...valid, mtu: 'big' }), 7, /mtu/],
      ];
      for (const command of ['GC', 'STATUS']) {
        for (const [label, config, code, msg] of cases) {
          const out = call({ command }, config);
          expect(out.status, `${command} ${label}`).toBe(1);
          expect(out.json, `${command} ${label}`).toMatchObject({ code });
          expect(out.json.msg, `${command} ${label}`).toMatch(msg);
        }
      }
      // GC's own input: its list of what to keep
      const gc = call({ command: 'GC' }, conf({ 'cni.dev/valid-attachments': [{ containerID: 'ctr-c1' }] }));
      expect(gc.json).toMatchObject({ code: 7 });
      expect(gc.json.msg).toMatch(/valid-attachments/);
      expect(hostVeths()).toHaveLength(1);
      expect(Object.values(leases(scratch.stateDir, 'chk'))).toEqual(['ctr-c1/eth0']);
    } finally {
      expect(del('c1', conf()).status).toBe(0);
    }
  });

  it("refuses a network name against the spec's pattern (code 7) before anything is done", () => {
    for (const name of ['chk net', '-chk', '.chk', '_chk', 'chk/x', 'chk:1', 'chké', 'chk\n']) {
      const bad = conf({ name, cniVersion: '1.0.0', bridge: 'nlkname0', ipam: { subnet: '10.76.0.0/24' } });
      const out = add('c1', bad);
      try {
        expect(out.status, JSON.stringify(name)).toBe(1);
        expect(out.json, JSON.stringify(name)).toMatchObject({ cniVersion: '1.0.0', code: 7 });
        expect(out.json.msg, JSON.stringify(name)).toMatch(/invalid name/);
        // no network (its bridge), no veth in the container
        expect(links('host'), JSON.stringify(name)).not.toContain('nlkname0');
        expect(links('c1'), JSON.stringify(name)).toEqual(['lo']);
      } finally {
        if (out.status === 0) del('c1', bad); // the next tests use c1
      }
    }
    // the pattern allows capitals, digits, dots, underscores and hyphens after the first character
    const ok = conf({ name: 'Chk.net_1-a', bridge: 'nlkname0', ipam: { subnet: '10.76.0.0/24' } });
    const out = add('c1', ok);
    expect(out.status, out.stdout).toBe(0);
    expect(del('c1', ok).status).toBe(0);
    // DEL reads only what identifies an attachment: it still succeeds for a name ADD refuses
    expect(del('c1', conf({ name: 'chk net' }))).toMatchObject({ status: 0, stdout: '' });
  });

  it('ADD asking for an address another container holds is refused before a veth is made (code 7)', async () => {
    expect(add('c1', conf({ runtimeConfig: { ips: ['10.77.0.50/24'] } })).status).toBe(0);
    try {
      const attempts: Array<[string, unknown, Partial<PluginCall>]> = [
        ['runtimeConfig.ips', conf({ runtimeConfig: { ips: ['10.77.0.50/24'] } }), {}],
        ['args.cni.ips', conf({ args: { cni: { ips: ['10.77.0.50'] } } }), {}],
        ['CNI_ARGS IP', conf(), { args: 'IP=10.77.0.50' }],
      ];
      for (const [label, config, more] of attempts) {
        const seen = await vethEventsDuring('c2', () => add('c2', config, more));
        expect(seen.out.json, label).toMatchObject({ code: 7, msg: 'requested address 10.77.0.50 is already in use by attachment ctr-c1/eth0' });
        expect(seen.container, label).toEqual([]);
        expect(seen.host, label).toEqual([]);
        expect(leases(scratch.stateDir, 'chk'), label).toEqual({ '10.77.0.50': 'ctr-c1/eth0' });
      }
      // a free address is still given, and the events show its veth (the watch sees what it should)
      const seen = await vethEventsDuring('c2', () => add('c2', conf({ runtimeConfig: { ips: ['10.77.0.51/24'] } })));
      expect(seen.out.status, seen.out.stdout).toBe(0);
      expect(seen.container.some((e) => e.action === 'new' && e.link.name === 'eth0')).toBe(true);
      expect(seen.host.length).toBeGreaterThan(0);
    } finally {
      for (const l of ['c1', 'c2']) expect(del(l, conf()).status, l).toBe(0);
    }
  });

  it('ADD asking for a host port another container publishes is refused before a veth is made (code 7)', async () => {
    const mapped = (...m: Array<Record<string, unknown>>) => conf({ runtimeConfig: { portMappings: m } });
    const web = { hostPort: 9400, containerPort: 80, protocol: 'tcp' };
    expect(add('c1', mapped(web)).status).toBe(0);
    try {
      const attempts: Array<[string, Array<Record<string, unknown>>]> = [
        ['the same mapping', [web]],
        ['another container port', [{ ...web, containerPort: 81 }]],
        ['one host address of a port published on all', [{ ...web, hostIP: '127.0.0.1' }]],
        ['a free port, then a taken one', [{ ...web, hostPort: 9401 }, web]],
      ];
      for (const [label, mappings] of attempts) {
        const seen = await vethEventsDuring('c2', () => add('c2', mapped(...mappings)));
        expect(seen.out.status, label).toBe(1);
        expect(seen.out.json, label).toMatchObject({ code: 7 });
        expect(seen.container, label).toEqual([]);
        expect(seen.host, label).toEqual([]);
        expect(seen.out.json.msg, label).toMatch(/tcp host port 9400 is already published \(tcp:\*:9400 on network chk, to ctr-c1\/eth0\)/);
        expect(Object.values(leases(scratch.stateDir, 'chk')), label).toEqual(['ctr-c1/eth0']);
        expect(published(), label).not.toContain('9401');
      }
      // c1's own mapping again (a repeated ADD) is no conflict, nor is the port on another protocol
      expect(add('c1', mapped(web)).status).toBe(0);
      const udp = add('c2', mapped({ ...web, protocol: 'udp' }));
      expect(udp.status, udp.stdout).toBe(0);
    } finally {
      for (const l of ['c1', 'c2']) expect(del(l, conf()).status, l).toBe(0);
    }
    expect(published()).not.toContain('9400');
  });
  it('ADD with port mappings on an internal network is refused before anything is made (code 7)', async () => {
    const internal = (m: Array<Record<string, unknown>>) =>
      conf({ name: 'chkint', bridge: 'nlkchki0', internal: true, ipam: { subnet: '10.77.1.0/24' }, runtimeConfig: { portMappings: m } });
    const ruleset = () => JSON.stringify(nftJson(box.ns('host')));
    const before = ruleset();
    const seen = await vethEventsDuring('c1', () => add('c1', internal([{ hostPort: 9410, containerPort: 80, protocol: 'tcp' }])));
    expect(seen.out.status).toBe(1);
    expect(seen.out.json).toMatchObject({ code: 7, details: 'field: runtimeConfig.portMappings' });
    expect(seen.out.json.msg).toMatch(/network chkint is internal/);
    expect([seen.container, seen.host]).toEqual([[], []]);
    expect(ruleset()).toBe(before); // not even the network was made
    // without mappings the same network is fine
    const ok = add('c1', internal([]));
    expect(ok.status, ok.stdout).toBe(0);
    expect(del('c1', internal([])).status).toBe(0);
  });

  it("ipRanges: served when it names the network's subnet, else refused (code 2 or 7) before a lease or veth is made", () => {
    const ranges = (...sets: unknown[]) => conf({ runtimeConfig: { ipRanges: sets } });
    const refused: Array<[string, unknown, number, RegExp]> = [
      ['another subnet', ranges([{ subnet: '10.99.0.0/24' }]), 2, /ipRanges\[0\]\[0\]\.subnet: 10\.99\.0\.0\/24 is not the network's \(10\.77\.0\.0\/24\)/],
      ['a part of the subnet', ranges([{ subnet: '10.77.0.0/24', rangeStart: '10.77.0.100' }]), 2, /rangeStart/],
      ['two ranges in a set', ranges([{ subnet: '10.77.0.0/24' }, { subnet: '10.77.0.0/24' }]), 2, /one range per range set/],
      ['another gateway', ranges([{ subnet: '10.77.0.0/24', gateway: '10.77.0.254' }]), 2, /gateway/],
      ['not a CIDR', ranges([{ subnet: '10.77.0.0' }]), 7, /ipRanges\[0\]\[0\]\.subnet/],
      ['not range sets', conf({ runtimeConfig: { ipRanges: [{ subnet: '10.77.0.0/24' }] } }), 7, /runtimeConfig\.ipRanges/],
    ];
    for (const [label, config, code, msg] of refused) {
      const out = add('c1', config);
      expect(out.status, label).toBe(1);
      expect(out.json, label).toMatchObject({ code });
      expect(out.json.msg, label).toMatch(msg);
      expect(hostVeths(), label).toEqual([]);
      expect(leases(scratch.stateDir, 'chk'), label).toEqual({});
      expect(links('c1'), label).toEqual(['lo']);
    }
    // the network's own subnet (any spelling of it) is what nlkit IPAM serves anyway
    const ok = add('c1', ranges([{ subnet: '10.77.0.9/24' }]));
    try {
      expect(ok.status, ok.stdout).toBe(0);
      expect(ok.json.ips[0].address).toMatch(/^10\.77\.0\.\d+\/24$/);
    } finally {
      expect(del('c1', conf()).status).toBe(0);
    }
  });

  it("ipRanges reaches a delegated IPAM plugin: host-local allocates from the runtime's range, the network takes its subnet", () => {
    const dataDir = `${scratch.dir}/host-local-ranges`;
    // as Kubernetes configures host-local: no ranges of its own, the node's pod CIDR from the runtime
    const delegated = conf({
      cniVersion: '1.0.0', // the packaged host-local speaks up to 1.0.0
      name: 'chkr',
      bridge: 'nlkchkr0',
      ipam: { type: 'host-local', dataDir },
      runtimeConfig: { ipRanges: [[{ subnet: '10.75.0.0/24', rangeStart: '10.75.0.200', rangeEnd: '10.75.0.210' }]] },
    });
    const keys = { containerId: 'ctr-c1', netns: netns('c1'), ifname: 'eth0', cniPath: scratch.cniPath };
    const out = call({ command: 'ADD', ...keys }, delegated);
    try {
      expect(out.status, out.stdout).toBe(0);
      expect(out.json.ips[0]).toMatchObject({ address: '10.75.0.200/24', gateway: '10.75.0.1' });
      const bridge = ipJson<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>(box.ns('host'), 'address', 'show', 'dev', 'nlkchkr0');
      expect(bridge[0].addr_info.map((a) => `${a.local}/${String(a.prefixlen)}`)).toContain('10.75.0.1/24');
      expect(ipJson(box.ns('c1'), 'route', 'get', '10.75.0.1')[0].dev).toBe('eth0');
    } finally {
      expect(call({ command: 'DEL', ...keys }, delegated).status).toBe(0);
    }
  });

  it("dns: the runtime's lists replace the configuration's in the ADD result; a malformed one is refused before anything is made", () => {
    const dns = { nameservers: ['192.0.2.53'], domain: 'example.net', search: ['example.net'], options: ['ndots:2'] };
    const cases: Array<[string, unknown, unknown]> = [
      // containerd's shape: every list (Kubernetes' cluster DNS), options kept from the configuration when the runtime sends none
      [
        'servers and searches',
        { servers: ['10.96.0.10', 'fd00::10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: null },
        { nameservers: ['10.96.0.10', 'fd00::10'], domain: 'example.net', search: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:2'] },
      ],
      ['options only', { options: ['ndots:5'] }, { ...dns, options: ['ndots:5'] }],
      ['empty lists', { servers: [], searches: [] }, dns],
    ];
    for (const [label, runtimeDns, want] of cases) {
      const out = add('c1', conf({ dns, runtimeConfig: { dns: runtimeDns } }));
      try {
        expect(out.status, `${label}: ${out.stdout}`).toBe(0);
        expect(out.json.dns, label).toEqual(want);
      } finally {
        expect(del('c1', conf()).status).toBe(0);
      }
    }
    // without the configuration's dns: the runtime's alone
    const bare = add('c1', conf({ runtimeConfig: { dns: { servers: ['10.96.0.10'] } } }));
    expect(del('c1', conf()).status).toBe(0);
    expect([bare.status, bare.json.dns]).toEqual([0, { nameservers: ['10.96.0.10'] }]);
    const refused: Array<[string, unknown, number, RegExp]> = [
      ['not an object', ['10.96.0.10'], 7, /runtimeConfig\.dns/],
      ['servers not a list', { servers: '10.96.0.10' }, 7, /runtimeConfig\.dns\.servers/],
      ['a server that is no address', { servers: ['kube-dns'] }, 7, /runtimeConfig\.dns\.servers\[0\]/],
      ['a search with white space', { searches: ['a b'] }, 7, /runtimeConfig\.dns\.searches\[0\]/],
      ['an option not a string', { options: [5] }, 7, /runtimeConfig\.dns\.options\[0\]/],
      // the result's key, not the capability's: ignored, the container would get DNS the runtime did not ask for
      ['the result key nameservers', { nameservers: ['10.96.0.10'] }, 2, /runtimeConfig\.dns\.nameservers/],
    ];
    for (const [label, runtimeDns, code, msg] of refused) {
      const out = add('c1', conf({ runtimeConfig: { dns: runtimeDns } }));
      expect(out.status, label).toBe(1);
      expect(out.json, label).toMatchObject({ code });
      expect(out.json.msg, label).toMatch(msg);
      expect([hostVeths(), links('c1'), leases(scratch.stateDir, 'chk')], label).toEqual([[], ['lo'], {}]);
    }
  });
});
