/**
 * The build's warm-up of the attach path (issue #14, bench/notes.md "The code cache holds a first attach"):
 * scripts/bundle.mjs runs it in the bundle before it writes the V8 code cache, so a new process whose work is
 * one attach (a CNI plugin, `nlkit net attach`) finds compiled what `networks()`, `create()`, `attach()` and
 * `detach()` run: the state store and its locks, the host checks, the firewall's listing and commit, IPAM, the
 * intents journal, the veth round, the sandbox's one-shot rounds, the removal; and the CNI plugin's ADD and DEL
 * over them (lib/cni: the configuration, the network found or made, the result).
 *
 * Nothing reaches a kernel, a namespace or /proc/sys: the addon is swapped for scripts/warm-connection.mjs's
 * stand-in, its sockets answered by the made-up host of scripts/warm-attach-kernel.mjs; the namespaces are
 * empty files in a private temporary directory (mkdtemp: mode 0700, removed afterwards), sysctl writes and file
 * locks are recorded, not made. The state directory is a real one inside it, so the store's owner and mode checks
 * run as they do for a user. A warm-up that no longer goes the way it did (a request the made-up host does not
 * answer, a native call the stand-in does not have, a result not as expected) throws: the build fails.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { attachKernel } from './warm-attach-kernel.mjs';
import { standInBinding } from './warm-connection.mjs';

/** The namespace path the library opens for itself (its host's identity), answered with the host's file. */
const OWN_NAMESPACE = '/proc/thread-self/ns/net';
/**
 * The CNI ADD's sandbox (CNI_NETNS): a path that is a namespace file to statfs (the plugin checks), answered with
 * the sandbox's file when opened. This process's own namespace file: only its metadata is read.
 */
const CNI_NETNS = '/proc/self/ns/net';
const CLONE_NEWNET = 0x40000000;

/**
 * The native calls attach makes besides sockets, over files in `dir`: namespaces opened (only `dir`'s files,
 * the library's own namespace as `dir`/host, and reopens by /proc/self/fd of those), sysctls and locks recorded.
 * @example
 * const { extra, calls } = attachNatives('/tmp/nlkit-warm-x');
 */
export function attachNatives(dir) {
  const calls = { heldFdOpen: 0, heldFdClose: 0, netnsType: 0, sysctlWrite: 0, lockExclusive: 0, tryLockExclusive: 0 };
  const open = new Set();
  const sysctls = [];
  const extra = {
    heldFdOpen(p) {
      calls.heldFdOpen++;
      const file = p === OWN_NAMESPACE ? path.join(dir, 'host') : p === CNI_NETNS ? path.join(dir, 'sandbox') : p;
      const reopen = file.startsWith('/proc/self/fd/') && open.has(Number(file.slice('/proc/self/fd/'.length)));
      if (!reopen && path.dirname(file) !== dir) throw new Error(`warm-attach: the attach path opened ${p}, which the stand-in does not know`);
      const fd = openSync(file, 'r');
      open.add(fd);
      return fd;
    },
    heldFdClose(fd) {
      calls.heldFdClose++;
      if (open.delete(fd)) closeSync(fd);
      return true; // netlinkSocketOpen's made-up fds (warm-connection.mjs) are "closed" too
    },
    netnsType(fd) {
      calls.netnsType++;
      if (!open.has(fd)) throw new Error(`warm-attach: the attach path asked the namespace type of fd ${fd}, which the stand-in did not open`);
      return CLONE_NEWNET;
    },
    sysctlWrite(_netnsFd, p, value) {
      calls.sysctlWrite++;
      sysctls.push([p, value]);
      return Promise.resolve();
    },
    lockExclusive() {
      calls.lockExclusive++;
      return Promise.resolve(); // one process, one warm-up: nobody to wait for
    },
    tryLockExclusive() {
      calls.tryLockExclusive++;
      return true;
    },
  };
  const closeAll = () => {
    for (const fd of open) closeSync(fd);
    open.clear();
  };
  return { extra, calls, sysctls, closeAll };
}

const check = (ok, what) => {
  if (!ok) throw new Error(`warm-attach: ${what} (bring scripts/warm-attach.mjs up to date)`);
};

/**
 * Runs `networks({ stateDir })`, a network's `create()`, a first `attach()`, `detach()` and `delete()` through
 * the public API over the stand-in, then CNI ADDs and DELs through `runCni`. `nlkit`: the library's root exports;
 * `cni`: its CNI entry point (lib/cni/main); `binding`: its lib/native/binding module (the bundle's own). Returns what ran (the made-up host's counts and its links at the end, the stand-in's
 * calls, the sysctls written, the attachment) and the temporary directory it used. The addon is back in place and the temporary directory gone
 * afterwards, also when a step failed.
 * @example
 * const { seen } = await warmAttach({ nlkit: loaded.index(), cni: loaded.cni(), binding: loaded.lib('native/binding.js') });
 */
export async function warmAttach({ nlkit, cni, binding }) {
  const kernel = attachKernel();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nlkit-warm-attach-'));
  const natives = attachNatives(dir);
  const stand = standInBinding(binding.native(), kernel, natives.extra);
  binding.useNativeStandIn(stand.binding);
  let attachment;
  let cniResult;
  try {
    // mkdtemp makes it 0700 and ours; checked, as the store checks its own directory (a shared /tmp).
    const st = statSync(dir);
    if ((st.mode & 0o777) !== 0o700 || st.uid !== process.getuid()) throw new Error(`warm-attach: ${dir} is not a private directory of this user`);
    writeFileSync(path.join(dir, 'host'), '');
    writeFileSync(path.join(dir, 'sandbox'), '');
    attachment = await createAttachDetach(nlkit, path.join(dir, 'state'), natives.extra.heldFdOpen(path.join(dir, 'sandbox')));
    cniResult = await cniAddDel(cni, path.join(dir, 'cni-state'));
  } finally {
    binding.useNativeStandIn(undefined);
    natives.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const { seen } = kernel;
  check(attachment.ipv4 === '10.88.0.2/24' && attachment.ifname === 'eth0', `the attachment was ${JSON.stringify(attachment)}`);
  check(
    seen.vethAdds === 3 && seen.addressWrites >= 2 && seen.routeWrites >= 1 && seen.batches >= 1 && seen.linkDeletes >= 2,
    `the made-up host saw ${JSON.stringify(seen)}`,
  );
  check(stand.calls.transactIn === 3, `the sandbox's rounds were ${JSON.stringify(stand.calls)}`);
  check(
    cniResult.interfaces?.[0]?.name === 'cniwarm0' && cniResult.ips?.[0]?.address === '10.89.0.3/24',
    `the CNI ADD's result was ${JSON.stringify(cniResult)}`,
  );
  check(
    natives.sysctls.length > 0 && natives.calls.tryLockExclusive + natives.calls.lockExclusive > 0,
    `the other native calls were ${JSON.stringify(natives.calls)}`,
  );
  return {
    seen,
    calls: { ...stand.calls, ...natives.calls },
    sysctls: natives.sysctls,
    attachment,
    cniResult,
    links: [...kernel.links.values()].map((l) => l.name),
    dir,
  };
}

/** The sandbox is an open namespace (`sandboxFd`, a file of the temporary directory), as a caller holding one passes it. */
async function createAttachDetach({ networks, NetworkNamespace }, stateDir, sandboxFd) {
  const sandbox = new NetworkNamespace(sandboxFd, undefined, `/proc/self/fd/${sandboxFd}`);
  const nets = await networks({ stateDir });
  try {
    await nets.create({ name: 'warm', subnet: '10.88.0.0/24' });
    const attachment = await nets.attach('warm', { sandbox, id: 'warm1' });
    check((await nets.detach('warm', { id: 'warm1' })) === true, 'detach did not detach the attachment');
    await nets.delete('warm');
    return attachment;
  } finally {
    nets.close();
  }
}

/**
 * The CNI plugin's ADD of a container on a network it creates (a node's first container), an ADD of a second one
 * (the network found as made: a node's usual call), then their DELs: lib/cni over the same path. Returns the
 * second ADD's result.
 */
async function cniAddDel({ runCni }, stateDir) {
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'cniwarm',
    type: 'nlkit-cni',
    bridge: 'cniwarm0',
    isGateway: true,
    ipMasq: true,
    stateDir,
    ipam: { subnet: '10.89.0.0/24' },
  });
  const call = async (command, container) => {
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: container, CNI_NETNS, CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' };
    const { stdout, exitCode } = await runCni(env, conf);
    check(exitCode === 0, `the CNI ${command} of ${container} failed: ${stdout}`);
    return stdout;
  };
  await call('ADD', 'warm1');
  await call('DEL', 'warm1'); // the sandbox's eth0 is free again
  const added = JSON.parse(await call('ADD', 'warm2'));
  await call('DEL', 'warm2');
  return added;
}
