/**
 * The state directory is input that root acts on: reconcile deletes and
 * rebuilds what the state names. So nlkit trusts a directory only if nobody
 * but the caller (and root) can change it or any directory on the way to it,
 * the rule OpenSSH's StrictModes and sudo apply:
 * - every directory from / down is owned by root or the caller, and not
 *   writable by its group or others (in a user namespace, "root" includes the
 *   overflow uid that stands for owners outside it: the real root's / and
 *   /tmp look like that there);
 * - except a sticky directory writable by others (/tmp): there, only the
 *   caller's own entries are trusted (others cannot rename or replace them);
 * - the state directory itself is the caller's, and not group/world-writable;
 * - symbolic links on the way are followed only where they lie in a trusted
 *   directory (so nobody else can swap them).
 * Missing directories are created (mode 0700) as the walk reaches them, after
 * their parent was checked.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnsafeStateDirError, ValidationError } from '../netlink/errors';
import { openNetnsSync, type NetnsRef } from '../netns/namespace';
import { callerUid } from './file-lock';

/** Symbolic links followed before giving up (the kernel's limit). */
const MAX_LINKS = 40;

/** One directory reached by the walk, and whether only the caller's entries in it are trusted (sticky and writable by others). */
interface Step {
  dir: string;
  callerEntriesOnly: boolean;
}

/**
 * Makes sure `dir` exists and can be trusted (see the module comment), and
 * returns its real path; throws UnsafeStateDirError naming the first
 * directory or link that cannot be trusted.
 */
export function ensureTrustedDir(dir: string): string {
  if (typeof dir !== 'string' || dir === '') throw new ValidationError('stateDir', dir, 'must be a non-empty path');
  const uid = callerUid();
  const owners = trustedOwners(uid);
  const pending = path.resolve(dir).split('/').filter(Boolean);
  const stack: Step[] = [checkDir('/', fs.lstatSync('/'), owners, false)];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() ?? '';
    const here = stack[stack.length - 1];
    if (part === '.') continue;
    if (part === '..') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const entry = path.join(here.dir, part);
    const st = lstatOrCreate(entry);
    if (here.callerEntriesOnly && st.uid !== uid) {
      throw new UnsafeStateDirError(
        entry,
        `is owned by uid ${st.uid} in ${here.dir}, which others can write (sticky): only the caller's own entries are trusted there`,
      );
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new UnsafeStateDirError(entry, 'leads through too many symbolic links');
      const target = fs.readlinkSync(entry);
      if (path.isAbsolute(target)) stack.splice(1);
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    stack.push(checkDir(entry, st, owners, false));
  }
  // The directory itself, reached by whatever path: the caller's, writable by nobody else.
  const dirReached = stack[stack.length - 1].dir;
  checkDir(dirReached, fs.lstatSync(dirReached), owners, true);
  return dirReached;
}

/**
 * {@link ensureTrustedDir} for a directory directly inside one already found
 * trustworthy (the state store checks its directory when it opens): only
 * this last step is checked, not the walk from / again. Returns its path.
 */
export function ensureTrustedSubdir(trustedParent: string, name: string): string {
  const dir = path.join(trustedParent, name);
  const st = lstatOrCreate(dir);
  if (st.isSymbolicLink()) throw new UnsafeStateDirError(dir, 'is a symbolic link');
  checkDir(dir, st, new Set(), true);
  return dir;
}

/**
 * {@link ensureTrustedSubdir} for a directory that is read, not written: nothing is made. Its path, or undefined
 * when there is nothing under the name; a symbolic link, another user's directory or one its group or others can
 * write is an UnsafeStateDirError (what is read there would be someone else's to choose).
 */
export function trustedSubdirIfAny(trustedParent: string, name: string): string | undefined {
  const dir = path.join(trustedParent, name);
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (st.isSymbolicLink()) throw new UnsafeStateDirError(dir, 'is a symbolic link');
  checkDir(dir, st, new Set(), true);
  return dir;
}

function lstatOrCreate(entry: string): fs.Stats {
  try {
    return fs.lstatSync(entry);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  try {
    fs.mkdirSync(entry, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // made meanwhile: checked like any other
  }
  return fs.lstatSync(entry);
}

/** Who may own the directories above: the caller, root, and in a user namespace the overflow uid (owners outside it). */
function trustedOwners(uid: number): Set<number> {
  const owners = new Set([uid, 0]);
  const map = readOr('/proc/self/uid_map', '').trim().split(/\s+/);
  const initial = map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
  if (!initial) owners.add(Number(readOr('/proc/sys/kernel/overflowuid', '65534')));
  return owners;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function checkDir(dir: string, st: fs.Stats, owners: Set<number>, last: boolean): Step {
  if (!st.isDirectory()) throw new UnsafeStateDirError(dir, 'is not a directory');
  const uid = callerUid();
  if (last ? st.uid !== uid : !owners.has(st.uid)) {
    throw new UnsafeStateDirError(dir, `is owned by uid ${st.uid}, not by the caller (uid ${uid})${last ? '' : ' or root'}`);
  }
  const writable = st.mode & 0o022;
  if (!writable) return { dir, callerEntriesOnly: false };
  const who = st.mode & 0o002 ? 'others' : 'its group';
  if (last) throw new UnsafeStateDirError(dir, `is writable by ${who} (mode ${(st.mode & 0o7777).toString(8)})`);
  if (!(st.mode & 0o1000)) throw new UnsafeStateDirError(dir, `is writable by ${who} and not sticky (mode ${(st.mode & 0o7777).toString(8)})`);
  return { dir, callerEntriesOnly: true };
}

/**
 * Where a manager keeps its state when not told: /run/nlkit/<name> for a
 * named host namespace, /run/nlkit/ino-<inode> for another, /run/nlkit/default
 * for the caller's own (networks and services of one host share it).
 */
export function defaultStateDir(host?: NetnsRef): string {
  const base = '/run/nlkit';
  if (host === undefined) return path.join(base, 'default');
  if (typeof host === 'string') return path.join(base, host);
  const ns = openNetnsSync(host);
  try {
    return path.join(base, `ino-${ns.inode}`);
  } finally {
    ns.close();
  }
}
