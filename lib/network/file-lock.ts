/**
 * An exclusive advisory lock on a file (flock), shared correctly between
 * processes; waiting neither blocks the event loop nor a libuv worker. And the file operations of
 * the state directory, none of which follows a symbolic link: a link there
 * would make root read or write a file someone else chose.
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnsafeStateDirError } from '../netlink/errors';
import { waitForLock } from '../system/file-lock';

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW } = fs.constants;

/** The user nlkit acts as: files and directories it trusts must be this user's. */
export function callerUid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * Opens a file of the state directory without following a symbolic link,
 * and checks it is a regular file of the caller's that its group and others
 * cannot write. A link or such a file is an UnsafeStateDirError; ENOENT and
 * other errors are thrown as fs throws them. `extend` opens an existing file
 * to read and append.
 */
export function openStateFile(file: string, flags: 'read' | 'lock' | 'append' | 'extend', mode = 0o600): number {
  const fd = openNoFollow(file, flags, mode);
  checkOpened(file, fd, () => fs.fstatSync(fd));
  return fd;
}

/** {@link openStateFile}, with the stat() its checks read (a caller that needs it makes no second fstat). */
export function openStateFileStat(file: string, flags: 'read' | 'lock' | 'append' | 'extend', mode = 0o600): { fd: number; st: fs.BigIntStats } {
  const fd = openNoFollow(file, flags, mode);
  return { fd, st: checkOpened(file, fd, () => fs.fstatSync(fd, { bigint: true })) };
}

function openNoFollow(file: string, flags: 'read' | 'lock' | 'append' | 'extend', mode: number): number {
  const f = { read: O_RDONLY, lock: O_RDWR | O_CREAT, append: O_WRONLY | O_CREAT | O_APPEND, extend: O_RDWR | O_APPEND }[flags];
  try {
    return fs.openSync(file, f | O_NOFOLLOW, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeStateDirError(file, 'is a symbolic link');
    throw e;
  }
}

/** The stat() of `fd`, opened at `file`: a regular file of the caller's that its group and others cannot write, or `fd` closed and an UnsafeStateDirError. */
function checkOpened<S extends fs.Stats | fs.BigIntStats>(file: string, fd: number, stat: () => S): S {
  let st: S;
  try {
    st = stat();
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  const uid = callerUid();
  const perms = Number(st.mode) & 0o7777;
  const reason = !st.isFile()
    ? 'is not a regular file'
    : Number(st.uid) !== uid
      ? `is owned by uid ${st.uid}, not by the caller (uid ${uid})`
      : perms & 0o022
        ? `is writable by ${perms & 0o002 ? 'others' : 'its group'} (mode ${perms.toString(8)})`
        : '';
  if (reason) {
    fs.closeSync(fd);
    throw new UnsafeStateDirError(file, reason);
  }
  return st;
}

/** A whole file of the state directory as text (see {@link openStateFile}); ENOENT as fs throws it. */
export function readStateFile(file: string): string {
  const fd = openStateFile(file, 'read');
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Runs fn while holding an exclusive flock on `lockPath` (created if missing; never through a symbolic link).
 * `makeDir` makes its directory when the lock file cannot be made for lack of it (then it is opened again):
 * cheaper than making sure of the directory before every lock.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T> | T, makeDir?: () => void): Promise<T> {
  const fd = openLock(lockPath, makeDir);
  try {
    await waitForLock(fd, `lock ${lockPath}`);
    return await fn();
  } finally {
    fs.closeSync(fd); // closing the fd releases the lock
  }
}

/** A lock file opened (see {@link withFileLock}). */
function openLock(lockPath: string, makeDir: (() => void) | undefined): number {
  try {
    return openStateFile(lockPath, 'lock');
  } catch (e) {
    if (!makeDir || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  makeDir();
  return openStateFile(lockPath, 'lock');
}

/**
 * Writes a file atomically: a new temporary file with a random name in the
 * same directory (created exclusively, like mkstemp: nothing planted under a
 * guessable name is written through), renamed over the target.
 */
export function writeFileAtomic(file: string, data: string): void {
  for (let attempt = 0; ; attempt++) {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
    let fd: number;
    try {
      fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 3) continue;
      throw e;
    }
    try {
      try {
        fs.writeFileSync(fd, data);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file); // replaces a link at `file` itself, never its target
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    return;
  }
}
