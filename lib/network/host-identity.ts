/**
 * Which host namespace, in which boot, a state file describes. A name is not
 * enough: a host namespace deleted and re-created under the same name is
 * empty, and after a reboot (/run may be on disk) nothing recorded exists;
 * the kernel objects a stale state names are not nlkit's any more.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationError } from '../netlink/errors';
import { namespaceKind, openNetnsSync, type NetnsRef, type NetworkNamespace } from '../netns/namespace';

/** The host namespace's nsfs device and inode, and the kernel's boot id. */
export interface HostIdentity {
  /** Device of the namespace's nsfs inode (decimal). */
  netnsDev: string;
  /** The namespace's nsfs inode (decimal). */
  netnsIno: string;
  /**
   * When the nsfs inode of a mounted namespace (a name under /run/netns, a
   * bind mount elsewhere) was made (ctime, ns): the kernel reuses the inode
   * number of a deleted namespace at once, and the mount keeps this inode
   * (and its time) for the namespace's life. Absent for /proc references,
   * whose inode is made anew at each open.
   */
  netnsSince?: string;
  /** /proc/sys/kernel/random/boot_id: new at every boot. */
  bootId: string;
}

/** The identity of the host namespace `ref` (default: the caller's) in this boot. */
export function hostIdentity(ref?: NetnsRef): HostIdentity {
  const ns = openNetnsSync(ref ?? { path: '/proc/thread-self/ns/net' });
  try {
    // Any nsfs file opens; a manager's socket then fails to enter a mount or
    // pid namespace (setns EINVAL), but a reader of records opens no socket: the
    // identity of another kind of namespace would set the host's state aside.
    const kind = namespaceKind(ns.fd);
    if (kind !== 'net') throw new ValidationError('host namespace', ns.path ?? ref, `is not a network namespace (a ${kind} namespace)`);
    const st = fs.fstatSync(ns.fd, { bigint: true });
    // An nsfs file outside /proc can only be a mount of it.
    const mounted = ns.path !== undefined && !ns.path.startsWith('/proc/');
    const bootId = readBootId();
    return { netnsDev: String(st.dev), netnsIno: String(st.ino), netnsSince: mounted ? String(st.ctimeNs) : undefined, bootId };
  } finally {
    ns.close();
  }
}

/**
 * Checks that the namespace a manager's host handle holds is the one its state store identified (both opened
 * from `ref`, one after the other): a name re-pointed in between would have the state describe one namespace
 * and the handle act in another. A ValidationError then; nothing was changed.
 */
export function verifyOpenedHost(opened: NetworkNamespace | undefined, identity: HostIdentity | undefined, ref: NetnsRef | undefined): void {
  if (!opened || !identity) return; // the caller's own namespace: no name to re-point
  const st = fs.fstatSync(opened.fd, { bigint: true });
  if (String(st.dev) === identity.netnsDev && String(st.ino) === identity.netnsIno) return;
  throw new ValidationError(
    'host namespace',
    opened.name ?? opened.path ?? ref,
    `was replaced while the manager opened it (nsfs inode ${identity.netnsDev}:${identity.netnsIno}, then ${st.dev}:${st.ino})`,
  );
}

/** The kernel's boot id; "unknown" where /proc does not show it (then only the namespace is compared). */
function readBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Why a recorded identity is not the current one, or undefined when it is. */
export function identityMismatch(recorded: HostIdentity, current: HostIdentity): string | undefined {
  if (recorded.bootId !== current.bootId && recorded.bootId !== 'unknown' && current.bootId !== 'unknown')
    return `recorded in another boot (boot_id ${recorded.bootId}, now ${current.bootId})`;
  const since = (id: HostIdentity) => (recorded.netnsSince && current.netnsSince ? ` since ${id.netnsSince}` : '');
  const was = `${recorded.netnsDev}:${recorded.netnsIno}${since(recorded)}`;
  const now = `${current.netnsDev}:${current.netnsIno}${since(current)}`;
  if (was !== now) return `recorded for another host namespace (nsfs inode ${was}, now ${now})`;
  return undefined;
}

/** What a state directory holds that describes one host namespace in one boot. */
// The intent journal goes too: a dead operation of another boot or namespace is not for this one to finish.
const STATE_ENTRIES = ['state.json', 'state.journal', 'publications.journal', 'ipam', 'intents'];

/**
 * Moves a stale state out of the way (each entry renamed `<name>.stale-<time>`,
 * kept for a human to read) so the store starts empty; returns the state
 * file's new path. Called under the state lock.
 */
export function setAsideStaleState(dir: string, reason: string): string {
  const suffix = `.stale-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const name of STATE_ENTRIES) {
    try {
      fs.renameSync(path.join(dir, name), path.join(dir, name + suffix));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  fs.writeFileSync(path.join(dir, `state.json${suffix}.reason`), `${reason}\n`, { mode: 0o600, flag: 'wx' });
  return path.join(dir, `state.json${suffix}`);
}
