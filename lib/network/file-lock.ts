/**
 * An exclusive advisory lock on a file (flock), shared correctly between
 * processes; waiting happens off the event loop.
 * @module
 */
import * as fs from 'node:fs';
import { lockExclusive } from '../system/file-lock';

/** Runs fn while holding an exclusive flock on `lockPath` (created if missing). */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T> | T): Promise<T> {
  const fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    await lockExclusive(fd, `lock ${lockPath}`);
    return await fn();
  } finally {
    fs.closeSync(fd); // closing the fd releases the lock
  }
}

/** Writes a file atomically: a temporary file renamed over the target. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, path);
}
