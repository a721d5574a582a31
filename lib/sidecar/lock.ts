/**
 * Serialises interceptions of one pod namespace across processes:
 * intercept(), reconcile() and remove() hold an exclusive flock for their
 * whole duration, so two writers with different options run one after the
 * other (the second replaces the first's table and routing as a whole)
 * instead of interleaving half of each.
 *
 * The lock is keyed to the namespace's identity (the device and inode of
 * its nsfs file: one namespace has one key whatever name, path or fd it is
 * reached by) and lives in a state directory checked like every other one
 * (owner, mode, no symbolic link on the way or at the file). The holder
 * deletes the file before letting go, and a waiter that gets the lock of a
 * file no longer at that path tries again, so nothing stays behind and two
 * holders never hold different files of one key.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNetnsSync, type NetnsRef } from '../netns/namespace';
import { openStateFile } from '../network/file-lock';
import { ensureTrustedDir } from '../network/state-dir';
import { waitForLock } from '../system/file-lock';

/** Where interception locks live when intercept() is not told. */
export const DEFAULT_SIDECAR_STATE_DIR = '/run/nlkit/sidecar';

/** A file of a namespace's interception: `intercept-<dev>-<inode>.<ext>` in the (checked) state directory. */
export function interceptFile(stateDir: string, netns: NetnsRef, ext: 'lock' | 'routing'): string {
  const ns = openNetnsSync(netns);
  let st: fs.Stats;
  try {
    st = fs.fstatSync(ns.fd);
  } finally {
    ns.close();
  }
  return path.join(ensureTrustedDir(stateDir), `intercept-${st.dev}-${st.ino}.${ext}`);
}

/** Whether `fd` is still the file at `file` (the previous holder may have deleted it while we waited). */
function stillThere(fd: number, file: string): boolean {
  const held = fs.fstatSync(fd);
  try {
    const now = fs.lstatSync(file);
    return now.dev === held.dev && now.ino === held.ino;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Runs fn while holding the interception lock of `netns`. */
export async function withInterceptLock<T>(stateDir: string, netns: NetnsRef, fn: () => Promise<T>): Promise<T> {
  const file = interceptFile(stateDir, netns, 'lock');
  for (;;) {
    const fd = openStateFile(file, 'lock');
    try {
      await waitForLock(fd, `lock ${file}`);
      if (!stillThere(fd, file)) continue;
      try {
        return await fn();
      } finally {
        fs.rmSync(file, { force: true }); // before the lock goes with the fd: a waiter finds it gone and starts over
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}
