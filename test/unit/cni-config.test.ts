// nlkit-cni's pure parts: the environment, the configuration's keys and the
// result per spec version (no kernel, no process).
import { describe, expect, it } from 'vitest';
import { ipamSubnets, parseConfig, parseDelConfig } from '../../lib/cni/config';
import { parseEnvironment } from '../../lib/cni/env';
import { runCni } from '../../lib/cni/main';
import { CniError, errorResult } from '../../lib/cni/errors';
import { networkName, networkSpec } from '../../lib/cni/network';
import { checkPortMappings } from '../../lib/cni/port-mappings';
import { formatResult, resultAddresses } from '../../lib/cni/result';
import { checkVersion } from '../../lib/cni/versions';
import { ValidationError } from '../../lib/netlink/errors';
import { AddressInUseError } from '../../lib/network/ipam';

const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    return (e as CniError).code;
  }
  return undefined;
};

describe('nlkit-cni configuration', () => {
  it('reads the environment: DEL without CNI_NETNS is fine, ADD without it is code 4', () => {
    const base = { CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' };
    expect(parseEnvironment({ ...base, CNI_COMMAND: 'DEL' }).netns).toBeUndefined();
    expect(codeOf(() => parseEnvironment({ ...base, CNI_COMMAND: 'ADD' }))).toBe(4);
    expect(codeOf(() => parseEnvironment({ ...base, CNI_COMMAND: 'FROB' }))).toBe(4);
    expect(parseEnvironment({ ...base, CNI_COMMAND: 'ADD', CNI_NETNS: '/x', CNI_ARGS: 'IgnoreUnknown=1;FOO=bar;IP=10.0.0.5' }).args.IP).toBe('10.0.0.5');
    expect(codeOf(() => parseEnvironment({ ...base, CNI_COMMAND: 'ADD', CNI_NETNS: '/x', CNI_ARGS: 'FOO=bar' }))).toBe(4);
    expect(parseEnvironment({ CNI_COMMAND: 'GC', CNI_PATH: '/a::/b' }).path).toEqual(['/a', '/b']);
  });

  it("refuses a CNI_CONTAINERID against the spec's pattern (code 4) on ADD and CHECK; DEL takes any, to remove what is there", () => {
    const base = { CNI_IFNAME: 'eth0', CNI_NETNS: '/x' };
    for (const id of ['-a', '.a', '_a', 'a b', 'a/b', 'a:b', '../x', 'é', 'a\n', 'a;b']) {
      for (const command of ['ADD', 'CHECK']) {
        const err = (() => {
          try {
            parseEnvironment({ ...base, CNI_COMMAND: command, CNI_CONTAINERID: id });
          } catch (e) {
            return e as CniError;
          }
          return undefined;
        })();
        expect(err?.code, `${command} ${JSON.stringify(id)}`).toBe(4);
        expect(err?.message, `${command} ${JSON.stringify(id)}`).toMatch(/CNI_CONTAINERID/);
      }
      expect(parseEnvironment({ ...base, CNI_COMMAND: 'DEL', CNI_CONTAINERID: id }).containerId).toBe(id);
    }
    for (const id of ['a', '0', 'A.b_c-d', 'f'.repeat(64), 'a-', 'a..']) {
      expect(parseEnvironment({ ...base, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id }).containerId).toBe(id);
    }
    expect(codeOf(() => parseEnvironment({ ...base, CNI_COMMAND: 'DEL' }))).toBe(4);
  });

  it('refuses a CNI_IFNAME the kernel would not take (code 4) on ADD and CHECK; DEL takes any, to remove what is there', () => {
    const base = { CNI_CONTAINERID: 'c', CNI_NETNS: '/x' };
    for (const ifname of ['.', '..', 'a/b', 'a:b', 'a b', 'a\tb', 'e'.repeat(16), 'ééééééééé', 'a\u0000']) {
      for (const command of ['ADD', 'CHECK']) {
        expect(
          codeOf(() => parseEnvironment({ ...base, CNI_COMMAND: command, CNI_IFNAME: ifname })),
          `${command} ${JSON.stringify(ifname)}`,
        ).toBe(4);
      }
      expect(parseEnvironment({ ...base, CNI_COMMAND: 'DEL', CNI_IFNAME: ifname }).ifname).toBe(ifname);
    }
    for (const ifname of ['eth0', 'e'.repeat(15), 'net1.100', 'a-b_c']) {
      expect(parseEnvironment({ ...base, CNI_COMMAND: 'ADD', CNI_IFNAME: ifname }).ifname).toBe(ifname);
    }
    expect(() => parseEnvironment({ ...base, CNI_COMMAND: 'ADD', CNI_IFNAME: 'a:b' })).toThrow(/CNI_IFNAME "a:b"/);
  });

  it('refuses a relative CNI_NETNS (code 4) on ADD and CHECK; DEL does not use it', () => {
    const base = { CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' };
    for (const netns of ['run/netns/c1', './c1', '../run/netns/c1', 'c1', 'proc/self/ns/net']) {
      for (const command of ['ADD', 'CHECK']) {
        expect(
          codeOf(() => parseEnvironment({ ...base, CNI_COMMAND: command, CNI_NETNS: netns })),
          `${command} ${netns}`,
        ).toBe(4);
      }
      expect(parseEnvironment({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: netns }).netns).toBe(netns);
    }
    expect(() => parseEnvironment({ ...base, CNI_COMMAND: 'ADD', CNI_NETNS: 'c1' })).toThrow(/CNI_NETNS "c1" is not an absolute path/);
    expect(parseEnvironment({ ...base, CNI_COMMAND: 'ADD', CNI_NETNS: '/proc/self/ns/net' }).netns).toBe('/proc/self/ns/net');
    expect(codeOf(() => parseEnvironment({ ...base, CNI_COMMAND: 'CHECK' }))).toBe(4);
  });

  it('maps the reference bridge keys onto a network spec', () => {
    const conf = parseConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'Pod.Net',
        type: 'nlkit-cni',
        bridge: 'cni0',
        ipMasq: true,
        mtu: 1400,
        ipam: { ranges: [[{ subnet: '10.1.0.0/16', gateway: '10.1.0.254' }], [{ subnet: 'fd00:1::/64' }]] },
      }),
    );
    expect(networkSpec(conf)).toEqual({
      name: networkName('Pod.Net'),
      subnet: '10.1.0.0/16',
      gateway: '10.1.0.254',
      subnet6: 'fd00:1::/64',
      bridge: 'cni0',
      mtu: 1400,
      masquerade: true,
    });
    expect(networkName('Pod.Net')).toMatch(/^cni-[0-9a-f]{16}$/);
    expect(networkName('podnet')).toBe('podnet');
    expect(networkSpec(parseConfig('{"cniVersion":"1.0.0","name":"n","ipam":{"subnet":"10.2.0.0/24"}}')).masquerade).toBe(false);
    expect(codeOf(() => ipamSubnets({ subnet: 'fd00::/64' }))).toBe(7);
  });

  it('refuses what it does not support with code 2, bad values with 7, non-JSON with 6', () => {
    expect(codeOf(() => parseConfig('nope'))).toBe(6);
    expect(codeOf(() => parseConfig('[]'))).toBe(6);
    expect(codeOf(() => parseConfig('{"cniVersion":"1.0.0","name":"n","promiscMode":true}'))).toBe(2);
    expect(codeOf(() => parseConfig('{"cniVersion":"1.0.0","name":"n","promiscMode":false}'))).toBeUndefined();
    expect(codeOf(() => parseConfig('{"cniVersion":"1.0.0","name":"n","ipam":{"dataDir":"/x"}}'))).toBe(2);
    expect(codeOf(() => parseConfig('{"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","dataDir":"/x"}}'))).toBeUndefined();
    expect(codeOf(() => parseConfig('{"cniVersion":"1.0.0","name":"n","mtu":"big"}'))).toBe(7);
    expect(codeOf(() => parseConfig('{"cniVersion":"1.0.0","name":""}'))).toBe(7);
    expect(codeOf(() => checkVersion('0.2.0', 'ADD'))).toBe(1);
    expect(codeOf(() => checkVersion('1.0.0', 'STATUS'))).toBe(1);
    expect(checkVersion('1.1.0', 'GC')).toBe('1.1.0');
  });

  it('DEL reads only what identifies the attachment: ADD-only values are not checked, nor carried', () => {
    const stdin = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'n',
      type: 'nlkit-cni',
      stateDir: '/run/x',
      vlanId: 3,
      mtu: 'big',
      ipam: { type: 'host-local', ranges: 'nonsense' },
      runtimeConfig: { bandwidth: { egressRate: -1 }, portMappings: [{ hostPort: 0 }], ips: '10.0.0.1' },
      args: { cni: { ips: 'x' } },
      'cni.dev/valid-attachments': {},
    });
    expect(codeOf(() => parseConfig(stdin))).toBe(2);
    expect(parseDelConfig(stdin)).toEqual({
      cniVersion: '1.0.0',
      name: 'n',
      type: 'nlkit-cni',
      stateDir: '/run/x',
      ipam: { type: 'host-local' },
      runtimeConfig: {},
    });
    // an ipam.type ADD refused delegated nothing
    expect(parseDelConfig('{"cniVersion":"1.0.0","name":"n","ipam":{"type":5}}').ipam).toEqual({});
    expect(parseDelConfig('{"cniVersion":"1.0.0","name":"n","ipam":[]}').ipam).toEqual({});
    expect(codeOf(() => parseDelConfig('nope'))).toBe(6);
    expect(codeOf(() => parseDelConfig('null'))).toBe(6);
    expect(codeOf(() => parseDelConfig('{"cniVersion":"1.0.0"}'))).toBe(7);
    expect(codeOf(() => parseDelConfig('{"cniVersion":"1.0.0","name":""}'))).toBe(7);
    expect(codeOf(() => parseDelConfig('{"cniVersion":"1.0.0","name":"n","stateDir":7}'))).toBe(7);
    // CNI_ARGS (IP, MAC) are ADD's: DEL does not refuse them
    const base = { CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0', CNI_ARGS: 'FOO=1;junk' };
    expect(parseEnvironment({ ...base, CNI_COMMAND: 'DEL' }).args).toEqual({});
    expect(codeOf(() => parseEnvironment({ ...base, CNI_COMMAND: 'CHECK', CNI_NETNS: '/x' }))).toBe(4);
  });

  it("refuses a network name against the spec's pattern (code 7), for every command that reads the configuration", () => {
    const named = (name: unknown) => JSON.stringify({ cniVersion: '1.1.0', name, 'cni.dev/valid-attachments': [] });
    for (const name of ['a b', '-a', '.a', '_a', 'a/b', 'a:b', 'é', 'a\n', 'a\u0000']) {
      for (const command of ['ADD', 'CHECK', 'GC', 'STATUS'] as const)
        expect(
          codeOf(() => parseConfig(named(name), command)),
          `${command} ${name}`,
        ).toBe(7);
    }
    for (const name of ['a', 'A', '0', 'Pod.Net_1-x', 'a..b', 'a-']) expect(parseConfig(named(name)).name).toBe(name);
    // DEL reads only what identifies an attachment: a name an earlier version accepted can still be cleaned up
    expect(parseDelConfig(named('a b')).name).toBe('a b');
  });

  it('GC and STATUS check the network configuration, not what the runtime adds for an attachment', () => {
    const network = { cniVersion: '1.1.0', name: 'n', type: 'nlkit-cni', stateDir: '/run/x', ipam: { subnet: '10.9.0.0/24' } };
    const addOnly = {
      runtimeConfig: { bandwidth: { egressRate: -1 }, portMappings: [{ hostPort: 0 }], ips: '10.0.0.1' },
      args: { cni: { ips: 'x' } },
      prevResult: { ips: 'none' },
      'cni.dev/attachments': 'libcni adds it too',
    };
    const valid = [{ containerID: 'c', ifname: 'eth0' }];
    const stdin = JSON.stringify({ ...network, ...addOnly, 'cni.dev/valid-attachments': valid });
    expect(codeOf(() => parseConfig(stdin, 'ADD'))).toBe(7);
    expect(codeOf(() => parseConfig(stdin, 'CHECK'))).toBe(7);
    // not checked, and not carried: nothing downstream can read them
    expect(parseConfig(stdin, 'STATUS')).toEqual({ ...network, 'cni.dev/attachments': addOnly['cni.dev/attachments'], runtimeConfig: {} });
    expect(parseConfig(stdin, 'GC')).toEqual({ ...network, 'cni.dev/attachments': addOnly['cni.dev/attachments'], runtimeConfig: {}, validAttachments: valid });
    // the network's keys are checked as for ADD, and GC's list of valid attachments
    for (const command of ['GC', 'STATUS'] as const) {
      expect(
        codeOf(() => parseConfig(JSON.stringify({ ...network, vlanId: 3 }), command)),
        command,
      ).toBe(2);
      expect(
        codeOf(() => parseConfig(JSON.stringify({ ...network, mtu: 'big' }), command)),
        command,
      ).toBe(7);
      expect(
        codeOf(() => parseConfig(JSON.stringify({ ...network, stateDir: 7 }), command)),
        command,
      ).toBe(7);
      expect(
        codeOf(() => parseConfig(JSON.stringify({ ...network, ipam: { subnet: '10.9.0.0/24', dataDir: '/x' } }), command)),
        command,
      ).toBe(2);
    }
    expect(codeOf(() => parseConfig(JSON.stringify({ ...network, 'cni.dev/valid-attachments': [{ containerId: 'c', ifname: 'eth0' }] }), 'GC'))).toBe(7);
    // GC and STATUS have no attachment: CNI_ARGS are not theirs to refuse
    for (const command of ['GC', 'STATUS']) expect(parseEnvironment({ CNI_COMMAND: command, CNI_ARGS: 'FOO=1;junk' }).args).toEqual({});
  });

  it('DEL still refuses an unsupported cniVersion (code 1) before touching anything', async () => {
    const env = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' };
    for (const cniVersion of ['0.2.0', undefined, 1]) {
      const out = await runCni(env, JSON.stringify({ cniVersion, name: 'n', stateDir: '/nonexistent/nlkit' }));
      expect(out.exitCode).toBe(1);
      expect(JSON.parse(out.stdout)).toMatchObject({ code: 1 });
    }
  });

  it('answers an unsupported cniVersion with code 1 in a version it speaks, whatever else the configuration holds', async () => {
    const env = { CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0', CNI_NETNS: '/nonexistent/ns' };
    // keys a newer spec may have added are not nlkit's to judge (they would be code 2 or 7 in a version it speaks)
    const config = { cniVersion: '2.0.0', name: 'n', stateDir: '/nonexistent/nlkit', futureKey: true, ipam: { subnet: 7 } };
    for (const command of ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS']) {
      const out = await runCni({ ...env, CNI_COMMAND: command }, JSON.stringify(config));
      expect(out.exitCode, command).toBe(1);
      expect(JSON.parse(out.stdout), command).toMatchObject({ cniVersion: '1.1.0', code: 1, msg: 'incompatible CNI version "2.0.0"' });
    }
    // a version it speaks is still the one errors are written in
    const old = await runCni({ ...env, CNI_COMMAND: 'ADD' }, JSON.stringify({ ...config, cniVersion: '0.4.0' }));
    expect(JSON.parse(old.stdout)).toMatchObject({ cniVersion: '0.4.0', code: 2 });
  });

  it('writes results per version and errors as the spec object', () => {
    const r = {
      interfaces: [
        { name: 'br', mac: 'aa', mtu: 1500 },
        { name: 'eth0', sandbox: '/ns', mtu: 1500 },
      ],
      ips: [
        { address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 1 },
        { address: 'fd00::2/64', interface: 1 },
      ],
      routes: [{ dst: '0.0.0.0/0' }],
    };
    const v031 = formatResult('0.3.1', r) as { ips: Array<{ version: string }>; interfaces: Array<{ mtu?: number }> };
    expect(v031.ips.map((i) => i.version)).toEqual(['4', '6']);
    expect(v031.interfaces[0].mtu).toBeUndefined();
    const v110 = formatResult('1.1.0', r) as { ips: Array<{ version?: string }>; interfaces: Array<{ mtu?: number }>; dns: unknown };
    expect(v110.ips[0].version).toBeUndefined();
    expect(v110.interfaces[0].mtu).toBe(1500);
    expect(v110.dns).toEqual({});
    expect(resultAddresses(v031 as unknown as Record<string, unknown>)).toEqual(['10.0.0.2/24', 'fd00::2/64']);
    expect(errorResult('1.0.0', new ValidationError('subnet', 'x', 'bad'))).toMatchObject({ cniVersion: '1.0.0', code: 7, details: 'field: subnet' });
    expect(errorResult('1.0.0', new CniError(3, 'gone'))).toEqual({ cniVersion: '1.0.0', code: 3, msg: 'gone' });
    expect(errorResult('1.0.0', new Error('boom'))).toMatchObject({ code: 5, msg: 'boom' });
    // a requested address another attachment holds is the request's fault (7), not an I/O failure (5)
    expect(errorResult('1.0.0', new AddressInUseError('10.0.0.5', 'ctr-a/eth0'))).toEqual({
      cniVersion: '1.0.0',
      code: 7,
      msg: 'requested address 10.0.0.5 is already in use by attachment ctr-a/eth0',
      details: 'address: 10.0.0.5; owner: ctr-a/eth0',
    });
  });

  it('checks port mappings: ports 1-65535, tcp/udp (sctp unsupported), hostIP an address, no host port mapped twice', () => {
    const m = { hostPort: 8080, containerPort: 80 };
    expect(checkPortMappings(undefined)).toEqual([]);
    expect(checkPortMappings([{ ...m, protocol: 'UDP', hostIP: '::ffff:10.0.0.1' }, { ...m, hostIP: '0.0.0.0' }, m])).toEqual([
      { protocol: 'udp', hostPort: 8080, containerPort: 80, hostIp: '::ffff:10.0.0.1' },
      { protocol: 'tcp', hostPort: 8080, containerPort: 80, hostIp: undefined },
      { protocol: 'tcp', hostPort: 8080, containerPort: 80, hostIp: undefined },
    ]);
    const refused: Array<[unknown, number]> = [
      [{ ...m, hostPort: 0 }, 7],
      [{ ...m, hostPort: 65536 }, 7],
      [{ ...m, hostPort: 80.5 }, 7],
      [{ hostPort: 8080 }, 7],
      [{ ...m, containerPort: '80' }, 7],
      [{ ...m, protocol: 'icmp' }, 7],
      [{ ...m, protocol: 6 }, 7],
      [{ ...m, protocol: 'sctp' }, 2],
      [{ ...m, hostIP: '10.0.0' }, 7],
      [{ ...m, hostIP: 7 }, 7],
      [{ ...m, hostIP: '::1' }, 7],
      [{ ...m, hostip: '10.0.0.1' }, 2],
    ];
    for (const [mapping, code] of refused)
      expect(
        codeOf(() => checkPortMappings([mapping as never])),
        JSON.stringify(mapping),
      ).toBe(code);
    expect(codeOf(() => checkPortMappings([m, { ...m, containerPort: 81 }]))).toBe(7);
    expect(codeOf(() => checkPortMappings([m, { ...m, hostIP: '10.0.0.1' }]))).toBe(7); // every address includes 10.0.0.1
    expect(checkPortMappings([m, { ...m, protocol: 'udp' }, { ...m, hostPort: 8081 }])).toHaveLength(3);
  });
});
