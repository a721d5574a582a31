// Snapshot of the machine's root network namespace: what the suite must leave
// exactly as it found it (links, named namespaces, nftables ruleset, and what
// is in /run, where nlkit keeps its default state, and in /dev/shm, where
// programs a test runs in a private mount namespace still share the host's).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface HostState {
  links: string[];
  namespaces: string[];
  ruleset: string;
  /** Entries of /run, of /run/nlkit and of /dev/shm. */
  run: string[];
}

function tool(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

export function captureHostState(): HostState {
  const links = (JSON.parse(tool('ip', ['-j', 'link', 'show']) || '[]') as Array<{ ifname: string; ifindex: number }>)
    .map((l) => `${l.ifindex}:${l.ifname}`)
    .sort();
  let namespaces: string[] = [];
  try {
    namespaces = fs.readdirSync('/run/netns').sort();
  } catch {
    namespaces = [];
  }
  const entries = (dir: string) => {
    try {
      return fs.readdirSync(dir).map((n) => `${dir}/${n}`);
    } catch {
      return [];
    }
  };
  const run = [...entries('/run'), ...entries('/run/nlkit'), ...entries('/dev/shm')].sort();
  return { links, namespaces, ruleset: tool('nft', ['list', 'ruleset']), run };
}

export function diffHostState(before: HostState, after: HostState): string[] {
  const problems: string[] = [];
  const added = after.links.filter((l) => !before.links.includes(l));
  const removed = before.links.filter((l) => !after.links.includes(l));
  if (added.length) problems.push(`links added to the root namespace: ${added.join(', ')}`);
  if (removed.length) problems.push(`links removed from the root namespace: ${removed.join(', ')}`);
  const nsAdded = after.namespaces.filter((n) => !before.namespaces.includes(n));
  if (nsAdded.length) problems.push(`namespaces left under /run/netns: ${nsAdded.join(', ')}`);
  const nsRemoved = before.namespaces.filter((n) => !after.namespaces.includes(n));
  if (nsRemoved.length) problems.push(`namespaces that existed before were removed: ${nsRemoved.join(', ')}`);
  if (before.ruleset !== after.ruleset) problems.push('the root nftables ruleset changed');
  // Only what appeared: other programs may remove their own files from /run meanwhile.
  const runAdded = after.run.filter((n) => !before.run.includes(n));
  if (runAdded.length) problems.push(`left in /run or /dev/shm: ${runAdded.join(', ')}`);
  return problems;
}

/**
 * The suite's first named namespace creates `dir` (/run/netns) and mounts it on itself, shared, as `ip netns
 * add` does. On a machine that had none, the suite takes it away again once it is empty, so that /run is as it
 * was; a directory that still holds namespaces stays, and the diff reports them. What this cannot remove (not
 * empty, busy) stays too, and the diff reports it as left in /run.
 */
export function removeNewNetnsDir(before: HostState, dir = '/run/netns'): void {
  if (before.run.includes(dir)) return;
  let left: string[];
  try {
    left = fs.readdirSync(dir);
  } catch {
    return; // never made
  }
  if (left.length > 0) return;
  // -n: util-linux would otherwise record the unmount in /run/mount/utab (a new /run/mount). Not a mount point: fails.
  tool('umount', ['-n', dir]);
  try {
    fs.rmdirSync(dir);
  } catch {
    // still a mount point or not empty: the diff reports it
  }
}
