/**
 * Which namespace a sandbox is: the device and inode of its nsfs file,
 * recorded at attach and compared before anything later touches the sandbox
 * (reattach, detach, check). A name or a pid says where a namespace was;
 * only the inode says it is still the same one (a namespace deleted and
 * re-created under its name, or a pid reused, has another).
 * @module
 */
import * as fs from 'node:fs';
import { ValidationError } from '../netlink/errors';
import { netnsPath, openNetnsSync, type NetnsRef, type NetworkNamespace } from '../netns/namespace';
import type { NamespaceIdentity } from './state';

/** The identity of an open namespace. */
export function identityOf(ns: NetworkNamespace): NamespaceIdentity {
  const st = fs.fstatSync(ns.fd);
  return { dev: st.dev, ino: st.ino };
}

/** The identity of the namespace a path names now, or undefined if none is there. */
export function identityAt(file: string): NamespaceIdentity | undefined {
  try {
    const st = fs.statSync(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** Whether two identities name the same namespace. A record without one (written before identities were kept) matches anything. */
export function sameNamespace(recorded: NamespaceIdentity | undefined, now: NamespaceIdentity | undefined): boolean {
  if (!recorded) return now !== undefined;
  return recorded.dev === now?.dev && recorded.ino === now.ino;
}

/** The identity of a host reference (undefined: the caller's own namespace). */
function hostIdentity(host: NetnsRef | undefined): NamespaceIdentity | undefined {
  if (host === undefined) return identityAt('/proc/self/ns/net');
  if (typeof host === 'string') return identityAt(netnsPath(host));
  try {
    const ns = openNetnsSync(host);
    try {
      return identityOf(ns);
    } finally {
      ns.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * The initial namespace, as pid 1's, read once per process: it never changes (init_net is the kernel's),
 * and where it cannot be read (EACCES without ptrace rights over pid 1) it never can, and each attempt
 * cost an exception. Undefined: not read yet.
 */
let initialNs: { id?: NamespaceIdentity } | undefined;

/**
 * Refuses a sandbox that is the manager's host namespace, the caller's own
 * or the initial one (pid 1's): attaching one of those would put a
 * container's interface, address and default route on the host itself.
 * `hostNs` is the host's identity when the caller knows it (a manager reads
 * it when it opens: its handle works in that namespace whatever the name
 * denotes later); else `host` is looked up now. Throws ValidationError
 * (nothing has been changed yet).
 */
export function refuseHostNamespace(sandbox: NamespaceIdentity, host: NetnsRef | undefined, what: string, hostNs?: NamespaceIdentity): void {
  initialNs ??= { id: identityAt('/proc/1/ns/net') };
  const hosts: Array<[string, NamespaceIdentity | undefined]> = [
    ['the host namespace of this manager', hostNs ?? hostIdentity(host)],
    ["the caller's own namespace", identityAt('/proc/self/ns/net')],
    ['the initial namespace (pid 1)', initialNs.id],
  ];
  for (const [name, id] of hosts) {
    if (id?.dev === sandbox.dev && id.ino === sandbox.ino) {
      throw new ValidationError('sandbox', what, `is ${name}; pass allowHostNamespace: true to attach it anyway`);
    }
  }
}
