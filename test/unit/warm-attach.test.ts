// The build's warm-up of the attach path (scripts/warm-attach.mjs, which scripts/bundle.mjs runs in the bundle
// before it writes the V8 code cache): networks(), a network's create, a first attach, detach and delete run
// through the public API over the stand-in for the addon and a made-up host (scripts/warm-attach-kernel.mjs),
// then the CNI plugin's ADD and DEL of two containers (runCni, lib/cni).
// Checked here on the library's sources: the veth pair was made with its peer in the sandbox, the sandbox's side
// went in one one-shot round, the firewall was committed, the state went to a private temporary directory that
// is gone afterwards, the made-up host is left with `lo` and the CNI network's bridge only, nothing reached the real addon's sockets,
// namespaces, sysctls or locks, and the addon is back in place, also when the warm-up fails. It runs on the
// built bundle too, through the module the build exposes for it (`lib('native/binding.js')`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as nlkit from '../../lib/index';
import * as binding from '../../lib/native/binding';
import * as cni from '../../lib/cni/main';

interface WarmAttach {
  warmAttach(args: { nlkit: unknown; cni: unknown; binding: unknown }): Promise<{
    seen: Record<string, number>;
    calls: Record<string, number>;
    sysctls: Array<[string, string]>;
    attachment: nlkit.Attachment;
    cniResult: { interfaces: Array<{ name: string; sandbox?: string }>; ips: Array<{ address: string; gateway: string }> };
    links: string[];
    dir: string;
  }>;
}
interface AttachKernel {
  attachKernel(): { answer(protocol: number, request: Uint8Array): Buffer };
}

interface BundleExports {
  index(): unknown;
  cni(): unknown;
  lib(file: string): unknown;
}

const scripts = path.join(__dirname, '..', '..', 'scripts');
const load = async () => (await import(path.join(scripts, 'warm-attach.mjs'))) as WarmAttach;

/** The real addon's entry points that touch a kernel, a namespace, /proc/sys or a lock. */
const REAL_CALLS = [
  'NetlinkSocket',
  'NetlinkSyncSocket',
  'netlinkSocketOpen',
  'netlinkTransactIn',
  'netlinkTransactFd',
  'heldFdOpen',
  'netnsType',
  'netnsCreateNamed',
  'netnsCreateAnonymous',
  'sysctlWrite',
  'sysctlWriteSync',
  'lockExclusive',
  'tryLockExclusive',
] as const;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the code-cache warm-up of the attach path', () => {
  it('creates a network, attaches, detaches and deletes over the stand-in; nothing reaches the addon, nothing is left', async () => {
    const { warmAttach } = await load();
    const real = binding.native();
    const realCalls = REAL_CALLS.map((name) => vi.spyOn(real, name));

    const { seen, calls, sysctls, attachment, cniResult, links, dir } = await warmAttach({ nlkit, cni, binding });

    // The first attach: a veth with its peer in the sandbox, eth0 addressed from IPAM, the default route.
    expect(attachment).toMatchObject({ network: 'warm', id: 'warm1', ifname: 'eth0', ipv4: '10.88.0.2/24', gateway: '10.88.0.1', defaultRoute: true });
    // The CNI ADDs (a network made, then found): the second container's result, in the plugin's format.
    expect(cniResult.ips).toEqual([{ address: '10.89.0.3/24', gateway: '10.89.0.1', interface: 2 }]);
    expect(cniResult.interfaces.map((i) => i.name)).toEqual(['cniwarm0', expect.stringMatching(/^nv/), 'eth0']);
    // One veth per attach (nets.attach, two CNI ADDs), each with its gateway or sandbox address and default route.
    expect(seen.vethAdds).toBe(3);
    expect(seen.addressWrites).toBe(5); // two bridges' gateway addresses, three eth0s
    expect(seen.routeWrites).toBe(3); // the sandboxes' default routes
    expect(seen.portSets).toBe(3); // the bridge ports' hairpin flag
    // Each sandbox side went in one round of a one-shot socket; the hosts' through open()'s connections.
    expect(calls.transactIn).toBe(3);
    expect(calls.socketOpen).toBeGreaterThanOrEqual(2);
    // create's firewall (each network's): listed, then committed in one batch.
    expect(seen.generations).toBeGreaterThan(0);
    expect(seen.batches).toBe(2);
    // Sysctls and locks went to the stand-in; the namespaces were files of the temporary directory.
    expect(sysctls).toContainEqual(['/proc/sys/net/ipv4/ip_forward', '1']);
    expect(calls.tryLockExclusive + calls.lockExclusive).toBeGreaterThan(0);
    expect(calls.netnsType).toBeGreaterThan(0);
    // delete removed its bridge, the detaches and DELs their veth pairs: lo and the CNI network's bridge remain.
    expect(seen.linkDeletes).toBe(4);
    expect(links).toEqual(['lo', 'cniwarm0']);
    // The temporary directory (state and namespace files) is gone; nothing reached the real addon.
    expect(path.dirname(dir)).toBe(fs.realpathSync(os.tmpdir()));
    expect(fs.existsSync(dir)).toBe(false);
    for (const spy of realCalls) expect(spy).not.toHaveBeenCalled();
    expect(binding.native()).toBe(real);
  });

  it("runs on the built bundle's own modules, as scripts/bundle.mjs runs it (needs `npm run build:ts`)", async () => {
    const { warmAttach } = await load();
    const bundle = createRequire(__filename)(path.join(__dirname, '..', '..', 'dist', 'bundle', 'nlkit.js')) as { load(cache: string): BundleExports };
    const loaded = bundle.load('lib');
    const bundled = loaded.lib('native/binding.js') as typeof binding;
    const { seen, attachment, cniResult, links } = await warmAttach({ nlkit: loaded.index(), cni: loaded.cni(), binding: bundled });
    expect(attachment.ipv4).toBe('10.88.0.2/24');
    expect(cniResult.ips[0].address).toBe('10.89.0.3/24');
    expect(seen.vethAdds).toBe(3);
    expect(links).toEqual(['lo', 'cniwarm0']);
    expect(bundled.native()).toBe(binding.native());
  });

  it('fails loudly when the attach path goes another way, and puts the addon back and removes its directory', async () => {
    const { warmAttach } = await load();
    const { attachKernel } = (await import(path.join(scripts, 'warm-attach-kernel.mjs'))) as AttachKernel;
    const getRule = Buffer.alloc(16);
    getRule.writeUInt32LE(16, 0);
    getRule.writeUInt16LE(34, 4); // RTM_GETRULE: not one of attach's requests
    expect(() => attachKernel().answer(0, getRule)).toThrow(/rtnetlink message type 34/);

    const real = binding.native();
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('nlkit-warm-attach-')));
    // An attach that no longer gives the sandbox the first address of the subnet.
    const attach = nlkit.NetworkManager.prototype.attach;
    vi.spyOn(nlkit.NetworkManager.prototype, 'attach').mockImplementation(async function (this: nlkit.NetworkManager, network, opts) {
      return { ...(await attach.call(this, network, opts)), ipv4: '10.88.0.3/24' };
    });
    await expect(warmAttach({ nlkit, cni, binding })).rejects.toThrow(/warm-attach: the attachment was/);
    expect(binding.native()).toBe(real);
    const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('nlkit-warm-attach-') && !before.has(f));
    expect(after).toEqual([]);
  });
});
