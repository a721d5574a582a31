// A manager keeps working in the host namespace it opened: once the host's name is deleted and given to a
// new namespace (`ip netns del A; ip netns add A`), publishing, a new network's sysctls, check() and
// reconcile() still act on the original namespace (read back with `nft -j` and `sysctl` inside it, through
// an fd the test holds) and never touch the impostor under the name.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, open, openNetnsSync, ValidationError, type NetworkNamespace } from '../../lib';
import { NetworkManager, networks } from '../../lib/network/manager';
import { requireRoot, uniqueNetnsName } from '../helpers/netns';

/** Runs a command in the namespace of an fd this process holds (the original host has no name any more). */
function inFd(ns: NetworkNamespace, cmd: string, ...args: string[]): string {
  return execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, cmd, ...args], { encoding: 'utf8' });
}
function inName(name: string, cmd: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8' });
}
function nlkitTable(ruleset: string): boolean {
  return (JSON.parse(ruleset) as { nftables: Array<Record<string, any>> }).nftables.some((i) => i.table?.name === 'nlkit');
}

describe('network manager: the host name deleted and re-created after the manager opened', () => {
  const host = uniqueNetnsName('t9host');
  const sandbox = uniqueNetnsName('t9sb');
  let nets: NetworkManager;
  let original: NetworkNamespace;
  let stateDir: string;

  beforeAll(async () => {
    requireRoot();
    execFileSync('ip', ['netns', 'add', host]);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-hostname-'));
    nets = await networks({ host, stateDir });
    await nets.create({ name: 'hr', subnet: '10.93.0.0/24' });
    await nets.attach('hr', { sandbox, create: true });
    original = openNetnsSync(host);
    // The impostor: the name now denotes a new, empty namespace (forwarding off, no nft table).
    execFileSync('ip', ['netns', 'del', host]);
    execFileSync('ip', ['netns', 'add', host]);
  });
  afterAll(async () => {
    await nets?.delete('hr').catch(() => undefined);
    await nets?.delete('hr2').catch(() => undefined);
    nets?.close();
    original?.close(); // the original namespace goes with the last reference
    await deleteNetns(sandbox, { missingOk: true });
    await deleteNetns(host, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('check() compares with the original namespace: no drift', async () => {
    expect(await nets.check()).toEqual([]);
  });

  it('publish and a new network change the original namespace only', async () => {
    await nets.publish({ network: 'hr', hostPort: 8080, containerPort: 80, to: sandbox });
    await nets.create({ name: 'hr2', subnet: '10.93.1.0/24', subnet6: 'fd93:1::/64' });
    const mine = inFd(original, 'nft', '-j', 'list', 'map', 'inet', 'nlkit', 'pub4');
    expect(mine).toContain('8080');
    expect(inFd(original, 'sysctl', '-n', 'net.ipv4.ip_forward').trim()).toBe('1');
    expect(inFd(original, 'sysctl', '-n', 'net.ipv6.conf.all.forwarding').trim()).toBe('1');
    // The impostor is exactly as `ip netns add` made it.
    const theirs = inName(host, 'nft', '-j', 'list', 'ruleset');
    expect(nlkitTable(theirs)).toBe(false);
    expect(inName(host, 'sysctl', '-n', 'net.ipv4.ip_forward').trim()).toBe('0');
    expect(inName(host, 'sysctl', '-n', 'net.ipv6.conf.all.forwarding').trim()).toBe('0');
    expect(JSON.parse(execFileSync('ip', ['-n', host, '-j', 'link', 'show'], { encoding: 'utf8' })).map((l: any) => l.ifname)).toEqual(['lo']);
  });

  it('reconcile() repairs the original after its forwarding was turned off, and leaves the impostor', async () => {
    inFd(original, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0');
    expect((await nets.check()).map((d) => d.kind)).toEqual(['sysctl']);
    await nets.reconcile();
    expect(inFd(original, 'sysctl', '-n', 'net.ipv4.ip_forward').trim()).toBe('1');
    expect(inName(host, 'sysctl', '-n', 'net.ipv4.ip_forward').trim()).toBe('0');
    expect(await nets.check()).toEqual([]);
  });

  // A manager opens its host handle and then its state store, each through the name: a name re-pointed between
  // the two is refused (the state would describe one namespace and the handle act in another). Made here
  // directly: a handle on the original namespace, and the name now denoting the impostor.
  it('a manager whose host handle is not the namespace its host name denotes is refused', async () => {
    const h = await open({ netns: original });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-hostname-'));
    try {
      expect(() => new NetworkManager(h, { host, stateDir: dir })).toThrow(ValidationError);
      expect(() => new NetworkManager(h, { host, stateDir: dir })).toThrow(/was replaced while the manager opened it/);
    } finally {
      h.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
