/**
 * Network namespaces: named ones the way `ip netns` keeps them (bind mounts
 * under /run/netns), anonymous ones held by an fd, and references to a
 * namespace by name, path, pid or fd. All done with syscalls in the addon.
 * @module
 */
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { native } from '../native/binding';
import { NotFoundError, SystemError, ValidationError, checkDeleteOptions, fromNative, type DeleteOptions } from '../netlink/errors';
import { validateNetnsName } from '../validate/names';
import { rejectUnknownKeys } from '../validate/options';

/** Where named namespaces live, as with iproute2. */
export const NETNS_RUN_DIR = '/run/netns';
const NSFS_MAGIC = 0x6e736673;
const errno = osConstants.errno;

/**
 * Which network namespace to work in:
 * - a name (`'c1'`, as in `ip netns add c1`),
 * - `{ name }`, `{ path }` (any nsfs file, e.g. /proc/123/ns/net), `{ pid }`, `{ fd }`,
 * - an open {@link NetworkNamespace},
 * - `undefined`: the namespace of the calling process.
 */
export type NetnsRef =
  | string
  | {
      /** A name under /run/netns. */
      name: string;
    }
  | {
      /** An absolute path to an nsfs file (/proc/PID/ns/net, a bind mount). */
      path: string;
    }
  | {
      /** The namespace of this process. */
      pid: number;
    }
  | {
      /** An open fd on a namespace (duplicated; the caller keeps its own). */
      fd: number;
    }
  | NetworkNamespace;

/**
 * An open reference to a network namespace (an fd on its nsfs inode). While
 * open it keeps the namespace alive, even an unnamed one. Close it when done;
 * one opened in a worker and never closed is closed when the worker ends (or
 * is terminated), so it does not keep the namespace alive after that.
 */
export class NetworkNamespace {
  private _fd: number;
  /** Its name under /run/netns, when it has one. */
  readonly name?: string;
  /** The file it was opened from. */
  readonly path?: string;

  /** @internal `fd` is held by the addon's per-environment set (native/held_fd.h), which closes it if a worker ends first. */
  constructor(fd: number, name?: string, filePath?: string) {
    this._fd = fd;
    this.name = name;
    this.path = filePath;
  }

  /** The namespace fd (valid until close). */
  get fd(): number {
    if (this._fd < 0) throw new ValidationError('namespace', this.name ?? this.path, 'is closed');
    return this._fd;
  }

  /** The namespace inode number: equal inodes mean the same namespace. */
  get inode(): number {
    return fs.fstatSync(this.fd).ino;
  }

  /**
   * Closes the fd; the namespace itself lives on while it has a name, processes or other references.
   * @example
   * const ns = await openNetns('c1');
   * try { console.log(ns.inode); } finally { ns.close(); }
   */
  close(): void {
    if (this._fd >= 0) native().heldFdClose(this._fd);
    this._fd = -1;
  }

  /**
   * The name, or the path it was opened from.
   * @example
   * `${await openNetns({ pid: 1 })}`; // '/proc/1/ns/net'
   */
  toString(): string {
    return this.name ?? this.path ?? `netns fd ${this._fd}`;
  }
}

/** Resolves a reference to the nsfs file it names (not for fd refs). */
export function netnsPath(ref: Exclude<NetnsRef, NetworkNamespace | { fd: number }>): string {
  checkNetnsRef(ref);
  if (typeof ref === 'string') return path.join(NETNS_RUN_DIR, ref);
  if ('name' in ref) return path.join(NETNS_RUN_DIR, ref.name);
  if ('pid' in ref) return `/proc/${ref.pid}/ns/net`;
  return ref.path;
}

/** The largest fd or pid: both are a C int. */
const INT_MAX = 0x7fffffff;

/**
 * Checks a namespace reference before anything is opened or sent: a name
 * (`ip netns` rules), `{ name }`, `{ path }` (absolute, no NUL), `{ pid }`
 * (1 to 2^31-1), `{ fd }` (0 to 2^31-1), each with that one key, or a
 * {@link NetworkNamespace}. Anything else (a number, null, `{}`, an unknown
 * key) is a {@link ValidationError}, not a TypeError or an errno of a lookup
 * that could never succeed.
 * @example
 * checkNetnsRef({ pid: 1 }); // { pid: 1 }
 * checkNetnsRef({ fd: -1 }); // throws ValidationError
 */
export function checkNetnsRef(ref: unknown, field = 'netns'): NetnsRef {
  if (ref instanceof NetworkNamespace) return ref;
  if (typeof ref === 'string') return validateNetnsName(ref, 'namespace name');
  const keys = ref !== null && typeof ref === 'object' && !Array.isArray(ref) ? Object.keys(ref) : [];
  const key = keys.length === 1 ? keys[0] : undefined;
  const value = key === undefined ? undefined : (ref as Record<string, unknown>)[key];
  switch (key) {
    case 'name':
      validateNetnsName(value, 'namespace name');
      break;
    case 'path':
      if (typeof value !== 'string' || !path.isAbsolute(value)) throw new ValidationError('namespace path', value, 'must be an absolute path');
      if (value.includes('\0')) throw new ValidationError('namespace path', value, 'must not contain a NUL character');
      break;
    case 'pid':
      if (!Number.isInteger(value) || (value as number) <= 0 || (value as number) > INT_MAX)
        throw new ValidationError('pid', value, `must be a positive integer up to ${INT_MAX}`);
      break;
    case 'fd':
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > INT_MAX)
        throw new ValidationError('namespace fd', value, `must be an open fd (an integer from 0 to ${INT_MAX})`);
      break;
    default:
      throw new ValidationError(field, ref, 'must be a namespace name, { name }, { path }, { pid }, { fd } (one key) or a NetworkNamespace');
  }
  return ref as NetnsRef;
}

/**
 * Opens a namespace reference. The returned object owns a new fd (also for
 * `{ fd }` refs, which are duplicated) and must be closed. A name or path
 * that does not exist is a {@link NotFoundError} (code ENOENT).
 * @example
 * const ns = openNetnsSync('c1');          // or { path }, { pid }, { fd }
 * try { console.log(ns.path); } finally { ns.close(); }
 */
export function openNetnsSync(ref: NetnsRef): NetworkNamespace {
  checkNetnsRef(ref);
  if (ref instanceof NetworkNamespace) {
    // Its fd was checked to be a namespace file when it was opened: the reopen needs no statfs (one per handle opened with it).
    const p = `/proc/self/fd/${ref.fd}`;
    return new NetworkNamespace(openHeld(p, `open network namespace ${JSON.stringify({ path: p })}`), undefined, p);
  }
  if (typeof ref === 'object' && 'fd' in ref) return openNetnsSync({ path: `/proc/self/fd/${ref.fd}` });
  const p = netnsPath(ref);
  const fd = openHeld(p, `open network namespace ${describe(ref)}`);
  if (!isNsfs(p)) {
    native().heldFdClose(fd);
    throw new ValidationError('namespace', describe(ref), `${p} is not a namespace file (is the namespace mounted?)`);
  }
  const name = typeof ref === 'string' ? ref : 'name' in ref ? ref.name : undefined;
  return new NetworkNamespace(fd, name, p);
}

/**
 * Opens a namespace file for a holder that keeps it beyond one call: the
 * addon holds the fd (not Node's fs), so a worker that ends without close()
 * has it closed and does not keep the namespace alive. Close it with
 * native().heldFdClose.
 */
function openHeld(p: string, operation: string): number {
  try {
    return native().heldFdOpen(p);
  } catch (e) {
    const err = (e as { errno?: number }).errno;
    if (err === errno.ENOENT) throw new NotFoundError('network namespace', { errno: errno.ENOENT, operation, extack: `${p} does not exist` });
    throw new SystemError(operation, typeof err === 'number' ? err : errno.EIO, `open(${p})`);
  }
}

/**
 * Async form of {@link openNetnsSync} (opening is a cheap, non-blocking syscall).
 * @example
 * const ns = await openNetns({ pid: child.pid });
 * try { console.log(ns.inode); } finally { ns.close(); }
 */
export function openNetns(ref: NetnsRef): Promise<NetworkNamespace> {
  // The executor runs now, and what it throws becomes the rejection.
  return new Promise((resolve) => resolve(openNetnsSync(ref)));
}

/** NS_GET_NSTYPE's answers (CLONE_NEW*) by the names /proc/<pid>/ns gives them. */
const KINDS = new Map([
  [0x40000000, 'net'],
  [0x20000, 'mnt'],
  [0x20000000, 'pid'],
  [0x4000000, 'uts'],
  [0x8000000, 'ipc'],
  [0x10000000, 'user'],
  [0x2000000, 'cgroup'],
  [0x80, 'time'],
]);

/**
 * "net" for a network namespace's fd, else its kind ("mnt", "uts", ...): any
 * nsfs file opens as a namespace, and a reader that never enters it (setns
 * would refuse another kind) must still tell. A /proc/<pid>/ns link
 * names it ("mnt:[4026531840]"); a bind mount (/run/netns/NAME) reads as its
 * path, and then the kernel is asked (an unknown answer, on kernels before
 * 4.11, is taken as "net": the manager's setns still checks).
 * @internal
 */
export function namespaceKind(fd: number): string {
  const link = fs.readlinkSync(`/proc/self/fd/${fd}`);
  if (!link.startsWith('/')) return link.slice(0, link.indexOf(':'));
  let type: number;
  try {
    type = native().netnsType(fd);
  } catch (e) {
    throw fromNative('read the type of a namespace', e);
  }
  return type === 0 ? 'net' : (KINDS.get(type) ?? `0x${type.toString(16)}`);
}

function isNsfs(p: string): boolean {
  try {
    return fs.statfsSync(p).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

function describe(ref: NetnsRef): string {
  if (typeof ref === 'string') return ref;
  return JSON.stringify(ref);
}

/** Options for {@link createNetns}. */
export interface CreateNetnsOptions {
  /** Do nothing (and resolve to `false`) if a namespace of that name already exists (default: fail with EEXIST). */
  existOk?: boolean;
}

function checkCreateOptions(opts: CreateNetnsOptions): boolean {
  rejectUnknownKeys(opts, ['existOk'], 'options');
  if (opts.existOk !== undefined && typeof opts.existOk !== 'boolean') throw new ValidationError('existOk', opts.existOk, 'must be a boolean');
  return opts.existOk === true;
}

function prepareRunDir(): void {
  try {
    native().netnsPrepareDir(NETNS_RUN_DIR);
  } catch (e) {
    throw fromNative(`prepare ${NETNS_RUN_DIR}`, e);
  }
}

/**
 * Creates a named network namespace, like `ip netns add NAME`, off the event
 * loop. Its loopback is down, as with `ip netns add`. Resolves to `true`;
 * a taken name fails with EEXIST, or resolves to `false` with `{ existOk: true }`.
 * @example
 * await createNetns('c1');
 * const created = await createNetns('c1', { existOk: true }); // false: it was there
 */
export async function createNetns(name: string, opts: CreateNetnsOptions = {}): Promise<boolean> {
  const p = path.join(NETNS_RUN_DIR, validateNetnsName(name));
  const existOk = checkCreateOptions(opts);
  prepareRunDir();
  try {
    await native().netnsCreateNamed(p);
    return true;
  } catch (e) {
    if (existOk && (e as { errno?: number }).errno === errno.EEXIST && isNsfs(p)) return false;
    throw fromNative(`create network namespace ${name}`, e);
  }
}

/**
 * Blocking form of {@link createNetns}.
 * @example
 * createNetnsSync('c1', { existOk: true });
 */
export function createNetnsSync(name: string, opts: CreateNetnsOptions = {}): boolean {
  const p = path.join(NETNS_RUN_DIR, validateNetnsName(name));
  const existOk = checkCreateOptions(opts);
  prepareRunDir();
  try {
    native().netnsCreateNamedSync(p);
    return true;
  } catch (e) {
    if (existOk && (e as { errno?: number }).errno === errno.EEXIST && isNsfs(p)) return false;
    throw fromNative(`create network namespace ${name}`, e);
  }
}

/** Options for {@link deleteNetns}: `{ missingOk: true }`, as for every delete. */
export type DeleteNetnsOptions = DeleteOptions;

/** A failed delete as the verb table says: a missing name is NotFoundError, or false with missingOk. */
function deleteFailed(name: string, p: string, e: unknown, missingOk: boolean): false {
  if ((e as { errno?: number }).errno !== errno.ENOENT) throw fromNative(`delete network namespace ${name}`, e);
  if (missingOk) return false;
  throw new NotFoundError('network namespace', { errno: errno.ENOENT, operation: `delete network namespace ${name}`, extack: `${p} does not exist` });
}

/**
 * Deletes a named namespace, like `ip netns del NAME`: the name goes away at
 * once; the kernel tears the namespace (and its links) down when nothing
 * else holds it. Resolves to `true`; no such namespace is a
 * {@link NotFoundError} (code ENOENT), or `false` with `{ missingOk: true }`.
 * @example
 * await deleteNetns('c1', { missingOk: true });
 */
export async function deleteNetns(name: string, opts: DeleteNetnsOptions = {}): Promise<boolean> {
  const p = path.join(NETNS_RUN_DIR, validateNetnsName(name));
  const missingOk = checkDeleteOptions(opts);
  try {
    await native().netnsDeleteNamed(p);
    return true;
  } catch (e) {
    return deleteFailed(name, p, e, missingOk);
  }
}

/**
 * Blocking form of {@link deleteNetns}.
 * @example
 * deleteNetnsSync('c1');
 */
export function deleteNetnsSync(name: string, opts: DeleteNetnsOptions = {}): boolean {
  const p = path.join(NETNS_RUN_DIR, validateNetnsName(name));
  const missingOk = checkDeleteOptions(opts);
  try {
    native().netnsDeleteNamedSync(p);
    return true;
  } catch (e) {
    return deleteFailed(name, p, e, missingOk);
  }
}

/**
 * Names of the namespaces under /run/netns, sorted.
 * @example
 * const names = await listNetns(); // ['c1', 'host']
 */
export async function listNetns(): Promise<string[]> {
  try {
    return (await fs.promises.readdir(NETNS_RUN_DIR)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Blocking form of {@link listNetns} (one readdir), for operations that
 * cannot await.
 * @example
 * const names = listNetnsSync(); // ['c1', 'host']
 */
export function listNetnsSync(): string[] {
  try {
    return fs.readdirSync(NETNS_RUN_DIR).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Whether a named namespace exists (and is mounted).
 * @example
 * if (!netnsExists('c1')) await createNetns('c1');
 */
export function netnsExists(name: string): boolean {
  return isNsfs(path.join(NETNS_RUN_DIR, validateNetnsName(name)));
}

/**
 * Creates a namespace with no name, held only by the returned fd (and by
 * whatever lives in it). Handy for throw-away sandboxes.
 * @example
 * const ns = await createAnonymousNetns();
 * const h = await open({ netns: ns }); // gone once both are closed
 */
export async function createAnonymousNetns(): Promise<NetworkNamespace> {
  try {
    const fd = await native().netnsCreateAnonymous();
    return new NetworkNamespace(fd);
  } catch (e) {
    throw fromNative('create anonymous network namespace', e);
  }
}

/** Runs fn with a temporary fd for `ref` (-1 for the caller's namespace). */
export function withNetns<T>(ref: NetnsRef | undefined, fn: (fd: number) => T): T {
  if (ref === undefined) return fn(-1);
  if (ref instanceof NetworkNamespace) return fn(ref.fd);
  const ns = openNetnsSync(ref);
  try {
    return fn(ns.fd);
  } finally {
    ns.close();
  }
}

/** Async form of {@link withNetns}: the fd stays open until fn settles. */
export async function withNetnsAsync<T>(ref: NetnsRef | undefined, fn: (fd: number) => Promise<T>): Promise<T> {
  if (ref === undefined) return fn(-1);
  if (ref instanceof NetworkNamespace) return fn(ref.fd);
  const ns = openNetnsSync(ref);
  try {
    return await fn(ns.fd);
  } finally {
    ns.close();
  }
}
