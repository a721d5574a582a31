/**
 * Serialises the operations on one attachment (network, id) across
 * processes and managers: attach, detach and their recovery hold a flock on
 * the attachment's lock file for their whole duration, so two managers
 * attaching the same sandbox run one after the other (the second finds the
 * first's attachment) instead of racing for the same veth name and undoing
 * each other's lease.
 *
 * Ids hash onto a fixed number of lock files per network (the files are
 * never deleted: removing a lock file others may be waiting on breaks the
 * exclusion), taken in sorted order so bulk operations cannot deadlock.
 * Within the process a promise chain per file comes first, so at most one
 * libuv worker waits for a given file's flock.
 * @module
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { withFileLock } from './file-lock';
import { ensureTrustedSubdir } from './state-dir';

/** Lock files per network: enough that unrelated sandboxes rarely share one. */
const STRIPES = 256;

/** The tail of each lock file's queue in this process. */
const queues = new Map<string, Promise<unknown>>();

function lockFile(dir: string, network: string, id: string): string {
  const stripe = createHash('sha256').update(id).digest().readUInt16BE(0) % STRIPES;
  return path.join(dir, `${network}.${stripe.toString(16).padStart(2, '0')}.lock`);
}

/** Lock directories checked by this process (as the state store checks its directory once, when it opens). */
const trusted = new Set<string>();

/**
 * The lock files' directory of `stateDir`, checked like the state directory (ours or root's, private, not a
 * symbolic link: a lock file made through one is made elsewhere, and locks nothing) the first time this process
 * uses it; made (private) when missing. Not checked before every lock: a stat each.
 */
function lockDir(stateDir: string): string {
  const dir = path.join(stateDir, 'locks');
  if (!trusted.has(dir)) {
    ensureTrustedSubdir(stateDir, 'locks');
    trusted.add(dir);
  }
  return dir;
}

/**
 * Made anew (private) and checked again when a lock file cannot be made for lack of it (removed meanwhile).
 * Only the lock directory: a state directory that is gone is not made again behind the store's checks.
 */
function makeLockDir(file: string): () => void {
  const dir = path.dirname(file);
  return () => void ensureTrustedSubdir(path.dirname(dir), path.basename(dir));
}

/** Runs fn while holding one lock file: first this process's queue for it, then the flock. */
async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(file) ?? Promise.resolve();
  const locked = () => withFileLock(file, fn, makeLockDir(file));
  const run = before.then(locked, locked);
  const tail = run.catch(() => undefined);
  queues.set(file, tail);
  try {
    return await run;
  } finally {
    if (queues.get(file) === tail) queues.delete(file);
  }
}

/** Runs fn while holding the locks of the attachments `ids` of `network`. */
export async function withSandboxLocks<T>(stateDir: string, network: string, ids: string[], fn: () => Promise<T>): Promise<T> {
  const dir = lockDir(stateDir);
  const files = [...new Set(ids.map((id) => lockFile(dir, network, id)))].sort();
  const take = (i: number): Promise<T> => (i === files.length ? fn() : withLock(files[i], () => take(i + 1)));
  return take(0);
}

/**
 * Runs fn while holding the lock of the network lifecycle (create, delete):
 * runtimes start containers in parallel and their first calls all create
 * the same network; one at a time, the later ones find it (unserialised, a
 * second create saw the first one's new bridge address as an overlapping
 * subnet).
 */
export async function withLifecycleLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  return withLock(path.join(lockDir(stateDir), 'networks.lock'), fn);
}
