// Which netlink sockets this process holds in a namespace, read from the
// kernel: /proc/net/netlink seen from inside the namespace, matched to the
// inodes of this process's descriptors (tests only). The kernel lists a
// netlink socket there once it is bound: count a process's sockets in
// /proc/<pid>/fd to see unbound ones too.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * Inodes of this process's (or process `pid`'s) netlink sockets of `protocol` (0: NETLINK_ROUTE) in namespace `ns`,
 * sorted: the kernel lists them in its hash table's order, which moves as sockets come and go.
 */
export function ownNetlinkSockets(ns: string, protocol = 0, pid: number | 'self' = 'self'): string[] {
  const own = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) own.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const table = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/netlink'], { encoding: 'utf8' });
  return table
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === String(protocol) && own.has(f[9])) // the second column is the protocol, the last the inode
    .map((f) => f[9])
    .sort();
}
